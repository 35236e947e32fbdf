/**
 * The work of one MI estimate on an inference server, from its sizes alone: requests, tokens and
 * the prefill the server does with and without a prefix cache (README, "Paper scale on a
 * cluster"). It follows the server engine's schedule (workers/engines/server/engine.ts):
 *
 * - generation: N·M requests, one per compression, each the prompt x and |z| sampled tokens;
 * - scoring: for each of the N contexts, all N·M compressions as continuations of that context,
 *   in list requests of B sequences: N·ceil(N·M / B) requests, N²·M sequences of |x| + |z|
 *   tokens each.
 *
 * Without a prefix cache (vLLM skips its cache for prompt log-probs; SGLang with the paper's
 * logprob_start_len = 0) the server computes every sequence whole: N²·M·(|x| + |z|). With
 * SGLang and logprob_start_len at the continuation (this engine sends |x| − 1, see wire.ts), the
 * first sequence of each context computes |x| + |z| and the other N·M − 1 reuse |x| − 1 cached
 * tokens and compute |z| + 1: N·(|x| + |z|) + N·(N·M − 1)·(|z| + 1), about N·(|x| + N·M·|z|).
 * Sizes are means; a compression that stops early makes every figure smaller.
 */
export interface ScaleInput {
  /** N, contexts in the bank. */
  contexts: number;
  /** M, compressions per context. */
  samples: number;
  /** |x|, prompt tokens per context (template included). */
  promptTokens: number;
  /** |z|, tokens per compression. */
  compressionTokens: number;
  /** B, sequences per scoring list request. */
  batchSize: number;
}

export interface ScaleFigures {
  generationRequests: number;
  generatedTokens: number;
  scoringRequests: number;
  scoredSequences: number;
  /** Tokens sent for scoring (prompt + continuation of every sequence). */
  scoringTokensSent: number;
  /** Continuation tokens whose log-probs come back (N²·M·|z|). */
  tokensScored: number;
  /** Scoring prefill computed without prefix reuse: N²·M·(|x| + |z|). */
  prefillUncached: number;
  /** Scoring prefill computed with SGLang's cache kept up to the continuation. */
  prefillCached: number;
}

function whole(v: number, name: string, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new RangeError(`${name} must be a whole number >= ${min} (got ${v}).`);
  return v;
}

export function scaleFigures(input: ScaleInput): ScaleFigures {
  const n = whole(input.contexts, 'contexts', 1);
  const m = whole(input.samples, 'samples', 1);
  const x = whole(input.promptTokens, 'promptTokens', 1);
  const z = whole(input.compressionTokens, 'compressionTokens', 1);
  const b = whole(input.batchSize, 'batchSize', 1);
  const perContext = n * m;
  const sequences = n * perContext;
  return {
    generationRequests: perContext,
    generatedTokens: perContext * z,
    scoringRequests: n * Math.ceil(perContext / b),
    scoredSequences: sequences,
    scoringTokensSent: sequences * (x + z),
    tokensScored: sequences * z,
    prefillUncached: sequences * (x + z),
    prefillCached: n * (x + z) + n * (perContext - 1) * (z + 1),
  };
}

/** Seconds to process `tokens` at `tokensPerSecond` per replica over `replicas` replicas. */
export function scaleSeconds(tokens: number, tokensPerSecond: number, replicas = 1): number {
  if (!(tokensPerSecond > 0) || !(replicas >= 1)) throw new RangeError('tokensPerSecond must be > 0 and replicas >= 1.');
  return tokens / (tokensPerSecond * replicas);
}
