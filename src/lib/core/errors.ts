/**
 * Named errors shared by the worker, the main thread and the command line.
 *
 * Comlink rebuilds thrown errors as plain `Error`s that keep `name` and `message` only, so
 * callers must switch on `err.name`, never on `instanceof`. Every class here sets `name` to its
 * own class name. Messages are written for the person using the app: what happened and what to
 * do. They never contain an API key, request headers or raw document text.
 */

export type PrecisErrorName =
  | 'ContextTooLongError'
  | 'CheckpointFormatError'
  | 'TokenizerMismatchError'
  | 'ModelNotLoadedError'
  | 'EngineBusyError'
  | 'InterruptedError'
  | 'WebGpuUnavailableError'
  | 'ModelDownloadError'
  | 'StorageQuotaError'
  | 'NotEnoughContextsError'
  | 'BankTooLargeError'
  | 'InvalidArgumentError'
  | 'SweepConfigError'
  | 'EvalItemsError'
  | 'SweepPausedError'
  | 'SweepResumeError'
  | 'SweepImportError'
  | 'SweepTooLargeError'
  // Inference servers (server-errors.ts).
  | 'ServerCannotScoreError'
  | 'ServerUnreachableError'
  | 'ServerTimeoutError'
  | 'ServerHttpError'
  | 'ServerAuthError'
  | 'ServerModelNotServedError'
  | 'ServerResponseError'
  | 'ServerClampedLogprobError'
  | 'ServerCorsError'
  | 'ServerMixedContentError'
  | 'ServerLocalNetworkError'
  | 'ServerTemperatureError'
  | 'ServerHostNotConfirmedError'
  | 'ServerEmptyAnswerError'
  // The ONNX engine (src/lib/onnx/errors.ts).
  | 'ModelFormatError'
  | 'UnsupportedModelError'
  | 'UnsupportedDtypeError'
  | 'ModelTooLargeError';

export class PrecisError extends Error {
  constructor(name: PrecisErrorName, message: string) {
    super(message);
    this.name = name;
  }
}

/** A prompt (plus the tokens it must leave room for) does not fit the model's window. */
export class ContextTooLongError extends PrecisError {
  constructor(
    readonly neededTokens: number,
    readonly windowTokens: number,
    what = 'The prompt',
  ) {
    super(
      'ContextTooLongError',
      `${what} needs ${neededTokens} tokens but the model's window holds ${windowTokens}. ` +
        'Split the text into smaller chunks or shorten it.',
    );
  }
}

export class CheckpointFormatError extends PrecisError {
  constructor(detail: string) {
    super('CheckpointFormatError', `This is not a usable llama2.c checkpoint: ${detail}`);
  }
}

export class TokenizerMismatchError extends PrecisError {
  constructor(detail: string) {
    super('TokenizerMismatchError', `The tokenizer does not fit the model: ${detail}`);
  }
}

export class ModelNotLoadedError extends PrecisError {
  constructor() {
    super('ModelNotLoadedError', 'No model is loaded. Choose an engine and load it first.');
  }
}

/**
 * Cancellation is a normal outcome, not a failure: callers that started the work expect it and
 * show "cancelled". It is thrown only where a partial result cannot be returned instead.
 */
export class InterruptedError extends PrecisError {
  constructor(what = 'The work') {
    super('InterruptedError', `${what} was cancelled.`);
  }
}

export class InvalidArgumentError extends PrecisError {
  constructor(detail: string) {
    super('InvalidArgumentError', detail);
  }
}

/** Tell whether an unknown thrown value is a named error (works across comlink). */
export function errorName(err: unknown): string {
  if (err && typeof err === 'object' && 'name' in err && typeof (err as { name: unknown }).name === 'string') {
    return (err as { name: string }).name;
  }
  return 'Error';
}

export function errorMessage(err: unknown): string {
  if (err && typeof err === 'object' && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
