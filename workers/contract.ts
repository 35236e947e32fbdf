/**
 * The compressor worker's API, written once. The worker implements it (checked with
 * `satisfies`); the main thread imports it with `import type` and wraps the worker with comlink.
 *
 * Crossing rules: callbacks are passed as `proxy(fn)` by the caller; bulk bytes (checkpoint
 * files) cross as transferables; cancellation is `interrupt()`, never `worker.terminate()`,
 * because the worker holds a loaded model. Errors arrive as plain Errors with their `name`
 * (see src/lib/core/errors.ts).
 */
import type {
  EngineCounters,
  GenerateResult,
  ModelInfo,
  Prompt,
  SamplingSettings,
  TokenEvent,
} from '../src/lib/core/engine';
import type { ChunkReply, ChunkRequest } from '../src/lib/core/chunk-for-compression';
import type { ServerEngineConfig } from './engines/server/engine';
import type { ChatCompressorConfig } from './engines/chat/compressor';
import type { ChatServerKind } from './engines/chat/wire';
import type {
  EstimateOutcome,
  EstimateProgress,
  EstimateRequest,
  GeneratedCompression,
} from '../src/lib/core/run-estimate';
import type { CachedModel } from '../src/lib/webgpu/cache';
import type { OnnxSource } from './engines/onnx/load';

/** Where the worker gets an engine from. */
export type EngineSpec =
  /** A llama2.c checkpoint and tokenizer fetched from URLs (e.g. /models/stories260K/). */
  | { kind: 'reference-url'; name: string; checkpointUrl: string; tokenizerUrl: string }
  /** The same, from files the user picked (File API); the buffers are transferred. */
  | { kind: 'reference-bytes'; name: string; checkpoint: ArrayBuffer; tokenizer: ArrayBuffer }
  /** A web-llm prebuilt model, by its model id. */
  | { kind: 'webllm'; modelId: string }
  /**
   * An inference server (vLLM, SGLang) over HTTP. `confirmedHost` must name the server's host
   * when it is not a loopback address: the compressor receives raw document text.
   */
  | { kind: 'server'; config: Omit<ServerEngineConfig, 'fetch'>; confirmedHost?: string }
  /** A Hugging Face ONNX model run by transformers.js (workers/engines/onnx/). */
  | OnnxEngineSpec;

export interface OnnxEngineSpec {
  kind: 'onnx';
  /** Shown in progress and errors, e.g. `stories260K` or a hub repo id. */
  label: string;
  /** Where the files come from (a served folder, picked files, or a hub repository). */
  source: Exclude<OnnxSource, { kind: 'dir' }>;
  device: 'wasm' | 'webgpu';
  /** Weights variant; default: chosen from the device and the files (src/lib/onnx/dtype.ts). */
  dtype?: string | null;
  /** WASM threads (used only when the page is cross-origin isolated; default min(4, cores)). */
  threads?: number;
  /** Override the memory check (bytes the weights may take; null = no check). */
  memoryBudgetBytes?: number | null;
}

/**
 * A generate-only compressor (Ollama, LM Studio, llama-server, any OpenAI-compatible chat
 * endpoint) beside the loaded engine, which then only scores. Same host rule as a server
 * engine: `confirmedHost` must name a host that is not a loopback address.
 */
export interface TextCompressorSpec {
  config: Omit<ChatCompressorConfig, 'fetch'>;
  confirmedHost?: string;
}

export interface TextCompressorInfo {
  /** e.g. `ollama:llama3.1:8b` */
  id: string;
  /** host[:port] the raw text goes to. */
  host: string;
  kind: ChatServerKind;
  concurrency: number;
}

export type LoadPhase = 'fetching' | 'parsing' | 'compiling' | 'ready';

export interface LoadProgress {
  phase: LoadPhase;
  /** 0..1 within the whole load, or null when unknown. */
  fraction: number | null;
  loadedBytes?: number;
  totalBytes?: number;
  /** Seconds left, when the loader can estimate it. */
  etaSeconds?: number;
  text: string;
}

export interface GenerateRequest {
  /** A prompt to template, or ready prompt ids. */
  prompt: Prompt | { kind: 'ids'; ids: number[] };
  settings: SamplingSettings;
}

export interface GenerateReply extends GenerateResult {
  promptIds: number[];
  text: string;
  elapsedMs: number;
}

export interface CompressorApi {
  /** Load an engine, replacing any loaded one. */
  load(spec: EngineSpec, onProgress?: (p: LoadProgress) => void): Promise<ModelInfo>;
  unload(): Promise<void>;
  /** The loaded model, or null. */
  info(): Promise<ModelInfo | null>;
  tokenize(text: string): Promise<number[]>;
  detokenize(ids: number[]): Promise<string>;
  /** Apply the loaded model's template (BOS, chat template) to a prompt. */
  promptIds(prompt: Prompt): Promise<number[]>;
  generate(request: GenerateRequest, onToken?: (e: TokenEvent) => void): Promise<GenerateReply>;
  score(promptIds: number[], continuations: number[][], temperature?: number): Promise<number[][]>;
  /** Split texts into chunks of the loaded model's own tokens that fit a compression prompt. */
  chunk(texts: string[], request: ChunkRequest): Promise<ChunkReply>;
  /**
   * Sample M compressions of each context and score each under every context (run-estimate.ts).
   * `interrupt()` ends it with a returned `{ status: 'cancelled' }` outcome, not an error.
   * Callbacks are separate arguments because comlink proxies only top-level arguments:
   * `onCompression` is awaited before the next compression starts (the page saves it first);
   * `onToken` reports each token of the compression being written (context i, sample j).
   */
  estimate(
    request: EstimateRequest,
    onProgress?: (progress: EstimateProgress) => void,
    onCompression?: (compression: GeneratedCompression) => void | Promise<void>,
    onToken?: (contextIndex: number, sampleIndex: number, event: TokenEvent) => void,
    /**
     * Write with the connected generate-only compressor of this id; the loaded engine only
     * scores (run-estimate.ts, proxy path). Refused when that compressor is not connected.
     */
    via?: { compressorId: string },
  ): Promise<EstimateOutcome>;
  /** Connect a generate-only compressor (replacing any), checking its model and host. */
  connectTextCompressor(spec: TextCompressorSpec): Promise<TextCompressorInfo>;
  disconnectTextCompressor(): Promise<void>;
  /** The models a generate-only server lists (GET /v1/models; sends no document text). */
  listChatModels(config: Omit<ChatCompressorConfig, 'fetch' | 'model'>): Promise<string[]>;
  /**
   * web-llm models stored in this origin's Cache Storage (sizes, completeness), read without
   * loading web-llm. Runs beside the engine queue, so a running estimate does not delay it.
   */
  cachedModels(): Promise<CachedModel[]>;
  /** Remove one web-llm model's files from Cache Storage (weights, tokenizer, library, config). */
  deleteCachedModel(modelId: string): Promise<void>;
  /** Cancel the running generate/score/estimate at the next token. Safe when idle. */
  interrupt(): Promise<void>;
  counters(): Promise<EngineCounters>;
}
