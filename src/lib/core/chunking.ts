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
 * a quadratic amount. Token counts of pieces are nearly additive; when a joined chunk counts
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

export type TokenCounter = (s: string) => number;

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

/** Spans of `text` in [from, to) separated by matches of `sep`, trimmed of whitespace, non-empty. */
function spans(text: string, from: number, to: number, sep: RegExp): [number, number][] {
  const out: [number, number][] = [];
  const push = (s: number, e: number) => {
    while (s < e && /\s/.test(text[s])) s++;
    while (e > s && /\s/.test(text[e - 1])) e--;
    if (e > s) out.push([s, e]);
  };
  const re = new RegExp(sep.source, 'g');
  const part = text.slice(from, to);
  let last = 0;
  for (let m = re.exec(part); m; m = re.exec(part)) {
    if (m[0].length === 0) {
      re.lastIndex++;
      continue;
    }
    push(from + last, from + m.index + m[0].length);
    last = m.index + m[0].length;
  }
  push(from + last, to);
  return out;
}

const PARAGRAPH = /\n[ \t\r]*\n\s*/;
/** A sentence ends at . ! ? … (and CJK stops), with closing quotes or brackets, before space; or at a line break. */
const SENTENCE = /[.!?…。！？]+["'”’)\]]*\s+|\n+/;
const WORD = /\s+/;

/** Cut a single over-long word into pieces that fit, by binary search on the counter. */
function cutWord(text: string, start: number, end: number, count: TokenCounter, budget: number): Unit[] {
  const out: Unit[] = [];
  let s = start;
  while (s < end) {
    let lo = 1;
    let hi = end - s;
    let best = 0;
    let bestTokens = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const t = count(text.slice(s, s + mid));
      if (t <= budget) {
        best = mid;
        bestTokens = t;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (best === 0) throw new InvalidArgumentError(`A budget of ${budget} tokens cannot hold even one character.`);
    let e = s + best;
    // Never split a surrogate pair.
    if (e < end && e - s > 1 && /[\uD800-\uDBFF]/.test(text[e - 1])) {
      e--;
      bestTokens = count(text.slice(s, e));
    }
    out.push({ start: s, end: e, tokens: bestTokens, level: s === start ? 2 : 3 });
    s = e;
  }
  return out;
}

const LEVEL_SEPS: [RegExp, Level][] = [
  [PARAGRAPH, 0],
  [SENTENCE, 1],
  [WORD, 2],
];

/** Units of [start, end) at `depth`, each one refined further only when it alone exceeds the budget. */
function units(text: string, start: number, end: number, depth: number, count: TokenCounter, budget: number): Unit[] {
  if (depth >= LEVEL_SEPS.length) return cutWord(text, start, end, count, budget);
  const [sep, level] = LEVEL_SEPS[depth];
  const out: Unit[] = [];
  for (const [s, e] of spans(text, start, end, sep)) {
    const tokens = count(text.slice(s, e));
    if (tokens <= budget) {
      out.push({ start: s, end: e, tokens, level });
    } else {
      const finer = units(text, s, e, depth + 1, count, budget);
      if (finer.length > 0) finer[0] = { ...finer[0], level: Math.min(finer[0].level, level) as Level };
      out.push(...finer);
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

/** Split `text` into chunks of at most `budgetTokens` tokens by `countTokens`. */
export function chunkText(text: string, countTokens: TokenCounter, budgetTokens: number): Chunk[] {
  if (!(budgetTokens >= 1)) throw new InvalidArgumentError(`The chunk budget must be at least 1 token (got ${budgetTokens}).`);
  const list = units(text, 0, text.length, 0, countTokens, budgetTokens);
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
      const chunkTextValue = text.slice(start, end);
      const tokens = n === 1 ? list[i].tokens : countTokens(chunkTextValue);
      if (tokens <= budgetTokens) {
        chunks.push({ index: chunks.length, text: chunkTextValue, start, end, tokens });
        break;
      }
      n--;
    }
    i += n;
  }
  return chunks;
}
