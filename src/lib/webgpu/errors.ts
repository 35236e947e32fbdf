/**
 * Named errors of the WebGPU / web-llm path. They follow src/lib/core/errors.ts: each sets `name`
 * to its class name, because comlink rebuilds errors as plain `Error`s that keep only `name` and
 * `message`; callers switch on `err.name`. Messages say what happened and what to do.
 *
 * Pure module (no DOM): the worker and the main thread both import it.
 */
import { PrecisError } from '../core/errors';

export type WebGpuUnavailableReason =
  | 'insecure-context'
  | 'no-navigator-gpu'
  | 'no-adapter'
  | 'adapter-request-failed'
  | 'limits-too-small'
  | 'shader-f16-missing';

/** WebGPU cannot run web-llm here; `reason` says which check failed. */
export class WebGpuUnavailableError extends PrecisError {
  constructor(
    readonly reason: WebGpuUnavailableReason,
    message: string,
  ) {
    super('WebGpuUnavailableError', message);
  }
}

/** Model files (config, wasm, weights) could not be downloaded. */
export class ModelDownloadError extends PrecisError {
  constructor(message: string) {
    super('ModelDownloadError', message);
  }
}

/** The browser refused to store the model: the origin's storage quota is exhausted. */
export class StorageQuotaError extends PrecisError {
  constructor(message: string) {
    super('StorageQuotaError', message);
  }
}

/**
 * The GPU device was lost (usually out of GPU memory, sometimes a driver reset). Not in the core
 * union of names, so it extends Error directly with the same naming rule.
 */
export class DeviceLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeviceLostError';
  }
}
