/**
 * OpenAI-compatible chat completions as generate-only servers speak them, as pure functions:
 * the request body, the non-streamed answer, the streamed one (server-sent events), and the
 * model list. Checked against the sources (README, "Generate-only compressors"):
 *
 * - Ollama (openai/openai.go, server/routes.go): `POST /v1/chat/completions` maps model,
 *   messages, temperature, top_p, seed, max_tokens (num_predict), stream and stream_options;
 *   chunks are `chat.completion.chunk` with `delta: {role, content, reasoning?}` and
 *   `finish_reason` ("stop" | "length") on the last one, then `data: [DONE]`. Errors are
 *   `{"error": {"message", "type", "param", "code"}}`; an unknown model is HTTP 404 with
 *   `model "NAME" not found, try pulling it first`. Log-probs of generated tokens with
 *   `logprobs: true` since 0.12.11 (`choices[0].logprobs.content[]`).
 * - llama-server (tools/server): the same chunk shapes (first delta `{role, content: null}`,
 *   last `{finish_reason, delta: {}}` with `usage` and `timings`), `data: [DONE]`; an error after
 *   the stream started is an SSE `error:` event. It serves one model and ignores the request's
 *   model name; errors are `{"error": {"code", "message", "type"}}`.
 * - LM Studio: OpenAI's shapes; errors `{"error": {"message", ...}}` or `{"error": "..."}`.
 *
 * Reasoning models put their thinking in `reasoning` (Ollama) or `reasoning_content`
 * (llama-server, LM Studio, vLLM); only `content` is the compression.
 */
import type { SamplingSettings, StopReason, ChatMessage } from '../../../src/lib/core/engine';
import { ServerResponseError } from '../../../src/lib/core/server-errors';
import type { TextGeneration } from '../../../src/lib/core/text-compressor';

export type ChatServerKind = 'ollama' | 'lmstudio' | 'llama-server' | 'openai-chat';

export interface ChatKindPreset {
  label: string;
  baseURL: string;
  /** Requests in flight by default (more just queue on the server). */
  concurrency: number;
  /** Ask for the server's own log-probs of generated tokens (`logprobs: true`). */
  logprobs: boolean;
  /** llama-server answers with its one model whatever the request names. */
  ignoresModelName: boolean;
}

export const CHAT_KINDS: Record<ChatServerKind, ChatKindPreset> = {
  ollama: { label: 'Ollama', baseURL: 'http://127.0.0.1:11434', concurrency: 2, logprobs: true, ignoresModelName: false },
  lmstudio: { label: 'LM Studio', baseURL: 'http://127.0.0.1:1234', concurrency: 2, logprobs: false, ignoresModelName: false },
  'llama-server': { label: 'llama.cpp llama-server', baseURL: 'http://127.0.0.1:8080', concurrency: 4, logprobs: true, ignoresModelName: true },
  'openai-chat': { label: 'Any OpenAI-compatible chat endpoint', baseURL: 'http://127.0.0.1:8000', concurrency: 4, logprobs: false, ignoresModelName: false },
};

export function isChatServerKind(kind: string): kind is ChatServerKind {
  return Object.hasOwn(CHAT_KINDS, kind);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

export function chatBody(model: string, messages: ChatMessage[], settings: SamplingSettings, stream: boolean, logprobs: boolean): Record<string, unknown> {
  return {
    model,
    messages,
    temperature: settings.temperature,
    top_p: settings.topP,
    seed: settings.seed,
    max_tokens: settings.maxTokens,
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
    ...(logprobs ? { logprobs: true } : {}),
  };
}

/** The named parts of one answer, before it is checked for emptiness. */
export interface ChatAnswer {
  text: string;
  reasoning: string;
  finishReason: string | null;
  generatedTokens: number | null;
  logprobsNats: number[] | null;
}

export function stopReasonOf(finishReason: string | null): StopReason {
  // "length" is the budget; everything else ("stop", "eos", "tool_calls", ...) ended the answer.
  return finishReason === 'length' ? 'length' : 'stop';
}

export function toGeneration(answer: ChatAnswer): TextGeneration {
  return {
    text: answer.text,
    stopReason: stopReasonOf(answer.finishReason),
    generatedTokens: answer.generatedTokens,
    logprobsNats: answer.logprobsNats,
  };
}

function logprobsOf(choice: Record<string, unknown>): number[] | null {
  const lp = choice.logprobs;
  if (!isRecord(lp) || !Array.isArray(lp.content)) return null;
  return lp.content.map((e) => (isRecord(e) && typeof e.logprob === 'number' ? e.logprob : Number.NaN));
}

function errorText(e: unknown): string {
  if (typeof e === 'string') return e;
  if (isRecord(e) && typeof e.message === 'string') return e.message;
  return JSON.stringify(e).slice(0, 200);
}

/** A non-streamed `chat.completion`. */
export function parseChatCompletion(host: string, answer: unknown): ChatAnswer {
  if (isRecord(answer) && answer.error !== undefined) throw new ServerResponseError(host, `it answered with an error: ${errorText(answer.error)}`);
  if (!isRecord(answer) || !Array.isArray(answer.choices) || !isRecord(answer.choices[0])) {
    throw new ServerResponseError(host, '/v1/chat/completions did not return a "choices" list.');
  }
  const choice = answer.choices[0];
  const message = isRecord(choice.message) ? choice.message : null;
  if (!message) throw new ServerResponseError(host, '/v1/chat/completions returned a choice without a message.');
  const content = message.content;
  if (content !== null && content !== undefined && typeof content !== 'string') {
    throw new ServerResponseError(host, 'the answer\'s message content is not text.');
  }
  const usage = isRecord(answer.usage) && typeof answer.usage.completion_tokens === 'number' ? answer.usage.completion_tokens : null;
  return {
    text: content ?? '',
    reasoning: String(message.reasoning_content ?? message.reasoning ?? ''),
    finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
    generatedTokens: usage,
    logprobsNats: logprobsOf(choice),
  };
}

/**
 * Reads a stream of server-sent events: feed it decoded text as it arrives, then `end()`.
 * Every `data:` event goes to the chunk parser; `data: [DONE]` closes the answer; an `error:`
 * event (llama-server) or a `data: {"error": ...}` chunk (Ollama, vLLM) is a named error.
 */
export class ChatStreamReader {
  private buffer = '';
  private eventField: string | null = null;
  private eventData: string[] = [];
  private done = false;
  readonly answer: ChatAnswer = { text: '', reasoning: '', finishReason: null, generatedTokens: null, logprobsNats: null };

  constructor(private readonly host: string, private readonly onDelta?: (text: string) => void) {}

  push(text: string): void {
    this.buffer += text;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.line(line);
    }
  }

  /** The stream closed: the answer, or the named reason it is unusable. */
  end(): ChatAnswer {
    if (this.buffer !== '') this.line(this.buffer.replace(/\r$/, ''));
    this.buffer = '';
    this.dispatch();
    if (!this.done && this.answer.finishReason === null) {
      throw new ServerResponseError(this.host, 'the streamed answer stopped before it finished (no finish_reason and no [DONE]): the connection dropped or the server stopped mid-answer.');
    }
    return this.answer;
  }

  private line(line: string): void {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return; // an SSE comment (keep-alive)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field !== 'data' && field !== 'error') return;
    if (this.eventField !== null && this.eventField !== field) this.dispatch();
    this.eventField = field;
    this.eventData.push(value);
  }

  private dispatch(): void {
    if (this.eventField === null) return;
    const field = this.eventField;
    const data = this.eventData.join('\n');
    this.eventField = null;
    this.eventData = [];
    if (field === 'data' && data.trim() === '[DONE]') {
      this.done = true;
      return;
    }
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch {
      throw new ServerResponseError(this.host, `a streamed chunk is not JSON (${data.slice(0, 80).replace(/\s+/g, ' ')}…).`);
    }
    if (field === 'error' || (isRecord(chunk) && chunk.error !== undefined)) {
      const e = isRecord(chunk) && chunk.error !== undefined ? chunk.error : chunk;
      throw new ServerResponseError(this.host, `it stopped the answer with an error: ${errorText(e)}`);
    }
    this.chunk(chunk);
  }

  private chunk(chunk: unknown): void {
    if (!isRecord(chunk)) throw new ServerResponseError(this.host, 'a streamed chunk is not an object.');
    if (isRecord(chunk.usage) && typeof chunk.usage.completion_tokens === 'number') this.answer.generatedTokens = chunk.usage.completion_tokens;
    if (!Array.isArray(chunk.choices)) throw new ServerResponseError(this.host, 'a streamed chunk has no "choices" list.');
    const choice = chunk.choices[0];
    if (choice === undefined) return; // the usage chunk (stream_options.include_usage)
    if (!isRecord(choice)) throw new ServerResponseError(this.host, 'a streamed choice is not an object.');
    const delta = isRecord(choice.delta) ? choice.delta : {};
    if (typeof delta.content === 'string' && delta.content !== '') {
      this.answer.text += delta.content;
      this.onDelta?.(delta.content);
    } else if (delta.content !== undefined && delta.content !== null && typeof delta.content !== 'string') {
      throw new ServerResponseError(this.host, 'a streamed delta\'s content is not text.');
    }
    const thought = delta.reasoning_content ?? delta.reasoning;
    if (typeof thought === 'string') this.answer.reasoning += thought;
    const lp = logprobsOf(choice);
    if (lp) this.answer.logprobsNats = [...(this.answer.logprobsNats ?? []), ...lp];
    if (typeof choice.finish_reason === 'string') this.answer.finishReason = choice.finish_reason;
  }
}

/** Model ids from `GET /v1/models` (`{"object": "list", "data": [{"id": ...}]}`). */
export function parseChatModels(host: string, answer: unknown): string[] {
  if (!isRecord(answer) || !Array.isArray(answer.data)) throw new ServerResponseError(host, '/v1/models did not return a "data" list.');
  return answer.data.flatMap((m) => (isRecord(m) && typeof m.id === 'string' ? [m.id] : []));
}

/** Whether `model` names one of `listed` (Ollama: a name without a tag means `:latest`). */
export function modelListed(kind: ChatServerKind, model: string, listed: string[]): boolean {
  if (listed.includes(model)) return true;
  return kind === 'ollama' && !model.includes(':') && listed.includes(`${model}:latest`);
}
