/**
 * web-llm's model cache: which models are stored, how many bytes each takes, deletion, and the
 * origin's storage estimate. The worker runs the listing and deletion (workers/contract.ts
 * `cachedModels`, `deleteCachedModel`); the storage estimate is read on the page.
 *
 * web-llm (default `cacheBackend: "cache"`) keeps weights and tokenizer in the Cache API scope
 * `webllm/model` under the model's base URL, the model library in `webllm/wasm` under the record's
 * `model_lib` URL, and the chat config in `webllm/config`. Sizes are summed from the stored
 * responses (Content-Length when present, else the body's blob size, which the browser keeps on
 * disk). Completeness and deletion follow web-llm 0.2.86's own `hasModelInCache` and
 * `deleteModelAllInfoInCache` (tensor-cache.json and every shard it lists; the tokenizer files;
 * the library; the chat config) but over the Cache API directly, so neither needs web-llm's
 * 6 MB bundle. Never opens a cache that does not exist (`caches.open` would create it).
 */
import { modelBaseUrl, type ModelRecordLike } from './catalog';

export const WEBLLM_CACHE_SCOPES = ['webllm/model', 'webllm/wasm', 'webllm/config'] as const;

export interface CachedModel {
  modelId: string;
  bytes: number;
  /** web-llm's own check (all weight shards present); false means a partial download. */
  complete: boolean;
}

export interface StorageInfo {
  usageBytes: number | null;
  quotaBytes: number | null;
  persisted: boolean | null;
}

/** The parts of CacheStorage used here (tests pass a fake). */
export interface CacheLike {
  keys(): Promise<readonly { url: string }[]>;
  match(url: string): Promise<Response | undefined>;
  delete?(url: string): Promise<boolean>;
}

export interface CacheStorageLike {
  has(name: string): Promise<boolean>;
  open(name: string): Promise<CacheLike>;
}

/** Stored size of a cached response: its Content-Length when present, else its body's size. */
export async function responseBytes(res: Response | undefined): Promise<number> {
  if (!res) return 0;
  const header = res.headers.get('content-length');
  if (header !== null && /^\d+$/.test(header)) return Number(header);
  try {
    return (await res.blob()).size;
  } catch {
    return 0;
  }
}

/**
 * Pure grouping: bytes per model id for every cached URL that belongs to a record (weights and
 * tokenizer under the base URL, the library at `model_lib`). Several records can share a base URL
 * (e.g. `-1k` variants); the first record listed claims it.
 */
export function groupCachedBytes(records: readonly ModelRecordLike[], entries: readonly { url: string; bytes: number }[]): Map<string, number> {
  const out = new Map<string, number>();
  const bases = records.map((r) => ({ id: r.model_id, base: modelBaseUrl(r.model), lib: r.model_lib }));
  for (const e of entries) {
    const owner = bases.find((b) => e.url.startsWith(b.base)) ?? bases.find((b) => e.url === b.lib);
    if (owner) out.set(owner.id, (out.get(owner.id) ?? 0) + e.bytes);
  }
  return out;
}

export async function listCacheEntries(storage: CacheStorageLike): Promise<{ url: string; bytes: number }[]> {
  const entries: { url: string; bytes: number }[] = [];
  for (const scope of WEBLLM_CACHE_SCOPES) {
    if (!(await storage.has(scope))) continue;
    const cache = await storage.open(scope);
    for (const req of await cache.keys()) entries.push({ url: req.url, bytes: await responseBytes(await cache.match(req.url)) });
  }
  return entries;
}

/** Cached web-llm models among `records`, largest first. Only weights count as "a model cached". */
export async function listCachedModels(
  records: readonly ModelRecordLike[],
  storage: CacheStorageLike | undefined = (globalThis as { caches?: CacheStorageLike }).caches,
  isComplete?: (modelId: string) => Promise<boolean>,
): Promise<CachedModel[]> {
  if (!storage) return [];
  const complete = isComplete ?? ((id: string) => {
    const record = records.find((r) => r.model_id === id);
    return record ? isModelComplete(record, storage) : Promise.resolve(false);
  });
  const entries = await listCacheEntries(storage);
  const weightEntries = entries.filter((e) => records.some((r) => e.url.startsWith(modelBaseUrl(r.model))));
  const hasWeights = new Set(groupCachedBytes(records, weightEntries).keys());
  const bytes = groupCachedBytes(records, entries);
  const out: CachedModel[] = [];
  for (const [modelId, b] of bytes) {
    if (!hasWeights.has(modelId)) continue;
    out.push({ modelId, bytes: b, complete: await complete(modelId).catch(() => false) });
  }
  return out.sort((a, b) => b.bytes - a.bytes);
}

/** The shard paths listed in a stored tensor-cache.json, or null when it is absent or unreadable. */
async function storedShardPaths(cache: CacheLike, base: string): Promise<string[] | null> {
  const res = await cache.match(new URL('tensor-cache.json', base).href);
  if (!res) return null;
  try {
    const json = (await res.json()) as { records?: { dataPath?: unknown }[] };
    if (!Array.isArray(json.records)) return null;
    return json.records.map((r) => String(r.dataPath));
  } catch {
    return null;
  }
}

/**
 * web-llm's `hasModelInCache`: tensor-cache.json is stored in `webllm/model` and so is every
 * shard it lists. False for a partial download.
 */
export async function isModelComplete(record: ModelRecordLike, storage: CacheStorageLike): Promise<boolean> {
  if (!(await storage.has('webllm/model'))) return false;
  const cache = await storage.open('webllm/model');
  const base = modelBaseUrl(record.model);
  const shards = await storedShardPaths(cache, base);
  if (!shards) return false;
  for (const path of shards) if (!(await cache.match(new URL(path, base).href))) return false;
  return true;
}

/**
 * Remove one model's weights, tokenizer, library and chat config, as web-llm's
 * `deleteModelAllInfoInCache` does. Also removes any other file stored under the model's base
 * URL (a partial download's leftovers), which web-llm's helper would keep.
 */
export async function deleteModelFiles(record: ModelRecordLike, storage: CacheStorageLike): Promise<void> {
  const base = modelBaseUrl(record.model);
  if (await storage.has('webllm/model')) {
    const cache = await storage.open('webllm/model');
    for (const req of await cache.keys()) if (req.url.startsWith(base)) await cache.delete?.(req.url);
  }
  if (await storage.has('webllm/wasm')) await (await storage.open('webllm/wasm')).delete?.(record.model_lib);
  if (await storage.has('webllm/config')) {
    const config = await storage.open('webllm/config');
    await config.delete?.(new URL('mlc-chat-config.json', base).href);
    if (record.model_manifest) await config.delete?.(new URL(record.model_manifest, base).href);
  }
}

export async function storageEstimate(nav: { storage?: Pick<StorageManager, 'estimate' | 'persisted'> } | undefined = globalThis.navigator): Promise<StorageInfo> {
  const s = nav?.storage;
  if (!s?.estimate) return { usageBytes: null, quotaBytes: null, persisted: null };
  try {
    const e = await s.estimate();
    const persisted = s.persisted ? await s.persisted().catch(() => null) : null;
    return { usageBytes: e.usage ?? null, quotaBytes: e.quota ?? null, persisted };
  } catch {
    return { usageBytes: null, quotaBytes: null, persisted: null };
  }
}
