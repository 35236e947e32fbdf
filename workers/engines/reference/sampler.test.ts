import { describe, expect, it } from 'vitest';
import { Mulberry32, argmax, logProb, logSumExp, sample } from './sampler';

describe('Mulberry32', () => {
  it('is deterministic per seed and uniform-looking', () => {
    const a = new Mulberry32(42);
    const b = new Mulberry32(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(Array.from({ length: 1000 }, () => b.next())).toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
    expect(new Mulberry32(43).next()).not.toBe(new Mulberry32(42).next());
    // The documented algorithm: first output for seed 0 (reference value of mulberry32).
    expect(Math.round(new Mulberry32(0).next() * 2 ** 32)).toBe(1144304738);
  });
});

describe('log-softmax', () => {
  it('is exact on a uniform distribution and stable for large logits', () => {
    const uniform = new Float64Array(4).fill(3);
    expect(logProb(uniform, 2, 1)).toBeCloseTo(-Math.log(4), 15);
    const big = Float64Array.from([1000, 1000]);
    expect(logSumExp(big, 1)).toBeCloseTo(1000 + Math.log(2), 12);
    // Temperature divides the logits.
    const l = Float64Array.from([0, 2]);
    expect(logProb(l, 1, 2)).toBeCloseTo(1 - Math.log(1 + Math.E), 14);
  });
});

describe('sample', () => {
  const logits = Float64Array.from([1, 3, 2, 0.5, 3]);

  it('is greedy at temperature 0 (lowest id on ties), reporting ln p at T = 1', () => {
    const s = sample(logits, 0, 1, new Mulberry32(1));
    expect(s.id).toBe(1);
    expect(argmax(logits)).toBe(1);
    expect(s.logprobNats).toBeCloseTo(logProb(logits, 1, 1), 15);
  });

  it('draws by probability at T = 1 and reports the untruncated log-prob', () => {
    const rng = new Mulberry32(5);
    const counts = new Array(5).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const s = sample(logits, 1, 1, rng);
      counts[s.id]++;
      expect(s.logprobNats).toBe(logits[s.id] - logSumExp(logits, 1));
    }
    const lse = logSumExp(logits, 1);
    counts.forEach((c, id) => expect(Math.abs(c / n - Math.exp(logits[id] - lse))).toBeLessThan(0.02));
  });

  it('top_p keeps only the nucleus but reports log-probs before truncation', () => {
    // p ~ [0.07, 0.36, 0.13, 0.04, 0.36]: top_p 0.5 keeps ids 1 and 4 only.
    const rng = new Mulberry32(9);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const s = sample(logits, 1, 0.5, rng);
      seen.add(s.id);
      expect(s.logprobNats).toBeCloseTo(logProb(logits, s.id, 1), 14);
    }
    expect([...seen].sort()).toEqual([1, 4]);
    // A tiny nucleus is the single most probable id (lowest id on ties).
    expect(sample(logits, 1, 1e-9, new Mulberry32(3)).id).toBe(1);
    // top_p 1 can draw any id.
    const all = new Set<number>();
    const r2 = new Mulberry32(11);
    for (let i = 0; i < 3000; i++) all.add(sample(logits, 1, 1, r2).id);
    expect(all.size).toBe(5);
  });

  it('is reproducible for a seed', () => {
    const draw = (seed: number) => {
      const rng = new Mulberry32(seed);
      return Array.from({ length: 50 }, () => sample(logits, 0.8, 0.9, rng).id);
    };
    expect(draw(123)).toEqual(draw(123));
    expect(draw(123)).not.toEqual(draw(124));
  });
});
