/**
 * The ONNX engine's model catalog: instruction models exported for transformers.js (the
 * onnx-community builds, and SmolLM2's own ONNX folder) that make sense as compressors, with the
 * dtype picked per device, the download size and the memory they need. Pure.
 *
 * Sizes are the hub's listed file sizes when this catalog was written (decimal MB), so they are
 * shown as estimates until the host answers the size request made when a model is picked (see
 * onnx-state.svelte.ts); memory is our estimate: the weights file plus 20% for the runtime's
 * buffers and a 2,048-token key/value cache.
 *
 * Defaults (README "The ONNX engine"):
 * - CPU (WASM, any browser): Qwen2.5-0.5B-Instruct, q4 (786 MB). The smallest Qwen2.5, the family
 *   the paper's compressors come from; q4 quantises only the weights (MatMulNBits), so a token's
 *   log-probability does not depend on what else is in a batch, which q8's per-call activation
 *   quantisation does.
 * - WebGPU with shader-f16: Qwen2.5-1.5B-Instruct, q4f16 (1.22 GB); without shader-f16, q4.
 */
import type { OnnxDevice, OnnxDtype } from './dtype';

export interface OnnxCatalogEntry {
  /** Hub repository id; the engine-select value is `onnx:<repo>`. */
  repo: string;
  label: string;
  /** Parameters, for the label. */
  params: string;
  /** Weights file size by dtype (bytes, from the hub listing). */
  sizes: Partial<Record<OnnxDtype, number>>;
  contextWindowTokens: number;
  note?: string;
}

export const ONNX_CATALOG: OnnxCatalogEntry[] = [
  {
    repo: 'onnx-community/Qwen2.5-0.5B-Instruct',
    label: 'Qwen2.5 0.5B Instruct',
    params: '0.5B',
    sizes: { q4: 786e6, q4f16: 483e6, q8: 512e6, fp16: 997e6 },
    contextWindowTokens: 32768,
  },
  {
    repo: 'onnx-community/Qwen2.5-1.5B-Instruct',
    label: 'Qwen2.5 1.5B Instruct',
    params: '1.5B',
    sizes: { q4: 1.79e9, q4f16: 1.22e9, q8: 1.58e9 },
    contextWindowTokens: 32768,
  },
  {
    repo: 'onnx-community/Llama-3.2-1B-Instruct',
    label: 'Llama 3.2 1B Instruct',
    params: '1.2B',
    sizes: { q4: 1.66e9, q4f16: 1.07e9, q8: 1.24e9 },
    contextWindowTokens: 131072,
    note: 'Llama 3.2 Community License',
  },
  {
    repo: 'HuggingFaceTB/SmolLM2-360M-Instruct',
    label: 'SmolLM2 360M Instruct',
    params: '360M',
    sizes: { q4: 417e6, q4f16: 299e6, fp16: 819e6 },
    contextWindowTokens: 8192,
    note: 'smallest download; weakest compressions',
  },
];

export const CPU_DEFAULT_REPO = 'onnx-community/Qwen2.5-0.5B-Instruct';
export const GPU_DEFAULT_REPO = 'onnx-community/Qwen2.5-1.5B-Instruct';

/** The dtype offered on a device: q4f16 on WebGPU with shader-f16, else q4. */
export function catalogDtype(entry: OnnxCatalogEntry, device: OnnxDevice, shaderF16: boolean): OnnxDtype {
  if (device === 'webgpu' && shaderF16 && entry.sizes.q4f16) return 'q4f16';
  return entry.sizes.q4 ? 'q4' : (Object.keys(entry.sizes)[0] as OnnxDtype);
}

export interface OnnxOption {
  /** `onnx:<repo>` (engine-select value). */
  value: string;
  repo: string;
  dtype: OnnxDtype;
  downloadBytes: number;
  /** True until the host confirmed the size. */
  downloadIsEstimate: boolean;
  memoryBytes: number;
  label: string;
  isDefault: boolean;
}

export function memoryEstimateBytes(weightsBytes: number): number {
  return Math.round(weightsBytes * 1.2);
}

export function formatSize(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}

export function onnxOption(entry: OnnxCatalogEntry, device: OnnxDevice, shaderF16: boolean, defaultRepo: string): OnnxOption {
  const dtype = catalogDtype(entry, device, shaderF16);
  const bytes = entry.sizes[dtype] ?? 0;
  const memoryBytes = memoryEstimateBytes(bytes);
  return {
    value: `onnx:${entry.repo}`,
    repo: entry.repo,
    dtype,
    downloadBytes: bytes,
    downloadIsEstimate: true,
    memoryBytes,
    isDefault: entry.repo === defaultRepo,
    label:
      `${entry.label} · ONNX ${device === 'webgpu' ? 'WebGPU' : 'CPU'} · ${dtype} · about ${formatSize(bytes)} (estimate) · ` +
      `memory about ${formatSize(memoryBytes)}${entry.repo === defaultRepo ? ' · recommended' : ''}`,
  };
}

/** Options for the engine list on a device. */
export function onnxOptions(device: OnnxDevice, shaderF16: boolean): OnnxOption[] {
  const def = device === 'webgpu' ? GPU_DEFAULT_REPO : CPU_DEFAULT_REPO;
  return ONNX_CATALOG.map((e) => onnxOption(e, device, shaderF16, def));
}

export function findCatalogEntry(repo: string): OnnxCatalogEntry | undefined {
  return ONNX_CATALOG.find((e) => e.repo === repo);
}

/** The sentence of the readiness panel when there is no WebGPU. */
export function cpuOfferText(): string {
  const entry = findCatalogEntry(CPU_DEFAULT_REPO)!;
  const opt = onnxOption(entry, 'wasm', false, CPU_DEFAULT_REPO);
  return `This browser runs models on the CPU: ${entry.label} (${opt.dtype}), about ${formatSize(opt.downloadBytes)} to download once.`;
}
