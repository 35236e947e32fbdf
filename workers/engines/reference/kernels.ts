/**
 * Float64 numeric kernels of the forward pass. Every output element of `matmul` is the plain
 * left-to-right sum over the input dimension, whatever the tiling, so a batched forward and
 * single-token steps give bit-identical results.
 */

/**
 * Weight matrices are stored "packed": each group of eight consecutive rows is interleaved
 * column by column (element (r, j) of the group at 8*j + r), so the matvec walks one index
 * through eight rows at once; the last d % 8 rows follow row-major. The values are the same
 * float32 values, only their order changes. `packedIndex` gives the position of (i, j).
 */
export function packedIndex(i: number, j: number, n: number, d: number): number {
  const full = d - (d % 8);
  if (i < full) return (i - (i % 8)) * n + 8 * j + (i % 8);
  return full * n + (i - full) * n + j;
}

/** Pack `count` row-major [d][n] matrices laid end to end (src from srcOff) into dst. */
export function packRows8(src: Float32Array, srcOff: number, count: number, d: number, n: number): Float32Array {
  const dst = new Float32Array(count * d * n);
  for (let m = 0; m < count; m++) {
    const s = srcOff + m * d * n;
    const o = m * d * n;
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < n; j++) dst[o + packedIndex(i, j, n, d)] = src[s + i * n + j];
    }
  }
  return dst;
}

/**
 * out[t][i] = sum_j w[i][j] * x[t][j] for T rows of x (n columns) and d rows of a packed w
 * (see packedIndex). Tiles of 4 tokens x 2 weight rows: per input column, 6 loads feed 8
 * multiply-adds (prefill speed). Leftover tokens go through matvec, leftover rows through a
 * 4 x 1 tile. Every sum runs left to right over j, as in matvec, so batched and stepwise
 * results are bit-identical.
 */
export function matmul(
  out: Float64Array,
  outOff: number,
  x: Float64Array,
  xOff: number,
  w: Float32Array,
  wOff: number,
  T: number,
  n: number,
  d: number,
): void {
  const full = d - (d % 8);
  let t = 0;
  for (; t + 4 <= T; t += 4) {
    const x0 = xOff + t * n;
    const x1 = x0 + n;
    const x2 = x1 + n;
    const x3 = x2 + n;
    const o0 = outOff + t * d;
    const o1 = o0 + d;
    const o2 = o1 + d;
    const o3 = o2 + d;
    for (let i = 0; i < full; i += 2) {
      // Rows i and i+1 sit at lanes k and k+1 of their group of eight, stride 8.
      let p = (wOff + (i - (i % 8)) * n + (i % 8)) | 0;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      let b0 = 0;
      let b1 = 0;
      let b2 = 0;
      let b3 = 0;
      for (let j = 0; j < n; j = (j + 1) | 0, p = (p + 8) | 0) {
        const u = w[p];
        const v = w[(p + 1) | 0];
        const y0 = x[(x0 + j) | 0];
        const y1 = x[(x1 + j) | 0];
        const y2 = x[(x2 + j) | 0];
        const y3 = x[(x3 + j) | 0];
        a0 += u * y0;
        a1 += u * y1;
        a2 += u * y2;
        a3 += u * y3;
        b0 += v * y0;
        b1 += v * y1;
        b2 += v * y2;
        b3 += v * y3;
      }
      out[o0 + i] = a0;
      out[o1 + i] = a1;
      out[o2 + i] = a2;
      out[o3 + i] = a3;
      out[o0 + i + 1] = b0;
      out[o1 + i + 1] = b1;
      out[o2 + i + 1] = b2;
      out[o3 + i + 1] = b3;
    }
    for (let i = full; i < d; i++) {
      const r = wOff + i * n;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let j = 0; j < n; j++) {
        const u = w[r + j];
        a0 += u * x[x0 + j];
        a1 += u * x[x1 + j];
        a2 += u * x[x2 + j];
        a3 += u * x[x3 + j];
      }
      out[o0 + i] = a0;
      out[o1 + i] = a1;
      out[o2 + i] = a2;
      out[o3 + i] = a3;
    }
  }
  for (; t < T; t++) matvec(out, outOff + t * d, x, xOff + t * n, w, wOff, n, d);
}

/**
 * out[i] = sum_j w[i][j] * x[j] for a packed w: eight rows per pass over x, one index walking
 * the interleaved group (each x[j] load feeds eight multiply-adds, eight independent sums),
 * then the row-major leftover rows one at a time. Each sum runs left to right. Index sums are
 * written `(a + b) | 0` so the JIT emits plain integer adds without overflow checks (indices
 * are far below 2^31).
 */
export function matvec(
  out: Float64Array,
  outOff: number,
  x: Float64Array,
  xOff: number,
  w: Float32Array,
  wOff: number,
  n: number,
  d: number,
): void {
  const full = d - (d % 8);
  let p = wOff | 0;
  for (let i = 0; i < full; i += 8) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let s4 = 0;
    let s5 = 0;
    let s6 = 0;
    let s7 = 0;
    const end = (p + 8 * n) | 0;
    for (let q = xOff | 0; p < end; p = (p + 8) | 0, q = (q + 1) | 0) {
      const xj = x[q];
      s0 += w[p] * xj;
      s1 += w[(p + 1) | 0] * xj;
      s2 += w[(p + 2) | 0] * xj;
      s3 += w[(p + 3) | 0] * xj;
      s4 += w[(p + 4) | 0] * xj;
      s5 += w[(p + 5) | 0] * xj;
      s6 += w[(p + 6) | 0] * xj;
      s7 += w[(p + 7) | 0] * xj;
    }
    const o = outOff + i;
    out[o] = s0;
    out[o + 1] = s1;
    out[o + 2] = s2;
    out[o + 3] = s3;
    out[o + 4] = s4;
    out[o + 5] = s5;
    out[o + 6] = s6;
    out[o + 7] = s7;
  }
  for (let i = full; i < d; i++) {
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
  w: Float32Array,
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

const POW2 = new Float64Array(1076).map((_, i) => Math.pow(2, i - 1075));
const EXP_STEPS = 32; // table of 2^(i/32)
const POW2_FRAC = new Float64Array(EXP_STEPS).map((_, i) => Math.pow(2, i / EXP_STEPS));
const STEPS_LOG2E = EXP_STEPS * 1.4426950408889634;
// ln2/32 split in two so kd * STEP_HI is exact for |kd| < 2^20 (ln 2 with its low bits cleared, over 32).
const STEP_HI = 0.6931471803691238 / EXP_STEPS;
const STEP_LO = 1.9082149292705877e-10 / EXP_STEPS;
/** Adding then subtracting 1.5 * 2^52 rounds a double of magnitude < 2^51 to an integer. */
const ROUND_MAGIC = 6755399441055744;

/**
 * e^x for x <= 0 (softmax terms after subtracting the max), to within ~5e-16 relative of
 * Math.exp and faster: x = (k/32) ln2 + r with |r| <= ln2/64, e^r by its Taylor series to r^6
 * (truncation < 1e-17 relative), times 2^((k mod 32)/32) and 2^floor(k/32) from tables. k is
 * rounded with the 1.5 * 2^52 trick (Math.round costs more here). Below -745 the true value is
 * below the smallest double, so 0.
 */
export function expNonPositive(x: number): number {
  if (x < -745) return 0;
  const kd = x * STEPS_LOG2E + ROUND_MAGIC - ROUND_MAGIC;
  const k = kd | 0;
  const r = x - kd * STEP_HI - kd * STEP_LO;
  const r2 = r * r;
  const p = 1 + r + r2 * (0.5 + r * (1 / 6)) + r2 * r2 * (1 / 24 + r * (1 / 120) + r2 * (1 / 720));
  return p * POW2_FRAC[k & (EXP_STEPS - 1)] * POW2[(k >> 5) + 1075];
}

/**
 * Causal multi-head attention of one query row (all heads) over cached positions 0..last, with
 * grouped-query heads: query head h reads key/value head floor(h / kvMul). Writes the
 * concatenated head outputs to out[outOff..outOff+nHeads*headSize). `att` is scratch of at
 * least 2*(last+1). Head sizes that are multiples of 8 (all common Llama shapes) run in lanes of
 * 8 held in locals: the query lane stays in registers across positions and the output lane
 * accumulates in registers, which halves the memory traffic of the inner loops. When query heads
 * share key/value heads in pairs (kvMul even), both heads of a pair go through one pass over the
 * keys and one over the values, so each cached key and value is loaded once for two heads. Every
 * score, softmax term and output is computed with the same operations in the same order on
 * every path.
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
  const lanes8 = headSize % 8 === 0;
  if (lanes8 && kvMul % 2 === 0) {
    for (let h = 0; h < nHeads; h += 2) {
      const qh = qOff + h * headSize;
      const kvOff = layerOff + ((h / kvMul) | 0) * headSize;
      scoresLanes8Pair(att, q, qh, qh + headSize, kc, kvOff, kvDim, span, headSize, scale);
      const invA = softmaxTerms(att, 0, span);
      const invB = softmaxTerms(att, span, span);
      valuesLanes4Pair(out, outOff + h * headSize, att, span, invA, invB, vc, kvOff, kvDim, headSize);
    }
    return;
  }
  for (let h = 0; h < nHeads; h++) {
    const qh = qOff + h * headSize;
    const kvOff = layerOff + ((h / kvMul) | 0) * headSize;
    if (lanes8) scoresLanes8(att, q, qh, kc, kvOff, kvDim, span, headSize);
    else scoresPairs(att, q, qh, kc, kvOff, kvDim, span, headSize);
    for (let s = 0; s < span; s++) att[s] *= scale;
    const inv = softmaxTerms(att, 0, span);
    const o = outOff + h * headSize;
    if (lanes8) valuesLanes8(out, o, att, inv, vc, kvOff, kvDim, span, headSize);
    else valuesPairs(out, o, att, inv, vc, kvOff, kvDim, span, headSize);
  }
}

/** Scaled scores att[from..from+span) become e^(score - max); returns 1 / their sum. */
function softmaxTerms(att: Float64Array, from: number, span: number): number {
  const end = from + span;
  let max = -Infinity;
  for (let s = from; s < end; s++) if (att[s] > max) max = att[s];
  let sum = 0;
  for (let s = from; s < end; s++) {
    const e = expNonPositive(att[s] - max);
    att[s] = e;
    sum += e;
  }
  return 1 / sum;
}

/**
 * Scaled scores of two query heads (at qa and qb) against the same keys, eight lanes at a time:
 * att[s] = scale * (q_a . k_s) and att[span + s] = scale * (q_b . k_s).
 */
function scoresLanes8Pair(
  att: Float64Array,
  q: Float64Array,
  qa: number,
  qb: number,
  kc: Float64Array,
  kvOff: number,
  kvDim: number,
  span: number,
  headSize: number,
  scale: number,
): void {
  for (let c = 0; c < headSize; c += 8) {
    const first = c === 0;
    const final = c + 8 === headSize;
    const a0 = q[qa + c];
    const a1 = q[qa + c + 1];
    const a2 = q[qa + c + 2];
    const a3 = q[qa + c + 3];
    const a4 = q[qa + c + 4];
    const a5 = q[qa + c + 5];
    const a6 = q[qa + c + 6];
    const a7 = q[qa + c + 7];
    const b0 = q[qb + c];
    const b1 = q[qb + c + 1];
    const b2 = q[qb + c + 2];
    const b3 = q[qb + c + 3];
    const b4 = q[qb + c + 4];
    const b5 = q[qb + c + 5];
    const b6 = q[qb + c + 6];
    const b7 = q[qb + c + 7];
    for (let s = 0, k = kvOff + c; s < span; s++, k += kvDim) {
      const k0 = kc[k];
      const k1 = kc[k + 1];
      const k2 = kc[k + 2];
      const k3 = kc[k + 3];
      const k4 = kc[k + 4];
      const k5 = kc[k + 5];
      const k6 = kc[k + 6];
      const k7 = kc[k + 7];
      const da = a0 * k0 + a1 * k1 + a2 * k2 + a3 * k3 + (a4 * k4 + a5 * k5 + a6 * k6 + a7 * k7);
      const db = b0 * k0 + b1 * k1 + b2 * k2 + b3 * k3 + (b4 * k4 + b5 * k5 + b6 * k6 + b7 * k7);
      let sa = first ? da : att[s] + da;
      let sb = first ? db : att[span + s] + db;
      if (final) {
        sa *= scale;
        sb *= scale;
      }
      att[s] = sa;
      att[span + s] = sb;
    }
  }
}

/**
 * Outputs of two query heads sharing values: out[o..o+headSize) = sum_s att[s] * invA * v_s and
 * out[o+headSize..o+2*headSize) = sum_s att[span+s] * invB * v_s, four lanes of both heads at a
 * time (eight sums in registers).
 */
function valuesLanes4Pair(
  out: Float64Array,
  o: number,
  att: Float64Array,
  span: number,
  invA: number,
  invB: number,
  vc: Float64Array,
  kvOff: number,
  kvDim: number,
  headSize: number,
): void {
  for (let c = 0; c < headSize; c += 4) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let b0 = 0;
    let b1 = 0;
    let b2 = 0;
    let b3 = 0;
    for (let s = 0, v = kvOff + c; s < span; s++, v += kvDim) {
      const v0 = vc[v];
      const v1 = vc[v + 1];
      const v2 = vc[v + 2];
      const v3 = vc[v + 3];
      const pa = att[s];
      const pb = att[span + s];
      a0 += pa * v0;
      a1 += pa * v1;
      a2 += pa * v2;
      a3 += pa * v3;
      b0 += pb * v0;
      b1 += pb * v1;
      b2 += pb * v2;
      b3 += pb * v3;
    }
    out[o + c] = a0 * invA;
    out[o + c + 1] = a1 * invA;
    out[o + c + 2] = a2 * invA;
    out[o + c + 3] = a3 * invA;
    const ob = o + headSize + c;
    out[ob] = b0 * invB;
    out[ob + 1] = b1 * invB;
    out[ob + 2] = b2 * invB;
    out[ob + 3] = b3 * invB;
  }
}

/** att[s] = q_h . k_s for s < span, eight lanes at a time. */
function scoresLanes8(
  att: Float64Array,
  q: Float64Array,
  qh: number,
  kc: Float64Array,
  kvOff: number,
  kvDim: number,
  span: number,
  headSize: number,
): void {
  for (let c = 0; c < headSize; c += 8) {
    const q0 = q[qh + c];
    const q1 = q[qh + c + 1];
    const q2 = q[qh + c + 2];
    const q3 = q[qh + c + 3];
    const q4 = q[qh + c + 4];
    const q5 = q[qh + c + 5];
    const q6 = q[qh + c + 6];
    const q7 = q[qh + c + 7];
    for (let s = 0, k = kvOff + c; s < span; s++, k += kvDim) {
      const dot =
        q0 * kc[k] + q1 * kc[k + 1] + q2 * kc[k + 2] + q3 * kc[k + 3] +
        (q4 * kc[k + 4] + q5 * kc[k + 5] + q6 * kc[k + 6] + q7 * kc[k + 7]);
      att[s] = c === 0 ? dot : att[s] + dot;
    }
  }
}

/** out[o..o+headSize) = sum_s att[s] * inv * v_s, eight lanes at a time. */
function valuesLanes8(
  out: Float64Array,
  o: number,
  att: Float64Array,
  inv: number,
  vc: Float64Array,
  kvOff: number,
  kvDim: number,
  span: number,
  headSize: number,
): void {
  for (let c = 0; c < headSize; c += 8) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let a4 = 0;
    let a5 = 0;
    let a6 = 0;
    let a7 = 0;
    for (let s = 0, v = kvOff + c; s < span; s++, v += kvDim) {
      const a = att[s];
      a0 += a * vc[v];
      a1 += a * vc[v + 1];
      a2 += a * vc[v + 2];
      a3 += a * vc[v + 3];
      a4 += a * vc[v + 4];
      a5 += a * vc[v + 5];
      a6 += a * vc[v + 6];
      a7 += a * vc[v + 7];
    }
    out[o + c] = a0 * inv;
    out[o + c + 1] = a1 * inv;
    out[o + c + 2] = a2 * inv;
    out[o + c + 3] = a3 * inv;
    out[o + c + 4] = a4 * inv;
    out[o + c + 5] = a5 * inv;
    out[o + c + 6] = a6 * inv;
    out[o + c + 7] = a7 * inv;
  }
}

/** Generic scores for any even head size. */
function scoresPairs(
  att: Float64Array,
  q: Float64Array,
  qh: number,
  kc: Float64Array,
  kvOff: number,
  kvDim: number,
  span: number,
  headSize: number,
): void {
  for (let s = 0, k = kvOff; s < span; s++, k += kvDim) {
    let d0 = 0;
    let d1 = 0;
    for (let i = 0; i < headSize; i += 2) {
      d0 += q[qh + i] * kc[k + i];
      d1 += q[qh + i + 1] * kc[k + i + 1];
    }
    att[s] = d0 + d1;
  }
}

/** Generic weighted sum of values for any even head size. */
function valuesPairs(
  out: Float64Array,
  o: number,
  att: Float64Array,
  inv: number,
  vc: Float64Array,
  kvOff: number,
  kvDim: number,
  span: number,
  headSize: number,
): void {
  for (let i = 0; i < headSize; i++) out[o + i] = 0;
  for (let s = 0, v = kvOff; s < span; s++, v += kvDim) {
    const a = att[s];
    for (let i = 0; i < headSize; i += 2) {
      out[o + i] += a * vc[v + i];
      out[o + i + 1] += a * vc[v + i + 1];
    }
  }
  for (let i = 0; i < headSize; i++) out[o + i] *= inv;
}
