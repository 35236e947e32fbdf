/**
 * Turns web-llm's load reports into one overall progress (contract `LoadProgress`).
 *
 * web-llm's `InitProgressReport.progress` restarts at 0 in each phase, and its text carries the
 * megabytes: "Start to fetch params", "Fetching param cache[i/N]: 123MB fetched. 45% completed,
 * ...", "Loading model from cache[i/N]: 123MB loaded. ...", "Loading GPU shader modules[i/N]: ...",
 * "Finish loading on WebGPU - ...". Nothing is reported while the config, the model library and
 * the tokenizer download, so the caller reports that step itself (`start()`).
 *
 * Overall scale: download 0.02-0.80, moving weights to the GPU 0.80-0.92, shader compilation
 * 0.92-0.99. When the weights are already cached (no "Fetching" report) the GPU upload takes
 * 0.02-0.85 instead. Pure: the clock is injected.
 */
import type { LoadProgress } from '../../contract';

export interface InitProgressReportLike {
  progress: number;
  timeElapsed: number;
  text: string;
}

const MB = 1 << 20;

function fmtMB(bytes: number): string {
  return `${Math.round(bytes / 1e6)} MB`;
}

export function fmtEta(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

export class LoadProgressMapper {
  private fetched = false;
  private fetchStartMs: number | null = null;
  private last = 0;

  constructor(
    private readonly modelId: string,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(): LoadProgress {
    return { phase: 'fetching', fraction: 0, text: `Fetching the configuration and library of ${this.modelId}` };
  }

  /** Keep the overall fraction monotone even if web-llm repeats a phase. */
  private mono(f: number): number {
    this.last = Math.max(this.last, Math.min(1, f));
    return this.last;
  }

  map(r: InitProgressReportLike): LoadProgress {
    const p = Number.isFinite(r.progress) ? Math.min(1, Math.max(0, r.progress)) : 0;
    const text = r.text;
    const mbMatch = /(\d+)MB (?:fetched|loaded)/.exec(text);
    const doneBytes = mbMatch ? Number(mbMatch[1]) * MB : undefined;
    const totalBytes = doneBytes !== undefined && p > 0 ? Math.round(doneBytes / p) : undefined;

    if (text.startsWith('Start to fetch params') || text.startsWith('Fetching param cache')) {
      this.fetched = this.fetched || text.startsWith('Fetching');
      const t = this.now();
      if (this.fetchStartMs === null) this.fetchStartMs = t;
      const elapsedS = (t - this.fetchStartMs) / 1000;
      const etaSeconds = p > 0 && p < 1 && elapsedS > 0 ? (elapsedS * (1 - p)) / p : undefined;
      const sizes = doneBytes !== undefined && totalBytes !== undefined ? `${fmtMB(doneBytes)} of ${fmtMB(totalBytes)}` : 'starting';
      return {
        phase: 'fetching',
        fraction: this.mono(0.02 + 0.78 * p),
        loadedBytes: doneBytes,
        totalBytes,
        etaSeconds,
        text: `Downloading ${this.modelId}: ${sizes}${etaSeconds !== undefined ? `, about ${fmtEta(etaSeconds)} left` : ''}`,
      };
    }
    if (text.startsWith('Loading model from cache')) {
      const [lo, hi] = this.fetched ? [0.8, 0.92] : [0.02, 0.85];
      const sizes = doneBytes !== undefined && totalBytes !== undefined ? `: ${fmtMB(doneBytes)} of ${fmtMB(totalBytes)}` : '';
      return {
        phase: 'parsing',
        fraction: this.mono(lo + (hi - lo) * p),
        loadedBytes: doneBytes,
        totalBytes,
        text: `Moving the weights to the GPU${sizes}`,
      };
    }
    if (text.startsWith('Loading GPU shader modules')) {
      const lo = this.fetched ? 0.92 : 0.85;
      return { phase: 'compiling', fraction: this.mono(lo + (0.99 - lo) * p), text: `Compiling GPU shaders: ${Math.floor(p * 100)}%` };
    }
    if (text.startsWith('Finish loading')) {
      return { phase: 'compiling', fraction: this.mono(0.99), text: `Loaded on ${text.replace(/^Finish loading on /, '')}; checking the scoring paths` };
    }
    return { phase: 'fetching', fraction: this.last || null, text };
  }
}
