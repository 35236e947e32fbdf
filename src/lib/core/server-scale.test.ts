import { describe, expect, it } from 'vitest';
import { scaleFigures, scaleSeconds } from './server-scale';

describe('scaleFigures (the README worked example)', () => {
  it('N = 256, M = 4, |x| = 2000, |z| = 100, B = 16', () => {
    const f = scaleFigures({ contexts: 256, samples: 4, promptTokens: 2000, compressionTokens: 100, batchSize: 16 });
    expect(f).toEqual({
      generationRequests: 1024,
      generatedTokens: 102_400,
      scoringRequests: 16_384,
      scoredSequences: 262_144,
      scoringTokensSent: 550_502_400,
      tokensScored: 26_214_400,
      prefillUncached: 550_502_400,
      prefillCached: 26_988_288,
    });
    // About N·(|x| + N·M·|z|): the context once per context, then every continuation.
    expect(f.prefillCached / (256 * (2000 + 1024 * 100))).toBeCloseTo(1.0098, 4);
    expect(scaleSeconds(f.prefillUncached, 10_000, 8)).toBeCloseTo(6881.28, 6);
    expect(scaleSeconds(f.prefillCached, 10_000, 8)).toBeCloseTo(337.3536, 6);
  });

  it('counts one request per sequence with B = 1, and a last short request per context', () => {
    expect(scaleFigures({ contexts: 3, samples: 2, promptTokens: 5, compressionTokens: 2, batchSize: 1 }).scoringRequests).toBe(18);
    expect(scaleFigures({ contexts: 3, samples: 2, promptTokens: 5, compressionTokens: 2, batchSize: 4 }).scoringRequests).toBe(6);
    // One context, one compression: nothing to reuse.
    const one = scaleFigures({ contexts: 1, samples: 1, promptTokens: 7, compressionTokens: 3, batchSize: 16 });
    expect(one.prefillCached).toBe(one.prefillUncached);
  });

  it('refuses sizes that are not whole numbers', () => {
    expect(() => scaleFigures({ contexts: 0, samples: 1, promptTokens: 1, compressionTokens: 1, batchSize: 1 })).toThrow(RangeError);
    expect(() => scaleFigures({ contexts: 2, samples: 1.5, promptTokens: 1, compressionTokens: 1, batchSize: 1 })).toThrow(/samples/);
    expect(() => scaleSeconds(1, 0)).toThrow(RangeError);
  });
});
