/**
 * Entry point of the web-llm engine inside our compressor worker:
 * `createWebLlmEngine(modelId, onProgress)` loads a prebuilt web-llm model and returns an Engine.
 *
 * What it does, in order:
 * 1. Readiness check (navigator.gpu, adapter, limits, shader-f16 for f16 variants) before any
 *    download: web-llm itself only notices a missing GPU after fetching config and library.
 * 2. `import('@mlc-ai/web-llm')` (dynamic: 6 MB, fetched only when a web-llm model is loaded).
 * 3. `new MLCEngine({ logitProcessorRegistry, initProgressCallback })` with our LogitCapture
 *    registered for this model id BEFORE `reload` (web-llm reads the registry once per reload).
 * 4. `reload(modelId, chatOpts)` with temperature 1, top_p 1, repetition penalty 1, frequency and
 *    presence penalties 0: web-llm's own sampler then returns exactly the id our processor
 *    forces (see logit-capture.ts), and log-probs are never altered by penalties. Our
 *    temperature, top-p and seed are applied per call by the processor.
 * 5. Wrap the engine's internals (tokenizer, chat config, KV roll-back, all-positions verify) and
 *    run the scoring self-check once (prompt reuse and fast path against forced decoding). The
 *    engine is returned only if the GPU device survived the check (`startWebLlmEngine`); its
 *    `info.loadReport` says what the check found.
 *
 * Weights come from the hosts in web-llm's prebuilt records (huggingface.co, model libraries from
 * raw.githubusercontent.com) and are cached by web-llm in the Cache API (`webllm/model`,
 * `webllm/config`, `webllm/wasm`). Each weight shard is stored with one `cache.add`, which stores
 * nothing when the download fails, so an interrupted download leaves only whole shards behind and
 * the next load fetches just the missing ones.
 */
import type { Engine } from '../../../src/lib/core/engine';
import { InvalidArgumentError } from '../../../src/lib/core/errors';
import { parseModelId } from '../../../src/lib/webgpu/catalog';
import { DeviceLostError, WebGpuUnavailableError } from '../../../src/lib/webgpu/errors';
import { assertWebGpuUsable, probeWebGpu } from '../../../src/lib/webgpu/readiness';
import type { LoadProgress } from '../../contract';
import { backendFromMlcEngine, type MlcEngineSlice } from './internals';
import { mapLoadError } from './load-errors';
import { LogitCapture } from './logit-capture';
import { LoadProgressMapper } from './progress';
import { WebLlmEngine } from './webllm-engine';

/** Sampling settings that make web-llm's sampler neutral; our processor does the real draw. */
export const NEUTRAL_CHAT_OPTIONS = {
  temperature: 1,
  top_p: 1,
  repetition_penalty: 1,
  frequency_penalty: 0,
  presence_penalty: 0,
} as const;

export async function createWebLlmEngine(modelId: string, onProgress: (p: LoadProgress) => void = () => {}): Promise<WebLlmEngine & Engine> {
  const readiness = await probeWebGpu();
  assertWebGpuUsable(readiness);

  let webllm: typeof import('@mlc-ai/web-llm');
  try {
    webllm = await import('@mlc-ai/web-llm');
  } catch (err) {
    throw mapLoadError(err, 'the web-llm library');
  }
  const record = webllm.prebuiltAppConfig.model_list.find((r) => r.model_id === modelId);
  if (!record) throw new InvalidArgumentError(`${modelId} is not one of web-llm's prebuilt models.`);
  const quant = parseModelId(modelId)?.quantization;
  const needsF16 = (quant !== undefined && quant.includes('f16')) || (record.required_features ?? []).includes('shader-f16');
  if (needsF16 && readiness.shaderF16 !== true) {
    throw new WebGpuUnavailableError(
      'shader-f16-missing',
      `${modelId} needs the GPU feature shader-f16, which this GPU does not offer. Choose the q4f32_1 variant of the model.`,
    );
  }

  const capture = new LogitCapture();
  const progress = new LoadProgressMapper(modelId);
  onProgress(progress.start());
  const mlc = new webllm.MLCEngine({
    logitProcessorRegistry: new Map([[modelId, capture]]),
    initProgressCallback: (r) => onProgress(progress.map(r)),
    logLevel: 'WARN',
  });
  try {
    await mlc.reload(modelId, { ...NEUTRAL_CHAT_OPTIONS });
  } catch (err) {
    await mlc.unload().catch(() => undefined);
    throw mapLoadError(err, modelId);
  }
  return startWebLlmEngine(mlc, modelId, capture, onProgress);
}

/** The part of MLCEngine the load uses after the first `reload`. */
export interface ReloadableMlc extends MlcEngineSlice {
  reload(modelId: string, chatOpts?: Record<string, unknown>): Promise<void>;
}

/**
 * After web-llm loaded the model: wrap its internals, run the scoring self-check, and return a
 * ready engine only if the GPU device survived it. When the device is lost during the check of the
 * all-positions path (a buffer the GPU could not hold), the model is loaded once more without
 * that path; a second loss, or one outside that check, fails the load with DeviceLostError.
 */
export async function startWebLlmEngine(
  mlc: ReloadableMlc,
  modelId: string,
  capture: LogitCapture,
  onProgress: (p: LoadProgress) => void = () => {},
): Promise<WebLlmEngine & Engine> {
  let verifyOffReason: string | undefined;
  for (;;) {
    let engine: WebLlmEngine;
    try {
      const { backend, report } = backendFromMlcEngine(mlc, modelId, { allowVerify: verifyOffReason === undefined, verifyOffReason });
      engine = new WebLlmEngine(backend, capture, report);
    } catch (err) {
      // `reload` just put the model in this map; if it is gone, web-llm dropped it on a device loss.
      const map = (mlc as unknown as { loadedModelIdToPipeline?: Map<string, unknown> }).loadedModelIdToPipeline;
      const dropped = err instanceof Error && err.name === 'WebLlmInternalsError' && map instanceof Map && !map.has(modelId);
      await mlc.unload().catch(() => undefined);
      if (dropped) {
        throw new DeviceLostError(
          `The GPU gave up right after loading ${modelId} (device lost), usually because it ran out of memory. ` +
            'Close other GPU-heavy tabs or pick a smaller model, then load again.',
        );
      }
      throw err;
    }
    onProgress({ phase: 'compiling', fraction: 0.995, text: 'Checking the scoring paths on this model' });
    try {
      const fast = await engine.verifyFastPath();
      onProgress({ phase: 'compiling', fraction: 0.999, text: fast.note });
      return engine;
    } catch (err) {
      const probing = verifyOffReason === undefined && engine.fastPathStatus().available;
      await engine.dispose().catch(() => undefined);
      if (!(err instanceof Error && err.name === 'DeviceLostError') || !probing) throw mapLoadError(err, modelId);
      verifyOffReason = `the GPU device was lost while the all-positions path was checked (${err.message}); the model was loaded again without it`;
      onProgress({ phase: 'compiling', fraction: 0.99, text: 'The GPU was lost while checking the fast scoring path; loading the model again without it' });
      try {
        await mlc.reload(modelId, { ...NEUTRAL_CHAT_OPTIONS });
      } catch (reloadErr) {
        await mlc.unload().catch(() => undefined);
        throw mapLoadError(reloadErr, modelId);
      }
    }
  }
}
