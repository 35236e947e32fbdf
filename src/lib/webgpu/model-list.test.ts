import { describe, expect, it } from 'vitest';
import { pickModelRecords, webllmModelsModuleSource } from '../../../scripts/webllm-models-plugin';
import type { ModelRecordLike } from './catalog';
import { modelRecords, webllmVersion } from './model-list';

describe('the build-time web-llm model list', () => {
  it('is the installed web-llm prebuilt list, trimmed to the catalog families and fields', async () => {
    const webllm = await import('@mlc-ai/web-llm');
    const expected = pickModelRecords(webllm.prebuiltAppConfig.model_list);
    expect(modelRecords()).toEqual(expected);
    expect(modelRecords().length).toBeGreaterThan(20);
    for (const r of modelRecords()) {
      const full = webllm.prebuiltAppConfig.model_list.find((m) => m.model_id === r.model_id)!;
      expect(r.model).toBe(full.model);
      expect(r.model_lib).toBe(full.model_lib);
      expect(r.vram_required_MB).toBe(full.vram_required_MB);
    }
    const pkg = (await import('@mlc-ai/web-llm/package.json', { with: { type: 'json' } })) as { default: { version: string } };
    expect(webllmVersion).toBe(pkg.default.version);
  });

  it('is small enough for the first load (the whole of web-llm is about 6 MB)', async () => {
    const bytes = new TextEncoder().encode(await webllmModelsModuleSource()).length;
    expect(bytes).toBeLessThan(20_000);
  });

  it('drops embedding and vision models and ids without a known quantisation', () => {
    const base = { model: 'https://h/m', model_lib: 'https://h/lib.wasm' };
    const picked = pickModelRecords([
      { ...base, model_id: 'Qwen2.5-1.5B-Instruct-q4f32_1-MLC', buffer_size_required_bytes: 5 } as ModelRecordLike,
      { ...base, model_id: 'Qwen2.5-1.5B-Instruct-q4f32_1-MLC-1k' },
      { ...base, model_id: 'Qwen2.5-1.5B-Instruct-q4f16_1-MLC', model_type: 2 },
      { ...base, model_id: 'Unknown-7B-q4f32_1-MLC' },
    ]);
    expect(picked).toEqual([{ ...base, model_id: 'Qwen2.5-1.5B-Instruct-q4f32_1-MLC' }]);
  });
});
