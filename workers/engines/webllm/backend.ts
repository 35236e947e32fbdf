/**
 * The small slice of web-llm the engine uses, behind one interface so tests can run the engine
 * against a fake (no GPU, no network). `internals.ts` builds the real one from an MLCEngine.
 *
 * Public web-llm API: `forwardTokensAndSample`, `resetChat`, `unload`. Everything else (the
 * tokenizer, the chat config, the KV-cache length, cache roll-back, the all-positions verify
 * function) is reached through web-llm's private pipeline object and is optional where it can be.
 */
import type { ConvTemplateLike } from './chat-template';

export interface WebLlmBackend {
  readonly modelId: string;
  readonly contextWindowTokens: number;
  readonly conv: ConvTemplateLike;
  /** Tokenizer vocabulary (the logits row may be longer: padded vocab). */
  readonly vocabSize: number;
  /** Max tokens per forward call (web-llm's prefill chunk), bounds the verify path. */
  readonly prefillChunkTokens: number;
  encode(text: string): number[];
  decode(ids: number[]): string;
  /** web-llm `forwardTokensAndSample`: forwards the ids, runs the processor, returns the sampled id. */
  forwardTokensAndSample(ids: number[], isPrefill: boolean): Promise<number>;
  /** Clear the KV cache (web-llm `resetChat`; also calls the processor's `resetState`). */
  resetChat(): Promise<void>;
  /** Tokens currently in the KV cache. */
  kvLength(): number;
  /**
   * Drop the last `n` tokens from the KV cache (prompt reuse). Absent when the model's state
   * cannot roll back (hybrid/recurrent models) or the runtime lacks the function.
   */
  popKv?: (n: number) => void;
  /**
   * Forward `ids` in one pass and return the logits of every position as one flat float32 array
   * (`ids.length` rows of `rowLength`). Appends to the KV cache like a prefill. Absent when the
   * model library has no all-positions function.
   */
  verifyAllPositions?: (ids: number[]) => Promise<{ rows: Float32Array; rowLength: number }>;
  /**
   * Most positions one `verifyAllPositions` call may take: the prefill chunk, capped by a byte
   * budget and the device's buffer limits (internals.ts `planVerifyRows`). Defaults to
   * `prefillChunkTokens`.
   */
  verifyMaxRows?: number;
  /** Why the GPU device is gone (lost, or web-llm unloaded the model because of it), or null. */
  deviceLost?: () => string | null;
  /** Wait until GPU errors of the calls made so far have surfaced (error scopes, `device.lost`). */
  settle?: () => Promise<void>;
  unload(): Promise<void>;
}
