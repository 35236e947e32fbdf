/**
 * One check of SamplingSettings for every in-page engine (reference, onnx, web-llm), so they
 * refuse the same inputs with the same words.
 */
import type { SamplingSettings } from './engine';
import { InvalidArgumentError } from './errors';

/**
 * Throws InvalidArgumentError for a temperature that is not a finite number >= 0, a top_p
 * outside (0, 1], a token budget that is not a whole number >= `minMaxTokens`, or a seed that is
 * not finite. `minMaxTokens` is 0 where an empty budget is a valid no-op (reference, onnx) and 1
 * where the runtime needs at least one step (web-llm).
 */
export function validateSamplingSettings(settings: SamplingSettings, minMaxTokens: 0 | 1 = 0): void {
  const { temperature, topP, maxTokens, seed } = settings;
  if (!(temperature >= 0) || !Number.isFinite(temperature)) {
    throw new InvalidArgumentError(`Temperature must be a finite number >= 0 (got ${temperature}).`);
  }
  if (!(topP > 0 && topP <= 1)) throw new InvalidArgumentError(`top_p must be in (0, 1] (got ${topP}).`);
  if (!Number.isInteger(maxTokens) || maxTokens < minMaxTokens) {
    throw new InvalidArgumentError(`maxTokens must be a whole number >= ${minMaxTokens} (got ${maxTokens}).`);
  }
  if (!Number.isFinite(seed)) throw new InvalidArgumentError(`The seed must be a finite number (got ${seed}).`);
}
