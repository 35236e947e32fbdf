/**
 * Float64 numeric kernels of the forward pass. Every output element of `matmul` is the plain
 * left-to-right sum over the input dimension, whatever the tiling, so a batched forward and
 * single-token steps give bit-identical results.
 */

/**
 * out[t][i] = sum_j w[i][j] * x[t][j] for T rows of x (n columns) and d rows of w.
 * Tokens are taken four at a time so each weight element loaded serves four tokens (prefill
 * speed); a single token takes rows four at a time so each input element serves four rows.
 */
export function matmul(
  out: Float64Array,
  outOff: number,
  x: Float64Array,
  xOff: number,
  w: Float64Array,
  wOff: number,
  T: number,
  n: number,
  d: number,
): void {
  let t = 0;
  for (; t + 4 <= T; t += 4) {
    const x0 = xOff + t * n;
    const x1 = x0 + n;
    const x2 = x1 + n;
    const x3 = x2 + n;
    const o0 = outOff + t * d;
    for (let i = 0; i < d; i++) {
      const r = wOff + i * n;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < n; j++) {
        const wj = w[r + j];
        s0 += wj * x[x0 + j];
        s1 += wj * x[x1 + j];
        s2 += wj * x[x2 + j];
        s3 += wj * x[x3 + j];
      }
      out[o0 + i] = s0;
      out[o0 + d + i] = s1;
      out[o0 + 2 * d + i] = s2;
      out[o0 + 3 * d + i] = s3;
    }
  }
  for (; t < T; t++) matvec(out, outOff + t * d, x, xOff + t * n, w, wOff, n, d);
}

/** out[i] = sum_j w[i][j] * x[j], four rows per pass over x. */
export function matvec(
  out: Float64Array,
  outOff: number,
  x: Float64Array,
  xOff: number,
  w: Float64Array,
  wOff: number,
  n: number,
  d: number,
): void {
  let i = 0;
  for (; i + 4 <= d; i += 4) {
    const r0 = wOff + i * n;
    const r1 = r0 + n;
    const r2 = r1 + n;
    const r3 = r2 + n;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let j = 0; j < n; j++) {
      const xj = x[xOff + j];
      s0 += w[r0 + j] * xj;
      s1 += w[r1 + j] * xj;
      s2 += w[r2 + j] * xj;
      s3 += w[r3 + j] * xj;
    }
    out[outOff + i] = s0;
    out[outOff + i + 1] = s1;
    out[outOff + i + 2] = s2;
    out[outOff + i + 3] = s3;
  }
  for (; i < d; i++) {
    const r = wOff + i * n;
    let s = 0;
    for (let j = 0; j < n; j++) s += w[r + j] * x[xOff + j];
    out[outOff + i] = s;
  }
}

/** RMSNorm of T rows: out = w * x / sqrt(mean(x^2) + eps). */
export function rmsnormRows(
  out: Float64Array,
  x: Float64Array,
  w: Float64Array,
  wOff: number,
  T: number,
  n: number,
  eps: number,
): void {
  for (let t = 0; t < T; t++) {
    const o = t * n;
    let ss = 0;
    for (let j = 0; j < n; j++) ss += x[o + j] * x[o + j];
    const scale = 1 / Math.sqrt(ss / n + eps);
    for (let j = 0; j < n; j++) out[o + j] = w[wOff + j] * (scale * x[o + j]);
  }
}

/**
 * Rotary embedding in place on `rows` consecutive vectors of `width` (a multiple of headSize),
 * the first at position `pos0`: each pair (2i, 2i+1) of each head turns by pos * theta^(-2i/hs).
 */
export function rope(
  v: Float64Array,
  vOff: number,
  rows: number,
  width: number,
  pos0: number,
  headSize: number,
  cos: Float64Array,
  sin: Float64Array,
): void {
  const half = headSize / 2;
  for (let r = 0; r < rows; r++) {
    const base = vOff + r * width;
    const table = (pos0 + r) * half;
    for (let h = 0; h < width; h += headSize) {
      for (let i = 0; i < half; i++) {
        const a = base + h + 2 * i;
        const c = cos[table + i];
        const s = sin[table + i];
        const v0 = v[a];
        const v1 = v[a + 1];
        v[a] = v0 * c - v1 * s;
        v[a + 1] = v0 * s + v1 * c;
      }
    }
  }
}

/**
 * Causal multi-head attention of one query row (all heads) over cached positions 0..last, with
 * grouped-query heads: query heads g*kvMul..g*kvMul+kvMul-1 share key/value head g, and their
 * scores are computed in one pass over the cache. Writes the concatenated head outputs to
 * out[outOff..outOff+nHeads*headSize). `att` is scratch of at least kvMul*(last+1).
 * Lanes go four at a time when the head size allows, else two (head sizes are even).
 */
export function attendRow(
  out: Float64Array,
  outOff: number,
  q: Float64Array,
  qOff: number,
  kc: Float64Array,
  vc: Float64Array,
  layerOff: number,
  kvDim: number,
  last: number,
  nHeads: number,
  kvMul: number,
  headSize: number,
  att: Float64Array,
): void {
  const scale = 1 / Math.sqrt(headSize);
  const span = last + 1;
  const by4 = headSize % 4 === 0;
  const nKv = nHeads / kvMul;
  for (let g = 0; g < nKv; g++) {
    const kvOff = layerOff + g * headSize;
    for (let m = 0; m < kvMul; m++) {
      const qh = qOff + (g * kvMul + m) * headSize;
      const a0 = m * span;
      let max = -Infinity;
      for (let s = 0, k = kvOff; s < span; s++, k += kvDim) {
        let d0 = 0;
        let d1 = 0;
        if (by4) {
          let d2 = 0;
          let d3 = 0;
          for (let i = 0; i < headSize; i += 4) {
            d0 += q[qh + i] * kc[k + i];
            d1 += q[qh + i + 1] * kc[k + i + 1];
            d2 += q[qh + i + 2] * kc[k + i + 2];
            d3 += q[qh + i + 3] * kc[k + i + 3];
          }
          d0 += d2;
          d1 += d3;
        } else {
          for (let i = 0; i < headSize; i += 2) {
            d0 += q[qh + i] * kc[k + i];
            d1 += q[qh + i + 1] * kc[k + i + 1];
          }
        }
        const dot = (d0 + d1) * scale;
        att[a0 + s] = dot;
        if (dot > max) max = dot;
      }
      let sum = 0;
      for (let s = 0; s < span; s++) {
        const e = Math.exp(att[a0 + s] - max);
        att[a0 + s] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let s = 0; s < span; s++) att[a0 + s] *= inv;
      const o = outOff + (g * kvMul + m) * headSize;
      for (let i = 0; i < headSize; i++) out[o + i] = 0;
    }
    // Weighted sum of values: each cached value row is read once for the whole group.
    for (let s = 0, v = kvOff; s < span; s++, v += kvDim) {
      for (let m = 0; m < kvMul; m++) {
        const a = att[m * span + s];
        const o = outOff + (g * kvMul + m) * headSize;
        if (by4) {
          for (let i = 0; i < headSize; i += 4) {
            out[o + i] += a * vc[v + i];
            out[o + i + 1] += a * vc[v + i + 1];
            out[o + i + 2] += a * vc[v + i + 2];
            out[o + i + 3] += a * vc[v + i + 3];
          }
        } else {
          for (let i = 0; i < headSize; i += 2) {
            out[o + i] += a * vc[v + i];
            out[o + i + 1] += a * vc[v + i + 1];
          }
        }
      }
    }
  }
}
