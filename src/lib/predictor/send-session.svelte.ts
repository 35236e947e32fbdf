/**
 * One send, as page state: the accounting shown before approval, then the streamed answer.
 *
 * Owns the AbortController of the request in flight and the text streamed so far. Every request
 * that was made ends in exactly one `onExchange` call (success, partial, error or cancelled), so
 * the log of what left the device is complete. Cancellation is a normal outcome here. A request
 * the predictor settings refuse (key not confirmed for this origin, plain http not accepted, the
 * page's policy) is never made: it ends as an error with no exchange.
 *
 * Rendering: deltas can arrive thousands of times a second. `answer` is updated at most once per
 * animation frame (the latest text so far), not once per delta, and gets the final text at the end.
 */
import type { PredictorState } from '../state/predictor.svelte';
import type { ChatMessage } from './payload';
import { sendExchange, type Exchange } from './exchange';
import { savings, type Savings } from './savings';
import type { RetryNotice } from './retry';

export type SendPhase = 'idle' | 'streaming' | 'done' | 'error' | 'cancelled';

export interface SendError {
  name: string;
  message: string;
}

export class SendSession {
  phase = $state<SendPhase>('idle');
  answer = $state('');
  partial = $state(false);
  /** done | dropped | timeout | cancelled | error: finer than phase, for data-outcome. */
  outcome = $state('');
  error = $state<SendError | null>(null);
  retry = $state<RetryNotice | null>(null);
  /** Seconds left before the next attempt, ticking while a retry waits. */
  retryInSeconds = $state(0);
  accounting = $state<Savings | null>(null);
  lastExchange = $state<Exchange | null>(null);
  /** How many times `answer` changed during the last send (the rendering throttle's effect, for tests). */
  answerUpdates = $state(0);
  /** Runs seen unfinished while auto-send was on: each is sent once when it finishes. */
  readonly autoPending = new Set<string>();
  /** Runs auto-send has sent: never again. */
  readonly autoSent = new Set<string>();

  #abort: AbortController | null = null;
  #accountingSeq = 0;
  #tick: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly predictor: PredictorState,
    private readonly send_: typeof sendExchange = sendExchange,
  ) {}

  get busy(): boolean {
    return this.phase === 'streaming';
  }

  /** Recount tokens and cost; stale answers from an earlier call are dropped. */
  async refreshAccounting(compressedMessages: ChatMessage[], rawMessages: ChatMessage[]): Promise<void> {
    const seq = ++this.#accountingSeq;
    const s = await savings({ compressedMessages, rawMessages, model: this.predictor.model, prices: this.predictor.prices });
    if (seq === this.#accountingSeq) this.accounting = s;
  }

  async send(messages: ChatMessage[], opts: { runId?: string; onExchange?: (e: Exchange) => void } = {}) {
    if (this.busy) return;
    this.answer = '';
    this.partial = false;
    this.outcome = '';
    this.error = null;
    this.retry = null;
    this.answerUpdates = 0;
    let endpoint;
    try {
      endpoint = this.predictor.endpoint();
    } catch (err) {
      // Refused before anything left the page: no request, so no exchange.
      const e = err as { name?: string; message?: string };
      this.phase = 'error';
      this.outcome = 'error';
      this.error = { name: e.name ?? 'Error', message: e.message ?? String(err) };
      return;
    }
    const ctl = new AbortController();
    this.#abort = ctl;
    this.phase = 'streaming';
    let latest = '';
    const frame: { cancel: (() => void) | null } = { cancel: null };
    const paint = () => {
      frame.cancel = null;
      if (this.answer !== latest) {
        this.answer = latest;
        this.answerUpdates++;
      }
    };
    const { exchange, result, error } = await this.send_({
      ...endpoint,
      messages,
      runId: opts.runId,
      signal: ctl.signal,
      onDelta: (_d, soFar) => {
        latest = soFar;
        if (this.retry) this.retry = null;
        frame.cancel ??= nextFrame(paint);
      },
      onRetry: (n) => this.#showRetry(n),
    });
    frame.cancel?.();
    paint();
    this.#stopTick();
    this.retry = null;
    this.#abort = null;
    this.lastExchange = exchange;
    if (result) {
      this.partial = result.partial;
      this.outcome = result.outcome;
      if (this.answer !== result.text) {
        this.answer = result.text;
        this.answerUpdates++;
      }
      if (result.outcome === 'done') this.phase = 'done';
      else if (result.outcome === 'cancelled') this.phase = 'cancelled';
      else {
        this.phase = 'error';
        this.error = result.error ? { name: result.error.name, message: result.error.message } : null;
      }
    } else if (error?.name === 'PredictorCancelledError') {
      this.phase = 'cancelled';
      this.outcome = 'cancelled';
      this.partial = this.answer.length > 0;
    } else {
      this.phase = 'error';
      this.outcome = 'error';
      this.partial = this.answer.length > 0;
      this.error = { name: error?.name ?? 'Error', message: error?.message ?? 'The request failed.' };
    }
    opts.onExchange?.(exchange);
  }

  cancel(): void {
    this.#abort?.abort();
  }

  #showRetry(n: RetryNotice) {
    this.retry = n;
    this.retryInSeconds = Math.ceil(n.waitMs / 1000);
    this.#stopTick();
    const until = Date.now() + n.waitMs;
    this.#tick = setInterval(() => {
      this.retryInSeconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
      if (this.retryInSeconds === 0) this.#stopTick();
    }, 250);
  }

  #stopTick() {
    clearInterval(this.#tick);
    this.#tick = undefined;
  }
}

/** Run `fn` at the next animation frame (a short timer where there are no frames); returns a function that cancels it. */
function nextFrame(fn: () => void): () => void {
  const g = globalThis as { requestAnimationFrame?: (cb: () => void) => number; cancelAnimationFrame?: (id: number) => void };
  if (g.requestAnimationFrame && g.cancelAnimationFrame) {
    const id = g.requestAnimationFrame(fn);
    return () => g.cancelAnimationFrame!(id);
  }
  const t = setTimeout(fn, 16);
  return () => clearTimeout(t);
}
