import { describe, expect, it } from 'vitest';
import {
  NotEnoughContextsError,
  compressionTermNats,
  estimateMi,
  logSumExp,
  natsToBits,
  pointwiseInformationNats,
  summarizeTerms,
  termsFromScores,
} from './estimator';
import { uniformRng } from './rng';

/** Binary entropy in bits. */
function h2(p: number): number {
  return -p * Math.log2(p) - (1 - p) * Math.log2(1 - p);
}

describe('logSumExp', () => {
  it('is stable for large magnitudes and handles -Infinity', () => {
    expect(logSumExp([1000, 1000])).toBeCloseTo(1000 + Math.LN2, 12);
    expect(logSumExp([-1000, -1000])).toBeCloseTo(-1000 + Math.LN2, 12);
    expect(logSumExp([0, -Infinity])).toBe(0);
    expect(logSumExp([-Infinity, -Infinity])).toBe(-Infinity);
    expect(logSumExp([])).toBe(-Infinity);
  });
});

describe('known answers (ESTIMATOR.md §4)', () => {
  it('perfectly distinguishable, N = 4: exactly 2 bits', () => {
    const n = 4;
    const m = 3;
    const scores = Array.from({ length: n }, (_, i) =>
      Array.from({ length: m }, () => Array.from({ length: n }, (_, l) => (l === i ? 0 : -1e4))),
    );
    const lengths = scores.map((row) => row.map(() => 5));
    const { termsNats, summary } = estimateMi(scores, lengths);
    for (const t of termsNats.flat()) expect(Math.abs(t - Math.log(4))).toBeLessThan(1e-9);
    expect(Math.abs(summary.miBits - 2)).toBeLessThan(1e-9);
    expect(Math.abs(summary.miNats - Math.log(4))).toBeLessThan(1e-9);
    expect(summary.ceilingBits).toBe(2);
    expect(summary.stdErrBits).toBeLessThan(1e-9);
    expect(Math.abs(summary.bitsPerToken - 2 / 5)).toBeLessThan(1e-9);
    expect(summary.n).toBe(4);
    expect(summary.m).toBe(3);
  });

  it('uninformative: equal scores under every context give 0', () => {
    const rng = uniformRng(7);
    const n = 5;
    const scores = Array.from({ length: n }, () =>
      Array.from({ length: 2 }, () => {
        const s = -50 * rng();
        return Array.from({ length: n }, () => s);
      }),
    );
    const { termsNats, summary } = estimateMi(scores, scores.map((r) => r.map(() => 3)));
    for (const t of termsNats.flat()) expect(Math.abs(t)).toBeLessThan(1e-12);
    expect(Math.abs(summary.miBits)).toBeLessThan(1e-12);
  });

  it('binary symmetric channel, exact weighting: 1 - H2(0.1) = 0.531004 bits', () => {
    const flip = 0.1;
    const logp = (z: number, x: number) => Math.log(z === x ? 1 - flip : flip);
    let miNats = 0;
    for (const x of [0, 1]) {
      for (const z of [0, 1]) {
        const p = Math.exp(logp(z, x));
        miNats += 0.5 * p * compressionTermNats([logp(z, 0), logp(z, 1)], x);
      }
    }
    expect(Math.abs(natsToBits(miNats) - (1 - h2(flip)))).toBeLessThan(1e-12);
    expect(Math.abs(natsToBits(miNats) - 0.531004)).toBeLessThan(5e-7);
  });

  it('binary symmetric channel, sampled: converges within 3 reported standard errors', () => {
    const flip = 0.1;
    const exactBits = 1 - h2(flip);
    const logp = (z: number, x: number) => Math.log(z === x ? 1 - flip : flip);
    for (const seed of [1, 2, 3]) {
      const rng = uniformRng(seed);
      const m = 20000;
      const scores = [0, 1].map((x) =>
        Array.from({ length: m }, () => {
          const z = rng() < flip ? 1 - x : x;
          return [logp(z, 0), logp(z, 1)];
        }),
      );
      const { summary } = estimateMi(scores, scores.map((r) => r.map(() => 1)));
      expect(summary.stdErrBits).toBeGreaterThan(0);
      expect(summary.stdErrBits).toBeLessThan(0.01);
      expect(Math.abs(summary.miBits - exactBits)).toBeLessThan(3 * summary.stdErrBits);
    }
  });

  /**
   * Copy-or-noise over K symbols: z = x with probability 1 - e, otherwise uniform over all K.
   * p(z | x) = (1 - e)[z = x] + e/K. With uniform X the true MI is
   *   ln K + p_same ln p_same + (K - 1) q ln q,   p_same = 1 - e + e/K, q = e/K.
   * With a bank of N distinct symbols and exact weighting over z, a compression of x_i is
   *   x_i (prob p_same): term ln(N p_same / (p_same + (N-1) q));
   *   another bank symbol (prob q each, N - 1 of them): term ln(N q / (p_same + (N-1) q));
   *   a symbol outside the bank (prob q each): term 0 (every context scores it q),
   * so E[I_hat] = p_same ln(N p_same / D) + (N - 1) q ln(N q / D), D = p_same + (N-1) q <= ln N.
   */
  describe('copy-or-noise channel: ceiling behaviour', () => {
    const exactWeighted = (k: number, e: number, n: number): number => {
      const logp = (z: number, x: number) => Math.log((z === x ? 1 - e : 0) + e / k);
      let miNats = 0;
      for (let i = 0; i < n; i++) {
        for (let z = 0; z < k; z++) {
          const p = Math.exp(logp(z, i));
          if (p === 0) continue;
          const scores = Array.from({ length: n }, (_, l) => logp(z, l));
          miNats += (p / n) * compressionTermNats(scores, i);
        }
      }
      return miNats;
    };
    const trueMiNats = (k: number, e: number) => {
      const same = 1 - e + e / k;
      const q = e / k;
      return Math.log(k) + same * Math.log(same) + (q > 0 ? (k - 1) * q * Math.log(q) : 0);
    };
    const bankClosedForm = (k: number, e: number, n: number) => {
      const same = 1 - e + e / k;
      const q = e / k;
      const d = same + (n - 1) * q;
      return same * Math.log((n * same) / d) + (q > 0 ? (n - 1) * q * Math.log((n * q) / d) : 0);
    };

    it('a perfect copy of 16 symbols measured with N = 4 reads the ceiling, 2 bits, not 4', () => {
      expect(natsToBits(trueMiNats(16, 0))).toBeCloseTo(4, 12);
      expect(Math.abs(natsToBits(exactWeighted(16, 0, 4)) - 2)).toBeLessThan(1e-12);
    });

    it('with noise, N < K matches the bank closed form and stays under both ln N and the true MI', () => {
      for (const [k, e, n] of [
        [16, 0.2, 4],
        [16, 0.5, 8],
        [10, 0.9, 2],
      ] as const) {
        const est = exactWeighted(k, e, n);
        expect(Math.abs(est - bankClosedForm(k, e, n))).toBeLessThan(1e-12);
        expect(est).toBeLessThanOrEqual(Math.log(n) + 1e-12);
        expect(est).toBeLessThan(trueMiNats(k, e));
      }
    });

    it('with N = K the mixture is the true marginal and the estimate equals the true MI', () => {
      for (const [k, e] of [
        [16, 0.2],
        [5, 0.7],
      ] as const) {
        expect(Math.abs(exactWeighted(k, e, k) - trueMiNats(k, e))).toBeLessThan(1e-12);
      }
    });
  });
});

describe('per-token information (chain-rule split)', () => {
  it('sums to the compression term to 1e-9 on random inputs', () => {
    const rng = uniformRng(42);
    for (let trial = 0; trial < 200; trial++) {
      const n = 2 + Math.floor(rng() * 15);
      const len = 1 + Math.floor(rng() * 60);
      const a = Array.from({ length: n }, () => Array.from({ length: len }, () => -8 * rng() ** 2 - 1e-6));
      const source = Math.floor(rng() * n);
      const pmi = pointwiseInformationNats(a, source);
      expect(pmi).toHaveLength(len);
      const scores = a.map((row) => row.reduce((x, y) => x + y, 0));
      const term = compressionTermNats(scores, source);
      const sum = pmi.reduce((x, y) => x + y, 0);
      expect(Math.abs(sum - term)).toBeLessThan(1e-9);
    }
  });

  it('is zero for tokens every context predicts equally, and empty for an empty compression', () => {
    const a = [
      [-1, -0.5, -2],
      [-3, -0.5, -2],
    ];
    const pmi = pointwiseInformationNats(a, 0);
    expect(pmi[0]).toBeCloseTo(-1 - (logSumExp([-1, -3]) - Math.LN2), 12);
    // Equal a_{l,t} for every l: the mixture predictive equals the source's prediction.
    expect(Math.abs(pmi[1])).toBeLessThan(1e-12);
    expect(Math.abs(pmi[2])).toBeLessThan(1e-12);
    expect(pointwiseInformationNats([[], []], 1)).toEqual([]);
  });
});

describe('summary and bad input', () => {
  it('keeps the raw negative estimate and clips for display', () => {
    const terms = [
      [-0.4, 0.1],
      [-0.2, 0.1],
    ];
    const s = summarizeTerms(terms, [
      [2, 4],
      [6, 0],
    ]);
    expect(s.miNats).toBeCloseTo(-0.1, 12);
    expect(s.miNatsClipped).toBe(0);
    expect(s.miBitsClipped).toBe(0);
    expect(s.meanTokens).toBe(3);
    expect(s.bitsPerToken).toBeCloseTo(natsToBits(-0.1) / 3, 12);
    const sd = Math.sqrt(((-0.3) ** 2 + 0.2 ** 2 + (-0.1) ** 2 + 0.2 ** 2) / 3);
    expect(s.stdErrNats).toBeCloseTo(sd / 2, 12);
    expect(s.stdErrBits).toBeCloseTo(natsToBits(sd / 2), 12);
  });

  it('throws NotEnoughContextsError for a bank of one context', () => {
    const run = () => estimateMi([[[-3]]], [[1]]);
    expect(run).toThrow(NotEnoughContextsError);
    try {
      run();
    } catch (err) {
      expect((err as Error).name).toBe('NotEnoughContextsError');
      expect((err as Error).message).toMatch(/at least two contexts/);
    }
    expect(() => pointwiseInformationNats([[-1]], 0)).toThrow(NotEnoughContextsError);
    expect(() => compressionTermNats([], 0)).toThrow(NotEnoughContextsError);
  });

  it('rejects ragged score rows', () => {
    expect(() => termsFromScores([[[0, 0]], [[0]]])).toThrow(RangeError);
  });
});
