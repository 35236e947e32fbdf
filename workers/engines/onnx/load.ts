/**
 * Loading an ONNX model for the OnnxEngine with transformers.js: from a folder on disk (Node),
 * a folder served over HTTP (the app's `/models/stories260K-onnx/`), files the user picked, or a
 * Hugging Face hub repository.
 *
 * Before anything heavy is fetched we read `config.json`, check that `tokenizer.json` is there,
 * check the architecture, list the dtypes the folder has, pick one (dtype.ts) and, when the
 * weights' size is known, check it against the memory the device offers. Every failure is a
 * named error: ModelFormatError, UnsupportedModelError, UnsupportedDtypeError, ModelTooLargeError,
 * ModelDownloadError.
 *
 * transformers.js keeps its settings in one global `env`; only one model loads at a time (the
 * worker's lock), and each load sets every setting it depends on.
 */
import type { ModelInfo } from '../../../src/lib/core/engine';
import { errorMessage, errorName } from '../../../src/lib/core/errors';
import { DTYPES, chooseDtype, dtypeFile, dtypeOfFile, type OnnxDevice, type OnnxDtype } from '../../../src/lib/onnx/dtype';
import { ModelFormatError, ModelTooLargeError, UnsupportedModelError } from '../../../src/lib/onnx/errors';
import { ModelDownloadError } from '../../../src/lib/webgpu/errors';
import { OnnxEngine, nonStandardInputs, type LostSignal, type OnnxEngineOptions, type OnnxModelParts, type TensorCtor } from './engine';

export type OnnxSource =
  /** A folder on this machine (Node: the command line and tests). */
  | { kind: 'dir'; path: string }
  /** A folder served over HTTP, e.g. `/models/stories260K-onnx/`; `name` is shown in the id. */
  | { kind: 'url'; url: string; name: string }
  /** Files the user picked (paths relative to the model folder, e.g. `onnx/model.onnx`). */
  | { kind: 'files'; name: string; files: Record<string, Blob> }
  /** A hub repository, e.g. `onnx-community/Qwen2.5-0.5B-Instruct`. */
  | { kind: 'hub'; repo: string; revision?: string; host?: string };

export interface OnnxLoadOptions {
  device?: OnnxDevice;
  /** A dtype name (fp32, q8, q4, q4f16, ...); default: chosen from the device and its files. */
  dtype?: string | null;
  /** WebGPU's shader-f16 (decides q4f16/fp16). */
  shaderF16?: boolean;
  /** WASM threads (the caller passes 1 when the page is not cross-origin isolated). */
  threads?: number;
  /** Why the thread count is what it is, for the engine status. */
  threadsNote?: string;
  /** Where onnxruntime-web's glue and binary are served from (our origin). */
  wasmPaths?: { mjs: string; wasm: string };
  /** Bytes the weights may take on this device; larger models are refused before loading. */
  memoryBudgetBytes?: number | null;
  /** Total bytes of the model's files if already confirmed (progress and the memory check). */
  onProgress?: (p: { loadedBytes: number; totalBytes: number | null; file: string }) => void;
  engine?: OnnxEngineOptions;
}

/** Model types transformers.js 4.3 runs as a plain decoder with a standard key/value cache. */
export const SUPPORTED_MODEL_TYPES = ['llama', 'qwen2', 'qwen3', 'mistral', 'phi3', 'granite', 'smollm3', 'olmo2', 'gemma', 'gemma2'];

interface Reader {
  label: string;
  /** Relative paths of the folder's files with their sizes, when they can be listed. */
  list(): Promise<Map<string, number | null> | null>;
  size(file: string): Promise<number | null | undefined>; // undefined: missing
  text(file: string): Promise<string | null>;
}

async function nodeReader(dir: string): Promise<Reader> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new ModelFormatError(`Model folder "${dir}" does not exist.`);
  return {
    label: dir,
    async list() {
      const out = new Map<string, number | null>();
      const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
          const r = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) walk(r);
          else out.set(r, fs.statSync(path.join(dir, r)).size);
        }
      };
      walk('');
      return out;
    },
    async size(file) {
      const p = path.join(dir, file);
      return fs.existsSync(p) ? fs.statSync(p).size : undefined;
    },
    async text(file) {
      const p = path.join(dir, file);
      return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : null;
    },
  };
}

function httpReader(base: string, label: string, fetchFn: typeof fetch = fetch): Reader {
  const url = (file: string) => new URL(file, base.endsWith('/') ? base : `${base}/`).href;
  const get = async (file: string, method: 'GET' | 'HEAD') => {
    try {
      return await fetchFn(url(file), { method });
    } catch (err) {
      throw new ModelDownloadError(`Could not reach ${label} (${errorMessage(err)}). Check the connection and try again.`);
    }
  };
  return {
    label,
    async list() {
      return null;
    },
    async size(file) {
      const r = await get(file, 'HEAD');
      if (r.status === 404) return undefined;
      if (!r.ok) return undefined;
      const len = r.headers.get('content-length');
      return len ? Number(len) : null;
    },
    async text(file) {
      const r = await get(file, 'GET');
      if (!r.ok) return null;
      return r.text();
    },
  };
}

function filesReader(name: string, files: Record<string, Blob>): Reader {
  return {
    label: `the folder ${name}`,
    async list() {
      return new Map(Object.entries(files).map(([k, b]) => [k, b.size]));
    },
    async size(file) {
      return files[file]?.size;
    },
    async text(file) {
      return files[file] ? files[file].text() : null;
    },
  };
}

/** Hub repository: one tree listing (sizes of every file) plus plain file reads. */
export function hubReader(repo: string, revision = 'main', host = 'https://huggingface.co/', fetchFn: typeof fetch = fetch): Reader {
  const h = host.endsWith('/') ? host : `${host}/`;
  const files = httpReader(`${h}${repo}/resolve/${revision}/`, repo, fetchFn);
  let listed: Promise<Map<string, number | null> | null> | null = null;
  const list = () =>
    (listed ??= (async () => {
      const out = new Map<string, number | null>();
      for (const dir of ['', 'onnx']) {
        let r: Response;
        try {
          r = await fetchFn(`${h}api/models/${repo}/tree/${revision}${dir ? `/${dir}` : ''}`);
        } catch (err) {
          throw new ModelDownloadError(`Could not reach the model host for ${repo} (${errorMessage(err)}). Check the connection and try again.`);
        }
        if (r.status === 404 || r.status === 401) throw new ModelFormatError(`${repo} is not a model repository the host knows (HTTP ${r.status}).`);
        if (!r.ok) throw new ModelDownloadError(`The model host answered HTTP ${r.status} for ${repo}. Try again later.`);
        const entries = (await r.json()) as { type: string; path: string; size?: number; lfs?: { size?: number } }[];
        for (const e of entries) if (e.type === 'file') out.set(e.path, e.lfs?.size ?? e.size ?? null);
      }
      return out;
    })());
  return {
    label: repo,
    list,
    async size(file) {
      const all = await list();
      return all?.has(file) ? all.get(file) : undefined;
    },
    text: files.text,
  };
}

interface ModelConfig {
  model_type?: string;
  architectures?: string[];
  vocab_size?: number;
  max_position_embeddings?: number;
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  'transformers.js_config'?: { dtype?: string | Record<string, string>; use_external_data_format?: unknown };
  text_config?: unknown;
}

export interface OnnxPlan {
  config: ModelConfig;
  dtype: OnnxDtype;
  available: OnnxDtype[];
  /** Bytes of the weights file(s) for that dtype, when known. */
  weightsBytes: number | null;
  /** Every file that will be downloaded with its size (null when unknown). */
  files: Map<string, number | null>;
}

function readerFor(source: OnnxSource): Promise<Reader> | Reader {
  switch (source.kind) {
    case 'dir':
      return nodeReader(source.path);
    case 'url':
      return httpReader(source.url, source.name);
    case 'files':
      return filesReader(source.name, source.files);
    case 'hub':
      return hubReader(source.repo, source.revision, source.host);
  }
}

/**
 * Everything that can be checked before loading: config.json and tokenizer.json present and
 * readable, a supported causal-LM architecture, the dtype, the size of what will be fetched and
 * whether the weights fit `memoryBudgetBytes`.
 */
export async function planOnnxLoad(source: OnnxSource, options: OnnxLoadOptions = {}): Promise<OnnxPlan> {
  const reader = await readerFor(source);
  const listing = await reader.list();
  const configText = await reader.text('config.json');
  if (configText === null) {
    throw new ModelFormatError(`${reader.label} has no config.json, so it is not a Hugging Face model folder. Pick the folder that holds config.json, tokenizer.json and onnx/.`);
  }
  let config: ModelConfig;
  try {
    config = JSON.parse(configText) as ModelConfig;
  } catch {
    throw new ModelFormatError(`config.json in ${reader.label} is not valid JSON.`);
  }
  const tokenizerSize = listing ? (listing.has('tokenizer.json') ? listing.get('tokenizer.json') : undefined) : await reader.size('tokenizer.json');
  if (tokenizerSize === undefined) {
    throw new ModelFormatError(`${reader.label} has no tokenizer.json; this engine needs the model's own tokenizer file next to config.json.`);
  }
  const type = config.model_type ?? '';
  const archs = config.architectures ?? [];
  if (!SUPPORTED_MODEL_TYPES.includes(type) || (archs.length > 0 && !archs.some((a) => a.endsWith('ForCausalLM')))) {
    throw new UnsupportedModelError(
      `${reader.label} is a "${type || 'unknown'}" model (${archs.join(', ') || 'no architecture given'}). ` +
        `This engine runs decoder-only causal LMs with a standard key/value cache: ${SUPPORTED_MODEL_TYPES.join(', ')}.`,
    );
  }

  // Which dtypes have a weights file.
  const available: OnnxDtype[] = [];
  const sizes = new Map<OnnxDtype, number | null>();
  if (listing) {
    for (const [file, size] of listing) {
      const d = dtypeOfFile(file);
      if (d && file.startsWith('onnx/')) {
        available.push(d);
        let total = size;
        for (const [f2, s2] of listing) if (f2.startsWith(`${file}_data`) && total !== null) total = s2 === null ? null : total + s2;
        sizes.set(d, total);
      }
    }
  } else {
    for (const d of DTYPES) {
      const s = await reader.size(dtypeFile(d));
      if (s !== undefined) {
        available.push(d);
        sizes.set(d, s);
      }
    }
  }
  const jsCfg = config['transformers.js_config']?.dtype;
  const dtype = chooseDtype({
    requested: options.dtype,
    configDtype: typeof jsCfg === 'string' ? jsCfg : null,
    available: DTYPES.filter((d) => available.includes(d)),
    device: options.device ?? 'wasm',
    shaderF16: options.shaderF16 ?? false,
    model: reader.label,
  });
  const weightsBytes = sizes.get(dtype) ?? null;
  const budget = options.memoryBudgetBytes ?? null;
  if (weightsBytes !== null && budget !== null && weightsBytes > budget) {
    throw new ModelTooLargeError(
      weightsBytes,
      budget,
      `${reader.label} (${dtype}) needs about ${(weightsBytes / 1e9).toFixed(2)} GB for its weights alone, but ${options.device ?? 'wasm'} here offers about ` +
        `${(budget / 1e9).toFixed(2)} GB. Pick a smaller model or dtype${options.device === 'webgpu' ? '' : ', or WebGPU'}.`,
    );
  }
  const files = new Map<string, number | null>();
  for (const f of ['config.json', 'generation_config.json', 'tokenizer.json', 'tokenizer_config.json']) {
    if (!listing || listing.has(f)) files.set(f, listing?.get(f) ?? null);
  }
  files.set(dtypeFile(dtype), weightsBytes);
  return { config, dtype, available, weightsBytes, files };
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
    if (source.kind === 'url') {
      const base = new URL(source.url.endsWith('/') ? source.url : `${source.url}/`, (globalThis as { location?: { href: string } }).location?.href);
      const parts = base.pathname.replace(/\/$/, '').split('/');
      modelId = parts.pop() || 'model';
      env.localModelPath = new URL(parts.join('/') + '/', base).href;
    } else {
      const files = source.files;
      modelId = 'picked';
      env.localModelPath = 'https://picked-folder.invalid/';
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
    if (source.host) env.remoteHost = source.host;
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
