/**
 * The predictor client: the browser talks to the user's OpenAI-compatible endpoint directly,
 * through the `openai` SDK, so the key goes from this page to that endpoint and nowhere else.
 *
 * Owns: one streamed chat completion with our own retry loop (the SDK's is off), an idle timeout,
 * an overall deadline, a size cap on the answer (`max_tokens` is asked for, and a server that
 * ignores it is cut off), cancellation through an AbortSignal, and the translation of every
 * failure into a named error from ./errors. Invariants: the key is passed to the SDK and nowhere else (never logged, never
 * put in an error); SDK errors are not rethrown or kept as a cause, since they carry headers.
 * The SDK is imported lazily so it stays out of the page's first chunk.
 */
import type { ChatMessage } from './payload';
import {
  AnswerTooLongError,
  InvalidApiKeyError,
  ModelNotFoundError,
  NetworkError,
  PredictorCancelledError,
  PredictorDeadlineError,
  PredictorError,
  PredictorRequestError,
  PredictorServerError,
  PredictorSettingsError,
  PredictorTimeoutError,
  RateLimitError,
  StreamDroppedError,
  redactSecrets,
} from './errors';
import { hostOf, normalizeBaseUrl } from './presets';
import {
  DEFAULT_RETRY_POLICY,
  abortableSleep,
  backoffMs,
  isRetryableStatus,
  retryAfterMs,
  type RetryNotice,
  type RetryPolicy,
} from './retry';

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

export interface EndpointSettings {
  baseUrl: string;
  apiKey: string;
}

export interface StreamAnswerOptions extends EndpointSettings {
  model: string;
  messages: ChatMessage[];
  signal?: AbortSignal;
  /** Called with each piece of text as it arrives, and the text so far. */
  onDelta?: (delta: string, textSoFar: string) => void;
  /** Called before each wait between attempts, so the page can say "retrying in N s". */
  onRetry?: (notice: RetryNotice) => void;
  /** Longest silence allowed before the first byte and between chunks. */
  idleTimeoutMs?: number;
  /** Longest time the whole call may take, retries included (a trickle that never ends is stopped). */
  deadlineMs?: number;
  /** Sent as `max_tokens` (or `max_completion_tokens` where a server wants that instead). */
  maxTokens?: number;
  /** Characters after which the stream is stopped and the answer marked as cut. Default: answerCapChars(maxTokens). */
  maxAnswerChars?: number;
  /** Ask for a usage chunk (stream_options.include_usage); dropped automatically if refused. */
  streamUsage?: boolean;
  temperature?: number;
  retry?: Partial<RetryPolicy>;
  /** For tests: replaces the abortable sleep between attempts. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * done: finished normally. dropped: the stream ended without a finish reason (text is partial).
 * timeout: the endpoint went silent mid-answer (text is partial). cancelled: the user stopped it.
 * capped: the answer passed the size cap and was stopped there. deadline: the answer was still
 * coming when the overall deadline passed. Every outcome but done keeps a partial text.
 */
export const ANSWER_OUTCOMES = ['done', 'dropped', 'timeout', 'cancelled', 'capped', 'deadline'] as const;
export type AnswerOutcome = (typeof ANSWER_OUTCOMES)[number];

export interface StreamAnswerResult {
  text: string;
  usage?: Usage;
  finishReason: string | null;
  /** True unless the answer finished normally. */
  partial: boolean;
  outcome: AnswerOutcome;
  /** For dropped / timeout / capped / deadline: the named error explaining the partial answer. */
  error?: PredictorError;
  attempts: number;
  /** true when the usage chunk was asked for (false after a server refused stream_options). */
  usageRequested: boolean;
}

/** Generous: a local server may take a minute or two to load its model before the first byte. */
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
/** An answer that is still streaming after ten minutes is stopped (retries and waits included). */
export const DEFAULT_DEADLINE_MS = 10 * 60_000;
/** max_tokens asked for: room for a long answer to a question about compressed notes. */
export const DEFAULT_MAX_TOKENS = 4096;
/**
 * The answer's size cap in characters for a max_tokens budget: 8 characters per token, about
 * twice what an English token averages, so an answer within max_tokens is never cut and a
 * server that ignores max_tokens is stopped after a few tens of kilobytes, not megabytes.
 */
export function answerCapChars(maxTokens: number = DEFAULT_MAX_TOKENS): number {
  return Math.max(1_000, maxTokens * 8);
}

type OpenAIModule = typeof import('openai');
let sdk: Promise<OpenAIModule> | undefined;
function loadSdk(): Promise<OpenAIModule> {
  sdk ??= import('openai');
  return sdk;
}

function pageOrigin(): string | undefined {
  const loc = (globalThis as { location?: { origin?: string } }).location;
  return loc?.origin && loc.origin !== 'null' ? loc.origin : undefined;
}

function checkSettings(baseUrl: string, model?: string): string {
  const url = normalizeBaseUrl(baseUrl);
  if (!url) throw new PredictorSettingsError('Enter the endpoint\'s base URL, e.g. https://api.openai.com/v1.');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PredictorSettingsError(`"${url}" is not a URL. It should look like https://api.openai.com/v1.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new PredictorSettingsError('The base URL must start with http:// or https://.');
  }
  if (model !== undefined && !model.trim()) throw new PredictorSettingsError('Choose a model for the predictor.');
  return url;
}

async function makeClient(baseUrl: string, apiKey: string) {
  const { default: OpenAI } = await loadSdk();
  return new OpenAI({
    baseURL: baseUrl,
    // Local servers take no key, but the SDK insists on one; any placeholder will do there.
    apiKey: apiKey.trim() || 'no-key',
    dangerouslyAllowBrowser: true,
    maxRetries: 0,
    // Our own idle timer decides; this is only a backstop.
    timeout: 30 * 60_000,
  });
}

/** Internal: a failed attempt the retry loop may repeat. */
class RetryableFailure {
  constructor(
    readonly status: number,
    readonly retryAfterMs: number | undefined,
  ) {}
}
/** Internal: the server refused stream_options; repeat once without it. */
class UsageRefused {}
/** Internal: the server refused max_tokens (OpenAI's newer models want max_completion_tokens); repeat once with that. */
class MaxTokensRefused {}

interface Flags {
  cancelled: boolean;
  timedOut: boolean;
  timeoutMs: number;
  deadline?: boolean;
  deadlineMs?: number;
}

interface Ctx {
  host: string;
  model: string;
  apiKey: string;
  /** 'models' for the connection test, where a 404 means a wrong base URL. */
  op: 'chat' | 'models';
}

/** Translate anything the SDK threw (before the stream started) into a named error. */
async function translate(err: unknown, ctx: Ctx, flags: Flags) {
  const m = await loadSdk();
  if (flags.cancelled) return new PredictorCancelledError();
  if (flags.deadline) return new PredictorDeadlineError(ctx.host, flags.deadlineMs ?? DEFAULT_DEADLINE_MS);
  if (flags.timedOut || err instanceof m.APIConnectionTimeoutError) return new PredictorTimeoutError(ctx.host, flags.timeoutMs);
  if (err instanceof m.APIUserAbortError) return new PredictorCancelledError();
  if (err instanceof m.APIConnectionError) return new NetworkError(ctx.host, pageOrigin());
  if (err instanceof m.APIError && typeof err.status === 'number') {
    const status = err.status;
    if (status === 401 || status === 403) return new InvalidApiKeyError(ctx.host, status);
    if (status === 404) {
      return ctx.op === 'chat'
        ? new ModelNotFoundError(ctx.host, ctx.model)
        : new PredictorRequestError(ctx.host, 404, 'there is no model list at this address. Check the base URL (it usually ends in /v1).');
    }
    if (isRetryableStatus(status)) return new RetryableFailure(status, retryAfterMs(err.headers));
    const detail = redactSecrets(serverDetail(err), ctx.apiKey);
    if ((status === 400 || status === 422) && /stream_options|include_usage/i.test(detail)) return new UsageRefused();
    if (status === 400 && /max_tokens/i.test(detail) && /max_completion_tokens/i.test(detail)) return new MaxTokensRefused();
    return new PredictorRequestError(ctx.host, status, detail);
  }
  if (err instanceof TypeError) return new NetworkError(ctx.host, pageOrigin());
  return new PredictorRequestError(ctx.host, 0, 'the answer could not be read as an OpenAI-compatible response.');
}

function serverDetail(err: { error?: unknown; message?: string }): string {
  const body = err.error as { message?: unknown } | undefined;
  const text = typeof body?.message === 'string' ? body.message : (err.message ?? '');
  return text.replace(/^\d{3}\s+/, '').slice(0, 300) || 'no detail given';
}

function toUsage(u: unknown): Usage | undefined {
  const x = u as { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number } | null | undefined;
  if (!x || typeof x.prompt_tokens !== 'number') return undefined;
  const completion = x.completion_tokens ?? 0;
  return { promptTokens: x.prompt_tokens, completionTokens: completion, totalTokens: x.total_tokens ?? x.prompt_tokens + completion };
}

/**
 * Stream one answer. Resolves for every outcome that has an answer to show (done, dropped,
 * timeout mid-answer, cancelled); rejects with a named PredictorError when there is none.
 */
export async function streamAnswer(opts: StreamAnswerOptions): Promise<StreamAnswerResult> {
  const baseUrl = checkSettings(opts.baseUrl, opts.model);
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...opts.retry };
  const sleep = opts.sleep ?? abortableSleep;
  const ctx: Ctx = { host: hostOf(baseUrl), model: opts.model.trim(), apiKey: opts.apiKey, op: 'chat' };
  const client = await makeClient(baseUrl, opts.apiKey);
  const deadlineMs = opts.deadlineMs ?? DEFAULT_DEADLINE_MS;
  const deadlineAt = Date.now() + deadlineMs;
  const shape: RequestShape = {
    includeUsage: opts.streamUsage ?? true,
    tokensField: 'max_tokens',
    maxTokens: opts.maxTokens ?? DEFAULT_MAX_TOKENS,
    maxChars: opts.maxAnswerChars ?? answerCapChars(opts.maxTokens),
    deadlineAt,
    deadlineMs,
  };
  let attempt = 0;
  let usageRetried = false;
  let tokensRetried = false;
  for (;;) {
    attempt++;
    if (opts.signal?.aborted) throw new PredictorCancelledError();
    if (Date.now() >= deadlineAt) throw new PredictorDeadlineError(ctx.host, deadlineMs);
    const r = await attemptOnce(client, opts, ctx, shape, attempt);
    if (r instanceof UsageRefused && !usageRetried) {
      usageRetried = true;
      shape.includeUsage = false;
      attempt--;
      continue;
    }
    if (r instanceof MaxTokensRefused && !tokensRetried) {
      tokensRetried = true;
      shape.tokensField = 'max_completion_tokens';
      attempt--;
      continue;
    }
    if (r instanceof RetryableFailure) {
      const reason = isRetryableStatus(r.status)!;
      const tooLong = r.retryAfterMs !== undefined && r.retryAfterMs > policy.maxDelayMs;
      if (attempt >= policy.maxAttempts || tooLong) {
        throw reason === 'rate-limit'
          ? new RateLimitError(ctx.host, attempt, r.retryAfterMs)
          : new PredictorServerError(ctx.host, r.status, attempt);
      }
      const waitMs = reason === 'rate-limit' && r.retryAfterMs !== undefined ? r.retryAfterMs : backoffMs(attempt, policy);
      opts.onRetry?.({ reason, status: r.status, attempt, maxAttempts: policy.maxAttempts, waitMs });
      try {
        await sleep(waitMs, opts.signal);
      } catch {
        throw new PredictorCancelledError();
      }
      continue;
    }
    if (r instanceof UsageRefused || r instanceof MaxTokensRefused) {
      throw new PredictorRequestError(ctx.host, 400, 'the server refused the request format.');
    }
    if (r instanceof Error) throw r;
    return r;
  }
}

type ChatClient = Awaited<ReturnType<typeof makeClient>>;

/** How the request is made; the retry loop adjusts it when a server refuses a field. */
interface RequestShape {
  includeUsage: boolean;
  tokensField: 'max_tokens' | 'max_completion_tokens';
  maxTokens: number;
  maxChars: number;
  deadlineAt: number;
  deadlineMs: number;
}

async function attemptOnce(
  client: ChatClient,
  opts: StreamAnswerOptions,
  ctx: Ctx,
  shape: RequestShape,
  attempt: number,
): Promise<StreamAnswerResult | RetryableFailure | UsageRefused | MaxTokensRefused | PredictorError> {
  const includeUsage = shape.includeUsage;
  const timeoutMs = opts.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const ctl = new AbortController();
  const flags: Flags = { cancelled: false, timedOut: false, timeoutMs, deadline: false, deadlineMs: shape.deadlineMs };
  const deadlineTimer = setTimeout(() => {
    flags.deadline = true;
    ctl.abort();
  }, Math.max(0, shape.deadlineAt - Date.now()));
  const onUserAbort = () => {
    flags.cancelled = true;
    ctl.abort();
  };
  opts.signal?.addEventListener('abort', onUserAbort, { once: true });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      flags.timedOut = true;
      ctl.abort();
    }, timeoutMs);
  };
  const cleanup = () => {
    clearTimeout(timer);
    clearTimeout(deadlineTimer);
    opts.signal?.removeEventListener('abort', onUserAbort);
  };

  arm();
  let stream: AsyncIterable<unknown>;
  let response: Response;
  try {
    ({ data: stream, response } = await client.chat.completions.create(
      {
        model: ctx.model,
        messages: opts.messages,
        stream: true,
        [shape.tokensField]: shape.maxTokens,
        ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
        ...(opts.temperature !== undefined ? { temperature: opts.temperature } : {}),
      },
      { signal: ctl.signal },
    ).withResponse());
  } catch (err) {
    cleanup();
    return translate(err, ctx, flags);
  }

  // Some servers ignore `stream: true` and answer with one JSON completion. The SDK reads the
  // body only when the stream is iterated, so it is still ours to read here.
  if (/application\/json/i.test(response.headers.get('content-type') ?? '')) {
    try {
      const body = (await response.json()) as {
        choices?: { message?: { content?: string | null }; finish_reason?: string | null }[];
        usage?: unknown;
      };
      const full = body.choices?.[0]?.message?.content ?? '';
      const capped = full.length > shape.maxChars;
      const text = capped ? full.slice(0, shape.maxChars) : full;
      if (text) opts.onDelta?.(text, text);
      const finishReason = body.choices?.[0]?.finish_reason ?? 'stop';
      const usage = toUsage(body.usage);
      if (capped) {
        return { text, usage, finishReason: null, partial: true, outcome: 'capped', error: new AnswerTooLongError(ctx.host, shape.maxChars), attempts: attempt, usageRequested: includeUsage };
      }
      return { text, usage, finishReason, partial: false, outcome: 'done', attempts: attempt, usageRequested: includeUsage };
    } catch {
      if (flags.cancelled) return { text: '', finishReason: null, partial: true, outcome: 'cancelled', attempts: attempt, usageRequested: includeUsage };
      if (flags.deadline) return new PredictorDeadlineError(ctx.host, shape.deadlineMs);
      return new PredictorRequestError(ctx.host, response.status, 'the answer could not be read as an OpenAI-compatible response.');
    } finally {
      cleanup();
    }
  }

  let text = '';
  let finishReason: string | null = null;
  let usage: Usage | undefined;
  let capped = false;
  try {
    arm();
    for await (const raw of stream) {
      arm();
      const chunk = raw as { usage?: unknown; choices?: { delta?: { content?: string | null }; finish_reason?: string | null }[] };
      usage = toUsage(chunk.usage) ?? usage;
      const choice = chunk.choices?.[0];
      let delta = choice?.delta?.content;
      if (delta) {
        if (text.length + delta.length > shape.maxChars) {
          delta = delta.slice(0, shape.maxChars - text.length);
          capped = true;
        }
        text += delta;
        if (delta) opts.onDelta?.(delta, text);
        if (capped) {
          // Stop reading and close the connection: the server may be sending megabytes more.
          ctl.abort();
          break;
        }
      }
      if (choice?.finish_reason) finishReason = choice.finish_reason;
    }
  } catch {
    // A reset connection, a cut-off event or an error event mid-stream: keep what arrived;
    // the missing finish reason below marks it as dropped.
  } finally {
    cleanup();
  }
  const base = { text, usage, finishReason, attempts: attempt, usageRequested: includeUsage };
  if (flags.cancelled) return { ...base, partial: true, outcome: 'cancelled' };
  if (capped) return { ...base, finishReason: null, partial: true, outcome: 'capped', error: new AnswerTooLongError(ctx.host, shape.maxChars) };
  if (finishReason !== null) return { ...base, partial: false, outcome: 'done' };
  if (flags.deadline) {
    return { ...base, partial: true, outcome: 'deadline', error: new PredictorDeadlineError(ctx.host, shape.deadlineMs) };
  }
  if (flags.timedOut) {
    return { ...base, partial: true, outcome: 'timeout', error: new PredictorTimeoutError(ctx.host, timeoutMs) };
  }
  return { ...base, partial: true, outcome: 'dropped', error: new StreamDroppedError(ctx.host, text) };
}

/** The connection test: list the endpoint's models (ids, sorted). One attempt, named errors. */
export async function listModels(opts: EndpointSettings & { signal?: AbortSignal; timeoutMs?: number }): Promise<string[]> {
  const baseUrl = checkSettings(opts.baseUrl);
  const ctx: Ctx = { host: hostOf(baseUrl), model: '', apiKey: opts.apiKey, op: 'models' };
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const flags = { cancelled: false, timedOut: false, timeoutMs };
  const ctl = new AbortController();
  const onAbort = () => {
    flags.cancelled = true;
    ctl.abort();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => {
    flags.timedOut = true;
    ctl.abort();
  }, timeoutMs);
  try {
    const client = await makeClient(baseUrl, opts.apiKey);
    const page = await client.models.list({ signal: ctl.signal });
    // Some servers and routers list one id several times (one entry per provider or per
    // replica); the list offers each id once.
    const ids = new Set(page.data.map((m) => m.id).filter((id): id is string => typeof id === 'string' && id !== ''));
    return [...ids].sort((a, b) => a.localeCompare(b));
  } catch (err) {
    const e = await translate(err, ctx, flags);
    if (e instanceof RetryableFailure) {
      throw e.status === 429 ? new RateLimitError(ctx.host, 1, e.retryAfterMs) : new PredictorServerError(ctx.host, e.status, 1);
    }
    if (e instanceof UsageRefused || e instanceof MaxTokensRefused) throw new PredictorRequestError(ctx.host, 400, 'the model list was refused.');
    throw e;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}
