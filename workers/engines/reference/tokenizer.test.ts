import { beforeAll, describe, expect, it } from 'vitest';
import { fixtureBytes, fixturePresent, noteIfFixtureMissing } from '../../../cli/fixture';
import { Tokenizer, TokenTextStream, parseTokenizer } from './tokenizer';
import { Utf8StreamDecoder, utf8Decode, utf8Encode } from './utf8';

noteIfFixtureMissing('tokenizer');

describe('utf8', () => {
  it('round-trips ASCII, accents, CJK and astral characters', () => {
    for (const s of ['hello', 'café', '日本語', 'a😀b', '']) {
      const bytes = utf8Encode(s);
      expect(Array.from(bytes)).toEqual(Array.from(Buffer.from(s, 'utf8')));
      expect(utf8Decode(bytes)).toBe(s);
    }
  });

  it('streams without splitting multi-byte characters', () => {
    const d = new Utf8StreamDecoder();
    const bytes = utf8Encode('é😀');
    const parts = Array.from(bytes).map((b) => d.push([b]));
    expect(parts).toEqual(['', 'é', '', '', '', '😀']);
    expect(d.flush()).toBe('');
  });

  it('turns malformed bytes into U+FFFD like TextDecoder', () => {
    for (const bytes of [[0xff], [0xc3], [0xe2, 0x82], [0x80, 0x41], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x41]]) {
      expect(utf8Decode(bytes)).toBe(new TextDecoder().decode(Uint8Array.from(bytes)));
    }
  });
});

/** llama2.c's quadratic merge loop, as the oracle for the heap-based encoder. */
function naiveEncode(tok: Tokenizer, text: string): number[] {
  const pieceToId = new Map<string, number>();
  for (let i = tok.vocabSize - 1; i >= 0; i--) pieceToId.set(tok.piece(i), i);
  if (text === '') return [];
  const tokens: number[] = [pieceToId.get(' ')!];
  const bytes = utf8Encode(text);
  for (let i = 0; i < bytes.length; ) {
    let end = i + 1;
    while (end < bytes.length && end < i + 4 && (bytes[end] & 0xc0) === 0x80) end++;
    const key = String.fromCharCode(...bytes.subarray(i, end));
    const id = pieceToId.get(key);
    if (id !== undefined) tokens.push(id);
    else for (let k = i; k < end; k++) tokens.push(bytes[k] + 3);
    i = end;
  }
  for (;;) {
    let best = -Infinity;
    let bestIdx = -1;
    let bestId = -1;
    for (let i = 0; i + 1 < tokens.length; i++) {
      const id = pieceToId.get(tok.piece(tokens[i]) + tok.piece(tokens[i + 1]));
      if (id !== undefined && tok.scores[id] > best) {
        best = tok.scores[id];
        bestIdx = i;
        bestId = id;
      }
    }
    if (bestIdx < 0) return tokens;
    tokens.splice(bestIdx, 2, bestId);
  }
}

describe.skipIf(!fixturePresent)('tokenizer on tok512', () => {
  let tok: Tokenizer;
  beforeAll(() => {
    tok = parseTokenizer(fixtureBytes('tok512.bin'), 512);
  });

  it('encodes the README sentence', () => {
    expect(tok.encode('Once upon a time, there was a little girl named Lily.')).toEqual([
      403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426,
    ]);
    expect(tok.encode('')).toEqual([]);
  });

  it('matches the quadratic llama2.c merge on varied texts', () => {
    const texts = [
      'The cat sat on the mat. The dog, however, did not!',
      'aaaaaaaaaaaaaaaa bbbb   aaaa\n\nxyz',
      'Ünïcödé – “quotes” and emoji 😀 mixed with tabs\tand newlines\n',
      'Lily and Ben went to the park to play with their ball. They had fun.',
    ];
    for (const t of texts) expect(tok.encode(t)).toEqual(naiveEncode(tok, t));
  });

  it('decodes with byte fallback and strips the space only after BOS', () => {
    for (const t of ['Hello world', 'café 😀 ok', 'line\nbreak']) {
      expect(tok.decode(tok.encode(t))).toBe(t);
      expect(tok.decode([1, ...tok.encode(t)], null)).toBe(t);
      expect(tok.decode(tok.encode(t), null)).toBe(' ' + t);
    }
    expect(tok.decode([1, 2, 0])).toBe('');
  });

  it('streams text per token without breaking characters', () => {
    const ids = tok.encode('😀é');
    const stream = new TokenTextStream(tok, 1);
    const pieces = ids.map((id) => stream.push(id));
    expect(pieces.join('') + stream.flush()).toBe('😀é');
    // Every emitted piece is whole text (no lone surrogates from a split character).
    for (const p of pieces) expect(p).not.toMatch(/[\ud800-\udfff](?![\udc00-\udfff])/u);
  });

  it('encodes a long document quickly', () => {
    const text = 'Once upon a time, there was a little girl named Lily. '.repeat(400);
    const t0 = performance.now();
    const ids = tok.encode(text);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(tok.decode(ids)).toBe(text);
  });
});
