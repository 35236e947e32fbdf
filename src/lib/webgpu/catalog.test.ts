import { describe, expect, it } from 'vitest';
import {
  buildCatalog,
  defaultFamily,
  engineSelectOptions,
  estimateDownloadBytes,
  fetchExactDownloadBytes,
  modelBaseUrl,
  parseModelId,
  smallestFamily,
  type ModelRecordLike,
} from './catalog';
import { modelRecords } from './model-list';

const rec = (model_id: string, vram: number, extra: Partial<ModelRecordLike> = {}): ModelRecordLike => ({
  model: `https://huggingface.co/mlc-ai/${model_id}`,
  model_id,
  model_lib: `https://example.invalid/${model_id}.wasm`,
  vram_required_MB: vram,
  low_resource_required: true,
  overrides: { context_window_size: 4096 },
  ...extra,
});

const fakeList: ModelRecordLike[] = [
  rec('Qwen2.5-1.5B-Instruct-q4f16_1-MLC', 1629.75),
  rec('Qwen2.5-1.5B-Instruct-q4f32_1-MLC', 1888.97),
  rec('Qwen2.5-3B-Instruct-q4f16_1-MLC', 2504.76),
  rec('Qwen2.5-3B-Instruct-q4f32_1-MLC', 2893.64),
  rec('SmolLM2-360M-Instruct-q4f16_1-MLC', 376.06, { required_features: ['shader-f16'] }),
  rec('SmolLM2-360M-Instruct-q4f32_1-MLC', 579.61),
  rec('SmolLM2-135M-Instruct-q0f16-MLC', 359.69, { required_features: ['shader-f16'] }),
  rec('SmolLM2-135M-Instruct-q0f32-MLC', 719.38),
  rec('Phi-3.5-mini-instruct-q4f32_1-MLC-1k', 3179.12),
  rec('snowflake-arctic-embed-m-q0f32-MLC-b4', 539.4, { model_type: 1 }),
  rec('Mistral-7B-Instruct-v0.3-q4f32_1-MLC', 5619.27),
];

describe('buildCatalog', () => {
  it('picks q4f32_1 (or q0f32) without shader-f16 and defaults to Qwen2.5-1.5B', () => {
    const c = buildCatalog(fakeList, { shaderF16: false });
    expect(c.map((f) => f.chosen.modelId)).toEqual([
      'SmolLM2-135M-Instruct-q0f32-MLC',
      'SmolLM2-360M-Instruct-q4f32_1-MLC',
      'Qwen2.5-1.5B-Instruct-q4f32_1-MLC',
      'Qwen2.5-3B-Instruct-q4f32_1-MLC',
    ]);
    expect(c.every((f) => !f.chosen.needsShaderF16)).toBe(true);
    expect(defaultFamily(c)?.family).toBe('Qwen2.5-1.5B-Instruct');
  });

  it('picks q4f16_1 with shader-f16 and defaults to Qwen2.5-3B', () => {
    const c = buildCatalog(fakeList, { shaderF16: true });
    expect(c.find((f) => f.family === 'Qwen2.5-3B-Instruct')?.chosen.modelId).toBe('Qwen2.5-3B-Instruct-q4f16_1-MLC');
    expect(c.find((f) => f.family === 'SmolLM2-135M-Instruct')?.chosen.modelId).toBe('SmolLM2-135M-Instruct-q0f16-MLC');
    expect(defaultFamily(c)?.family).toBe('Qwen2.5-3B-Instruct');
  });

  it('carries vram and an estimated download size', () => {
    const q = buildCatalog(fakeList, { shaderF16: false }).find((f) => f.family === 'Qwen2.5-1.5B-Instruct')!;
    expect(q.chosen.vramMB).toBe(1888.97);
    expect(q.chosen.downloadSizeIsEstimate).toBe(true);
    // 1.544e9 weights x 5 bits / 8 + 8 MB overhead
    expect(q.chosen.downloadBytes).toBe(Math.round((1.544e9 * 5) / 8 + 8e6));
    expect(q.chosen.contextWindowTokens).toBe(4096);
  });

  it('skips -1k variants, embedding models and families it does not list', () => {
    const ids = buildCatalog(fakeList, { shaderF16: true }).flatMap((f) => f.variants.map((v) => v.modelId));
    expect(ids.some((id) => id.includes('-1k') || id.includes('snowflake') || id.includes('Mistral'))).toBe(false);
  });

  it('smallestFamily finds the smallest download', () => {
    expect(smallestFamily(buildCatalog(fakeList, { shaderF16: false }))?.chosen.modelId).toBe('SmolLM2-360M-Instruct-q4f32_1-MLC');
  });

  it('engineSelectOptions gives model ids as values with sizes', () => {
    const opts = engineSelectOptions(buildCatalog(fakeList, { shaderF16: false }));
    const q = opts.find((o) => o.value === 'Qwen2.5-1.5B-Instruct-q4f32_1-MLC')!;
    expect(q.label).toMatch(/~\d.* download, 1\.8 GB GPU memory\) - recommended/);
    expect(q.isDefault).toBe(true);
  });
});

describe('helpers', () => {
  it('parses model ids', () => {
    expect(parseModelId('Qwen3-0.6B-q4f32_1-MLC')).toEqual({ family: 'Qwen3-0.6B', quantization: 'q4f32_1' });
    expect(parseModelId('Phi-3.5-mini-instruct-q4f32_1-MLC-1k')).toBeNull();
  });

  it('estimates by bits per weight', () => {
    expect(estimateDownloadBytes(1, 'q0f32')).toBe(4e9 + 8e6);
    expect(estimateDownloadBytes(1, 'q4f16_1')).toBe(562.5e6 + 8e6);
  });

  it('builds the model base URL as web-llm does', () => {
    expect(modelBaseUrl('https://huggingface.co/mlc-ai/X')).toBe('https://huggingface.co/mlc-ai/X/resolve/main/');
    expect(modelBaseUrl('https://host/m/resolve/v1/')).toBe('https://host/m/resolve/v1/');
  });

  it('sums tensor-cache shard sizes, null when offline', async () => {
    const ok = (async () => new Response(JSON.stringify({ records: [{ nbytes: 10 }, { nbytes: 32 }] }))) as unknown as typeof fetch;
    expect(await fetchExactDownloadBytes({ model: 'https://h/m' }, ok)).toBe(42);
    const offline = (async () => {
      throw new TypeError('Failed to fetch');
    }) as unknown as typeof fetch;
    expect(await fetchExactDownloadBytes({ model: 'https://h/m' }, offline)).toBeNull();
  });
});

describe('the installed web-llm model list', () => {
  it('offers the Qwen2.5 and Llama-3.2 instruct families in f32 for a GPU without shader-f16', async () => {
    const c = buildCatalog(modelRecords(), { shaderF16: false });
    const fams = c.map((f) => f.family);
    for (const f of ['Qwen2.5-0.5B-Instruct', 'Qwen2.5-1.5B-Instruct', 'Qwen2.5-3B-Instruct', 'Qwen2.5-7B-Instruct', 'Llama-3.2-1B-Instruct', 'Llama-3.2-3B-Instruct']) {
      expect(fams).toContain(f);
    }
    expect(c.every((f) => /q4f32_1|q0f32/.test(f.chosen.quantization))).toBe(true);
    expect(c.every((f) => f.chosen.vramMB !== null)).toBe(true);
  });
});
