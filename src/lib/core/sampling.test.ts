import { describe, expect, it } from 'vitest';
import { validateSamplingSettings } from './sampling';

const ok = { temperature: 1, topP: 1, maxTokens: 8, seed: 0 };

describe('validateSamplingSettings', () => {
  it('accepts sane settings and a zero budget where allowed', () => {
    expect(() => validateSamplingSettings(ok)).not.toThrow();
    expect(() => validateSamplingSettings({ ...ok, maxTokens: 0 })).not.toThrow();
  });
  it.each([
    [{ temperature: -1 }, /Temperature/],
    [{ temperature: Number.NaN }, /Temperature/],
    [{ temperature: Number.POSITIVE_INFINITY }, /Temperature/],
    [{ topP: 0 }, /top_p/],
    [{ topP: 1.5 }, /top_p/],
    [{ maxTokens: 2.5 }, /maxTokens/],
    [{ maxTokens: -1 }, /maxTokens/],
    [{ seed: Number.NaN }, /seed/],
  ])('refuses %o by name', (patch, message) => {
    let caught: unknown;
    try {
      validateSamplingSettings({ ...ok, ...patch });
    } catch (err) {
      caught = err;
    }
    expect((caught as Error).name).toBe('InvalidArgumentError');
    expect((caught as Error).message).toMatch(message);
  });
  it('needs at least one token where the runtime does', () => {
    expect(() => validateSamplingSettings({ ...ok, maxTokens: 0 }, 1)).toThrow(/>= 1/);
  });
});
