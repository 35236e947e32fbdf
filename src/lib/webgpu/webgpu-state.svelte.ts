/**
 * State behind the WebGPU status and the model catalog (Svelte 5 runes). Components only render
 * it and call its methods.
 *
 * Owns: the readiness report, the catalog for this GPU, the cached-model list, the storage
 * estimate, the pending size confirmation, and the state of a web-llm load started from here.
 * Does not own the worker: loading goes through the `loader` the app passes in (the worker's
 * `load({kind:'webllm', modelId}, proxy(onProgress))`), so a loaded model lives in the worker and
 * survives navigation. Downloads never start without `confirmLoad()` after `requestLoad()`.
 */
import type { LoadProgress } from '../../../workers/contract';
import { storageEstimate, type CachedModel, type StorageInfo } from './cache';
import {
  buildCatalog,
  engineSelectOptions,
  fetchExactDownloadBytes,
  type CatalogFamily,
  type CatalogVariant,
  type EngineSelectOption,
  type ModelRecordLike,
} from './catalog';
import { modelRecords } from './model-list';
import { probeWebGpu, type WebGpuReport } from './readiness';
import { compressor } from '../worker/client';

export type WebLlmLoadState = 'idle' | 'confirming' | 'loading' | 'ready' | 'error';

export type WebLlmLoader = (modelId: string, onProgress: (p: LoadProgress) => void) => Promise<unknown>;

export interface WebGpuStateDeps {
  probe: () => Promise<WebGpuReport>;
  modelList: () => Promise<ModelRecordLike[]>;
  listCached: (records: readonly ModelRecordLike[]) => Promise<CachedModel[]>;
  deleteCached: (modelId: string) => Promise<void>;
  estimate: () => Promise<StorageInfo>;
  exactBytes: (record: ModelRecordLike) => Promise<number | null>;
}

/**
 * The model list is built in at build time (no web-llm on the page); listing and deleting cached
 * models run in the compressor worker, which reads Cache Storage without loading web-llm either.
 */
const defaultDeps: WebGpuStateDeps = {
  probe: () => probeWebGpu(),
  modelList: async () => [...modelRecords()],
  listCached: () => compressor().cachedModels(),
  deleteCached: (modelId) => compressor().deleteCachedModel(modelId),
  estimate: () => storageEstimate(),
  exactBytes: (r) => fetchExactDownloadBytes(r),
};

export interface PendingDownload {
  family: CatalogFamily;
  variant: CatalogVariant;
  /** Bytes still to download (0 when the model is already cached). */
  downloadBytes: number;
  downloadSizeIsEstimate: boolean;
  cached: boolean;
}

export class WebGpuState {
  report = $state<WebGpuReport | null>(null);
  probing = $state(false);
  catalog = $state<CatalogFamily[]>([]);
  catalogError = $state<string | null>(null);
  cached = $state<CachedModel[]>([]);
  storage = $state<StorageInfo | null>(null);
  pending = $state<PendingDownload | null>(null);
  loadState = $state<WebLlmLoadState>('idle');
  progress = $state<LoadProgress | null>(null);
  error = $state<{ name: string; message: string } | null>(null);
  loadedModelId = $state<string | null>(null);
  busyDeleting = $state<string | null>(null);

  /** engine-select options for this GPU (model ids as values); none without WebGPU. */
  options: EngineSelectOption[] = $derived(this.report?.available === true ? engineSelectOptions(this.catalog) : []);

  private records: ModelRecordLike[] = [];
  private initPromise: Promise<void> | null = null;

  constructor(private readonly deps: WebGpuStateDeps = defaultDeps) {}

  /** Probe, then build the catalog and read the cache. Safe to call many times. */
  init(): Promise<void> {
    this.initPromise ??= this.doInit();
    return this.initPromise;
  }

  private async doInit(): Promise<void> {
    this.probing = true;
    try {
      this.report = await this.deps.probe();
    } finally {
      this.probing = false;
    }
    // The list is part of the page (built from the installed web-llm), so the catalog is shown at
    // once, also without WebGPU (its Load buttons are then disabled and engine-select offers none).
    try {
      this.records = await this.deps.modelList();
      this.catalog = buildCatalog(this.records, { shaderF16: this.report?.shaderF16 === true });
    } catch (err) {
      this.catalogError = `The model list could not be read: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (!this.report?.available) {
      this.storage = await this.deps.estimate();
      return;
    }
    await this.refreshCache();
  }

  async refreshCache(): Promise<void> {
    const [cached, storage] = await Promise.all([
      this.deps.listCached(this.records).catch(() => [] as CachedModel[]),
      this.deps.estimate(),
    ]);
    this.cached = cached;
    this.storage = storage;
  }

  findVariant(modelId: string): { family: CatalogFamily; variant: CatalogVariant } | null {
    for (const family of this.catalog) {
      const variant = family.variants.find((v) => v.modelId === modelId);
      if (variant) return { family, variant };
    }
    return null;
  }

  /** Step 1: show the size and ask. Nothing downloads yet. */
  async requestLoad(modelId: string): Promise<void> {
    await this.init();
    const found = this.findVariant(modelId);
    if (!found) {
      this.loadState = 'error';
      this.error = { name: 'InvalidArgumentError', message: `${modelId} is not in the catalog for this GPU.` };
      return;
    }
    const cachedEntry = this.cached.find((c) => c.modelId === modelId && c.complete);
    this.pending = {
      ...found,
      downloadBytes: cachedEntry ? 0 : found.variant.downloadBytes,
      downloadSizeIsEstimate: !cachedEntry && found.variant.downloadSizeIsEstimate,
      cached: !!cachedEntry,
    };
    this.loadState = 'confirming';
    this.error = null;
    if (!cachedEntry) {
      // Replace the estimate with the exact size when the model host answers; offline keeps it.
      const record = this.records.find((r) => r.model_id === modelId);
      const exact = record ? await this.deps.exactBytes(record) : null;
      if (exact !== null && this.pending?.variant.modelId === modelId) {
        this.pending = { ...this.pending, downloadBytes: exact, downloadSizeIsEstimate: false };
      }
    }
  }

  cancelLoad(): void {
    this.pending = null;
    if (this.loadState === 'confirming') this.loadState = this.loadedModelId ? 'ready' : 'idle';
  }

  /** Step 2: the person confirmed the size; load through the app's worker. */
  async confirmLoad(loader: WebLlmLoader | undefined): Promise<void> {
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    if (!loader) {
      this.loadState = 'error';
      this.error = { name: 'Error', message: 'Loading is not connected to the compressor worker yet.' };
      return;
    }
    const modelId = pending.variant.modelId;
    this.loadState = 'loading';
    this.error = null;
    this.progress = { phase: 'fetching', fraction: 0, text: `Starting ${modelId}` };
    try {
      await loader(modelId, (p) => {
        this.progress = p;
      });
      this.loadedModelId = modelId;
      this.loadState = 'ready';
    } catch (err) {
      const e = err as { name?: unknown; message?: unknown };
      this.error = { name: typeof e?.name === 'string' ? e.name : 'Error', message: typeof e?.message === 'string' ? e.message : String(err) };
      this.loadState = 'error';
    } finally {
      await this.refreshCache();
    }
  }

  async deleteModel(modelId: string): Promise<void> {
    this.busyDeleting = modelId;
    try {
      await this.deps.deleteCached(modelId);
    } finally {
      this.busyDeleting = null;
      await this.refreshCache();
    }
  }
}

let shared: WebGpuState | null = null;

/** The app-wide instance, shared by WebGpuStatus, ModelCatalog and the engine panel. */
export function webGpuState(): WebGpuState {
  shared ??= new WebGpuState();
  return shared;
}
