/**
 * Page state of the ONNX engine (Svelte 5 runes): the device choice (`engine-device`), the
 * catalog options for that device, the size confirmation of a hub model, and the models
 * transformers.js has stored in this browser.
 *
 * Nothing is requested from the model host until the person picks a hub model and presses Load:
 * `requestHub()` then asks the host for the repository's file list (exact sizes) and config.json
 * (architecture), checks the weights against the device's memory, and waits for `confirm()`.
 * The load itself goes through the app's EngineStore (the worker), so its one progress bar is the
 * engine panel's.
 */
import type { OnnxEngineSpec } from '../../../workers/contract';
import type { EngineOption } from '../state/engine.svelte';
import { errorMessage, errorName } from '../core/errors';
import type { WebGpuReport } from '../webgpu/readiness';
import { deleteCachedOnnxModel, listCachedOnnxModels, type CachedOnnxModel } from './cache';
import { CPU_DEFAULT_REPO, findCatalogEntry, formatSize, memoryEstimateBytes, onnxOption, onnxOptions, type OnnxOption } from './catalog';
import type { OnnxDevice } from './dtype';
import { planOnnxLoad, type OnnxPlan, type OnnxSource } from './plan';

export type OnnxBrowserDevice = Exclude<OnnxDevice, 'cpu'>;

export interface PendingOnnx {
  repo: string;
  dtype: string;
  device: OnnxBrowserDevice;
  downloadBytes: number;
  downloadIsEstimate: boolean;
  memoryBytes: number;
  /** Asking the host for the exact size. */
  checking: boolean;
  cached: boolean;
}

export interface OnnxStateDeps {
  plan: (source: OnnxSource, options: Parameters<typeof planOnnxLoad>[1]) => Promise<OnnxPlan>;
  listCached: () => Promise<CachedOnnxModel[]>;
  deleteCached: (repo: string) => Promise<unknown>;
  /** Bytes the weights may take on a device (see workers/engines/onnx/browser.ts). */
  memoryBudget: (device: OnnxBrowserDevice) => number | null;
}

const WASM_WEIGHTS_LIMIT_BYTES = 3.2 * 1024 ** 3;

function defaultBudget(device: OnnxBrowserDevice): number | null {
  const gb = (globalThis as { navigator?: { deviceMemory?: number } }).navigator?.deviceMemory;
  const ram = gb ? (gb * 1024 ** 3) / 2 : null;
  if (device === 'wasm') return ram === null ? WASM_WEIGHTS_LIMIT_BYTES : Math.min(ram, WASM_WEIGHTS_LIMIT_BYTES);
  return ram;
}

const defaultDeps: OnnxStateDeps = {
  plan: planOnnxLoad,
  listCached: () => listCachedOnnxModels(),
  deleteCached: (repo) => deleteCachedOnnxModel(repo),
  memoryBudget: defaultBudget,
};

export class OnnxState {
  /** The device onnx engines load on; webgpu only where WebGPU works. */
  device = $state<OnnxBrowserDevice>('wasm');
  webgpuUsable = $state(false);
  shaderF16 = $state(false);
  /** The person chose the device; readiness updates no longer change it. */
  deviceChosen = false;
  pending = $state<PendingOnnx | null>(null);
  error = $state<{ name: string; message: string } | null>(null);
  cached = $state<CachedOnnxModel[]>([]);
  busyDeleting = $state<string | null>(null);
  /** The page is cross-origin isolated, so WASM may use several threads. */
  readonly isolated: boolean = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;

  options: OnnxOption[] = $derived(onnxOptions(this.device, this.shaderF16));
  /** engine-select value of the CPU default (the readiness panel's offer). */
  readonly cpuDefaultValue = `onnx:${CPU_DEFAULT_REPO}`;

  constructor(private readonly deps: OnnxStateDeps = defaultDeps) {}

  /** Readiness decides which devices exist and the default: WebGPU on a hardware adapter. */
  setReport(report: WebGpuReport | null): void {
    this.webgpuUsable = report?.available === true;
    this.shaderF16 = report?.shaderF16 === true;
    if (!this.webgpuUsable) this.device = 'wasm';
    else if (!this.deviceChosen) this.device = report?.adapter?.isFallbackAdapter ? 'wasm' : 'webgpu';
  }

  chooseDevice(device: OnnxBrowserDevice): void {
    if (device === 'webgpu' && !this.webgpuUsable) return;
    this.device = device;
    this.deviceChosen = true;
    this.pending = null;
  }

  async refreshCache(): Promise<void> {
    this.cached = await this.deps.listCached().catch(() => []);
  }

  async deleteModel(repo: string): Promise<void> {
    this.busyDeleting = repo;
    try {
      await this.deps.deleteCached(repo);
    } finally {
      this.busyDeleting = null;
      await this.refreshCache();
    }
  }

  /** Step 1 for a hub model: show the estimate at once, then the host's exact size and the memory check. */
  async requestHub(repo: string): Promise<void> {
    const entry = findCatalogEntry(repo);
    const device = this.device;
    const opt = entry ? onnxOption(entry, device, this.shaderF16, '') : null;
    const cached = this.cached.some((c) => c.repo === repo && c.hasWeights);
    this.error = null;
    this.pending = {
      repo,
      dtype: opt?.dtype ?? '',
      device,
      downloadBytes: opt?.downloadBytes ?? 0,
      downloadIsEstimate: true,
      memoryBytes: opt?.memoryBytes ?? 0,
      checking: true,
      cached,
    };
    try {
      const plan = await this.deps.plan(
        { kind: 'hub', repo },
        { device, dtype: opt?.dtype ?? null, shaderF16: this.shaderF16, memoryBudgetBytes: this.deps.memoryBudget(device) },
      );
      if (this.pending?.repo !== repo) return;
      const sizes = [...plan.files.values()];
      const exact = sizes.every((s) => s !== null);
      const total = sizes.reduce<number>((a, b) => a + (b ?? 0), 0);
      this.pending = {
        ...this.pending,
        dtype: plan.dtype,
        downloadBytes: exact ? total : this.pending.downloadBytes,
        downloadIsEstimate: !exact,
        memoryBytes: plan.weightsBytes !== null ? memoryEstimateBytes(plan.weightsBytes) : this.pending.memoryBytes,
        checking: false,
      };
    } catch (err) {
      const name = errorName(err);
      if (name === 'ModelDownloadError' && this.pending?.repo === repo) {
        // Offline or host blocked: keep the estimate; loading will say what failed.
        this.pending = { ...this.pending, checking: false };
        this.error = { name, message: `${errorMessage(err)} The size shown is our estimate.` };
        return;
      }
      this.pending = null;
      this.error = { name, message: errorMessage(err) };
    }
  }

  cancel(): void {
    this.pending = null;
  }

  /** Step 2: the person confirmed; the spec the worker loads. */
  confirm(): OnnxEngineSpec | null {
    const p = this.pending;
    if (!p || p.checking) return null;
    this.pending = null;
    return { kind: 'onnx', label: p.repo, source: { kind: 'hub', repo: p.repo }, device: p.device, dtype: p.dtype || null };
  }

  /** The spec of a folder served beside the app (the fixture at /models/stories260K-onnx/). */
  servedSpec(name: string, url: string): OnnxEngineSpec {
    return { kind: 'onnx', label: name, source: { kind: 'url', url, name }, device: this.device };
  }

  /**
   * The spec of a folder picked from disk (`<input webkitdirectory>`): paths are made relative to
   * the picked folder. Throws ModelFormatError-worthy problems at load (plan.ts).
   */
  filesSpec(files: FileList | File[]): OnnxEngineSpec {
    const list = Array.from(files);
    const rel = (f: File) => (f as File & { webkitRelativePath?: string }).webkitRelativePath || f.name;
    const first = list.length ? rel(list[0]).split('/')[0] : 'folder';
    const map: Record<string, Blob> = {};
    for (const f of list) {
      const parts = rel(f).split('/');
      map[parts.length > 1 ? parts.slice(1).join('/') : parts[0]] = f;
    }
    return { kind: 'onnx', label: first, source: { kind: 'files', name: first, files: map }, device: this.device };
  }

  /** The engine status line about threads (what the worker will do on wasm). */
  threadsLine(): string {
    return this.isolated
      ? 'This page is cross-origin isolated: WASM runs on several threads.'
      : 'This page is not cross-origin isolated (its host sends no COOP/COEP headers): WASM runs on one thread.';
  }

  sizeText(p: PendingOnnx): string {
    return `${p.downloadIsEstimate ? 'about ' : ''}${formatSize(p.downloadBytes)}${p.downloadIsEstimate ? ' (estimate)' : ''}`;
  }
}

/** The hub options as engine-select entries (labels carry dtype, size and memory). */
export function onnxHubOptions(state: OnnxState): EngineOption[] {
  return state.options.map((o) => ({
    value: o.value,
    label: o.label,
    kind: 'onnx' as const,
    downloadBytes: o.downloadBytes,
    downloadIsEstimate: o.downloadIsEstimate,
  }));
}

let shared: OnnxState | null = null;

export function onnxState(): OnnxState {
  shared ??= new OnnxState();
  return shared;
}
