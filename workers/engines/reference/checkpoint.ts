/**
 * Parser for llama2.c "legacy" checkpoints (the format of the stories* tinyllamas).
 *
 * Layout, little-endian: seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads,
 * vocab_size, seq_len), then float32 arrays: token_embedding[vocab][dim], rms_att[L][dim],
 * wq[L][dim][dim], wk[L][kv_dim][dim], wv[L][kv_dim][dim], wo[L][dim][dim], rms_ffn[L][dim],
 * w1[L][hidden][dim], w2[L][dim][hidden], w3[L][hidden][dim], rms_final[dim], two old RoPE tables
 * of seq_len*head_size/2 floats each (skipped: RoPE is recomputed with theta 10000), then
 * wcls[vocab][dim] only when vocab_size is negative (separate classifier).
 *
 * The parser is strict: the header must be plausible and the file size must be exactly what the
 * header predicts, so a truncated download or a foreign file fails here with a precise message
 * instead of producing garbage logits later. Weights stay float32 (copied once into their own
 * Float32Arrays, exactly the file's values) while the forward pass computes in float64: each
 * weight widens exactly on load, so the results equal a pass over float64 copies of the weights
 * (log-probs then agree with an independent float64 reference) at half the memory traffic.
 */
import { CheckpointFormatError } from '../../../src/lib/core/errors';

export interface LlamaConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  headSize: number;
  kvDim: number;
  /** True when the classifier reuses the token embedding (positive vocab_size in the file). */
  sharedClassifier: boolean;
}

/**
 * All matrices are row-major [rows][cols]; per-layer arrays are concatenated over layers. The
 * values are the checkpoint's float32 values exactly.
 */
export interface LlamaWeights {
  tokenEmbedding: Float32Array;
  rmsAtt: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  rmsFfn: Float32Array;
  w1: Float32Array;
  w2: Float32Array;
  w3: Float32Array;
  rmsFinal: Float32Array;
  /** Same array as tokenEmbedding when the classifier is shared. */
  wcls: Float32Array;
}

export interface Checkpoint {
  config: LlamaConfig;
  weights: LlamaWeights;
}

const HEADER_BYTES = 7 * 4;

/** Limits far above any model this CPU engine could run; they only reject foreign files early. */
const LIMITS = { dim: 1 << 16, hiddenDim: 1 << 18, nLayers: 1024, nHeads: 1024, vocabSize: 1 << 20, seqLen: 1 << 20 };

/** Read the header and derive the float counts; throws CheckpointFormatError on absurd values. */
export function readCheckpointHeader(bytes: ArrayBuffer): { config: LlamaConfig; expectedBytes: number } {
  if (bytes.byteLength < HEADER_BYTES) {
    throw new CheckpointFormatError(
      `the file has ${bytes.byteLength} bytes, fewer than the ${HEADER_BYTES}-byte header.`,
    );
  }
  const view = new DataView(bytes);
  const h = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = h;
  const vocabSize = Math.abs(rawVocab);
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new CheckpointFormatError(`implausible header (${h.join(', ')}): ${what}.`);
  };
  check(dim > 0 && dim <= LIMITS.dim, `dim ${dim} is outside 1..${LIMITS.dim}`);
  check(hiddenDim > 0 && hiddenDim <= LIMITS.hiddenDim, `hidden_dim ${hiddenDim} is outside 1..${LIMITS.hiddenDim}`);
  check(nLayers > 0 && nLayers <= LIMITS.nLayers, `n_layers ${nLayers} is outside 1..${LIMITS.nLayers}`);
  check(nHeads > 0 && nHeads <= LIMITS.nHeads, `n_heads ${nHeads} is outside 1..${LIMITS.nHeads}`);
  check(nKvHeads > 0 && nKvHeads <= nHeads, `n_kv_heads ${nKvHeads} is outside 1..n_heads`);
  check(nHeads % nKvHeads === 0, `n_heads ${nHeads} is not a multiple of n_kv_heads ${nKvHeads}`);
  check(dim % nHeads === 0, `dim ${dim} is not a multiple of n_heads ${nHeads}`);
  check((dim / nHeads) % 2 === 0, `head size ${dim / nHeads} is odd (rotary embeddings need pairs)`);
  check(vocabSize > 0 && vocabSize <= LIMITS.vocabSize, `vocab_size ${rawVocab} is outside 1..${LIMITS.vocabSize}`);
  check(seqLen > 0 && seqLen <= LIMITS.seqLen, `seq_len ${seqLen} is outside 1..${LIMITS.seqLen}`);

  const headSize = dim / nHeads;
  const kvDim = (dim * nKvHeads) / nHeads;
  const sharedClassifier = rawVocab > 0;
  const floats =
    vocabSize * dim +
    nLayers * (2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * hiddenDim * dim) +
    dim +
    seqLen * headSize +
    (sharedClassifier ? 0 : vocabSize * dim);
  return {
    config: { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, headSize, kvDim, sharedClassifier },
    expectedBytes: HEADER_BYTES + floats * 4,
  };
}

/** Parse and validate a checkpoint; the input buffer is not retained. */
export function parseCheckpoint(bytes: ArrayBuffer): Checkpoint {
  const { config, expectedBytes } = readCheckpointHeader(bytes);
  if (bytes.byteLength !== expectedBytes) {
    const how = bytes.byteLength < expectedBytes ? 'truncated' : 'has trailing bytes';
    throw new CheckpointFormatError(
      `the header (dim ${config.dim}, ${config.nLayers} layers, vocab ${config.vocabSize}, ` +
        `seq_len ${config.seqLen}) needs exactly ${expectedBytes} bytes but the file has ` +
        `${bytes.byteLength} (${how}).`,
    );
  }
  const { dim, hiddenDim, nLayers, vocabSize, seqLen, headSize, kvDim } = config;
  const floats = readFloats(bytes);
  let offset = 0;
  const take = (count: number, what: string): Float32Array => {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      const v = floats(offset + i);
      if (!Number.isFinite(v)) {
        throw new CheckpointFormatError(`${what} holds a non-finite value at float ${offset + i}.`);
      }
      out[i] = v;
    }
    offset += count;
    return out;
  };
  const tokenEmbedding = take(vocabSize * dim, 'token_embedding');
  const rmsAtt = take(nLayers * dim, 'rms_att');
  const wq = take(nLayers * dim * dim, 'wq');
  const wk = take(nLayers * kvDim * dim, 'wk');
  const wv = take(nLayers * kvDim * dim, 'wv');
  const wo = take(nLayers * dim * dim, 'wo');
  const rmsFfn = take(nLayers * dim, 'rms_ffn');
  const w1 = take(nLayers * hiddenDim * dim, 'w1');
  const w2 = take(nLayers * dim * hiddenDim, 'w2');
  const w3 = take(nLayers * hiddenDim * dim, 'w3');
  const rmsFinal = take(dim, 'rms_final');
  offset += seqLen * headSize; // the two legacy RoPE tables (seq_len * head_size/2 each)
  const wcls = config.sharedClassifier ? tokenEmbedding : take(vocabSize * dim, 'wcls');
  return {
    config,
    weights: { tokenEmbedding, rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3, rmsFinal, wcls },
  };
}

/** Float reader for the weights after the header; fast path when the platform is little-endian. */
function readFloats(bytes: ArrayBuffer): (index: number) => number {
  const count = (bytes.byteLength - HEADER_BYTES) / 4;
  const littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  if (littleEndian) {
    const f32 = new Float32Array(bytes, HEADER_BYTES, count);
    return (i) => f32[i];
  }
  const view = new DataView(bytes, HEADER_BYTES);
  return (i) => view.getFloat32(i * 4, true);
}
