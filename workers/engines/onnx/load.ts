/**
 * Loading an ONNX model for the OnnxEngine with transformers.js: from a folder on disk (Node),
 * a folder served over HTTP (the app's `/models/stories260K-onnx/`), files the user picked, or a
 * Hugging Face hub repository.
 *
 * Before anything heavy is fetched, planOnnxLoad (src/lib/onnx/plan.ts) checks the folder, picks
 * the dtype and checks the size against the device's memory. Every failure is a named error:
 * ModelFormatError, UnsupportedModelError, UnsupportedDtypeError, ModelTooLargeError,
 * ModelDownloadError.
 *
 * transformers.js keeps its settings in one global `env`; only one model loads at a time (the
 * worker's lock), and each load sets every setting it depends on.
 */
import type { ModelInfo } from '../../../src/lib/core/engine';
import { errorMessage, errorName } from '../../../src/lib/core/errors';
import { ModelFormatError, ModelTooLargeError, UnsupportedModelError } from '../../../src/lib/onnx/errors';
import { planOnnxLoad, type OnnxPlan, type OnnxPlanOptions, type OnnxSource } from '../../../src/lib/onnx/plan';
import { ModelDownloadError } from '../../../src/lib/webgpu/errors';
export { planOnnxLoad, type OnnxPlan, type OnnxSource } from '../../../src/lib/onnx/plan';
import { OnnxEngine, nonStandardInputs, type LostSignal, type OnnxEngineOptions, type OnnxModelParts, type TensorCtor } from './engine';

export interface OnnxLoadOptions extends OnnxPlanOptions {
  /** WASM threads (the caller passes 1 when the page is not cross-origin isolated). */
  threads?: number;
  /** Why the thread count is what it is, for the engine status. */
  threadsNote?: string;
  /** Where onnxruntime-web's glue and binary are served from (our origin). */
  wasmPaths?: { mjs: string; wasm: string };
  onProgress?: (p: { loadedBytes: number; totalBytes: number | null; file: string }) => void;
  engine?: OnnxEngineOptions;
}

function eosIds(...values: (number | number[] | null | undefined)[]): number[] {
  const out: number[] = [];
  for (const v of values) {
    for (const id of Array.isArray(v) ? v : v === null || v === undefined ? [] : [v]) if (Number.isInteger(id) && !out.includes(id)) out.push(id);
  }
  return out;
}

/** Map a transformers.js / onnxruntime failure to a named error. */
function mapError(err: unknown, label: string): Error {
  const name = errorName(err);
  const msg = errorMessage(err);
  if (['ModelFormatError', 'UnsupportedModelError', 'UnsupportedDtypeError', 'ModelTooLargeError', 'ModelDownloadError', 'DeviceLostError'].includes(name) && err instanceof Error) return err;
  if (/Unsupported model type/i.test(msg)) return new UnsupportedModelError(`transformers.js cannot run ${label}: ${msg}`);
  if (/not found locally|Could not locate file|404/i.test(msg)) return new ModelFormatError(`A file of ${label} is missing: ${msg}`);
  if (/Failed to fetch|NetworkError|fetch failed|network/i.test(msg)) return new ModelDownloadError(`Could not download ${label}: ${msg}. Files already downloaded stay cached.`);
  if (/out of memory|Out of memory|RangeError: Array buffer allocation|memory access out of bounds|Aborted\(/i.test(msg)) {
    return new ModelTooLargeError(0, 0, `${label} did not fit in this device's memory while loading (${msg}). Pick a smaller model or dtype.`);
  }
  const out = new Error(`Could not load ${label}: ${msg}`);
  out.name = 'ModelLoadError';
  return out;
}

/** Load a model and wrap it in an OnnxEngine. */
export async function loadOnnxEngine(source: OnnxSource, options: OnnxLoadOptions = {}, plan?: OnnxPlan): Promise<OnnxEngine> {
  return new OnnxEngine(await loadOnnxParts(source, options, plan), options.engine);
}

/** Load a model's tokenizer and session (what an OnnxEngine is built from). */
export async function loadOnnxParts(source: OnnxSource, options: OnnxLoadOptions = {}, plan?: OnnxPlan): Promise<OnnxModelParts> {
  const p = plan ?? (await planOnnxLoad(source, options));
  const label = source.kind === 'hub' ? source.repo : source.kind === 'dir' ? source.path : source.name;
  const lib = await import('@huggingface/transformers');
  const { env, AutoTokenizer, AutoModelForCausalLM, Tensor } = lib;

  // Where the files come from.
  let modelId: string;
  env.useFSCache = false;
  env.useWasmCache = false;
  env.useCustomCache = false;
  env.fetch = globalThis.fetch?.bind(globalThis);
  if (source.kind === 'dir') {
    const path = await import('node:path');
    const abs = path.resolve(source.path);
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
    env.useFS = true;
    env.useBrowserCache = false;
    env.localModelPath = path.dirname(abs) + path.sep;
    modelId = path.basename(abs);
  } else if (source.kind === 'url' || source.kind === 'files') {
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
    env.useFS = false;
    env.useBrowserCache = false;
    // transformers.js treats a localModelPath that is a full URL as remote, so it gets a path.
    if (source.kind === 'url') {
      const base = new URL(source.url.endsWith('/') ? source.url : `${source.url}/`, (globalThis as { location?: { href: string } }).location?.href);
      const parts = base.pathname.replace(/\/$/, '').split('/');
      modelId = decodeURIComponent(parts.pop() || 'model');
      env.localModelPath = parts.join('/') + '/';
    } else {
      const files = source.files;
      modelId = 'picked';
      env.localModelPath = '/__picked-folder__/';
      const prefix = `${env.localModelPath}${modelId}/`;
      const realFetch = env.fetch;
      env.fetch = (async (input: string | URL, init?: RequestInit) => {
        const href = String(input);
        if (!href.startsWith(prefix)) return realFetch(input, init);
        const blob = files[decodeURIComponent(href.slice(prefix.length))];
        if (!blob) return new Response('not found', { status: 404 });
        return new Response(blob, { status: 200, headers: { 'content-length': String(blob.size) } });
      }) as typeof env.fetch;
    }
  } else {
    env.allowLocalModels = false;
    env.allowRemoteModels = true;
    env.useFS = false;
    env.useBrowserCache = typeof caches !== 'undefined';
    env.remoteHost = source.host ?? 'https://huggingface.co/';
    modelId = source.repo;
  }
  const onnxEnv = env.backends.onnx as { wasm?: { numThreads?: number; wasmPaths?: unknown; proxy?: boolean }; webgpu?: { device?: unknown } };
  if (onnxEnv.wasm) {
    if (options.threads) onnxEnv.wasm.numThreads = options.threads;
    if (options.wasmPaths) onnxEnv.wasm.wasmPaths = { ...options.wasmPaths };
    onnxEnv.wasm.proxy = false;
  }

  // One progress figure over every file.
  const known = [...p.files.values()].every((s) => s !== null);
  const totalBytes = known ? [...p.files.values()].reduce<number>((a, b) => a + (b ?? 0), 0) : null;
  const loadedByFile = new Map<string, number>();
  const progress_callback = (e: { status?: string; file?: string; loaded?: number; total?: number }) => {
    if (e.status !== 'progress' || !e.file) return;
    loadedByFile.set(e.file, e.loaded ?? 0);
    let loadedBytes = 0;
    for (const v of loadedByFile.values()) loadedBytes += v;
    options.onProgress?.({ loadedBytes, totalBytes, file: e.file });
  };

  const device = options.device ?? (source.kind === 'dir' ? 'cpu' : 'wasm');
  let tokenizer: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
  let model: Awaited<ReturnType<typeof AutoModelForCausalLM.from_pretrained>>;
  try {
    tokenizer = await AutoTokenizer.from_pretrained(modelId, { revision: source.kind === 'hub' ? source.revision : undefined, progress_callback });
    model = await AutoModelForCausalLM.from_pretrained(modelId, {
      dtype: p.dtype,
      device: device === 'cpu' ? 'cpu' : device,
      revision: source.kind === 'hub' ? source.revision : undefined,
      progress_callback,
    });
  } catch (err) {
    throw mapError(err, label);
  }
  const session = model.sessions.model ?? Object.values(model.sessions)[0];
  const odd = nonStandardInputs(session?.inputNames ?? []);
  if (!session || odd.length > 0 || Object.keys(model.sessions).length !== 1) {
    await model.dispose();
    throw new UnsupportedModelError(`${label} is not a single decoder graph with a standard key/value cache (unexpected inputs: ${odd.join(', ') || Object.keys(model.sessions).join(', ')}).`);
  }

  const cfg = p.config;
  const gen = (model as unknown as { generation_config?: { eos_token_id?: number | number[] | null } }).generation_config;
  const tokCfg = (tokenizer as unknown as { model_max_length?: number }).model_max_length;
  const windows = [cfg.max_position_embeddings, tokCfg].filter((v): v is number => typeof v === 'number' && v > 0 && v < 1e7);
  const withSpecial = tokenizer.encode('a');
  const without = tokenizer.encode('a', { add_special_tokens: false });
  const bosId = withSpecial.length > without.length && withSpecial[0] !== without[0] ? withSpecial[0] : null;
  let gpu: LostSignal | undefined;
  if (device === 'webgpu') {
    try {
      const dev = (await onnxEnv.webgpu?.device) as Partial<LostSignal> | undefined;
      if (dev?.lost) gpu = { lost: dev.lost };
    } catch {
      // no device handle to watch; failures still surface from the calls
    }
  }
  const threads = device === 'wasm' ? (onnxEnv.wasm?.numThreads ?? 1) : 1;
  const runtime: NonNullable<ModelInfo['runtime']> = {
    device,
    dtype: p.dtype,
    threads,
    ...(options.threadsNote ? { note: options.threadsNote } : {}),
  };
  const name = source.kind === 'hub' ? source.repo : source.kind === 'dir' ? modelId.replace(/-onnx$/, '') : source.name;
  return {
      id: `onnx:${name}`,
      tokenizer: tokenizer as never,
      model: model as never,
      Tensor: Tensor as unknown as TensorCtor,
      vocabSize: cfg.vocab_size ?? 0,
      contextWindowTokens: windows.length ? Math.min(...windows) : 2048,
      bosId,
      stopIds: eosIds(gen?.eos_token_id, cfg.eos_token_id),
      runtime,
      gpu,
  };
}
