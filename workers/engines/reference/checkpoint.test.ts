import { describe, expect, it } from 'vitest';
import { fixtureBytes, fixturePresent, noteIfFixtureMissing } from '../../../cli/fixture';
import { errorName } from '../../../src/lib/core/errors';
import { parseCheckpoint } from './checkpoint';
import { ReferenceEngine } from './engine';
import { LlamaModel } from './model';
import { parseTokenizer } from './tokenizer';

noteIfFixtureMissing('checkpoint parser');

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

/** A tiny synthetic checkpoint; negative vocab stores a separate classifier. */
function synthetic(opts: { shared: boolean }): ArrayBuffer {
  const [dim, hidden, layers, heads, kvHeads, vocab, seqLen] = [4, 6, 1, 2, 1, 5, 8];
  const kvDim = (dim * kvHeads) / heads;
  const headSize = dim / heads;
  const floats =
    vocab * dim + layers * (2 * dim + 2 * dim * dim + 2 * kvDim * dim + 3 * hidden * dim) + dim + seqLen * headSize +
    (opts.shared ? 0 : vocab * dim);
  const buf = new ArrayBuffer(28 + floats * 4);
  const view = new DataView(buf);
  [dim, hidden, layers, heads, kvHeads, opts.shared ? vocab : -vocab, seqLen].forEach((v, i) =>
    view.setInt32(i * 4, v, true),
  );
  for (let i = 0; i < floats; i++) view.setFloat32(28 + i * 4, ((i % 13) - 6) / 10, true);
  // Mark the classifier so the test can see it is read from the end.
  if (!opts.shared) view.setFloat32(28 + (floats - 1) * 4, 0.5, true);
  return buf;
}

describe('parseCheckpoint', () => {
  it('reads shared and separate classifiers', () => {
    const shared = parseCheckpoint(synthetic({ shared: true }));
    expect(shared.config).toMatchObject({ dim: 4, hiddenDim: 6, nLayers: 1, nHeads: 2, nKvHeads: 1, vocabSize: 5 });
    expect(shared.config.sharedClassifier).toBe(true);
    expect(shared.weights.wcls).toBe(shared.weights.tokenEmbedding);
    const separate = parseCheckpoint(synthetic({ shared: false }));
    expect(separate.config.sharedClassifier).toBe(false);
    expect(separate.config.vocabSize).toBe(5);
    expect(separate.weights.wcls).not.toBe(separate.weights.tokenEmbedding);
    expect(separate.weights.wcls).toHaveLength(20);
    expect(separate.weights.wcls[19]).toBe(0.5);
    // The separate model runs.
    const model = new LlamaModel(separate);
    expect(model.forward([1, 2, 3], 0, 'all')).toHaveLength(15);
  });

  it('rejects a file shorter than the header', () => {
    const e = thrown(() => parseCheckpoint(new ArrayBuffer(10)));
    expect(e.name).toBe('CheckpointFormatError');
    expect(e.message).toMatch(/10 bytes/);
  });

  it('rejects an absurd header', () => {
    const buf = new ArrayBuffer(64);
    new Int32Array(buf).set([64, 172, 5, 8, 3, 512, 512]); // 8 heads not a multiple of 3 kv heads
    expect(thrown(() => parseCheckpoint(buf)).message).toMatch(/n_kv_heads/);
    new Int32Array(buf).set([-5, 172, 5, 8, 4, 512, 512]);
    expect(thrown(() => parseCheckpoint(buf)).message).toMatch(/dim -5/);
  });

  it('rejects random bytes', () => {
    const buf = new Uint8Array(4096);
    let x = 12345;
    for (let i = 0; i < buf.length; i++) buf[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
    expect(errorName(thrown(() => parseCheckpoint(buf.buffer)))).toBe('CheckpointFormatError');
  });

  it('rejects non-finite weights', () => {
    const buf = synthetic({ shared: true });
    new DataView(buf).setFloat32(28 + 8, NaN, true);
    expect(thrown(() => parseCheckpoint(buf)).message).toMatch(/non-finite/);
  });
});

describe.skipIf(!fixturePresent)('checkpoint and tokenizer on the fixture', () => {
  it('reads the stories260K header', () => {
    const { config } = parseCheckpoint(fixtureBytes('stories260K.bin'));
    expect(config).toEqual({
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      vocabSize: 512,
      seqLen: 512,
      headSize: 8,
      kvDim: 32,
      sharedClassifier: true,
    });
  });

  it('reports a truncated checkpoint with the expected and actual sizes', () => {
    const bytes = fixtureBytes('stories260K.bin');
    const e = thrown(() => parseCheckpoint(bytes.slice(0, 500_000)));
    expect(e.name).toBe('CheckpointFormatError');
    expect(e.message).toContain('needs exactly 1056540 bytes but the file has 500000 (truncated)');
    const longer = new Uint8Array(bytes.byteLength + 4);
    longer.set(new Uint8Array(bytes));
    expect(thrown(() => parseCheckpoint(longer.buffer)).message).toMatch(/trailing bytes/);
  });

  it('rejects a tokenizer whose vocabulary does not match', () => {
    const tok = fixtureBytes('tok512.bin');
    const e = thrown(() => parseTokenizer(tok, 32000));
    expect(e.name).toBe('TokenizerMismatchError');
    expect(e.message).toContain('the tokenizer has 512 tokens but the model');
    expect(errorName(thrown(() => parseTokenizer(tok.slice(0, 3000), 512)))).toBe('TokenizerMismatchError');
    expect(errorName(thrown(() => parseTokenizer(fixtureBytes('stories260K.bin'), 512)))).toBe(
      'TokenizerMismatchError',
    );
    expect(
      errorName(thrown(() => ReferenceEngine.fromBytes('x', fixtureBytes('tok512.bin'), fixtureBytes('tok512.bin')))),
    ).toBe('CheckpointFormatError');
  });
});
