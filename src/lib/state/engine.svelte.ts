/**
 * Engine selection and loading, as page state. Owns which engines are offered, the load
 * progress, and the loaded model's info. The worker owns the engine itself; this class only
 * asks it to load and mirrors the outcome. Errors are kept with their `name` so the view can
 * explain them; nothing here throws at the view.
 */
import type { ModelInfo } from '../core/engine';
import { errorMessage, errorName } from '../core/errors';
import type { EngineSpec, LoadProgress } from '../../../workers/contract';
import { compressor, proxy, transfer } from '../worker/client';
import { webGpuState } from '../webgpu/webgpu-state.svelte';
import { onnxState } from '../onnx/onnx-state.svelte';

export type EngineState = 'idle' | 'loading' | 'ready' | 'error';

export interface EngineOption {
  /** `reference:<name>` or a web-llm model id (TESTIDS.md contract). */
  value: string;
  label: string;
  kind: 'reference' | 'webllm' | 'onnx';
  /** Bytes to download before the model runs; null when unknown. */
  downloadBytes: number | null;
  downloadIsEstimate?: boolean;
  vramMB?: number | null;
  /** The first choice offered to a visitor on this device. */
  recommended?: boolean;
}

export const STORIES_OPTION: EngineOption = {
  value: 'reference:stories260K',
  label: 'stories260K · reference engine (CPU, 1 MB test model)',
  kind: 'reference',
  downloadBytes: 1_062_767,
};

export const ONNX_STORIES_OPTION: EngineOption = {
  value: 'onnx:stories260K',
  label: 'stories260K · ONNX engine (transformers.js, fp32, 3 MB test model)',
  kind: 'onnx',
  downloadBytes: 2_961_000,
};

/** Base URL of the model files served beside the app (dev and preview servers: /models/). */
export function modelsBase(): string {
  return new URL('./models/', document.baseURI).href;
}

/** The model's window in words: its size, or that a server did not report one. */
export function windowText(info: ModelInfo): string {
  return info.windowUnknown ? 'window not reported: the server checks lengths itself' : `window ${info.contextWindowTokens} tokens`;
}

/** What a server's capability check found, said only when it is not the usual form ('' then). */
export function serverScoringText(info: ModelInfo): string {
  const s = info.serverScoring;
  if (!s) return '';
  const notes: string[] = [];
  if (s.mode === 'prompt_logprobs') notes.push('scores with prompt_logprobs (it refused echo)');
  if (s.sequencesPerRequest === 1) notes.push('one sequence per request (it takes no list requests, so scoring is slower)');
  return notes.map((n) => `; ${n}`).join('');
}

export class EngineStore {
  options = $state<EngineOption[]>([]);
  selected = $state('');
  state = $state<EngineState>('idle');
  progress = $state<LoadProgress | null>(null);
  info = $state<ModelInfo | null>(null);
  errorName = $state<string | null>(null);
  message = $state('No model loaded.');

  /** Offer stories260K when its files are reachable beside the app. */
  async discover(): Promise<void> {
    const found: EngineOption[] = [];
    const served = async (path: string, option: EngineOption) => {
      try {
        const res = await fetch(`${modelsBase()}${path}`, { method: 'HEAD' });
        if (res.ok) found.push(option);
      } catch {
        // Not served here (a static host without model files): the option is simply absent.
      }
    };
    await served('stories260K/tok512.bin', STORIES_OPTION);
    await served('stories260K-onnx/config.json', ONNX_STORIES_OPTION);
    this.setOptions([...found, ...this.options.filter((o) => o.kind !== 'reference' && o.value !== ONNX_STORIES_OPTION.value)]);
  }

  /** True once the person picked an option themselves; until then the recommended one is shown. */
  userChose = false;

  setOptions(options: EngineOption[]): void {
    this.options = options;
    const kept = this.userChose && options.some((o) => o.value === this.selected);
    if (!kept) this.selected = (options.find((o) => o.recommended) ?? options[0])?.value ?? '';
  }

  /** The person picked an engine in the list. */
  choose(value: string): void {
    this.selected = value;
    this.userChose = true;
  }

  get selectedOption(): EngineOption | undefined {
    return this.options.find((o) => o.value === this.selected);
  }

  specFor(option: EngineOption): EngineSpec {
    if (option.kind === 'webllm') return { kind: 'webllm', modelId: option.value };
    if (option.kind === 'onnx') return onnxState().servedSpec('stories260K', `${modelsBase()}stories260K-onnx/`);
    const name = option.value.slice('reference:'.length);
    return {
      kind: 'reference-url',
      name,
      checkpointUrl: `${modelsBase()}${name}/${name}.bin`,
      tokenizerUrl: `${modelsBase()}${name}/tok512.bin`,
    };
  }

  async loadSelected(): Promise<void> {
    const option = this.selectedOption;
    if (!option) return;
    if (option.kind === 'webllm') {
      // A download: the catalog shows its size and asks first (engine-load-confirm); its
      // confirm button then calls loadWebLlm.
      await webGpuState().requestLoad(option.value);
      return;
    }
    if (option.kind === 'onnx' && option.value !== ONNX_STORIES_OPTION.value) {
      // A hub model: the ONNX controls show the host's size and ask first; confirming calls loadOnnx.
      await onnxState().requestHub(option.value.slice('onnx:'.length));
      return;
    }
    await this.load(this.specFor(option), option.label);
  }

  /**
   * Load a web-llm model in the worker (after the size was confirmed). Mirrors the load in this
   * store and also reports progress to `onProgress`; throws the named error when it fails so the
   * catalog can show it too.
   */
  async loadWebLlm(modelId: string, onProgress?: (p: LoadProgress) => void): Promise<void> {
    if (this.options.some((o) => o.value === modelId)) this.selected = modelId;
    const error = await this.load({ kind: 'webllm', modelId }, modelId, [], onProgress);
    if (error) throw error;
  }

  /** Load an ONNX model (a confirmed hub model, a served folder or a picked folder). */
  async loadOnnx(spec: Extract<EngineSpec, { kind: 'onnx' }>): Promise<void> {
    if (spec.source.kind === 'hub' && this.options.some((o) => o.value === `onnx:${spec.label}`)) this.selected = `onnx:${spec.label}`;
    await this.load(spec, spec.label);
    if (spec.source.kind === 'hub') void onnxState().refreshCache();
  }

  /**
   * Load an offered engine by its option value for a sweep (the grid's choice of models is the
   * confirmation; web-llm sizes are shown there). Resolves with the model's info (at once when
   * it is already loaded); throws the named error it failed with.
   */
  async loadForSweep(value: string): Promise<ModelInfo> {
    if (this.state === 'ready' && this.info && this.info.id === value) return this.info;
    const option = this.options.find((o) => o.value === value);
    if (!option) throw new Error(`The engine ${value} is not offered on this device.`);
    this.selected = value;
    const error = await this.load(this.specFor(option), option.label);
    if (error) throw error;
    return this.info!;
  }

  /**
   * A call on the loaded model failed. A lost GPU device (`DeviceLostError`) means the model is
   * gone: the status stops saying ready and says to load again. Other errors change nothing here.
   */
  noteFailure(err: unknown): void {
    if (errorName(err) !== 'DeviceLostError' || this.state !== 'ready') return;
    this.state = 'error';
    this.errorName = 'DeviceLostError';
    this.message = errorMessage(err);
    this.info = null;
  }

  /**
   * Connect to an inference server (vLLM, SGLang). `confirmedHost` is the host the person
   * confirmed raw documents may go to; the worker refuses any other non-loopback host.
   */
  async loadServer(config: Extract<EngineSpec, { kind: 'server' }>['config'], confirmedHost?: string): Promise<void> {
    await this.load({ kind: 'server', config, confirmedHost }, `${config.servedModel} on ${config.baseURL}`);
  }

  /** Load a llama2.c checkpoint and tokenizer picked from local files (works offline). */
  async loadFiles(checkpoint: File, tokenizer: File): Promise<void> {
    const name = checkpoint.name.replace(/\.bin$/i, '');
    const [ckpt, tok] = await Promise.all([checkpoint.arrayBuffer(), tokenizer.arrayBuffer()]);
    const spec: EngineSpec = { kind: 'reference-bytes', name, checkpoint: ckpt, tokenizer: tok };
    await this.load(spec, `${checkpoint.name} (local file)`, [ckpt, tok]);
  }

  /** Load in the worker; resolves with the error it failed with (also kept in this store). */
  private async load(
    spec: EngineSpec,
    label: string,
    buffers: ArrayBuffer[] = [],
    onProgress?: (p: LoadProgress) => void,
  ): Promise<unknown> {
    this.state = 'loading';
    this.errorName = null;
    this.info = null;
    this.progress = { phase: 'fetching', fraction: 0, text: `Loading ${label}` };
    this.message = `Loading ${label}…`;
    try {
      const arg = buffers.length ? transfer(spec, buffers) : spec;
      const info = await compressor().load(
        arg,
        proxy((p: LoadProgress) => {
          this.progress = p;
          this.message = p.text;
          onProgress?.(p);
        }),
      );
      this.info = info;
      this.state = 'ready';
      const rt = info.runtime;
      this.message =
        `${info.id} is ready (${windowText(info)}).` +
        (rt ? ` Running on ${rt.device}, ${rt.dtype}.${rt.note ? ` ${rt.note}` : ''}` : '');
      return null;
    } catch (err) {
      this.state = 'error';
      this.errorName = errorName(err);
      this.message = errorMessage(err);
      return err;
    } finally {
      this.progress = null;
    }
  }
}
