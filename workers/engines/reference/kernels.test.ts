import { describe, expect, it } from 'vitest';
import { attendRow, expNonPositive, matmul, matvec, packRows8, packedIndex } from './kernels';

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

describe('packed matmul and matvec', () => {
  it('packedIndex is a permutation of the matrix for any row count', () => {
    for (const [n, d] of [[3, 5], [8, 7], [5, 16], [6, 13], [64, 172]]) {
      const seen = new Set<number>();
      for (let i = 0; i < d; i++) for (let j = 0; j < n; j++) seen.add(packedIndex(i, j, n, d));
      expect(seen.size).toBe(n * d);
      expect(Math.min(...seen)).toBe(0);
      expect(Math.max(...seen)).toBe(n * d - 1);
    }
  });

  it('equal the plain left-to-right row sums bit for bit, batched or one token at a time', () => {
    for (const [T, n, d] of [[1, 3, 5], [4, 8, 7], [7, 5, 9], [9, 16, 2], [5, 6, 13], [1, 4, 28], [6, 64, 172]]) {
      const layers = 2;
      const rowMajor = Float32Array.from({ length: layers * n * d }, (_, i) => Math.sin(i + 1));
      const w = packRows8(rowMajor, 0, layers, d, n);
      const x = Float64Array.from({ length: T * n }, (_, i) => Math.cos(i * 0.7));
      for (let l = 0; l < layers; l++) {
        const a = new Float64Array(T * d);
        const b = new Float64Array(T * d);
        matmul(a, 0, x, 0, w, l * n * d, T, n, d);
        for (let t = 0; t < T; t++) matvec(b, t * d, x, t * n, w, l * n * d, n, d);
        expect(Array.from(a)).toEqual(Array.from(b));
        for (let t = 0; t < T; t++) {
          for (let i = 0; i < d; i++) {
            let s = 0;
            for (let j = 0; j < n; j++) s += rowMajor[l * n * d + i * n + j] * x[t * n + j];
            expect(a[t * d + i]).toBe(s);
          }
        }
      }
    }
  });
});

describe('attendRow', () => {
  it('gives the same bits when query heads share key/value heads in pairs as with a copy per head', () => {
    for (const headSize of [8, 16]) {
      const nHeads = 4;
      const kvMul = 2;
      const nKv = nHeads / kvMul;
      const kvDim = nKv * headSize;
      const span = 11;
      const q = Float64Array.from({ length: nHeads * headSize }, (_, i) => Math.sin(i * 1.7));
      const kc = Float64Array.from({ length: span * kvDim }, (_, i) => Math.cos(i * 0.3));
      const vc = Float64Array.from({ length: span * kvDim }, (_, i) => Math.sin(i * 0.9 + 1));
      // Each key/value head copied once per query head, so kvMul is 1 and heads go one at a time.
      const fullDim = nHeads * headSize;
      const kcFull = new Float64Array(span * fullDim);
      const vcFull = new Float64Array(span * fullDim);
      for (let s = 0; s < span; s++) {
        for (let h = 0; h < nHeads; h++) {
          const from = s * kvDim + Math.floor(h / kvMul) * headSize;
          kcFull.set(kc.subarray(from, from + headSize), s * fullDim + h * headSize);
          vcFull.set(vc.subarray(from, from + headSize), s * fullDim + h * headSize);
        }
      }
      const att = new Float64Array(2 * span);
      const paired = new Float64Array(fullDim);
      const single = new Float64Array(fullDim);
      attendRow(paired, 0, q, 0, kc, vc, 0, kvDim, span - 1, nHeads, kvMul, headSize, att);
      attendRow(single, 0, q, 0, kcFull, vcFull, 0, fullDim, span - 1, nHeads, 1, headSize, att);
      expect(Array.from(paired)).toEqual(Array.from(single));
      expect(paired.every(Number.isFinite)).toBe(true);
    }
  });
});
