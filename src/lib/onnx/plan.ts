/**
 * What can be known about an ONNX model folder before loading it: config.json and tokenizer.json
 * present and readable, a supported causal-LM architecture, the dtypes it has, the one to load,
 * the size of every file that will be fetched, and whether the weights fit the memory the device
 * offers. Works for a folder on disk (Node), a served folder, picked files and a hub repository
 * (one tree listing of the hub's API gives every size). Throws ModelFormatError,
 * UnsupportedModelError, UnsupportedDtypeError, ModelTooLargeError or ModelDownloadError.
 */
import { errorMessage } from '../core/errors';
import { ModelDownloadError } from '../webgpu/errors';
import { DTYPES, chooseDtype, dtypeFile, dtypeOfFile, type OnnxDevice, type OnnxDtype } from './dtype';
import { ModelFormatError, ModelTooLargeError, UnsupportedModelError } from './errors';

export type OnnxSource =
  /** A folder on this machine (Node: the command line and tests). */
  | { kind: 'dir'; path: string }
  /** A folder served over HTTP, e.g. `/models/stories260K-onnx/`; `name` is shown in the id. */
  | { kind: 'url'; url: string; name: string }
  /** Files the user picked (paths relative to the model folder, e.g. `onnx/model.onnx`). */
  | { kind: 'files'; name: string; files: Record<string, Blob> }
  /** A hub repository, e.g. `onnx-community/Qwen2.5-0.5B-Instruct`. */
  | { kind: 'hub'; repo: string; revision?: string; host?: string };

export interface OnnxPlanOptions {
  device?: OnnxDevice;
  /** A dtype name (fp32, q8, q4, q4f16, ...); default: chosen from the device and its files. */
  dtype?: string | null;
  /** WebGPU's shader-f16 (decides q4f16/fp16). */
  shaderF16?: boolean;
  /** Bytes the weights may take on this device; larger models are refused before loading. */
  memoryBudgetBytes?: number | null;
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

function httpReader(base: string, label: string, fetchFn: typeof fetch = (...a) => fetch(...a)): Reader {
  const here = (globalThis as { location?: { href: string } }).location?.href;
  const root = new URL(base.endsWith('/') ? base : `${base}/`, here);
  const url = (file: string) => new URL(file, root).href;
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

/**
 * Hub repository: files under `<host>/<repo>/resolve/<revision>/`. Sizes come from a one-byte
 * Range request (the Content-Range total), as transformers.js's own get_file_metadata does: the
 * host answers it without sending the file, and it is the size the download will have.
 */
export function hubReader(repo: string, revision = 'main', host = 'https://huggingface.co/', fetchFn: typeof fetch = (...a) => fetch(...a)): Reader {
  const base = `${host.endsWith('/') ? host : `${host}/`}${repo}/resolve/${revision}/`;
  const request = async (file: string, init: RequestInit) => {
    try {
      return await fetchFn(base + file, init);
    } catch (err) {
      throw new ModelDownloadError(`Could not reach the model host for ${repo} (${errorMessage(err)}). Check the connection and try again.`);
    }
  };
  const fail = (r: Response, file: string): never => {
    if (r.status === 401 || r.status === 403) {
      throw new ModelDownloadError(`The model host refused ${repo}/${file} (HTTP ${r.status}): the repository is gated or private.`);
    }
    throw new ModelDownloadError(`The model host answered HTTP ${r.status} for ${repo}/${file}. Try again later.`);
  };
  return {
    label: repo,
    async list() {
      return null;
    },
    async size(file) {
      const r = await request(file, { method: 'GET', headers: { Range: 'bytes=0-0' }, cache: 'no-store' });
      if (r.status === 404 || r.status === 416) return undefined;
      if (!r.ok) fail(r, file);
      const range = r.headers.get('content-range');
      const m = range ? /\/(\d+)$/.exec(range) : null;
      if (r.status !== 206) await r.body?.cancel().catch(() => {});
      if (m) return Number(m[1]);
      const len = r.headers.get('content-length');
      return r.status === 200 && len ? Number(len) : null;
    },
    async text(file) {
      const r = await request(file, { method: 'GET' });
      if (r.status === 404) return null;
      if (!r.ok) fail(r, file);
      return r.text();
    },
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
export async function planOnnxLoad(source: OnnxSource, options: OnnxPlanOptions = {}): Promise<OnnxPlan> {
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
    // Probe the requested dtype's file first (one request when it is there), all of them otherwise.
    const probe = async (d: OnnxDtype) => {
      const main = await reader.size(dtypeFile(d));
      if (main === undefined) return;
      available.push(d);
      const data = await reader.size(`${dtypeFile(d)}_data`);
      sizes.set(d, data === undefined ? main : main === null || data === null ? null : main + data);
    };
    const wanted = options.dtype && (DTYPES as string[]).includes(options.dtype) ? (options.dtype as OnnxDtype) : null;
    if (wanted) await probe(wanted);
    if (!wanted || available.length === 0) for (const d of DTYPES) if (d !== wanted) await probe(d);
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
  files.set('config.json', new TextEncoder().encode(configText).length);
  files.set('tokenizer.json', tokenizerSize);
  for (const f of ['generation_config.json', 'tokenizer_config.json']) {
    const size = listing ? listing.get(f) : await reader.size(f);
    if (size !== undefined) files.set(f, size);
  }
  files.set(dtypeFile(dtype), weightsBytes);
  return { config, dtype, available, weightsBytes, files };
}

