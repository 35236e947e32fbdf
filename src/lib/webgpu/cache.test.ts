import { describe, expect, it } from 'vitest';
import { groupCachedBytes, listCachedModels, storageEstimate, type CacheStorageLike } from './cache';
import type { ModelRecordLike } from './catalog';

const records: ModelRecordLike[] = [
  { model: 'https://huggingface.co/mlc-ai/A-q4f32_1-MLC', model_id: 'A-q4f32_1-MLC', model_lib: 'https://libs/A.wasm' },
  { model: 'https://huggingface.co/mlc-ai/B-q4f32_1-MLC', model_id: 'B-q4f32_1-MLC', model_lib: 'https://libs/B.wasm' },
  { model: 'https://huggingface.co/mlc-ai/C-q4f32_1-MLC', model_id: 'C-q4f32_1-MLC', model_lib: 'https://libs/C.wasm' },
];

function fakeCaches(scopes: Record<string, Record<string, { len?: number; body?: string }>>): CacheStorageLike {
  return {
    has: async (n) => n in scopes,
    open: async (n) => ({
      keys: async () => Object.keys(scopes[n]).map((url) => ({ url })),
      match: async (req) => {
        const url = typeof req === 'string' ? req : req.url;
        const e = scopes[n][url];
        if (!e) return undefined;
        return new Response(e.body ?? '', { headers: e.len !== undefined ? { 'content-length': String(e.len) } : {} });
      },
    }),
  };
}

describe('model cache listing', () => {
  it('groups bytes by model: weights and tokenizer under the base URL, the library by URL', () => {
    const g = groupCachedBytes(records, [
      { url: 'https://huggingface.co/mlc-ai/A-q4f32_1-MLC/resolve/main/params_shard_0.bin', bytes: 100 },
      { url: 'https://huggingface.co/mlc-ai/A-q4f32_1-MLC/resolve/main/tokenizer.json', bytes: 5 },
      { url: 'https://libs/A.wasm', bytes: 7 },
      { url: 'https://elsewhere/x', bytes: 1000 },
    ]);
    expect([...g]).toEqual([['A-q4f32_1-MLC', 112]]);
  });

  it('lists cached models with sizes and completeness, ignoring library-only entries', async () => {
    const caches = fakeCaches({
      'webllm/model': {
        'https://huggingface.co/mlc-ai/A-q4f32_1-MLC/resolve/main/params_shard_0.bin': { len: 3000 },
        'https://huggingface.co/mlc-ai/B-q4f32_1-MLC/resolve/main/params_shard_0.bin': { body: 'abcd' },
      },
      'webllm/wasm': { 'https://libs/A.wasm': { len: 10 }, 'https://libs/C.wasm': { len: 10 } },
    });
    const list = await listCachedModels(records, caches, async (id) => id.startsWith('A'));
    expect(list).toEqual([
      { modelId: 'A-q4f32_1-MLC', bytes: 3010, complete: true },
      { modelId: 'B-q4f32_1-MLC', bytes: 4, complete: false },
    ]);
  });

  it('returns nothing without the Cache API', async () => {
    expect(await listCachedModels(records, undefined)).toEqual([]);
  });
});

describe('storageEstimate', () => {
  it('reads usage, quota and persistence', async () => {
    const info = await storageEstimate({ storage: { estimate: async () => ({ usage: 5, quota: 100 }), persisted: async () => false } });
    expect(info).toEqual({ usageBytes: 5, quotaBytes: 100, persisted: false });
    expect(await storageEstimate({})).toEqual({ usageBytes: null, quotaBytes: null, persisted: null });
  });
});
