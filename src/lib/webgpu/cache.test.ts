import { describe, expect, it } from 'vitest';
import { deleteModelFiles, groupCachedBytes, isModelComplete, listCachedModels, storageEstimate, type CacheStorageLike } from './cache';
import type { ModelRecordLike } from './catalog';

const records: ModelRecordLike[] = [
  { model: 'https://huggingface.co/mlc-ai/A-q4f32_1-MLC', model_id: 'A-q4f32_1-MLC', model_lib: 'https://libs/A.wasm' },
  { model: 'https://huggingface.co/mlc-ai/B-q4f32_1-MLC', model_id: 'B-q4f32_1-MLC', model_lib: 'https://libs/B.wasm' },
  { model: 'https://huggingface.co/mlc-ai/C-q4f32_1-MLC', model_id: 'C-q4f32_1-MLC', model_lib: 'https://libs/C.wasm' },
];

/** Cache Storage as the browser has it: `open` of a missing cache would create it, so `has` first. */
function fakeCaches(scopes: Record<string, Record<string, { len?: number; body?: string }>>): CacheStorageLike {
  const urlOf = (req: { url: string } | string) => (typeof req === 'string' ? req : req.url);
  return {
    has: async (n) => n in scopes,
    open: async (n) => {
      scopes[n] ??= {};
      return {
        keys: async () => Object.keys(scopes[n]).map((url) => ({ url })),
        match: async (req) => {
          const e = scopes[n][urlOf(req)];
          if (!e) return undefined;
          return new Response(e.body ?? '', { headers: e.len !== undefined ? { 'content-length': String(e.len) } : {} });
        },
        delete: async (req) => {
          const had = urlOf(req) in scopes[n];
          delete scopes[n][urlOf(req)];
          return had;
        },
      };
    },
  };
}

const A_BASE = 'https://huggingface.co/mlc-ai/A-q4f32_1-MLC/resolve/main/';
const tensorCache = JSON.stringify({ records: [{ dataPath: 'params_shard_0.bin' }, { dataPath: 'params_shard_1.bin' }] });

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

describe('completeness and deletion without web-llm', () => {
  it('is complete only when tensor-cache.json and every shard it lists are stored (web-llm hasModelInCache)', async () => {
    const scopes = {
      'webllm/model': {
        [`${A_BASE}tensor-cache.json`]: { body: tensorCache },
        [`${A_BASE}params_shard_0.bin`]: { len: 10 },
      } as Record<string, { len?: number; body?: string }>,
    };
    const caches = fakeCaches(scopes);
    expect(await isModelComplete(records[0], caches)).toBe(false);
    scopes['webllm/model'][`${A_BASE}params_shard_1.bin`] = { len: 10 };
    expect(await isModelComplete(records[0], caches)).toBe(true);
    expect(await isModelComplete(records[1], caches)).toBe(false);
    expect(await isModelComplete(records[0], fakeCaches({}))).toBe(false);
    const list = await listCachedModels(records, caches);
    expect(list).toEqual([{ modelId: 'A-q4f32_1-MLC', bytes: 20 + tensorCache.length, complete: true }]);
  });

  it('deletes weights, tokenizer, library and config of one model and nothing of another', async () => {
    const scopes: Record<string, Record<string, { len?: number; body?: string }>> = {
      'webllm/model': {
        [`${A_BASE}tensor-cache.json`]: { body: tensorCache },
        [`${A_BASE}params_shard_0.bin`]: { len: 10 },
        [`${A_BASE}tokenizer.json`]: { len: 3 },
        'https://huggingface.co/mlc-ai/B-q4f32_1-MLC/resolve/main/params_shard_0.bin': { len: 4 },
      },
      'webllm/wasm': { 'https://libs/A.wasm': { len: 10 }, 'https://libs/B.wasm': { len: 10 } },
      'webllm/config': { [`${A_BASE}mlc-chat-config.json`]: { len: 1 } },
    };
    await deleteModelFiles(records[0], fakeCaches(scopes));
    expect(Object.keys(scopes['webllm/model'])).toEqual(['https://huggingface.co/mlc-ai/B-q4f32_1-MLC/resolve/main/params_shard_0.bin']);
    expect(Object.keys(scopes['webllm/wasm'])).toEqual(['https://libs/B.wasm']);
    expect(Object.keys(scopes['webllm/config'])).toEqual([]);
  });

  it('never creates a cache that is not there', async () => {
    const scopes: Record<string, Record<string, { len?: number; body?: string }>> = {};
    await deleteModelFiles(records[0], fakeCaches(scopes));
    await listCachedModels(records, fakeCaches(scopes));
    expect(Object.keys(scopes)).toEqual([]);
  });
});

describe('storageEstimate', () => {
  it('reads usage, quota and persistence', async () => {
    const info = await storageEstimate({ storage: { estimate: async () => ({ usage: 5, quota: 100 }), persisted: async () => false } });
    expect(info).toEqual({ usageBytes: 5, quotaBytes: 100, persisted: false });
    expect(await storageEstimate({})).toEqual({ usageBytes: null, quotaBytes: null, persisted: null });
  });
});
