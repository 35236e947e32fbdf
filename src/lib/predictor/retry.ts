/**
 * Retry policy for predictor requests. The SDK's own retries are switched off (maxRetries: 0) so
 * this module alone decides, and the page can say "retrying in N s".
 *
 * Retried: 429 (waiting what retry-after-ms / retry-after asks, else exponential backoff) and
 * 5xx (backoff), at most `maxAttempts` attempts in all. Never retried: other statuses, network
 * failures (usually CORS or a server that is off: retrying only delays the explanation),
 * timeouts and cancellation.
 */

export interface RetryPolicy {
  /** Total attempts including the first. */
  maxAttempts: number;
  /** First backoff wait; doubled each attempt. */
  baseDelayMs: number;
  /** Cap on any single wait, ours or the server's. A server asking for longer ends the retries. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 1000, maxDelayMs: 30_000 };

export type RetryReason = 'rate-limit' | 'server-error';

export interface RetryNotice {
  reason: RetryReason;
  status: number;
  /** The attempt that just failed (1-based). */
  attempt: number;
  maxAttempts: number;
  waitMs: number;
}

/** Read a header from a Headers object or a plain record, case-insensitively. */
export function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  const h = headers as { get?: (n: string) => string | null };
  if (typeof h.get === 'function') return h.get(name) ?? undefined;
  const rec = headers as Record<string, unknown>;
  for (const k of Object.keys(rec)) if (k.toLowerCase() === name) return String(rec[k]);
  return undefined;
}

/**
 * The wait a 429/503 response asks for: retry-after-ms (milliseconds, an OpenAI extension), then
 * retry-after (seconds or an HTTP date). undefined when neither is usable.
 */
export function retryAfterMs(headers: unknown, nowMs = Date.now()): number | undefined {
  const ms = headerValue(headers, 'retry-after-ms');
  if (ms !== undefined) {
    const v = Number.parseFloat(ms);
    if (Number.isFinite(v) && v >= 0) return v;
  }
  const ra = headerValue(headers, 'retry-after');
  if (ra !== undefined) {
    const secs = Number(ra.trim());
    if (ra.trim() !== '' && Number.isFinite(secs) && secs >= 0) return secs * 1000;
    const date = Date.parse(ra);
    if (Number.isFinite(date)) return Math.max(0, date - nowMs);
  }
  return undefined;
}

/** baseDelayMs · 2^(attempt-1), with ±20 % jitter so parallel clients spread out, capped. */
export function backoffMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
  const raw = policy.baseDelayMs * 2 ** Math.max(0, attempt - 1);
  const jittered = raw * (0.8 + 0.4 * random());
  return Math.min(policy.maxDelayMs, Math.round(jittered));
}

export function isRetryableStatus(status: number): RetryReason | undefined {
  if (status === 429) return 'rate-limit';
  if (status >= 500 && status <= 599) return 'server-error';
  return undefined;
}

/** Sleep that ends early (rejecting with the signal's reason) when the signal aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
