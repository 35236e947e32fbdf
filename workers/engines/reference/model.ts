/**
 * The Llama forward pass of a llama2.c checkpoint, in float64, with a key/value cache.
 *
 * State: the cache holds keys and values for positions 0..cacheLength-1. `forward(tokens,
 * startPos)` writes positions startPos..startPos+T-1 and may start anywhere up to cacheLength,
 * so rolling back (score one continuation, then the next on the same prompt) is just calling
 * forward again at the prompt length, or `truncate(pos)`. Positions never reach seqLen: callers
 * check the window first (the engine throws ContextTooLongError); this module only asserts.
 *
 * Many tokens per call (batched prefill) run as blocks of BLOCK_TOKENS so each weight row is
 * reused across tokens; scratch buffers are allocated once, never per token.
 */
import { InvalidArgumentError } from '../../../src/lib/core/errors';
import type { Checkpoint, LlamaConfig, LlamaWeights } from './checkpoint';
import { attendRow, matmul, packRows8, rmsnormRows, rope } from './kernels';

export type WantLogits = 'last' | 'all';

const RMS_EPS = 1e-5;
const ROPE_THETA = 10000;
/** Tokens per internal block of a batched forward (bounds scratch memory). */
const BLOCK_TOKENS = 32;

export class LlamaModel {
  readonly config: LlamaConfig;
  /** The weights read in row-major form: embedding rows and norm gains. */
  private readonly w: Pick<LlamaWeights, 'tokenEmbedding' | 'rmsAtt' | 'rmsFfn' | 'rmsFinal'>;
  /** The weight matrices in the packed layout of kernels.ts (same values, rows interleaved by 8). */
  private readonly p: Pick<LlamaWeights, 'wq' | 'wk' | 'wv' | 'wo' | 'w1' | 'w2' | 'w3' | 'wcls'>;
  private readonly keyCache: Float64Array;
  private readonly valueCache: Float64Array;
  private readonly ropeCos: Float64Array;
  private readonly ropeSin: Float64Array;
  private cacheLen = 0;

  // Scratch, BLOCK_TOKENS rows each.
  private readonly x: Float64Array;
  private readonly xb: Float64Array;
  private readonly xb2: Float64Array;
  private readonly q: Float64Array;
  private readonly hb: Float64Array;
  private readonly hb2: Float64Array;
  private readonly att: Float64Array;
  private readonly lastLogits: Float64Array;

  constructor(checkpoint: Checkpoint) {
    const c = checkpoint.config;
    this.config = c;
    const w = checkpoint.weights;
    // The matrices are kept only repacked, so the checkpoint's row-major copies can be
    // collected once the caller drops the checkpoint.
    this.w = { tokenEmbedding: w.tokenEmbedding, rmsAtt: w.rmsAtt, rmsFfn: w.rmsFfn, rmsFinal: w.rmsFinal };
    const L = c.nLayers;
    this.p = {
      wq: packRows8(w.wq, 0, L, c.dim, c.dim),
      wk: packRows8(w.wk, 0, L, c.kvDim, c.dim),
      wv: packRows8(w.wv, 0, L, c.kvDim, c.dim),
      wo: packRows8(w.wo, 0, L, c.dim, c.dim),
      w1: packRows8(w.w1, 0, L, c.hiddenDim, c.dim),
      w2: packRows8(w.w2, 0, L, c.dim, c.hiddenDim),
      w3: packRows8(w.w3, 0, L, c.hiddenDim, c.dim),
      wcls: packRows8(w.wcls, 0, 1, c.vocabSize, c.dim),
    };
    this.keyCache = new Float64Array(c.nLayers * c.seqLen * c.kvDim);
    this.valueCache = new Float64Array(c.nLayers * c.seqLen * c.kvDim);
    const half = c.headSize / 2;
    this.ropeCos = new Float64Array(c.seqLen * half);
    this.ropeSin = new Float64Array(c.seqLen * half);
    for (let pos = 0; pos < c.seqLen; pos++) {
      for (let i = 0; i < half; i++) {
        const freq = 1 / Math.pow(ROPE_THETA, (2 * i) / c.headSize);
        this.ropeCos[pos * half + i] = Math.cos(pos * freq);
        this.ropeSin[pos * half + i] = Math.sin(pos * freq);
      }
    }
    const B = BLOCK_TOKENS;
    this.x = new Float64Array(B * c.dim);
    this.xb = new Float64Array(B * c.dim);
    this.xb2 = new Float64Array(B * c.dim);
    this.q = new Float64Array(B * c.dim);
    this.hb = new Float64Array(B * c.hiddenDim);
    this.hb2 = new Float64Array(B * c.hiddenDim);
    this.att = new Float64Array(2 * c.seqLen);
    this.lastLogits = new Float64Array(c.vocabSize);
  }

  /** Number of positions whose keys and values are valid. */
  get cacheLength(): number {
    return this.cacheLen;
  }

  /** Forget positions >= pos (roll back). */
  truncate(pos: number): void {
    this.cacheLen = Math.max(0, Math.min(this.cacheLen, pos));
  }

  /**
   * Run `tokens` at positions startPos.. and return raw logits: 'last' gives the last token's
   * logits (vocabSize values, a view reused by the next call), 'all' gives T*vocabSize values
   * (row t = logits after token t, a fresh array).
   */
  forward(tokens: ArrayLike<number>, startPos: number, want: WantLogits): Float64Array {
    const c = this.config;
    const T = tokens.length;
    if (T === 0) throw new InvalidArgumentError('forward() needs at least one token.');
    if (!Number.isInteger(startPos) || startPos < 0 || startPos > this.cacheLen) {
      throw new InvalidArgumentError(`forward() at position ${startPos} but the cache holds ${this.cacheLen}.`);
    }
    if (startPos + T > c.seqLen) {
      throw new InvalidArgumentError(`forward() past the window: positions up to ${startPos + T} of ${c.seqLen}.`);
    }
    for (let t = 0; t < T; t++) {
      const id = tokens[t];
      if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
        throw new InvalidArgumentError(`Token id ${id} is outside the vocabulary (0..${c.vocabSize - 1}).`);
      }
    }
    // Positions being rewritten are invalid until the call completes.
    this.cacheLen = startPos;
    const all = want === 'all' ? new Float64Array(T * c.vocabSize) : null;
    for (let b = 0; b < T; b += BLOCK_TOKENS) {
      const n = Math.min(BLOCK_TOKENS, T - b);
      const isLast = b + n === T;
      this.block(tokens, b, n, startPos + b);
      if (all) this.classify(0, n, all, b * c.vocabSize);
      else if (isLast) this.classify(n - 1, 1, this.lastLogits, 0);
    }
    this.cacheLen = startPos + T;
    return all ?? this.lastLogits;
  }

  /** Run n tokens (tokens[from..from+n-1]) at positions pos0.. through every layer into x. */
  private block(tokens: ArrayLike<number>, from: number, n: number, pos0: number): void {
    const c = this.config;
    const { dim, kvDim, hiddenDim, headSize, nHeads, seqLen } = c;
    const w = this.w;
    const p = this.p;
    const { x, xb, xb2, q, hb, hb2, att } = this;
    for (let t = 0; t < n; t++) {
      x.set(w.tokenEmbedding.subarray(tokens[from + t] * dim, (tokens[from + t] + 1) * dim), t * dim);
    }
    const kvMul = nHeads / c.nKvHeads;
    for (let l = 0; l < c.nLayers; l++) {
      const cacheOff = (l * seqLen + pos0) * kvDim;
      rmsnormRows(xb, x, w.rmsAtt, l * dim, n, dim, RMS_EPS);
      matmul(q, 0, xb, 0, p.wq, l * dim * dim, n, dim, dim);
      matmul(this.keyCache, cacheOff, xb, 0, p.wk, l * kvDim * dim, n, dim, kvDim);
      matmul(this.valueCache, cacheOff, xb, 0, p.wv, l * kvDim * dim, n, dim, kvDim);
      rope(q, 0, n, dim, pos0, headSize, this.ropeCos, this.ropeSin);
      rope(this.keyCache, cacheOff, n, kvDim, pos0, headSize, this.ropeCos, this.ropeSin);

      // Causal attention: token t (position pos0+t) sees positions 0..pos0+t.
      const layerOff = l * seqLen * kvDim;
      for (let t = 0; t < n; t++) {
        attendRow(xb, t * dim, q, t * dim, this.keyCache, this.valueCache, layerOff, kvDim, pos0 + t, nHeads, kvMul, headSize, att);
      }
      matmul(xb2, 0, xb, 0, p.wo, l * dim * dim, n, dim, dim);
      for (let i = 0; i < n * dim; i++) x[i] += xb2[i];

      // SwiGLU feed-forward.
      rmsnormRows(xb, x, w.rmsFfn, l * dim, n, dim, RMS_EPS);
      matmul(hb, 0, xb, 0, p.w1, l * hiddenDim * dim, n, dim, hiddenDim);
      matmul(hb2, 0, xb, 0, p.w3, l * hiddenDim * dim, n, dim, hiddenDim);
      for (let i = 0; i < n * hiddenDim; i++) {
        const g = hb[i];
        hb[i] = (g / (1 + Math.exp(-g))) * hb2[i];
      }
      matmul(xb, 0, hb, 0, p.w2, l * dim * hiddenDim, n, hiddenDim, dim);
      for (let i = 0; i < n * dim; i++) x[i] += xb[i];
    }
  }

  /** Final norm and classifier for rows from..from+count-1 of x, into out at outOff. */
  private classify(from: number, count: number, out: Float64Array, outOff: number): void {
    const { dim, vocabSize } = this.config;
    const rows = this.xb.subarray(0, count * dim);
    rmsnormRows(rows, this.x.subarray(from * dim, (from + count) * dim), this.w.rmsFinal, 0, count, dim, RMS_EPS);
    matmul(out, outOff, rows, 0, this.p.wcls, 0, count, dim, vocabSize);
  }
}
