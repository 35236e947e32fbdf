/**
 * One send, as page state: the accounting shown before approval, then the streamed answer.
 *
 * Owns the AbortController of the request in flight and the text streamed so far. Every request
 * that was made ends in exactly one `onExchange` call (success, partial, error or cancelled), so
 * the log of what left the device is complete. Cancellation is a normal outcome here.
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
  /** The payload text of the last send, so auto-send does not repeat itself. */
  lastSentKey = $state('');

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

  async send(messages: ChatMessage[], opts: { runId?: string; key?: string; onExchange?: (e: Exchange) => void } = {}) {
    if (this.busy) return;
    const ctl = new AbortController();
    this.#abort = ctl;
    this.phase = 'streaming';
    this.answer = '';
    this.partial = false;
    this.outcome = '';
    this.error = null;
    this.retry = null;
    this.lastSentKey = opts.key ?? '';
    const { exchange, result, error } = await this.send_({
      ...this.predictor.endpoint(),
      messages,
      runId: opts.runId,
      signal: ctl.signal,
      onDelta: (_d, soFar) => {
        this.retry = null;
        this.answer = soFar;
      },
      onRetry: (n) => this.#showRetry(n),
    });
    this.#stopTick();
    this.retry = null;
    this.#abort = null;
    this.lastExchange = exchange;
    if (result) {
      this.answer = result.text;
      this.partial = result.partial;
      this.outcome = result.outcome;
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
