/**
 * The llama2.c tokenizer (tok*.bin): a sentencepiece-style BPE vocabulary with scores.
 *
 * File format, little-endian: int32 max_token_length, then per token: float32 score,
 * int32 byte length, the piece bytes. Ids 0, 1, 2 are <unk>, <s> (BOS), </s> (EOS); pieces of
 * the form <0xXX> are byte fallbacks.
 *
 * Encoding follows llama2.c exactly: a dummy-prefix " " token when the text is non-empty, one
 * token per UTF-8 character (its bytes' fallback tokens when the character is not a piece), then
 * repeatedly merge the adjacent pair whose concatenation is a piece with the highest score
 * (leftmost on ties). A heap over candidate pairs gives the same merge order as llama2.c's
 * quadratic rescan, in O(n log n), so long documents encode quickly.
 *
 * Pieces are held as "binary strings" (one char per byte) so lookups compare bytes, as the C code
 * does, and never depend on how a piece's bytes would decode as text.
 */
import { TokenizerMismatchError } from '../../../src/lib/core/errors';
import { Utf8StreamDecoder, utf8Encode, utf8SequenceLength } from './utf8';

export const UNK_ID = 0;
export const BOS_ID = 1;
export const EOS_ID = 2;

export class Tokenizer {
  readonly vocabSize: number;
  readonly maxTokenLength: number;
  readonly scores: Float64Array;
  /** Piece bytes as a binary string, per id. */
  private readonly pieces: string[];
  private readonly idByPiece = new Map<string, number>();
  /** Token of each byte value (byte fallback), or UNK_ID when the vocabulary lacks it. */
  private readonly byteIds = new Int32Array(256).fill(UNK_ID);
  /** Bytes each id contributes to decoded text (special ids contribute none). */
  private readonly textBytes: Uint8Array[];

  constructor(maxTokenLength: number, pieces: string[], scores: Float64Array) {
    this.vocabSize = pieces.length;
    this.maxTokenLength = maxTokenLength;
    this.pieces = pieces;
    this.scores = scores;
    this.textBytes = new Array<Uint8Array>(pieces.length);
    for (let id = 0; id < pieces.length; id++) {
      const piece = pieces[id];
      // First occurrence wins, as with llama2.c's sorted lookup of distinct pieces.
      if (!this.idByPiece.has(piece)) this.idByPiece.set(piece, id);
      const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
      if (byte) {
        const value = parseInt(byte[1], 16);
        if (this.byteIds[value] === UNK_ID) this.byteIds[value] = id;
        this.textBytes[id] = Uint8Array.of(value);
      } else if (id === UNK_ID || id === BOS_ID || id === EOS_ID) {
        this.textBytes[id] = new Uint8Array(0);
      } else {
        this.textBytes[id] = binaryToBytes(piece);
      }
    }
  }

  /** Encode text without BOS (the dummy-prefix space is part of the encoding, as in llama2.c). */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    const bytes = utf8Encode(text);
    const tokens: number[] = [];
    const space = this.idByPiece.get(' ');
    tokens.push(space ?? this.byteIds[0x20]);
    for (let i = 0; i < bytes.length; ) {
      // One UTF-8 character (or one stray byte) at a time.
      let len = Math.max(1, utf8SequenceLength(bytes[i]));
      let end = i + 1;
      while (end < bytes.length && end < i + len && (bytes[end] & 0xc0) === 0x80) end++;
      len = end - i;
      let key = '';
      for (let k = i; k < end; k++) key += String.fromCharCode(bytes[k]);
      const id = this.idByPiece.get(key);
      if (id !== undefined) tokens.push(id);
      else for (let k = i; k < end; k++) tokens.push(this.byteIds[bytes[k]]);
      i = end;
    }
    return this.merge(tokens);
  }

  /** Bytes of one id in decoded text; strips the leading space of a piece that follows BOS. */
  tokenBytes(id: number, prevId: number | null): Uint8Array {
    const bytes = this.textBytes[id];
    if (prevId === BOS_ID && bytes.length > 0 && bytes[0] === 0x20 && this.pieces[id][0] === ' ') {
      return bytes.subarray(1);
    }
    return bytes;
  }

  /**
   * Decode ids to text. `prevId` is the id before `ids[0]` (default BOS: the sequence starts a
   * text, so its first piece loses the dummy-prefix space and `decode(encode(s)) === s`).
   */
  decode(ids: number[], prevId: number | null = BOS_ID): string {
    const stream = new TokenTextStream(this, prevId);
    let text = '';
    for (const id of ids) text += stream.push(id);
    return text + stream.flush();
  }

  piece(id: number): string {
    return this.pieces[id];
  }

  private merge(tokens: number[]): number[] {
    const n = tokens.length;
    if (n < 2) return tokens;
    const ids = Int32Array.from(tokens);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const alive = new Uint8Array(n).fill(1);
    const heap = new PairHeap();
    const consider = (left: number) => {
      const right = next[left];
      if (right < 0) return;
      const merged = this.idByPiece.get(this.pieces[ids[left]] + this.pieces[ids[right]]);
      if (merged !== undefined) heap.push(this.scores[merged], left, right, ids[left], ids[right], merged);
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    while (heap.size > 0) {
      const top = heap.pop();
      const { left, right } = top;
      // Stale entries: a side was merged away or changed since this pair was queued.
      if (!alive[left] || !alive[right] || next[left] !== right) continue;
      if (ids[left] !== top.leftId || ids[right] !== top.rightId) continue;
      ids[left] = top.mergedId;
      alive[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      if (prev[left] >= 0) consider(prev[left]);
      consider(left);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(ids[i]);
    return out;
  }
}

/** Incremental detokenizer: text per token, never splitting a multi-byte character. */
export class TokenTextStream {
  private readonly utf8 = new Utf8StreamDecoder();
  constructor(
    private readonly tokenizer: Tokenizer,
    private prevId: number | null,
  ) {}

  push(id: number): string {
    const text = this.utf8.push(this.tokenizer.tokenBytes(id, this.prevId));
    this.prevId = id;
    return text;
  }

  flush(): string {
    return this.utf8.flush();
  }
}

interface PairEntry {
  score: number;
  left: number;
  right: number;
  leftId: number;
  rightId: number;
  mergedId: number;
}

/** Max-heap on score, then min on left position (llama2.c takes the leftmost best pair). */
class PairHeap {
  private items: PairEntry[] = [];
  get size(): number {
    return this.items.length;
  }
  push(score: number, left: number, right: number, leftId: number, rightId: number, mergedId: number): void {
    const a = this.items;
    a.push({ score, left, right, leftId, rightId, mergedId });
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }
  pop(): PairEntry {
    const a = this.items;
    const top = a[0];
    const last = a.pop() as PairEntry;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < a.length && before(a[l], a[best])) best = l;
        if (r < a.length && before(a[r], a[best])) best = r;
        if (best === i) break;
        [a[i], a[best]] = [a[best], a[i]];
        i = best;
      }
    }
    return top;
  }
}

function before(x: PairEntry, y: PairEntry): boolean {
  return x.score > y.score || (x.score === y.score && x.left < y.left);
}

function binaryToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/**
 * Parse a tok*.bin file for a model with `vocabSize` tokens. Any disagreement (fewer or more
 * tokens than the model, a foreign or truncated file) is a TokenizerMismatchError.
 */
export function parseTokenizer(bytes: ArrayBuffer, vocabSize: number): Tokenizer {
  const view = new DataView(bytes);
  if (bytes.byteLength < 4) {
    throw new TokenizerMismatchError(`the tokenizer file has only ${bytes.byteLength} bytes.`);
  }
  const maxTokenLength = view.getInt32(0, true);
  if (maxTokenLength < 1 || maxTokenLength > 4096) {
    throw new TokenizerMismatchError(
      `the file does not start with a plausible max_token_length (read ${maxTokenLength}); it is not a llama2.c tokenizer.`,
    );
  }
  const pieces: string[] = [];
  const scores: number[] = [];
  let offset = 4;
  // Walk every entry in the file (not just vocabSize) so a size mismatch can be reported exactly.
  while (offset < bytes.byteLength) {
    if (offset + 8 > bytes.byteLength) break;
    const score = view.getFloat32(offset, true);
    const len = view.getInt32(offset + 4, true);
    if (!Number.isFinite(score) || len < 0 || len > maxTokenLength || offset + 8 + len > bytes.byteLength) break;
    let piece = '';
    for (let k = 0; k < len; k++) piece += String.fromCharCode(view.getUint8(offset + 8 + k));
    pieces.push(piece);
    scores.push(score);
    offset += 8 + len;
  }
  if (offset !== bytes.byteLength) {
    throw new TokenizerMismatchError(
      `the tokenizer file is truncated or malformed after ${pieces.length} tokens ` +
        `(byte ${offset} of ${bytes.byteLength}); the model needs ${vocabSize} tokens.`,
    );
  }
  if (pieces.length !== vocabSize) {
    throw new TokenizerMismatchError(
      `the tokenizer has ${pieces.length} tokens but the model's vocabulary has ${vocabSize}.`,
    );
  }
  return new Tokenizer(maxTokenLength, pieces, Float64Array.from(scores));
}
