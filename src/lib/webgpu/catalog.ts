/**
 * The compressor catalog: instruction models from web-llm's own prebuilt list, filtered to the
 * ones that make sense as compressors, one variant per family picked for this GPU.
 *
 * The model list is web-llm's `prebuiltAppConfig.model_list`, read from the installed package at
 * build time (`model-list.ts`, `virtual:webllm-models`), so the page never imports web-llm
 * (~6 MB) to show it. This module stays free of that import so the build step can use
 * `COMPRESSOR_FAMILIES` and `parseModelId` in Node. `buildCatalog()` is the pure selection,
 * tested with fake model lists.
 *
 * Sizes: `vramMB` is web-llm's own `vram_required_MB`. The download size is not in the record, so
 * it is estimated from the parameter count and the quantisation's bits per weight
 * (`downloadSizeIsEstimate: true`); `fetchExactDownloadBytes()` can replace it with the sum of the
 * weight shards listed in the model's tensor-cache.json when the model host is reachable.
 */

/** The fields of web-llm's ModelRecord this module reads. */
export interface ModelRecordLike {
  model: string;
  model_id: string;
  model_lib: string;
  vram_required_MB?: number;
  low_resource_required?: boolean;
  required_features?: string[];
  model_type?: number;
  overrides?: { context_window_size?: number };
  /** URL of mlc-model-manifest.json relative to the model URL (a few records). */
  model_manifest?: string;
}

export type Quantization = 'q4f16_1' | 'q4f32_1' | 'q0f16' | 'q0f32';

export interface CatalogVariant {
  modelId: string;
  quantization: Quantization;
  needsShaderF16: boolean;
  vramMB: number | null;
  downloadBytes: number;
  downloadSizeIsEstimate: boolean;
  contextWindowTokens: number | null;
  lowResource: boolean;
}

export interface CatalogFamily {
  /** e.g. `Qwen2.5-1.5B-Instruct` */
  family: string;
  label: string;
  /** Parameters in billions (from the table below or the id). */
  paramsB: number;
  note: string;
  /** The variant chosen for this GPU (q4f16_1 with shader-f16, else q4f32_1, else q0f32). */
  chosen: CatalogVariant;
  variants: CatalogVariant[];
  isDefault: boolean;
}

export interface CatalogOptions {
  shaderF16: boolean;
}

interface FamilySpec {
  family: string;
  label: string;
  /** Total parameters in billions, embeddings included (what is downloaded). */
  paramsB: number;
  note: string;
}

/**
 * Families offered, smallest first. Parameter counts are the models' published totals; they
 * only feed the download estimate.
 */
export const COMPRESSOR_FAMILIES: readonly FamilySpec[] = [
  { family: 'SmolLM2-135M-Instruct', label: 'SmolLM2 135M Instruct', paramsB: 0.135, note: 'Tiny; for trying the pipeline, too weak to compress well.' },
  { family: 'SmolLM2-360M-Instruct', label: 'SmolLM2 360M Instruct', paramsB: 0.362, note: 'Very small and fast; rough compressions.' },
  { family: 'Qwen2.5-0.5B-Instruct', label: 'Qwen2.5 0.5B Instruct', paramsB: 0.494, note: 'Smallest Qwen2.5; quick, often loses details.' },
  { family: 'Qwen3-0.6B', label: 'Qwen3 0.6B', paramsB: 0.596, note: 'Thinking is switched off for compression.' },
  { family: 'Llama-3.2-1B-Instruct', label: 'Llama 3.2 1B Instruct', paramsB: 1.236, note: 'Small Llama; wordier than Qwen.' },
  { family: 'Qwen2.5-1.5B-Instruct', label: 'Qwen2.5 1.5B Instruct', paramsB: 1.544, note: 'Good balance of quality and download.' },
  { family: 'SmolLM2-1.7B-Instruct', label: 'SmolLM2 1.7B Instruct', paramsB: 1.711, note: '' },
  { family: 'Qwen3-1.7B', label: 'Qwen3 1.7B', paramsB: 2.03, note: 'Thinking is switched off for compression.' },
  { family: 'Qwen2.5-3B-Instruct', label: 'Qwen2.5 3B Instruct', paramsB: 3.086, note: 'The paper found 3B compressors close to frontier accuracy.' },
  { family: 'Llama-3.2-3B-Instruct', label: 'Llama 3.2 3B Instruct', paramsB: 3.213, note: '' },
  { family: 'Phi-3.5-mini-instruct', label: 'Phi-3.5 mini Instruct (3.8B)', paramsB: 3.821, note: 'Needs a large GPU.' },
  { family: 'Phi-4-mini-instruct', label: 'Phi-4 mini Instruct (3.8B)', paramsB: 3.836, note: 'Needs a large GPU.' },
  { family: 'Qwen3-4B', label: 'Qwen3 4B', paramsB: 4.022, note: 'Thinking is switched off for compression.' },
  { family: 'Qwen2.5-7B-Instruct', label: 'Qwen2.5 7B Instruct', paramsB: 7.616, note: 'Best compressions; needs about 5-6 GB of GPU memory.' },
  { family: 'Llama-3.1-8B-Instruct', label: 'Llama 3.1 8B Instruct', paramsB: 8.03, note: 'Needs about 5-6 GB of GPU memory.' },
];

/**
 * First-try default. The paper's Deep Research setting found a Qwen-2.5 3B compressor recovers
 * about 99% of the frontier score, and Qwen-2.5 writes the most concise compressions of the
 * families it tried, so Qwen2.5-3B-Instruct is the default when the GPU has shader-f16: about
 * 1.7 GB to download and 2.5 GB of GPU memory. Without shader-f16 the only 3B variant is q4f32_1
 * (about 1.9 GB, 2.9 GB of GPU memory, and f32 kernels run markedly slower), and such GPUs tend
 * to be older or software adapters, so the default drops to Qwen2.5-1.5B-Instruct (about 1 GB,
 * 1.9 GB of GPU memory), the paper's smaller reference compressor.
 */
export const DEFAULT_FAMILY_WITH_F16 = 'Qwen2.5-3B-Instruct';
export const DEFAULT_FAMILY_WITHOUT_F16 = 'Qwen2.5-1.5B-Instruct';

/**
 * Bits stored per weight. MLC's q4f16_1/q4f32_1 group-quantise every weight matrix (embedding
 * included) to 4 bits in groups of 32 with one f16 or f32 scale per group: 4 + 16/32 and
 * 4 + 32/32 bits. q0 formats store unquantised f16/f32.
 */
export const BITS_PER_WEIGHT: Record<Quantization, number> = {
  q4f16_1: 4.5,
  q4f32_1: 5,
  q0f16: 16,
  q0f32: 32,
};

/** Estimated bytes to download: weights plus a few MB of wasm, tokenizer and config. */
export function estimateDownloadBytes(paramsB: number, quant: Quantization): number {
  const overheadBytes = 8e6;
  return Math.round((paramsB * 1e9 * BITS_PER_WEIGHT[quant]) / 8 + overheadBytes);
}

const QUANT_RE = /-(q4f16_1|q4f32_1|q0f16|q0f32)-MLC$/;

/** Split `Qwen2.5-1.5B-Instruct-q4f32_1-MLC` into family and quantisation; null for anything else (e.g. `-1k` variants). */
export function parseModelId(modelId: string): { family: string; quantization: Quantization } | null {
  const m = QUANT_RE.exec(modelId);
  if (!m) return null;
  return { family: modelId.slice(0, m.index), quantization: m[1] as Quantization };
}

function needsF16(record: ModelRecordLike, quant: Quantization): boolean {
  // Many f16 records do not declare shader-f16, but their kernels use it all the same.
  return quant.endsWith('f16') || quant === 'q4f16_1' || (record.required_features ?? []).includes('shader-f16');
}

/** Preference order of quantisations for a GPU. */
export function quantPreference(shaderF16: boolean): Quantization[] {
  return shaderF16 ? ['q4f16_1', 'q4f32_1', 'q0f16', 'q0f32'] : ['q4f32_1', 'q0f32'];
}

/** Pure selection: group the records by family, keep the families above, pick the variant for this GPU. */
export function buildCatalog(modelList: readonly ModelRecordLike[], opts: CatalogOptions): CatalogFamily[] {
  const prefs = quantPreference(opts.shaderF16);
  const defaultFamily = opts.shaderF16 ? DEFAULT_FAMILY_WITH_F16 : DEFAULT_FAMILY_WITHOUT_F16;
  const out: CatalogFamily[] = [];
  for (const spec of COMPRESSOR_FAMILIES) {
    const variants: CatalogVariant[] = [];
    for (const r of modelList) {
      const parsed = parseModelId(r.model_id);
      // model_type 1 is an embedding model, 2 a vision model: neither is a compressor.
      if (!parsed || parsed.family !== spec.family || (r.model_type ?? 0) !== 0) continue;
      variants.push({
        modelId: r.model_id,
        quantization: parsed.quantization,
        needsShaderF16: needsF16(r, parsed.quantization),
        vramMB: typeof r.vram_required_MB === 'number' ? r.vram_required_MB : null,
        downloadBytes: estimateDownloadBytes(spec.paramsB, parsed.quantization),
        downloadSizeIsEstimate: true,
        contextWindowTokens: r.overrides?.context_window_size ?? null,
        lowResource: r.low_resource_required === true,
      });
    }
    const usable = variants.filter((v) => opts.shaderF16 || !v.needsShaderF16);
    let chosen: CatalogVariant | undefined;
    for (const q of prefs) {
      chosen = usable.find((v) => v.quantization === q);
      if (chosen) break;
    }
    if (!chosen) continue;
    variants.sort((a, b) => prefs.indexOf(a.quantization) - prefs.indexOf(b.quantization));
    out.push({ family: spec.family, label: spec.label, paramsB: spec.paramsB, note: spec.note, chosen, variants, isDefault: spec.family === defaultFamily });
  }
  // If the default family is missing from this web-llm version, fall back to the first Qwen2.5.
  if (!out.some((f) => f.isDefault)) {
    const fallback = out.find((f) => f.family.startsWith('Qwen2.5')) ?? out[0];
    if (fallback) fallback.isDefault = true;
  }
  return out;
}

export function defaultFamily(catalog: readonly CatalogFamily[]): CatalogFamily | null {
  return catalog.find((f) => f.isDefault) ?? null;
}

/** The family with the smallest chosen download (the real-model test loads it). */
export function smallestFamily(catalog: readonly CatalogFamily[]): CatalogFamily | null {
  return catalog.reduce<CatalogFamily | null>((best, f) => (!best || f.chosen.downloadBytes < best.chosen.downloadBytes ? f : best), null);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} B`;
}

export interface EngineSelectOption {
  /** The web-llm model id: the `engine-select` option value. */
  value: string;
  label: string;
  kind: 'webllm';
  family: string;
  downloadBytes: number;
  downloadSizeIsEstimate: boolean;
  /** Same as downloadSizeIsEstimate, under the name the engine panel's option type uses. */
  downloadIsEstimate: boolean;
  vramMB: number | null;
  isDefault: boolean;
}

/** Options for the lead's `engine-select`: one per family, the variant chosen for this GPU. */
export function engineSelectOptions(catalog: readonly CatalogFamily[]): EngineSelectOption[] {
  return catalog.map((f) => {
    const v = f.chosen;
    const size = `${v.downloadSizeIsEstimate ? '~' : ''}${formatBytes(v.downloadBytes)}`;
    const vram = v.vramMB !== null ? `, ${(v.vramMB / 1024).toFixed(1)} GB GPU memory` : '';
    return {
      value: v.modelId,
      kind: 'webllm' as const,
      label: `${f.label} (${v.quantization}, ${size} download${vram})${f.isDefault ? ' - recommended' : ''}`,
      family: f.family,
      downloadBytes: v.downloadBytes,
      downloadSizeIsEstimate: v.downloadSizeIsEstimate,
      downloadIsEstimate: v.downloadSizeIsEstimate,
      vramMB: v.vramMB,
      isDefault: f.isDefault,
    };
  });
}

/** web-llm's rule for a model's base URL (`cleanModelUrl`): append `resolve/main/` unless present. */
export function modelBaseUrl(model: string): string {
  let url = model.endsWith('/') ? model : `${model}/`;
  if (!/.+\/resolve\/.+\//.test(url)) url += 'resolve/main/';
  return url;
}

/**
 * Exact weight bytes from the model's tensor-cache.json (a small JSON listing every shard with
 * its `nbytes`). Returns null when the host is unreachable or the file has another shape, so the
 * caller keeps the estimate.
 */
export async function fetchExactDownloadBytes(record: Pick<ModelRecordLike, 'model'>, fetchImpl: typeof fetch = fetch): Promise<number | null> {
  try {
    const res = await fetchImpl(new URL('tensor-cache.json', modelBaseUrl(record.model)).href);
    if (!res.ok) return null;
    const json = (await res.json()) as { records?: { nbytes?: number }[] };
    if (!Array.isArray(json.records)) return null;
    let total = 0;
    for (const r of json.records) {
      if (typeof r.nbytes !== 'number') return null;
      total += r.nbytes;
    }
    return total;
  } catch {
    return null;
  }
}
