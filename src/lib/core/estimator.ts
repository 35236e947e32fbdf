/**
 * The compression-channel mutual-information estimator of ../shared/design/ESTIMATOR.md
 * (arXiv 2512.21720): pure float64 math on log-probabilities, no engine, no I/O.
 *
 * Notation (all log-probabilities in nats, natural log):
 * - N contexts x_1..x_N, M compressions z_ij ~ p(z | T(x_i, q)) per context.
 * - s_ijl = sum_t ln p(z_ij,t | T(x_l, q), z_ij,<t): the teacher-forced log-likelihood of
 *   compression (i, j) under context l. Arrays are indexed `scores[i][j][l]`.
 * - term_ij = s_iji - logsumexp_l(s_ijl) + ln N, in (-inf, ln N].
 * - I_hat = mean_ij term_ij (nats); bits = nats / ln 2; ceiling log2 N bits.
 *
 * It is the InfoNCE bound with the true likelihood as critic: a lower bound in expectation that
 * saturates near ln N, so the ceiling is always reported beside the estimate.
 */
import { PrecisError } from './errors';

/** ln 2, to convert nats to bits (bits = nats / LN2). */
export const LN2 = Math.LN2;

/**
 * MI is a comparison between contexts: with one context the mixture p(z) equals p(z | x) and
 * every term is 0 by construction, which would read as "measured 0 bits". Refuse instead.
 */
export class NotEnoughContextsError extends PrecisError {
  constructor(readonly contexts: number) {
    super(
      'NotEnoughContextsError',
      `Mutual information needs a bank of at least two contexts to compare (got ${contexts}). ` +
        'Add more documents or split the text into more chunks.',
    );
  }
}

/** Nats to bits: x / ln 2. */
export function natsToBits(nats: number): number {
  return nats / LN2;
}

/**
 * ln(sum_k exp(x_k)), stable: max + ln(sum exp(x_k - max)). Returns -Infinity for an empty
 * list or when every x_k is -Infinity (the sum of zero probabilities), +Infinity if any is.
 */
export function logSumExp(xs: readonly number[]): number {
  let max = -Infinity;
  for (const x of xs) if (x > max) max = x;
  if (max === -Infinity || max === Infinity) return max;
  let sum = 0;
  for (const x of xs) sum += Math.exp(x - max);
  return max + Math.log(sum);
}

function requireBank(n: number): void {
  if (n < 2) throw new NotEnoughContextsError(n);
}

/**
 * One compression's pointwise term, in nats:
 *   term = s_own - logsumexp_l(s_l) + ln N,   N = scoresNats.length,
 * where scoresNats[l] = s_l is the compression's log-likelihood under context l and `source`
 * is the index of the context it was sampled from. The value lies in (-inf, ln N]; it is
 * -Infinity when the compression is impossible under its own context.
 */
export function compressionTermNats(scoresNats: readonly number[], source: number): number {
  const n = scoresNats.length;
  requireBank(n);
  if (!(source >= 0 && source < n)) throw new RangeError(`source ${source} outside 0..${n - 1}`);
  const own = scoresNats[source];
  if (own === -Infinity) return -Infinity;
  return own - logSumExp(scoresNats) + Math.log(n);
}

/**
 * All terms from the score tensor `scores[i][j][l]` (nats): `terms[i][j]` = term_ij (nats).
 * Every row must have N = scores.length entries (one per context). M may differ per context.
 */
export function termsFromScores(scoresNats: readonly (readonly (readonly number[])[])[]): number[][] {
  const n = scoresNats.length;
  requireBank(n);
  return scoresNats.map((perContext, i) =>
    perContext.map((row, j) => {
      if (row.length !== n) {
        throw new RangeError(`scores[${i}][${j}] has ${row.length} entries; expected one per context (${n})`);
      }
      return compressionTermNats(row, i);
    }),
  );
}

/** The run-level figures of one estimate. */
export interface MiSummary {
  /** I_hat = mean of all terms, nats, unclipped (may be negative with finite samples). */
  miNats: number;
  /** miNats / ln 2. */
  miBits: number;
  /** max(0, miNats): the paper clips negative estimates to 0 for display. */
  miNatsClipped: number;
  /** max(0, miBits). */
  miBitsClipped: number;
  /** ln N: the largest value any term, and so the estimate, can take. */
  ceilingNats: number;
  /** log2 N bits: the measurement ceiling, shown beside the estimate. */
  ceilingBits: number;
  /**
   * Approximate standard error of miNats: sd(term) / sqrt(N*M), sd with the (K - 1) divisor over
   * the K = N*M terms. Approximate because terms share the mixture and are not independent.
   */
  stdErrNats: number;
  /** stdErrNats / ln 2. */
  stdErrBits: number;
  /** Mean compression length in tokens (the ids the sampler produced, stop token included). */
  meanTokens: number;
  /** Information rate: miBits / meanTokens (bits per token); 0 when every compression is empty. */
  bitsPerToken: number;
  /** N: contexts in the bank. */
  n: number;
  /** M: compressions per context (the largest, if they differ). */
  m: number;
  /** Number of terms averaged (N*M when M is uniform). */
  count: number;
}

/**
 * Summarise terms `termsNats[i][j]` (nats) with compression lengths `tokenCounts[i][j]`
 * (tokens). See MiSummary for each formula. A term of -Infinity makes miNats -Infinity.
 */
export function summarizeTerms(
  termsNats: readonly (readonly number[])[],
  tokenCounts: readonly (readonly number[])[],
): MiSummary {
  const n = termsNats.length;
  requireBank(n);
  const flat = termsNats.flat();
  const lengths = tokenCounts.flat();
  const count = flat.length;
  if (count === 0) throw new RangeError('no compressions to summarise');
  if (lengths.length !== count) throw new RangeError('tokenCounts must match termsNats in shape');
  const miNats = mean(flat);
  let squares = 0;
  for (const t of flat) squares += (t - miNats) ** 2;
  const sdNats = count > 1 ? Math.sqrt(squares / (count - 1)) : 0;
  const stdErrNats = sdNats / Math.sqrt(count);
  const meanTokens = mean(lengths);
  const miBits = natsToBits(miNats);
  return {
    miNats,
    miBits,
    miNatsClipped: Math.max(0, miNats),
    miBitsClipped: Math.max(0, miBits),
    ceilingNats: Math.log(n),
    ceilingBits: Math.log2(n),
    stdErrNats,
    stdErrBits: natsToBits(stdErrNats),
    meanTokens,
    bitsPerToken: meanTokens > 0 ? miBits / meanTokens : 0,
    n,
    m: Math.max(...termsNats.map((row) => row.length)),
    count,
  };
}

/** Terms and summary in one call, from `scores[i][j][l]` (nats) and lengths `tokenCounts[i][j]`. */
export function estimateMi(
  scoresNats: readonly (readonly (readonly number[])[])[],
  tokenCounts: readonly (readonly number[])[],
): { termsNats: number[][]; summary: MiSummary } {
  const termsNats = termsFromScores(scoresNats);
  return { termsNats, summary: summarizeTerms(termsNats, tokenCounts) };
}

/**
 * Per-token information of one compression by the exact chain-rule split (ESTIMATOR.md §3), nats.
 * `tokenLogprobsNats[l][t]` = a_{l,t} = ln p(z_t | T(x_l, q), z_<t) under context l; `source` = i.
 * With c_{l,t} = sum_{tau<t} a_{l,tau} (c_{l,1} = 0):
 *   pmi_t = a_{i,t} - [ logsumexp_l(c_{l,t} + a_{l,t}) - logsumexp_l(c_{l,t}) ]
 * i.e. the token's log-prob under its source minus its log-prob under the mixture predictive,
 * which re-weights contexts by how well they explained the prefix. The sum telescopes:
 * sum_t pmi_t = s_i - logsumexp_l(s_l) + ln N = the compression's term. An empty compression
 * gives []. Every row must have the same length.
 */
export function pointwiseInformationNats(tokenLogprobsNats: readonly (readonly number[])[], source: number): number[] {
  const n = tokenLogprobsNats.length;
  requireBank(n);
  if (!(source >= 0 && source < n)) throw new RangeError(`source ${source} outside 0..${n - 1}`);
  const len = tokenLogprobsNats[source].length;
  for (const row of tokenLogprobsNats) {
    if (row.length !== len) throw new RangeError('every context must score the same number of tokens');
  }
  const prefix = new Array<number>(n).fill(0); // c_{l,t}
  const next = new Array<number>(n);
  const pmi: number[] = [];
  let before = Math.log(n); // logsumexp_l(c_{l,1}) = ln N
  for (let t = 0; t < len; t++) {
    for (let l = 0; l < n; l++) next[l] = prefix[l] + tokenLogprobsNats[l][t];
    const after = logSumExp(next);
    pmi.push(tokenLogprobsNats[source][t] - (after - before));
    for (let l = 0; l < n; l++) prefix[l] = next[l];
    before = after;
  }
  return pmi;
}

function mean(xs: readonly number[]): number {
  let sum = 0;
  for (const x of xs) sum += x;
  return xs.length ? sum / xs.length : 0;
}
