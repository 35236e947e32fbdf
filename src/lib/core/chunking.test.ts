import { describe, expect, it } from 'vitest';
import { chunkBudgetTokens, chunkText, type Chunk, type TokenCounter } from './chunking';

/** One token per whitespace-separated word. */
const words: TokenCounter = (s) => s.split(/\s+/).filter(Boolean).length;
/** One token per character (forces cuts inside words). */
const chars: TokenCounter = (s) => s.length;
/** Not additive: a token per 4 characters plus one per line break. */
const lumpy: TokenCounter = (s) => Math.ceil(s.length / 4) + (s.match(/\n/g)?.length ?? 0);

function checkInvariants(text: string, chunks: Chunk[], count: TokenCounter, budget: number) {
  let prevEnd = 0;
  chunks.forEach((c, i) => {
    expect(c.index).toBe(i);
    expect(c.text.length).toBeGreaterThan(0);
    expect(c.text).toBe(text.slice(c.start, c.end));
    expect(c.tokens).toBe(count(c.text));
    expect(c.tokens).toBeLessThanOrEqual(budget);
    expect(c.start).toBeGreaterThanOrEqual(prevEnd);
    expect(text.slice(prevEnd, c.start).trim()).toBe('');
    prevEnd = c.end;
  });
  expect(text.slice(prevEnd).trim()).toBe('');
}

describe('chunkText', () => {
  it('keeps a text that fits as one chunk (trimmed)', async () => {
    const text = '\n  One small paragraph.\n\nAnd another.  \n';
    const chunks = await chunkText(text, words, 100);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]).toMatchObject({ text: 'One small paragraph.\n\nAnd another.', tokens: 5, start: 3 });
  });

  it('returns no chunks for empty or blank text', async () => {
    expect(await chunkText('', words, 10)).toEqual([]);
    expect(await chunkText(' \n\n\t ', words, 10)).toEqual([]);
  });

  it('cuts between paragraphs when paragraphs fit', async () => {
    const text = 'a b c d.\n\ne f g h.\n\ni j k l.';
    const chunks = await chunkText(text, words, 9);
    expect(chunks.map((c) => c.text)).toEqual(['a b c d.\n\ne f g h.', 'i j k l.']);
  });

  it('prefers a paragraph break over a later sentence end', async () => {
    // Para 1 has 4 words; para 2 is long and splits into sentences of 3 words.
    const text = 'p q r s.\n\nt u v. w x y. z1 z2 z3. z4 z5 z6.';
    // Budget 8: the paragraph keeps half the budget, so the cut goes there rather than after 'w x y.'.
    const chunks = await chunkText(text, words, 8);
    checkInvariants(text, chunks, words, 8);
    expect(chunks.map((c) => c.text)).toEqual(['p q r s.', 't u v. w x y.', 'z1 z2 z3. z4 z5 z6.']);
  });

  it('splits an oversized paragraph at sentence ends, then at words', async () => {
    const text = 'One two three. Four five six! Seven eight nine ten eleven twelve thirteen?';
    const chunks = await chunkText(text, words, 4);
    checkInvariants(text, chunks, words, 4);
    expect(chunks[0].text).toBe('One two three.');
    expect(chunks[1].text).toBe('Four five six!');
    expect(chunks.slice(2).map((c) => c.text).join(' ')).toBe('Seven eight nine ten eleven twelve thirteen?');
  });

  it('treats line breaks as boundaries (lists)', async () => {
    const text = '- item one\n- item two\n- item three';
    const chunks = await chunkText(text, words, 6);
    expect(chunks.map((c) => c.text)).toEqual(['- item one\n- item two', '- item three']);
  });

  it('cuts inside a word only when one word exceeds the budget', async () => {
    const text = 'ab supercalifragilistic cd';
    const chunks = await chunkText(text, chars, 8);
    checkInvariants(text, chunks, chars, 8);
    expect(chunks.map((c) => c.text)).toEqual(['ab', 'supercal', 'ifragili', 'stic cd']);
  });

  it('never splits a surrogate pair', async () => {
    const text = '😀😀😀😀😀';
    const chunks = await chunkText(text, chars, 3);
    checkInvariants(text, chunks, chars, 3);
    for (const c of chunks) expect(c.text).not.toMatch(/^[\uDC00-\uDFFF]|[\uD800-\uDBFF]$/);
  });

  it('holds its guarantees with a counter that is not additive', async () => {
    const para = (k: number) => Array.from({ length: 5 + (k % 7) }, (_, j) => `Sentence ${k}.${j} has words.`).join(k % 2 ? '\n' : ' ');
    const text = Array.from({ length: 40 }, (_, k) => para(k)).join('\n\n');
    for (const budget of [7, 20, 64, 300]) {
      const chunks = await chunkText(text, lumpy, budget);
      checkInvariants(text, chunks, lumpy, budget);
    }
  });

  it('holds its guarantees on random text', async () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pieces = ['word', 'longerword', '.', '!', ' ', ' ', ' ', '\n', '\n\n', 'x', 'ünï', '…', '"'];
    for (let trial = 0; trial < 20; trial++) {
      let text = '';
      const len = 50 + Math.floor(rand() * 400);
      for (let i = 0; i < len; i++) text += pieces[Math.floor(rand() * pieces.length)];
      for (const [count, budget] of [[words, 3], [chars, 5], [lumpy, 6], [lumpy, 40]] as const) {
        checkInvariants(text, await chunkText(text, count, budget), count, budget);
      }
    }
  });

  it('counts each piece about once (no quadratic counting)', async () => {
    const text = Array.from({ length: 2000 }, (_, i) => `Paragraph ${i} is here.`).join('\n\n');
    let countedChars = 0;
    const counting: TokenCounter = (s) => {
      countedChars += s.length;
      return Math.ceil(s.length / 4);
    };
    await chunkText(text, counting, 256);
    expect(countedChars).toBeLessThan(text.length * 3);
  });

  describe('pathological inputs do linear work', () => {
    /** A chars/4 counter that also tallies how many characters it was asked to count. */
    const tally = () => {
      const seen = { chars: 0, calls: 0 };
      const count: TokenCounter = (s) => {
        seen.chars += s.length;
        seen.calls++;
        return Math.ceil(s.length / 4);
      };
      return { seen, count };
    };
    // Each input took from tens of seconds to minutes before the boundaries were found by a
    // linear scan (100,000 dots: the sentence regular expression backtracked over the whole run
    // at every dot). The time bound is only a guard against hanging; the counts are the test.
    const cases: [string, string][] = [
      ['100,000 dots', '.'.repeat(100_000)],
      ['100,000 dots between words', 'word.'.repeat(20_000) + '.'.repeat(100_000) + ' end'],
      ['a 400 KB run of spaces before a word', ' '.repeat(400_000) + 'x'],
      ['400 KB of newlines and spaces', '\n '.repeat(200_000) + 'x'],
      ['a 1 MB single word', 'a'.repeat(1_000_000)],
      ['a 2 MB single line of words', 'lorem ipsum dolor. '.repeat(110_000)],
    ];
    for (const [name, text] of cases) {
      it(name, async () => {
        const { seen, count } = tally();
        const started = performance.now();
        const chunks = await chunkText(text, count, 400);
        const elapsedMs = performance.now() - started;
        checkInvariants(text, chunks, count, 400);
        // Every character is counted a bounded number of times (levels, verification, and the
        // doubling search inside an over-long word, about log2 of a piece's length).
        expect(seen.chars).toBeLessThan(text.length * 30);
        expect(elapsedMs).toBeLessThan(20_000);
      });
    }

    it('an over-long word costs about n log n counted characters, not n squared', async () => {
      const small = tally();
      await chunkText('a'.repeat(100_000), small.count, 100);
      const large = tally();
      await chunkText('a'.repeat(400_000), large.count, 100);
      // Quadratic work would be 16 times the smaller input's; n log n is a little over 4.
      expect(large.seen.chars / small.seen.chars).toBeLessThan(6);
    });
  });

  it('awaits the checkpoint between counts, and a throwing checkpoint stops the split', async () => {
    const text = Array.from({ length: 500 }, (_, i) => `Sentence ${i} is here.`).join(' ');
    let calls = 0;
    await chunkText(text, words, 20, { checkpoint: () => void calls++ });
    expect(calls).toBeGreaterThan(20);
    let left = 10;
    const stop = async () => {
      if (--left < 0) throw Object.assign(new Error('stopped'), { name: 'InterruptedError' });
    };
    await expect(chunkText(text, words, 20, { checkpoint: stop })).rejects.toMatchObject({ name: 'InterruptedError' });
  });

  it('takes an asynchronous counter', async () => {
    const text = 'One two three. Four five six! Seven eight nine ten eleven twelve thirteen?';
    const chunks = await chunkText(text, async (s) => words(s), 4);
    checkInvariants(text, chunks, words, 4);
  });

  it('rejects a budget below one token', async () => {
    await expect(chunkText('abc', words, 0)).rejects.toThrow(/at least 1 token/);
  });
});

describe('chunkBudgetTokens', () => {
  it('is the window minus the prompt minus the compression budget', async () => {
    expect(chunkBudgetTokens(512, 40, 64)).toBe(408);
  });
  it('throws ContextTooLongError when nothing is left', async () => {
    expect(() => chunkBudgetTokens(100, 60, 40)).toThrow(expect.objectContaining({ name: 'ContextTooLongError' }));
  });
});
