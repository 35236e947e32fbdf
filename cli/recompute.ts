/**
 * Tests only: an independent float64 check of the estimator's numbers. One full forward pass of
 * the reference model over prompt + ids from position 0 (no prefix reuse, no batching), and a
 * log-softmax of logits / T written here rather than the engines' scoring code.
 */
import type { LlamaModel } from '../workers/engines/reference/model';

/** Sum of ln p(ids[t] | prompt, ids[<t]) at temperature T (0 counts as 1), in nats. */
export function sequenceLogprobF64(model: LlamaModel, prompt: readonly number[], ids: readonly number[], temperature: number): number {
  if (ids.length === 0) return 0;
  const T = temperature === 0 ? 1 : temperature;
  const vocab = model.config.vocabSize;
  const logits = model.forward([...prompt, ...ids.slice(0, -1)], 0, 'all');
  let total = 0;
  ids.forEach((id, t) => {
    const row = (prompt.length - 1 + t) * vocab;
    let max = -Infinity;
    for (let v = 0; v < vocab; v++) max = Math.max(max, logits[row + v] / T);
    let sum = 0;
    for (let v = 0; v < vocab; v++) sum += Math.exp(logits[row + v] / T - max);
    total += logits[row + id] / T - (max + Math.log(sum));
  });
  return total;
}

/** ln Σ exp(x), stable. */
export function logSumExp(xs: readonly number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}

/** term = s_source - logsumexp_l s_l + ln N, from the scores under every context. */
export function termFromScores(scores: readonly number[], source: number): number {
  return scores[source] - logSumExp(scores) + Math.log(scores.length);
}
