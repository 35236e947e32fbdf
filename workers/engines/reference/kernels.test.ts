import { describe, expect, it } from 'vitest';
import { expNonPositive, matmul, matvec } from './kernels';

describe('expNonPositive', () => {
  it('agrees with Math.exp to a few ulps on x <= 0 and underflows to 0', () => {
    let maxRel = 0;
    for (let i = 0; i <= 200000; i++) {
      const x = -(i / 200000) * 700; // normal range; below about -708 results are subnormal
      const e = Math.exp(x);
      maxRel = Math.max(maxRel, Math.abs(expNonPositive(x) - e) / e);
    }
    expect(maxRel).toBeLessThan(2e-15);
    expect(expNonPositive(0)).toBe(1);
    expect(Math.abs(expNonPositive(-740) - Math.exp(-740))).toBeLessThan(1e-320);
    expect(expNonPositive(-800)).toBe(0);
    expect(expNonPositive(-Infinity)).toBe(0);
  });
});

describe('matmul', () => {
  it('equals a row-by-row matvec exactly for any token count and row count', () => {
    for (const [T, n, d] of [[1, 3, 5], [4, 8, 7], [7, 5, 9], [9, 16, 2]]) {
      const w = Float64Array.from({ length: n * d }, (_, i) => Math.sin(i + 1));
      const x = Float64Array.from({ length: T * n }, (_, i) => Math.cos(i * 0.7));
      const a = new Float64Array(T * d);
      const b = new Float64Array(T * d);
      matmul(a, 0, x, 0, w, 0, T, n, d);
      for (let t = 0; t < T; t++) matvec(b, t * d, x, t * n, w, 0, n, d);
      expect(Array.from(a)).toEqual(Array.from(b));
      for (let t = 0; t < T; t++) {
        for (let i = 0; i < d; i++) {
          let s = 0;
          for (let j = 0; j < n; j++) s += w[i * n + j] * x[t * n + j];
          expect(a[t * d + i]).toBeCloseTo(s, 12);
        }
      }
    }
  });
});
