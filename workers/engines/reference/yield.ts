/**
 * Yield to the event loop from pure code (no DOM or Node typings here, hence the casts).
 *
 * The engine runs synchronously inside a Web Worker; without yielding, the message carrying
 * interrupt() would wait until the whole call finished. setTimeout(0) is clamped to ~4 ms after
 * a few nestings, so the order of preference is: setImmediate (Node, no clamp), a MessageChannel
 * round trip (browsers and workers, no clamp), setTimeout(0).
 */

type Resolve = () => void;

interface PortLike {
  onmessage: ((ev: unknown) => void) | null;
  postMessage(message: unknown): void;
}

const g = globalThis as unknown as {
  setImmediate?: (fn: () => void) => unknown;
  setTimeout?: (fn: () => void, ms: number) => unknown;
  MessageChannel?: new () => { port1: PortLike; port2: PortLike };
  performance?: { now(): number };
};

let channel: { port1: PortLike; port2: PortLike } | null = null;
const waiting: Resolve[] = [];

function viaChannel(resolve: Resolve): void {
  if (!channel && g.MessageChannel) {
    channel = new g.MessageChannel();
    channel.port1.onmessage = () => waiting.shift()?.();
  }
  waiting.push(resolve);
  channel!.port2.postMessage(0);
}

export function yieldToEventLoop(): Promise<void> {
  return new Promise<void>((resolve) => {
    if (g.setImmediate) g.setImmediate(resolve);
    else if (g.MessageChannel) viaChannel(resolve);
    else if (g.setTimeout) g.setTimeout(resolve, 0);
    else resolve();
  });
}

/** Milliseconds from a monotonic clock when there is one. */
export function nowMs(): number {
  return g.performance ? g.performance.now() : Date.now();
}
