/**
 * A generate-only compressor: a server that writes text from chat messages (Ollama, LM Studio,
 * llama-server, any OpenAI-compatible chat endpoint) but cannot score text. Its compressions
 * are scored by another engine (the proxy-scorer path of run-estimate.ts): the scorer
 * re-tokenises each compression's TEXT and scores those ids, so the estimate is the scorer's
 * view of the text, not the generator's own distribution. Pure types, no runtime code.
 *
 * Invariants every TextCompressor keeps:
 * - `generate` takes a chat prompt (compressionPrompt('chat', ...)); the server applies its own
 *   chat template. Sampling happens on the server with the given temperature, top_p, seed and
 *   token budget (maxTokens counts the server's tokens, not the scorer's).
 * - `interrupt()` aborts every request in flight; the calls it stops resolve with stopReason
 *   'interrupted' (never a partial text as if finished). It leaves the compressor usable.
 * - Failures are named errors (server-errors.ts); an error never carries document text.
 */
import type { Prompt, SamplingSettings, StopReason } from './engine';

export interface TextGeneration {
  /** The answer's text as the server wrote it. */
  text: string;
  /** 'stop': the model ended its answer; 'length': the token budget ran out (truncated). */
  stopReason: StopReason;
  /** Tokens the server says it generated (usage.completion_tokens), when it says; else null. */
  generatedTokens: number | null;
  /**
   * The server's own ln p of each generated token, when it returns them (OpenAI `logprobs`);
   * else null. Kept for display and export only: the estimate uses the scorer's numbers.
   */
  logprobsNats: number[] | null;
}

export interface TextGenerationJob {
  prompt: Prompt;
  settings: SamplingSettings;
}

export interface TextCompressor {
  /** Kind-qualified id, e.g. `ollama:llama3.1:8b`. */
  readonly id: string;
  /** host[:port] the raw text goes to. */
  readonly host: string;
  /** Requests in flight at most in generateMany. */
  readonly concurrency: number;
  /** One answer; `onDelta` gets each piece of text as it streams in. */
  generate(prompt: Prompt, settings: SamplingSettings, onDelta?: (text: string) => void): Promise<TextGeneration>;
  /**
   * Many answers, up to `concurrency` at once. `onResult` is called (and awaited, one at a
   * time) as each finishes, in any order. After an interrupt the remaining jobs are reported
   * with stopReason 'interrupted'. The first failure other than an interrupt is thrown, once
   * the requests in flight have settled.
   */
  generateMany?(jobs: TextGenerationJob[], onResult: (index: number, result: TextGeneration) => void | Promise<void>): Promise<void>;
  interrupt(): void;
  dispose(): Promise<void>;
}
