/**
 * Split a document into chunks that each fit a token budget, measured by the caller's token
 * counter (the loaded model's own tokenizer, or a cheap estimate).
 *
 * The caller computes the budget: window − prompt overhead − compression `maxTokens`
 * (`chunkBudgetTokens`). Guarantees, for any counter: every chunk is non-empty, is exactly
 * `text.slice(start, end)`, and `countTokens(chunk.text) <= budgetTokens` (checked with the
 * counter itself, not estimated). Chunks cover the text in order; only whitespace between them
 * is left out.
 *
 * Cuts fall at paragraph breaks (blank lines) where possible, then at sentence ends or line
 * breaks, then between words, and only for a single word longer than the budget inside a word.
 *
 * Cost: each unit (paragraph, or finer piece of an oversized one) is counted once, plus one
 * count per chunk to verify it, so the counter sees about twice the text in total rather than
 * a quadratic amount. Finding the boundaries is linear in the text (no backtracking regular
 * expression over long runs), and a word longer than the budget costs O(n log n). Token counts of pieces are nearly additive; when a joined chunk counts
 * higher than its pieces' sum, trailing pieces are moved to the next chunk until it fits.
 */
import { ContextTooLongError, InvalidArgumentError } from './errors';

export interface Chunk {
  index: number;
  /** Exactly `text.slice(start, end)` of the source text. */
  text: string;
  /** UTF-16 offsets into the source text. */
  start: number;
  end: number;
  /** `countTokens(text)`. */
  tokens: number;
}

/** Tokens in a string; may be asynchronous (a tokenizer behind a message channel). */
export type TokenCounter = (s: string) => number | Promise<number>;

/** Splits a text into chunks of a model's own tokens, wherever that model lives (the worker). */
export type Chunker = (text: string) => Promise<{ budgetTokens: number; chunks: Chunk[] }>;

/** Strength of the boundary before a unit: 0 paragraph, 1 sentence or line, 2 word, 3 inside a word. */
type Level = 0 | 1 | 2 | 3;

interface Unit {
  start: number;
  end: number;
  tokens: number;
  level: Level;
}

/**
 * Tokens left for a chunk: the model's window minus the prompt around the chunk minus the
 * compression's own budget. Throws `ContextTooLongError` when nothing is left.
 */
export function chunkBudgetTokens(windowTokens: number, promptOverheadTokens: number, maxTokens: number): number {
  const budget = windowTokens - promptOverheadTokens - maxTokens;
  if (budget < 1) {
    throw new ContextTooLongError(promptOverheadTokens + maxTokens + 1, windowTokens, 'The prompt and the compression budget');
  }
  return budget;
}

/** Whitespace as `\s` in a regular expression matches it. */
const WS = /\s/;
const isWs = (ch: string | undefined): boolean => ch !== undefined && WS.test(ch);

/** The separators in [from, to), in order, as [start, end) pairs. */
type SeparatorFinder = (text: string, from: number, to: number) => Iterable<[number, number]>;

/** Spans of `text` in [from, to) separated by what `find` finds, trimmed of whitespace, non-empty. */
function spans(text: string, from: number, to: number, find: SeparatorFinder): [number, number][] {
  const out: [number, number][] = [];
  const push = (s: number, e: number) => {
    while (s < e && isWs(text[s])) s++;
    while (e > s && isWs(text[e - 1])) e--;
    if (e > s) out.push([s, e]);
  };
  let last = from;
  for (const [, end] of find(text, from, to)) {
    push(last, end);
    last = end;
  }
  push(last, to);
  return out;
}

/** Separators given by a regular expression, searched in the range only (one slice per range). */
function byRegExp(source: RegExp): SeparatorFinder {
  return function* (text, from, to) {
    const re = new RegExp(source.source, 'g');
    const part = text.slice(from, to);
    for (let m = re.exec(part); m; m = re.exec(part)) {
      if (m[0].length === 0) {
        re.lastIndex++;
        continue;
      }
      yield [from + m.index, from + m.index + m[0].length];
    }
  };
}

/**
 * A blank line (and the whitespace after it). Linear: `[ \t\r]*` only scans the run after one
 * newline, and those runs do not overlap.
 */
const PARAGRAPH = byRegExp(/\n[ \t\r]*\n\s*/);
const WORD = byRegExp(/\s+/);

const TERMINATORS = new Set(['.', '!', '?', '…', '。', '！', '？']);
const CLOSERS = new Set(['"', "'", '”', '’', ')', ']']);

/**
 * A sentence ends at a run of . ! ? … (and CJK stops), with closing quotes or brackets, before
 * whitespace; or at a line break. Scanned by hand rather than with `/[.!?…]+["')]*\s+/`,
 * which backtracks quadratically over a long run of dots: a run not followed by whitespace is
 * skipped whole, since no match can start inside it either.
 */
const SENTENCE: SeparatorFinder = function* (text, from, to) {
  let i = from;
  while (i < to) {
    const ch = text[i];
    if (ch === '\n') {
      let j = i + 1;
      while (j < to && text[j] === '\n') j++;
      yield [i, j];
      i = j;
      continue;
    }
    if (TERMINATORS.has(ch)) {
      let j = i + 1;
      while (j < to && TERMINATORS.has(text[j])) j++;
      while (j < to && CLOSERS.has(text[j])) j++;
      let w = j;
      while (w < to && isWs(text[w])) w++;
      if (w > j) yield [i, w];
      i = w;
      continue;
    }
    i++;
  }
};

/** More characters per token than any real tokenizer averages over a long span. */
const MAX_CHARS_PER_TOKEN = 64;

/** What the chunker does between token counts: yield to the event loop, stop when cancelled. */
export type Checkpoint = () => void | Promise<void>;

interface Ctx {
  text: string;
  count: TokenCounter;
  budget: number;
  checkpoint: Checkpoint;
}

async function countOf(ctx: Ctx, start: number, end: number): Promise<number> {
  const tokens = await ctx.count(ctx.text.slice(start, end));
  await ctx.checkpoint();
  return tokens;
}

/**
 * Cut a single over-long word into pieces that fit. The piece length is found by doubling from
 * the budget (in characters) until the count overflows, then by binary search, so each piece
 * costs counts over O(piece length × log) characters and the whole word stays O(n log n);
 * searching over the whole rest of the word each time would be quadratic.
 */
async function cutWord(ctx: Ctx, start: number, end: number): Promise<Unit[]> {
  const { text, budget } = ctx;
  const out: Unit[] = [];
  let s = start;
  while (s < end) {
    const rest = end - s;
    let good = 0;
    let goodTokens = 0;
    let bad = rest + 1;
    for (let len = Math.min(rest, Math.max(1, budget)); ; len = Math.min(rest, len * 2)) {
      const t = await countOf(ctx, s, s + len);
      if (t > budget) {
        bad = len;
        break;
      }
      good = len;
      goodTokens = t;
      if (len === rest) break;
    }
    let lo = good + 1;
    let hi = bad - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const t = await countOf(ctx, s, s + mid);
      if (t <= budget) {
        good = mid;
        goodTokens = t;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (good === 0) throw new InvalidArgumentError(`A budget of ${budget} tokens cannot hold even one character.`);
    let e = s + good;
    // Never split a surrogate pair.
    if (e < end && e - s > 1 && /[\uD800-\uDBFF]/.test(text[e - 1])) {
      e--;
      goodTokens = await countOf(ctx, s, e);
    }
    out.push({ start: s, end: e, tokens: goodTokens, level: s === start ? 2 : 3 });
    s = e;
  }
  return out;
}

const LEVEL_SEPS: [SeparatorFinder, Level][] = [
  [PARAGRAPH, 0],
  [SENTENCE, 1],
  [WORD, 2],
];

/** Units of [start, end) at `depth`, each one refined further only when it alone exceeds the budget. */
async function units(ctx: Ctx, start: number, end: number, depth: number): Promise<Unit[]> {
  if (depth >= LEVEL_SEPS.length) return cutWord(ctx, start, end);
  const [sep, level] = LEVEL_SEPS[depth];
  const out: Unit[] = [];
  for (const [s, e] of spans(ctx.text, start, end, sep)) {
    // A span far longer than any budget is refined without being counted: counting a 10 MB
    // paragraph at once only to learn that it does not fit costs more than all its pieces.
    // Safe for any counter: the pieces are packed back together and every chunk is verified.
    const tokens = e - s > ctx.budget * MAX_CHARS_PER_TOKEN ? Infinity : await countOf(ctx, s, e);
    if (tokens <= ctx.budget) {
      out.push({ start: s, end: e, tokens, level });
    } else {
      const finer = await units(ctx, s, e, depth + 1);
      if (finer.length > 0) finer[0] = { ...finer[0], level: Math.min(finer[0].level, level) as Level };
      for (const u of finer) out.push(u);
    }
  }
  return out;
}

/**
 * Where to cut a full chunk of units [0, n): the last boundary of the strongest kind that still
 * keeps at least half of the chunk's tokens in it. Returns the number of units to keep.
 */
function preferredCut(list: Unit[], first: number, n: number, budget: number): number {
  let bestLevel: Level = 3;
  let bestKeep = n;
  let prefixTokens = 0;
  for (let k = 1; k <= n; k++) {
    prefixTokens += list[first + k - 1].tokens;
    if (k === n) break;
    const next = list[first + k];
    if (prefixTokens >= budget / 2 && next.level <= bestLevel) {
      bestLevel = next.level;
      bestKeep = k;
    }
  }
  // The boundary after the last unit is the one that overflowed; keep it when it is as strong.
  const after = list[first + n];
  if (after && after.level <= bestLevel) return n;
  return bestKeep;
}

export interface ChunkOptions {
  /**
   * Awaited after every token count. The worker passes one that yields to the event loop every
   * few tens of milliseconds (so `interrupt()` can arrive) and throws `InterruptedError` once
   * cancelled.
   */
  checkpoint?: Checkpoint;
}

/** Split `text` into chunks of at most `budgetTokens` tokens by `countTokens`. */
export async function chunkText(
  text: string,
  countTokens: TokenCounter,
  budgetTokens: number,
  options: ChunkOptions = {},
): Promise<Chunk[]> {
  if (!(budgetTokens >= 1)) throw new InvalidArgumentError(`The chunk budget must be at least 1 token (got ${budgetTokens}).`);
  const ctx: Ctx = { text, count: countTokens, budget: budgetTokens, checkpoint: options.checkpoint ?? (() => undefined) };
  await ctx.checkpoint();
  const list = await units(ctx, 0, text.length, 0);
  const chunks: Chunk[] = [];
  let i = 0;
  while (i < list.length) {
    // Greedy by the sum of unit counts.
    let n = 0;
    let sum = 0;
    while (i + n < list.length && (n === 0 || sum + list[i + n].tokens <= budgetTokens)) {
      sum += list[i + n].tokens;
      n++;
    }
    if (i + n < list.length) n = preferredCut(list, i, n, budgetTokens);
    // Verify with the real count of the joined text; give back trailing units until it fits.
    for (;;) {
      const start = list[i].start;
      const end = list[i + n - 1].end;
      const tokens = n === 1 ? list[i].tokens : await countOf(ctx, start, end);
      if (tokens <= budgetTokens) {
        chunks.push({ index: chunks.length, text: text.slice(start, end), start, end, tokens });
        break;
      }
      n--;
    }
    i += n;
  }
  return chunks;
}
