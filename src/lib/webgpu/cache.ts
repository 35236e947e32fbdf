/**
 * web-llm's model cache, seen from the main thread: which models are stored, how many bytes
 * each takes, deletion, and the origin's storage estimate.
 *
 * web-llm (default `cacheBackend: "cache"`) keeps weights and tokenizer in the Cache API scope
 * `webllm/model` under the model's base URL, the model library in `webllm/wasm` under the record's
 * `model_lib` URL, and the chat config in `webllm/config`. Sizes are summed from the stored
 * responses (Content-Length when present, else the body's blob size, which the browser keeps on
 * disk). Deletion uses web-llm's own `deleteModelAllInfoInCache`; completeness uses
 * `hasModelInCache`. web-llm is imported dynamically. Never opens a cache that does not exist
 * (`caches.open` would create it).
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
export interface CacheStorageLike {
  has(name: string): Promise<boolean>;
  open(name: string): Promise<{ keys(): Promise<readonly { url: string }[]>; match(req: { url: string } | string): Promise<Response | undefined> }>;
}

async function responseBytes(res: Response | undefined): Promise<number> {
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
    for (const req of await cache.keys()) entries.push({ url: req.url, bytes: await responseBytes(await cache.match(req)) });
  }
  return entries;
}

/** Cached web-llm models among `records`, largest first. Only weights count as "a model cached". */
export async function listCachedModels(
  records: readonly ModelRecordLike[],
  storage: CacheStorageLike | undefined = (globalThis as { caches?: CacheStorageLike }).caches,
  isComplete: (modelId: string) => Promise<boolean> = defaultIsComplete,
): Promise<CachedModel[]> {
  if (!storage) return [];
  const entries = await listCacheEntries(storage);
  const weightEntries = entries.filter((e) => records.some((r) => e.url.startsWith(modelBaseUrl(r.model))));
  const hasWeights = new Set(groupCachedBytes(records, weightEntries).keys());
  const bytes = groupCachedBytes(records, entries);
  const out: CachedModel[] = [];
  for (const [modelId, b] of bytes) {
    if (!hasWeights.has(modelId)) continue;
    out.push({ modelId, bytes: b, complete: await isComplete(modelId).catch(() => false) });
  }
  return out.sort((a, b) => b.bytes - a.bytes);
}

async function defaultIsComplete(modelId: string): Promise<boolean> {
  const webllm = await import('@mlc-ai/web-llm');
  return webllm.hasModelInCache(modelId);
}

/** Remove weights, tokenizer, library and config of one model (web-llm's own helper). */
export async function deleteCachedModel(modelId: string): Promise<void> {
  const webllm = await import('@mlc-ai/web-llm');
  await webllm.deleteModelAllInfoInCache(modelId);
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
