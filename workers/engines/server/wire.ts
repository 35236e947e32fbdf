/**
 * Wire formats of vLLM's OpenAI-compatible server and SGLang's native server, as pure
 * functions: request bodies, and parsers that turn answers into per-token log-probabilities or
 * throw a named error. Checked against the sources (README, "Inference servers"):
 *
 * vLLM `/v1/completions` (vllm/entrypoints/openai/completion/protocol.py, serving.py):
 * - `prompt` may be token ids, or a list of id lists (one choice per prompt, in order).
 * - `echo: true, logprobs: 0, max_tokens: 0` answers the prompt alone: `token_logprobs` has one
 *   entry per prompt token, the first `null`. Older versions refuse `max_tokens: 0` ("max_tokens
 *   must be at least 1"): then `max_tokens: 1` and the one generated entry is dropped.
 * - `return_tokens_as_token_ids: true` makes `tokens` `"token_id:N"`, so every entry's id is
 *   checked against the id we sent.
 * - `prompt_logprobs: 0` returns `choices[i].prompt_logprobs`: `null` then one
 *   `{ "<id>": {logprob, rank, decoded_token} }` per token.
 * - Log-probs below -9999 are clamped to -9999 (`max(lp, -9999.0)`): detected, never averaged in.
 * - They are log-softmax of the raw logits: no temperature.
 *
 * SGLang `/generate` (python/sglang/srt/managers/io_struct.py, scheduler output processing):
 * - `input_ids` (a list of id lists is a batch; the answer is then a list), `return_logprob`,
 *   `logprob_start_len: s`: `meta_info.input_token_logprobs` holds `[logprob, id, text]` for
 *   input positions s.., the first `null` (current versions), or without that first entry
 *   (older versions). Both are read by aligning on the last entries and checking ids.
 * - The radix cache is reused only up to `s`; we send s = prompt length − 1 (the position whose
 *   logits predict the first continuation token), so a context's prefix stays cached across all
 *   its continuations. (s = prompt length would lose the first continuation token: its entry is
 *   the `null` one.)
 */
import type { StopReason } from '../../../src/lib/core/engine';
import { ServerClampedLogprobError, ServerResponseError } from '../../../src/lib/core/server-errors';

/** vLLM's stand-in for -inf in JSON. */
export const CLAMPED_LOGPROB = -9999;

/** Fewer (or more) entries than tokens: a capability problem on connect, a bad answer later. */
export class EntryCountError extends Error {
  constructor(readonly expected: number, readonly got: number) {
    super(`expected ${expected} log-probabilities, got ${got}`);
    this.name = 'EntryCountError';
  }
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function fail(host: string, what: string): never {
  throw new ServerResponseError(host, what);
}

/** Check values: finite numbers; -9999 (clamped) counted and refused. */
function checkValues(host: string, values: number[]): number[] {
  const clamped = values.filter((v) => v <= CLAMPED_LOGPROB).length;
  if (clamped > 0) throw new ServerClampedLogprobError(host, clamped);
  return values;
}

// ---------------------------------------------------------------- vLLM

export type VllmScoring = 'echo' | 'prompt_logprobs';

export function vllmScoreBody(model: string, sequences: number[][], mode: VllmScoring, maxTokens: 0 | 1): Record<string, unknown> {
  // One sequence goes as a plain id list (a single prompt), which every server takes.
  const base = { model, prompt: sequences.length === 1 ? sequences[0] : sequences, temperature: 1, top_p: 1, top_k: -1, n: 1, stream: false };
  if (mode === 'echo') return { ...base, echo: true, logprobs: 0, max_tokens: maxTokens, return_tokens_as_token_ids: true };
  return { ...base, prompt_logprobs: 0, max_tokens: 1 };
}

/** Parse "token_id:N" (return_tokens_as_token_ids). */
function tokenIdOf(token: unknown): number | null {
  if (typeof token !== 'string') return null;
  const m = /^token_id:(\d+)$/.exec(token);
  return m ? Number(m[1]) : null;
}

/**
 * Per-token log-probs of `continuations[r]` after `promptLength` prompt tokens, from a vLLM
 * completions answer to vllmScoreBody(prompt + continuation[r] for each r).
 */
export function parseVllmScores(
  host: string,
  answer: unknown,
  sequences: number[][],
  promptLength: number,
  mode: VllmScoring,
): number[][] {
  if (!isRecord(answer) || !Array.isArray(answer.choices)) fail(host, 'the completions answer has no "choices" list.');
  const choices = answer.choices as unknown[];
  if (choices.length !== sequences.length) {
    throw new EntryCountError(sequences.length, choices.length);
  }
  const byIndex = new Map<number, Record<string, unknown>>();
  choices.forEach((c, i) => {
    if (!isRecord(c)) fail(host, `choice ${i} is not an object.`);
    byIndex.set(typeof c.index === 'number' ? c.index : i, c);
  });
  return sequences.map((seq, r) => {
    const choice = byIndex.get(r);
    if (!choice) fail(host, `no choice with index ${r}.`);
    const want = seq.length - promptLength;
    if (mode === 'echo') {
      const lp = choice.logprobs;
      if (!isRecord(lp) || !Array.isArray(lp.token_logprobs)) throw new EntryCountError(seq.length, 0);
      const values = lp.token_logprobs as unknown[];
      const tokens = Array.isArray(lp.tokens) ? (lp.tokens as unknown[]) : [];
      // max_tokens 0: exactly the prompt; max_tokens 1: the prompt and one generated entry.
      if (values.length < seq.length) throw new EntryCountError(seq.length, values.length);
      const out: number[] = [];
      for (let t = promptLength; t < seq.length; t++) {
        const v = values[t];
        if (typeof v !== 'number' || !Number.isFinite(v)) fail(host, `entry ${t} of token_logprobs is ${JSON.stringify(v)}, not a number.`);
        const id = tokenIdOf(tokens[t]);
        if (id !== null && id !== seq[t]) fail(host, `entry ${t} is for token ${id}, but token ${seq[t]} was sent.`);
        out.push(v);
      }
      if (out.length !== want) throw new EntryCountError(want, out.length);
      return checkValues(host, out);
    }
    const plp = choice.prompt_logprobs;
    if (!Array.isArray(plp)) throw new EntryCountError(seq.length, 0);
    if (plp.length !== seq.length) throw new EntryCountError(seq.length, plp.length);
    const out: number[] = [];
    for (let t = promptLength; t < seq.length; t++) {
      const entry = plp[t];
      const hit = isRecord(entry) ? entry[String(seq[t])] : undefined;
      const v = isRecord(hit) ? hit.logprob : undefined;
      if (typeof v !== 'number' || !Number.isFinite(v)) fail(host, `prompt_logprobs entry ${t} has no log-probability for token ${seq[t]}.`);
      out.push(v);
    }
    return checkValues(host, out);
  });
}

export interface VllmGenerateRequest {
  model: string;
  promptIds: number[];
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  /** true: ids from "token_id:N" strings (any version); false: ids from `token_ids` (vLLM ≥ 0.10). */
  idsAsTokens: boolean;
}

export function vllmGenerateBody(r: VllmGenerateRequest): Record<string, unknown> {
  return {
    model: r.model,
    prompt: r.promptIds,
    max_tokens: r.maxTokens,
    // Every sampling knob is sent: otherwise the model's generation_config defaults apply
    // (e.g. top_k 20, repetition_penalty 1.1) and the sampled channel is not the scored one.
    temperature: r.temperature,
    top_p: r.topP,
    top_k: -1,
    min_p: 0,
    repetition_penalty: 1,
    presence_penalty: 0,
    frequency_penalty: 0,
    seed: r.seed,
    n: 1,
    stream: false,
    logprobs: 0,
    skip_special_tokens: false,
    ...(r.idsAsTokens ? { return_tokens_as_token_ids: true } : { return_token_ids: true }),
  };
}

export interface ServerGeneration {
  ids: number[];
  logprobsNats: number[];
  /** The text each id adds, when the server says (else empty strings). */
  tokenTexts: string[];
  text: string;
  stopReason: StopReason;
}

/**
 * Null when the answer lacks token ids in this mode: no `token_ids` (a vLLM before 0.10), or
 * `tokens` that are not "token_id:N" (a server that ignores return_tokens_as_token_ids).
 */
export function parseVllmGeneration(host: string, answer: unknown, idsAsTokens: boolean): ServerGeneration | null {
  if (!isRecord(answer) || !Array.isArray(answer.choices) || !isRecord(answer.choices[0])) fail(host, 'the completions answer has no choice.');
  const choice = answer.choices[0] as Record<string, unknown>;
  const lp = choice.logprobs;
  if (!isRecord(lp) || !Array.isArray(lp.token_logprobs)) fail(host, 'the completion has no logprobs (this server does not return log-probabilities of sampled tokens).');
  const values = lp.token_logprobs as unknown[];
  const tokens = Array.isArray(lp.tokens) ? (lp.tokens as unknown[]) : [];
  let ids: number[];
  if (idsAsTokens) {
    const parsed = tokens.map(tokenIdOf);
    if (parsed.some((id) => id === null)) return null;
    ids = parsed as number[];
  } else {
    if (!Array.isArray(choice.token_ids)) return null;
    ids = (choice.token_ids as unknown[]).map((x, i) => (Number.isInteger(x) ? (x as number) : fail(host, `token_ids[${i}] is not an id.`)));
  }
  if (values.length !== ids.length) fail(host, `${ids.length} generated ids but ${values.length} log-probabilities.`);
  const logprobsNats = values.map((v, i) => (typeof v === 'number' && Number.isFinite(v) ? v : fail(host, `log-probability ${i} is ${JSON.stringify(v)}.`)));
  const text = typeof choice.text === 'string' ? choice.text : '';
  const tokenTexts = idsAsTokens ? ids.map((_, i) => (i === ids.length - 1 ? text : '')) : tokens.map((t) => (typeof t === 'string' ? t : ''));
  const reason = choice.finish_reason;
  return { ids, logprobsNats, tokenTexts, text, stopReason: reason === 'stop' ? 'stop' : 'length' };
}

// ---------------------------------------------------------------- SGLang

/**
 * Where SGLang's log-probs (and the end of its prefix-cache reuse) start: 'continuation' (the
 * default) = prompt length − 1, so the context stays cached; 'zero' = 0, the paper's setting,
 * which recomputes every prompt (kept for comparison: bench/server.ts).
 */
export type SglangLogprobStart = 'continuation' | 'zero';

export function sglangStartOf(promptLength: number, mode: SglangLogprobStart = 'continuation'): number {
  return mode === 'zero' ? 0 : Math.max(0, promptLength - 1);
}

export function sglangScoreBody(sequences: number[][], promptLength: number, maxNewTokens: 0 | 1, mode: SglangLogprobStart = 'continuation'): Record<string, unknown> {
  return {
    input_ids: sequences.length === 1 ? sequences[0] : sequences,
    sampling_params: { max_new_tokens: maxNewTokens, temperature: 1, top_p: 1, top_k: -1 },
    return_logprob: true,
    logprob_start_len: sglangStartOf(promptLength, mode),
    return_text_in_logprobs: false,
  };
}

export interface SglangScoreStats {
  /** meta_info.cached_tokens summed over the batch (prefix-cache hits). */
  cachedTokens: number;
  /**
   * Which first-entry convention the answer used; 'start-ignored': entries from before
   * logprob_start_len (the server did not honour it, so its prefix cache is not reused as planned).
   */
  convention: 'null-first' | 'dropped-first' | 'start-ignored' | null;
}

function sglangItems(host: string, answer: unknown, count: number): Record<string, unknown>[] {
  const items = Array.isArray(answer) ? answer : [answer];
  if (items.length !== count) throw new EntryCountError(count, items.length);
  return items.map((it, i) => (isRecord(it) && isRecord(it.meta_info) ? it : fail(host, `result ${i} has no meta_info.`)));
}

export function parseSglangScores(
  host: string,
  answer: unknown,
  sequences: number[][],
  promptLength: number,
  stats: SglangScoreStats,
  mode: SglangLogprobStart = 'continuation',
): number[][] {
  const items = sglangItems(host, answer, sequences.length);
  const start = sglangStartOf(promptLength, mode);
  return sequences.map((seq, r) => {
    const meta = items[r].meta_info as Record<string, unknown>;
    if (typeof meta.cached_tokens === 'number') stats.cachedTokens += meta.cached_tokens;
    const entries = meta.input_token_logprobs;
    if (!Array.isArray(entries)) throw new EntryCountError(seq.length - promptLength, 0);
    const full = seq.length - start;
    const want = seq.length - promptLength;
    // More entries than asked for: the server started before logprob_start_len (or ignored it).
    // The tail is still aligned, and every id in it is checked below.
    let convention: SglangScoreStats['convention'];
    if (entries.length === full) convention = 'null-first';
    else if (entries.length === full - 1) convention = 'dropped-first';
    else if (entries.length > full && entries.length <= seq.length) convention = 'start-ignored';
    else throw new EntryCountError(full, entries.length);
    stats.convention ??= convention;
    const tail = entries.slice(entries.length - want);
    return checkValues(
      host,
      tail.map((e, k) => {
        const t = promptLength + k;
        if (!Array.isArray(e)) fail(host, `input_token_logprobs entry for position ${t} is not [logprob, id, text].`);
        const [v, id] = e as unknown[];
        if (id !== seq[t]) fail(host, `input_token_logprobs entry for position ${t} is for token ${JSON.stringify(id)}, but token ${seq[t]} was sent.`);
        if (typeof v !== 'number' || !Number.isFinite(v)) fail(host, `input_token_logprobs entry for position ${t} is ${JSON.stringify(v)}, not a number.`);
        return v;
      }),
    );
  });
}

export function sglangGenerateBody(promptIds: number[], maxTokens: number, temperature: number, topP: number, seed: number): Record<string, unknown> {
  return {
    input_ids: promptIds,
    sampling_params: {
      max_new_tokens: maxTokens,
      temperature,
      top_p: topP,
      top_k: -1,
      min_p: 0,
      repetition_penalty: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      sampling_seed: seed,
      skip_special_tokens: false,
    },
    return_logprob: true,
    return_text_in_logprobs: true,
  };
}

export function parseSglangGeneration(host: string, answer: unknown): ServerGeneration {
  const [item] = sglangItems(host, answer, 1);
  const meta = item.meta_info as Record<string, unknown>;
  const out = meta.output_token_logprobs;
  if (!Array.isArray(out)) fail(host, 'meta_info has no output_token_logprobs.');
  const ids: number[] = [];
  const logprobsNats: number[] = [];
  const tokenTexts: string[] = [];
  out.forEach((e, i) => {
    if (!Array.isArray(e)) fail(host, `output_token_logprobs[${i}] is not [logprob, id, text].`);
    const [v, id, text] = e as unknown[];
    if (!Number.isInteger(id)) fail(host, `output_token_logprobs[${i}] has no token id.`);
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(host, `output_token_logprobs[${i}] is ${JSON.stringify(v)}.`);
    ids.push(id as number);
    logprobsNats.push(v);
    tokenTexts.push(typeof text === 'string' ? text : '');
  });
  if (Array.isArray(item.output_ids) && JSON.stringify(item.output_ids) !== JSON.stringify(ids)) {
    fail(host, 'output_ids and output_token_logprobs disagree.');
  }
  const finish = meta.finish_reason;
  const type = isRecord(finish) ? finish.type : finish;
  const text = typeof item.text === 'string' ? item.text : tokenTexts.join('');
  return { ids, logprobsNats, tokenTexts, text, stopReason: type === 'stop' ? 'stop' : 'length' };
}

// ---------------------------------------------------------------- tokenisation (both)

export interface TokenizeAnswer {
  tokens: number[];
  maxModelLen: number | null;
}

export function parseTokenize(host: string, answer: unknown): TokenizeAnswer {
  if (!isRecord(answer) || !Array.isArray(answer.tokens)) fail(host, '/tokenize did not return a "tokens" list.');
  const tokens = (answer.tokens as unknown[]).map((x, i) => (Number.isInteger(x) ? (x as number) : fail(host, `/tokenize token ${i} is not an id.`)));
  const maxModelLen = typeof answer.max_model_len === 'number' ? answer.max_model_len : null;
  return { tokens, maxModelLen };
}

/** vLLM answers `{prompt}`, SGLang `{text}`. */
export function parseDetokenize(host: string, answer: unknown): string {
  if (isRecord(answer)) {
    if (typeof answer.prompt === 'string') return answer.prompt;
    if (typeof answer.text === 'string') return answer.text;
  }
  fail(host, '/detokenize returned neither "prompt" nor "text".');
}

/** Model ids from GET /v1/models (OpenAI shape). */
export function parseModelList(host: string, answer: unknown): { ids: string[]; maxModelLen: Map<string, number> } {
  if (!isRecord(answer) || !Array.isArray(answer.data)) fail(host, '/v1/models did not return a "data" list.');
  const ids: string[] = [];
  const maxModelLen = new Map<string, number>();
  for (const m of answer.data as unknown[]) {
    if (isRecord(m) && typeof m.id === 'string') {
      ids.push(m.id);
      if (typeof m.max_model_len === 'number') maxModelLen.set(m.id, m.max_model_len);
    }
  }
  return { ids, maxModelLen };
}
