/**
 * The engine contract: what every compressor engine (the pure-TypeScript reference engine, the
 * web-llm WebGPU engine) offers inside the worker. Pure types, no runtime code.
 *
 * Invariants every engine keeps:
 * - Token ids are the unit of exchange. A compression is scored by the ids the sampler produced,
 *   never by re-tokenising text.
 * - Log-probabilities are natural-log (nats), computed as a float64 log-softmax of the raw
 *   logits divided by the temperature (temperature 0 is scored at temperature 1).
 * - Calls are serialised by the engine's owner (the worker); `interrupt()` is the one call that
 *   may arrive while another is running, and it leaves the engine usable.
 * - Counters accumulate across calls until `resetCounters()`.
 * - `tokenize`, `detokenize` and `promptIds` may answer at once (in-page engines) or with a
 *   promise (a server engine tokenises over HTTP): callers always `await` them.
 */

/** A value, or a promise of it. */
export type MaybePromise<T> = T | Promise<T>;

export type PromptStyle = 'plain' | 'chat';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/**
 * What a prompt template produces. `plain` is raw text after BOS (story models such as
 * stories260K); `chat` goes through the model's chat template (instruction models).
 */
export type Prompt = { kind: 'plain'; text: string } | { kind: 'chat'; messages: ChatMessage[] };

/** Sizes for the FLOPs estimate of a sweep (2·N_params + 2·n_layer·n_ctx·d_attn per token). */
export interface ModelArchitecture {
  /** Every weight in the checkpoint, embeddings included. */
  parameterCount: number;
  layers: number;
  /** d_attn: query heads × head size. */
  attentionDim: number;
}

export interface ModelInfo {
  /** Engine-qualified id, e.g. `reference:stories260K` or a web-llm model id. */
  id: string;
  engine: 'reference' | 'webllm' | 'server' | 'onnx';
  promptStyle: PromptStyle;
  contextWindowTokens: number;
  vocabSize: number;
  bosId: number | null;
  /** Ids that end a generation (EOS, end-of-turn). */
  stopIds: number[];
  /** Known for engines that read the weights (optional: other engines may not know it). */
  architecture?: ModelArchitecture;
  /** How the model runs, when the engine can say (the ONNX engine: device, dtype, threads). */
  runtime?: EngineRuntime;
  /**
   * True when the server reported no window (no max_model_len): contextWindowTokens is then a
   * placeholder that never cuts, and the server's own length check decides.
   */
  windowUnknown?: boolean;
  /** Where sampling happens: in this engine's own sampler (default) or on an inference server. */
  sampler?: 'engine' | 'server';
  /** host[:port] of the inference server this engine talks to, when it is one. */
  serverHost?: string;
  /**
   * An inference server's scoring form, as its capability check found it: vLLM's echo or
   * prompt_logprobs ('sglang' for SGLang) and the sequences per request (1 when the server
   * takes no list requests, which makes scoring slower).
   */
  serverScoring?: { mode: 'echo' | 'prompt_logprobs' | 'sglang'; sequencesPerRequest: number };
  /** What the engine found out about its scoring paths while loading (web-llm only). */
  loadReport?: EngineLoadReport;
}

export interface EngineRuntime {
  /** `wasm`, `webgpu` (onnxruntime-web) or `cpu` (onnxruntime-node). */
  device: string;
  /** Weight variant, e.g. `q4f16`, `q4`, `fp32`. */
  dtype: string;
  /** WASM threads in use (1 when the page is not cross-origin isolated). */
  threads: number;
  /** One plain-words line for the engine status, e.g. why only one thread is used. */
  note?: string;
}

/**
 * The web-llm engine's check of its own scoring paths, made once per load (webllm-engine.ts
 * `verifyFastPath`), shown with the loaded model and stored with each run.
 */
export interface EngineLoadReport {
  /** One prompt prefill serves every continuation (KV roll-back after each). */
  promptReuse: boolean;
  /** Why prompt reuse is on or off. */
  promptReuseNote: string;
  /** Continuations are scored with the all-positions function instead of one decode step per token. */
  fastPath: boolean;
  /** Why the all-positions path is on or off. */
  fastPathNote: string;
  /** Largest per-token |all-positions - forced decoding| found by the check (nats); null if not measured. */
  fastPathMaxDiffNats: number | null;
  /** The per-token tolerance the largest difference was held to (nats). */
  fastPathToleranceNats: number;
  /** Root mean square of the per-token differences (nats); null if not measured; absent in older runs. */
  fastPathRmsDiffNats?: number | null;
  /** The tolerance the root mean square was held to (nats); absent in older runs. */
  fastPathRmsToleranceNats?: number;
}

export interface SamplingSettings {
  /** 0 means greedy (argmax); log-probs are then reported at temperature 1. */
  temperature: number;
  /** Nucleus mass in (0, 1]; 1 samples the full distribution (the channel that is scored). */
  topP: number;
  maxTokens: number;
  /** Seed of the engine's deterministic generator. */
  seed: number;
}

/** Why a generation ended: a stop id was sampled, the budget ran out, or it was interrupted. */
export type StopReason = 'stop' | 'length' | 'interrupted';

export interface GenerateResult {
  /** Generated ids, including the stop id when `stopReason` is `stop`. */
  ids: number[];
  /** ln p of each id in `ids` under the sampling distribution before top-p truncation. */
  logprobsNats: number[];
  stopReason: StopReason;
}

export interface TokenEvent {
  id: number;
  /** Text this token adds to the decoded output (may be empty for partial UTF-8 or stop ids). */
  text: string;
  logprobNats: number;
  /** Tokens generated so far in this call. */
  index: number;
}

export interface EngineCounters {
  /** Tokens processed by forward calls that took more than one token (batched prefill). */
  prefillTokens: number;
  /** Forward calls that processed exactly one token. */
  decodeSteps: number;
  forwardCalls: number;
}

export interface Engine {
  readonly info: ModelInfo;
  /** Encode text without BOS or other special tokens. */
  tokenize(text: string): MaybePromise<number[]>;
  detokenize(ids: number[]): MaybePromise<string>;
  /** Apply the model's template (BOS, chat template) and return the prompt ids. */
  promptIds(prompt: Prompt): MaybePromise<number[]>;
  /**
   * A cheap synchronous token count, for engines whose `tokenize` is remote: chunking cuts
   * passages with it and then checks each passage's real prompt length once with `promptIds`.
   * Absent: chunking counts with `tokenize`, which must then answer synchronously.
   */
  estimateTokens?(text: string): number;
  generate(
    promptIds: number[],
    settings: SamplingSettings,
    onToken?: (event: TokenEvent) => void,
  ): Promise<GenerateResult>;
  /**
   * Teacher-forced per-token log-probs of each continuation after the prompt, at `temperature`
   * (default 1). The prompt is prefilled once and reused for every continuation.
   * Throws `InterruptedError` when interrupted (a partial score is meaningless).
   */
  score(promptIds: number[], continuations: number[][], temperature?: number): Promise<number[][]>;
  /**
   * Optional: many generations at once (a server runs them in parallel). `onResult` is called,
   * and awaited, as each finishes, in any order, with the text each id added. An interrupt ends
   * the remaining ones with stopReason 'interrupted'. runEstimate uses it when present.
   */
  generateMany?(
    jobs: { promptIds: number[]; settings: SamplingSettings }[],
    onResult: (index: number, result: GenerateResult, tokenTexts: string[]) => void | Promise<void>,
  ): Promise<void>;
  /**
   * Optional: `score` for several prompts at once (a server keeps many requests in flight).
   * Result i is `score(jobs[i].promptIds, jobs[i].continuations, temperature)`; `onJob(i)` is
   * called once job i is complete. All-or-nothing; throws `InterruptedError` when interrupted.
   * scoreUnderContexts uses it, with about `scoringSequencesInFlight()` × 2 sequences per call.
   */
  scoreMany?(
    jobs: { promptIds: number[]; continuations: number[][] }[],
    temperature?: number,
    onJob?: (index: number) => void,
  ): Promise<number[][][]>;
  /** With scoreMany: how many sequences the engine scores at the same time. */
  scoringSequencesInFlight?(): number;
  /** Stop the running generate/score at the next token boundary. Idempotent; safe when idle. */
  interrupt(): void;
  counters(): EngineCounters;
  resetCounters(): void;
  dispose(): Promise<void>;
}
