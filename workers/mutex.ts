/**
 * A FIFO async lock. Engines hold mutable KV caches and one interrupt flag, so the worker runs
 * at most one engine call at a time; `interrupt()` deliberately does not take the lock.
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    // The next task waits for this one whether it succeeds or fails.
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
