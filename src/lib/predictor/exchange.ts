/**
 * One request to the predictor as it is logged: where it went, when, the exact messages, and
 * what came back. `sendExchange` runs a request and always resolves with an Exchange (even on
 * failure) so every request that left the device can be stored and shown.
 *
 * Invariant: an Exchange never holds the API key or any header; only host, URL, model, messages
 * (the question and compressions, never raw documents), the answer and the error's name/message.
 */
import type { ChatMessage } from './payload';
import { hostOf, normalizeBaseUrl } from './presets';
import { streamAnswer, type AnswerOutcome, type StreamAnswerOptions, type StreamAnswerResult, type Usage } from './client';
import { redactSecrets } from './errors';

export type ExchangeStatus = AnswerOutcome | 'error';

export interface Exchange {
  id: string;
  runId?: string;
  host: string;
  /** The chat completions URL the request went to. */
  url: string;
  model: string;
  /** ISO time the request started. */
  time: string;
  durationMs: number;
  messages: ChatMessage[];
  usage?: Usage;
  responseText: string;
  status: ExchangeStatus;
  /** True when the answer did not finish (dropped, timeout, cancelled). */
  partial: boolean;
  finishReason: string | null;
  attempts: number;
  errorName?: string;
  errorMessage?: string;
}

export function chatCompletionsUrl(baseUrl: string): string {
  return `${normalizeBaseUrl(baseUrl)}/chat/completions`;
}

function newId(): string {
  const c = (globalThis as { crypto?: { randomUUID?: () => string } }).crypto;
  return c?.randomUUID ? c.randomUUID() : `ex-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

export interface SendExchangeResult {
  exchange: Exchange;
  /** Present when an answer (possibly partial) came back. */
  result?: StreamAnswerResult;
  /** The named error when there was no answer at all (cancellation included). */
  error?: Error;
}

/** Run `streamAnswer` and describe what happened as an Exchange. Never rejects. */
export async function sendExchange(
  opts: StreamAnswerOptions & { runId?: string },
  run: typeof streamAnswer = streamAnswer,
): Promise<SendExchangeResult> {
  const started = Date.now();
  const base = {
    id: newId(),
    runId: opts.runId,
    host: hostOf(opts.baseUrl),
    url: chatCompletionsUrl(opts.baseUrl),
    model: opts.model.trim(),
    time: new Date(started).toISOString(),
    messages: opts.messages.map((m) => ({ ...m })),
  };
  let streamed = '';
  try {
    const result = await run({
      ...opts,
      onDelta: (d, soFar) => {
        streamed = soFar;
        opts.onDelta?.(d, soFar);
      },
    });
    const exchange: Exchange = {
      ...base,
      durationMs: Date.now() - started,
      usage: result.usage,
      responseText: result.text,
      status: result.outcome,
      partial: result.partial,
      finishReason: result.finishReason,
      attempts: result.attempts,
      errorName: result.error?.name,
      errorMessage: result.error ? redactSecrets(result.error.message, opts.apiKey) : undefined,
    };
    return { exchange, result };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    const cancelled = e.name === 'PredictorCancelledError';
    const exchange: Exchange = {
      ...base,
      durationMs: Date.now() - started,
      responseText: streamed,
      status: cancelled ? 'cancelled' : 'error',
      partial: streamed.length > 0,
      finishReason: null,
      attempts: (e as { attempts?: number }).attempts ?? 1,
      errorName: e.name,
      errorMessage: redactSecrets(e.message, opts.apiKey),
    };
    return { exchange, error: e };
  }
}
