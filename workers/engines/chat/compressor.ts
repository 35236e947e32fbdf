/**
 * A generate-only compressor over HTTP: Ollama, LM Studio, llama-server or any OpenAI-compatible
 * chat endpoint (`POST /v1/chat/completions`, streamed by default). It writes compressions from
 * the chat template and never scores: runEstimate's proxy path re-tokenises each text with the
 * scorer (src/lib/core/run-estimate.ts, EstimateOptions.compressor).
 *
 * - `connect()` lists `GET /v1/models` and refuses a model the server does not serve
 *   (ServerModelNotServedError, naming what it serves). llama-server serves one model and
 *   ignores the name in requests, so an empty name takes the one it lists and another name is
 *   refused rather than mislabelled.
 * - HTTP is server/http.ts: deadlines (here the longest silence of a stream), retries with
 *   backoff on 429 and 503, named errors, and in a browser the CORS / mixed-content /
 *   local-network classification with this server kind's own switch.
 * - `generateMany` keeps at most `concurrency` requests in flight and hands each answer over as
 *   it finishes, one at a time. `interrupt()` aborts every request in flight.
 */
import type { Prompt, SamplingSettings } from '../../../src/lib/core/engine';
import { InvalidArgumentError, errorName } from '../../../src/lib/core/errors';
import { ServerEmptyAnswerError, ServerModelNotServedError } from '../../../src/lib/core/server-errors';
import { serverRoot } from '../../../src/lib/core/server-host';
import type { TextCompressor, TextGeneration, TextGenerationJob } from '../../../src/lib/core/text-compressor';
import { ServerHttp } from '../server/http';
import {
  CHAT_KINDS,
  ChatStreamReader,
  chatBody,
  modelListed,
  parseChatCompletion,
  parseChatModels,
  toGeneration,
  type ChatAnswer,
  type ChatServerKind,
} from './wire';

export interface ChatCompressorConfig {
  kind: ChatServerKind;
  /** e.g. http://127.0.0.1:11434 (a trailing /v1 is accepted). */
  baseURL: string;
  /** The model name (Ollama: `llama3.1:8b`; llama-server: may be empty). */
  model: string;
  apiKey?: string;
  /** Requests in flight at most (default: CHAT_KINDS[kind].concurrency). */
  concurrency?: number;
  /** Stream the answer (default true). */
  stream?: boolean;
  /** Ask for the server's own log-probs (default: CHAT_KINDS[kind].logprobs). */
  logprobs?: boolean;
  /** Longest silence of a request in ms (default 300 s: a big model on a laptop is slow). */
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  fetch?: typeof fetch;
}

const INTERRUPTED: TextGeneration = { text: '', stopReason: 'interrupted', generatedTokens: null, logprobsNats: null };

export class ChatCompressor implements TextCompressor {
  readonly id: string;
  readonly host: string;
  readonly concurrency: number;
  /** Requests sent and retried (429/503). */
  readonly stats: { requests: number; retries: number };
  private readonly http: ServerHttp;
  /** Raised by interrupt(): calls started before it stop. */
  private epoch = 0;

  private constructor(readonly config: ChatCompressorConfig, readonly model: string) {
    const { root, host } = serverRoot(config.baseURL);
    this.host = host;
    this.id = `${config.kind}:${model}`;
    this.concurrency = config.concurrency ?? CHAT_KINDS[config.kind].concurrency;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new InvalidArgumentError(`The number of requests at once must be a whole number >= 1 (got ${this.concurrency}).`);
    }
    this.http = new ServerHttp({
      kind: config.kind,
      root,
      apiKey: config.apiKey,
      timeoutMs: config.timeoutMs ?? 300_000,
      retries: config.retries,
      backoffMs: config.backoffMs,
      fetch: config.fetch,
      model,
    });
    this.stats = this.http.stats;
  }

  /** Check the server and the model; see the module note. */
  static async connect(config: ChatCompressorConfig): Promise<ChatCompressor> {
    const preset = CHAT_KINDS[config.kind];
    if (!preset) throw new InvalidArgumentError(`Unknown generate-only server kind "${config.kind}".`);
    const probe = new ChatCompressor(config, config.model.trim() || 'unnamed');
    const listed = parseChatModels(probe.host, await probe.http.get('/v1/models'));
    let model = config.model.trim();
    if (model === '') {
      if (!preset.ignoresModelName || listed.length !== 1) throw new InvalidArgumentError('Give the model name (one of those the server lists).');
      model = listed[0];
    }
    if (!modelListed(config.kind, model, listed)) throw new ServerModelNotServedError(probe.host, model, listed);
    return model === probe.model ? probe : new ChatCompressor(config, model);
  }

  /** All models the server lists (for a picker), without checking one. */
  static async listModels(config: Omit<ChatCompressorConfig, 'model'>): Promise<string[]> {
    const probe = new ChatCompressor({ ...config, model: '' }, 'unnamed');
    return parseChatModels(probe.host, await probe.http.get('/v1/models'));
  }

  async generate(prompt: Prompt, settings: SamplingSettings, onDelta?: (text: string) => void): Promise<TextGeneration> {
    return this.answer(prompt, settings, this.epoch, onDelta);
  }

  private async answer(prompt: Prompt, settings: SamplingSettings, epoch: number, onDelta?: (text: string) => void): Promise<TextGeneration> {
    if (epoch !== this.epoch) return INTERRUPTED;
    const messages = prompt.kind === 'chat' ? prompt.messages : [{ role: 'user' as const, content: prompt.text }];
    const stream = this.config.stream ?? true;
    const body = chatBody(this.model, messages, settings, stream, this.config.logprobs ?? CHAT_KINDS[this.config.kind].logprobs);
    let answer: ChatAnswer;
    try {
      answer = stream
        ? await this.http.postStream('/v1/chat/completions', body, async (response, touch) => {
            const reader = new ChatStreamReader(this.host, onDelta);
            if (!response.body) {
              reader.push(await response.text());
              return reader.end();
            }
            const decoder = new TextDecoder();
            const source = response.body.getReader();
            for (;;) {
              const { value, done } = await source.read();
              if (done) break;
              touch();
              reader.push(decoder.decode(value, { stream: true }));
            }
            reader.push(decoder.decode());
            return reader.end();
          })
        : parseChatCompletion(this.host, await this.http.post('/v1/chat/completions', body));
    } catch (err) {
      if (errorName(err) === 'InterruptedError') return INTERRUPTED;
      throw err;
    }
    if (epoch !== this.epoch) return INTERRUPTED;
    if (answer.text === '') throw new ServerEmptyAnswerError(this.host, answer.finishReason, answer.reasoning !== '');
    if (!stream && onDelta) onDelta(answer.text);
    return toGeneration(answer);
  }

  async generateMany(jobs: TextGenerationJob[], onResult: (index: number, result: TextGeneration) => void | Promise<void>): Promise<void> {
    const epoch = this.epoch;
    let next = 0;
    let failed: { err: unknown } | null = null;
    // Answers are handed over one at a time, in the order they finish.
    let delivery = Promise.resolve();
    const deliver = (index: number, result: TextGeneration) => {
      delivery = delivery.then(async () => {
        if (failed) return;
        try {
          await onResult(index, result);
        } catch (err) {
          failed ??= { err };
          this.http.abortAll();
        }
      });
      return delivery;
    };
    const worker = async () => {
      while (failed === null && next < jobs.length) {
        const index = next++;
        let result: TextGeneration;
        try {
          result = await this.answer(jobs[index].prompt, jobs[index].settings, epoch);
        } catch (err) {
          failed ??= { err };
          // Stop the others: their answers would be thrown away.
          this.http.abortAll();
          return;
        }
        await deliver(index, result);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.concurrency, jobs.length)) }, worker));
    await delivery;
    if (failed) throw (failed as { err: unknown }).err;
    // Jobs never started because of an interrupt are reported as interrupted.
    for (let index = next; index < jobs.length; index++) await onResult(index, INTERRUPTED);
  }

  interrupt(): void {
    this.epoch++;
    this.http.abortAll();
  }

  async dispose(): Promise<void> {
    this.interrupt();
  }
}
