/**
 * Named errors of the ONNX engine (transformers.js). Pure module: the worker, the page and the
 * command line import it; callers switch on `err.name` (comlink keeps only name and message).
 */
import { PrecisError } from '../core/errors';

/** The model folder lacks a file every model needs (config.json, tokenizer.json) or one is unreadable. */
export class ModelFormatError extends PrecisError {
  constructor(message: string) {
    super('ModelFormatError', message);
  }
}

/** The model is not a decoder-only causal LM with the standard key/value cache this engine drives. */
export class UnsupportedModelError extends PrecisError {
  constructor(message: string) {
    super('UnsupportedModelError', message);
  }
}

/** The requested dtype has no weights file in the model folder, or the device cannot run it. */
export class UnsupportedDtypeError extends PrecisError {
  constructor(
    readonly dtype: string,
    readonly available: string[],
    message: string,
  ) {
    super('UnsupportedDtypeError', message);
  }
}

/** The model's weights and working memory would not fit this device (said before loading). */
export class ModelTooLargeError extends PrecisError {
  constructor(
    readonly neededBytes: number,
    readonly availableBytes: number,
    message: string,
  ) {
    super('ModelTooLargeError', message);
  }
}
