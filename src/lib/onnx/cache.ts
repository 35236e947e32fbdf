/**
 * transformers.js's model cache, seen from the main thread: which hub models the ONNX engine has
 * stored, their bytes, and deletion.
 *
 * transformers.js 4.3 (`env.useBrowserCache`, `env.cacheKey` = `transformers-cache`) stores each
 * downloaded file in that Cache API scope under its remote URL,
 * `<host>/<repo>/resolve/<revision>/<file>`. We group the keys by repository and sum the stored
 * sizes (Content-Length when present, else the body's size). Never opens a cache that does not
 * exist (`caches.open` would create it).
 */
import { responseBytes, type CacheStorageLike } from '../webgpu/cache';

export const TRANSFORMERS_CACHE = 'transformers-cache';

export interface CachedOnnxModel {
  repo: string;
  bytes: number;
  files: number;
  /** True when a weights file (onnx/*.onnx) is among the stored files. */
  hasWeights: boolean;
}

/** `https://huggingface.co/<owner>/<name>/resolve/<rev>/<file>` -> { repo, file }, else null. */
export function parseCachedUrl(url: string): { repo: string; file: string } | null {
  const m = /^https?:\/\/[^/]+\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/.exec(url);
  return m ? { repo: decodeURIComponent(m[1]), file: decodeURIComponent(m[2]) } : null;
}

export async function listCachedOnnxModels(
  storage: CacheStorageLike | undefined = (globalThis as { caches?: CacheStorageLike }).caches,
): Promise<CachedOnnxModel[]> {
  if (!storage || !(await storage.has(TRANSFORMERS_CACHE))) return [];
  const cache = await storage.open(TRANSFORMERS_CACHE);
  const byRepo = new Map<string, CachedOnnxModel>();
  for (const req of await cache.keys()) {
    const parsed = parseCachedUrl(req.url);
    if (!parsed) continue;
    const entry = byRepo.get(parsed.repo) ?? { repo: parsed.repo, bytes: 0, files: 0, hasWeights: false };
    entry.bytes += await responseBytes(await cache.match(req.url));
    entry.files++;
    if (/^onnx\/.+\.onnx(_data)?$/.test(parsed.file)) entry.hasWeights = true;
    byRepo.set(parsed.repo, entry);
  }
  return [...byRepo.values()].sort((a, b) => b.bytes - a.bytes);
}

export interface DeletableCache {
  has(name: string): Promise<boolean>;
  open(name: string): Promise<{ keys(): Promise<readonly { url: string }[]>; delete(req: { url: string } | string): Promise<boolean> }>;
}

/** Delete every stored file of one repository. Returns how many entries went. */
export async function deleteCachedOnnxModel(
  repo: string,
  storage: DeletableCache | undefined = (globalThis as { caches?: DeletableCache }).caches,
): Promise<number> {
  if (!storage || !(await storage.has(TRANSFORMERS_CACHE))) return 0;
  const cache = await storage.open(TRANSFORMERS_CACHE);
  let removed = 0;
  for (const req of await cache.keys()) {
    if (parseCachedUrl(req.url)?.repo === repo && (await cache.delete(req))) removed++;
  }
  return removed;
}
