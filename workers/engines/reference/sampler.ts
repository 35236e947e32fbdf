/**
 * Seeded sampling and float64 log-probabilities.
 *
 * Generator: mulberry32 (a 32-bit state advanced by the Weyl constant 0x6D2B79F5, then an
 * xorshift-multiply output mix; Tommy Ettinger's public-domain construction). The seed is taken
 * modulo 2^32. Each uniform in [0, 1) is one 32-bit output divided by 2^32. Same seed, same logits
 * -> same ids, on every platform, because only 32-bit integer ops (Math.imul) are involved.
 *
 * Reported log-probability: ln p(id) under softmax(logits / T) in float64, BEFORE top-p
 * truncation and renormalisation, with T = 1 when sampling is greedy (T = 0). This is the
 * distribution of the channel the estimator scores; top-p only changes which ids get drawn.
 */

export class Mulberry32 {
  private state: number;
  constructor(seed: number) {
    this.state = Math.floor(seed) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** log(sum(exp(logits / T))) in float64, stable. */
export function logSumExp(logits: Float64Array, temperature: number, offset = 0, length = logits.length - offset): number {
  let max = -Infinity;
  for (let i = 0; i < length; i++) {
    const z = logits[offset + i] / temperature;
    if (z > max) max = z;
  }
  let sum = 0;
  for (let i = 0; i < length; i++) sum += Math.exp(logits[offset + i] / temperature - max);
  return max + Math.log(sum);
}

/** ln p(id) under softmax(logits / T), float64; a row of a flat logits array via offset/length. */
export function logProb(logits: Float64Array, id: number, temperature: number, offset = 0, length = logits.length - offset): number {
  return logits[offset + id] / temperature - logSumExp(logits, temperature, offset, length);
}

/** Index of the largest logit; the lowest id wins ties. */
export function argmax(logits: Float64Array): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

export interface Sampled {
  id: number;
  logprobNats: number;
}

/**
 * Draw one id. temperature 0: argmax. Otherwise probabilities p = softmax(logits / T); with
 * topP < 1 the draw is restricted to the smallest set of most probable ids whose mass reaches
 * topP (ties in probability ordered by id), renormalised.
 */
export function sample(logits: Float64Array, temperature: number, topP: number, rng: Mulberry32): Sampled {
  if (temperature === 0) {
    const id = argmax(logits);
    return { id, logprobNats: logProb(logits, id, 1) };
  }
  const n = logits.length;
  const lse = logSumExp(logits, temperature);
  const probs = new Float64Array(n);
  for (let i = 0; i < n; i++) probs[i] = Math.exp(logits[i] / temperature - lse);
  const r = rng.next();
  let id: number;
  if (topP >= 1) {
    id = drawFrom(probs, null, n, r);
  } else {
    // Ids below this probability cannot be in the nucleus (llama2.c's cut); saves the sort.
    const cutoff = n > 1 ? (1 - topP) / (n - 1) : 0;
    const order: number[] = [];
    for (let i = 0; i < n; i++) if (probs[i] >= cutoff) order.push(i);
    order.sort((a, b) => probs[b] - probs[a] || a - b);
    let mass = 0;
    let keep = order.length;
    for (let k = 0; k < order.length; k++) {
      mass += probs[order[k]];
      if (mass >= topP) {
        keep = k + 1;
        break;
      }
    }
    id = drawFrom(probs, order, keep, r);
  }
  return { id, logprobNats: logits[id] / temperature - lse };
}

/** Inverse-CDF draw over `count` ids (in `order`, or 0..count-1), scaled to their total mass. */
function drawFrom(probs: Float64Array, order: number[] | null, count: number, r: number): number {
  let total = 0;
  for (let k = 0; k < count; k++) total += probs[order ? order[k] : k];
  const target = r * total;
  let cdf = 0;
  let lastPositive = order ? order[0] : 0;
  for (let k = 0; k < count; k++) {
    const i = order ? order[k] : k;
    if (probs[i] > 0) lastPositive = i;
    cdf += probs[i];
    if (target < cdf) return i;
  }
  return lastPositive; // rounding left target at the very top
}
