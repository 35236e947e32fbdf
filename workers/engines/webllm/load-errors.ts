/**
 * Map whatever web-llm (or the browser under it) throws while loading a model to our named
 * errors, with a message that says what happened and what to do. Pure.
 *
 * web-llm only exports IntegrityError, so its errors are recognised by `name` and message text
 * (checked against 0.2.86's lib/index.js).
 */
import { InterruptedError } from '../../../src/lib/core/errors';
import { DeviceLostError, ModelDownloadError, StorageQuotaError, WebGpuUnavailableError } from '../../../src/lib/webgpu/errors';

function nameOf(err: unknown): string {
  return err && typeof err === 'object' && 'name' in err ? String((err as { name: unknown }).name) : '';
}

function messageOf(err: unknown): string {
  return err && typeof err === 'object' && 'message' in err ? String((err as { message: unknown }).message) : String(err);
}

export function mapLoadError(err: unknown, modelId: string): Error {
  const name = nameOf(err);
  const msg = messageOf(err);
  const ours = ['WebGpuUnavailableError', 'ModelDownloadError', 'StorageQuotaError', 'DeviceLostError', 'InterruptedError', 'ContextTooLongError'];
  if (ours.includes(name) && err instanceof Error) return err;

  if (name === 'QuotaExceededError' || /quota/i.test(msg)) {
    return new StorageQuotaError(
      `There is not enough storage to keep ${modelId}: the browser's quota for this site is full. ` +
        'Delete cached models you no longer need (list below), free disk space, or pick a smaller model, then load again.',
    );
  }
  if (name === 'ShaderF16SupportError' || (name === 'FeatureSupportError' && /shader-f16/.test(msg))) {
    return new WebGpuUnavailableError(
      'shader-f16-missing',
      `${modelId} needs the GPU feature shader-f16, which this browser or GPU does not offer. Choose the q4f32_1 variant of the model.`,
    );
  }
  if (name === 'WebGPUNotAvailableError' || /Unable to find a compatible GPU/.test(msg)) {
    return new WebGpuUnavailableError('no-adapter', 'WebGPU is not available in this browser, so web-llm models cannot run. The reference engine still works.');
  }
  if (/Cannot initialize runtime because of requested/.test(msg)) {
    return new WebGpuUnavailableError('limits-too-small', `This GPU is too limited for web-llm: ${msg}`);
  }
  if (name === 'DeviceLostError' || /device (was |is )?lost/i.test(msg)) {
    return new DeviceLostError(
      `The GPU gave up while loading ${modelId} (device lost), usually because it ran out of memory. ` +
        'Close other GPU-heavy tabs or pick a smaller model, then load again.',
    );
  }
  if (name === 'AbortError') return new InterruptedError('Loading the model');
  if (
    name === 'TypeError' && /fetch|network|load failed/i.test(msg) ||
    /Failed to fetch|NetworkError|Load failed|Cannot fetch|Failed to execute 'add' on 'Cache'|Request failed/i.test(msg)
  ) {
    return new ModelDownloadError(
      `Could not download ${modelId} from the model host (huggingface.co and raw.githubusercontent.com): ` +
        'the network request failed, so this device looks offline or the host is blocked. ' +
        'Check the connection and load again; parts already downloaded stay cached and are not fetched twice.',
    );
  }
  const out = new Error(`Could not load ${modelId}: ${msg}`);
  out.name = name && name !== 'Error' ? name : 'ModelLoadError';
  return out;
}
