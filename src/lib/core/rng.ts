/**
 * Small deterministic 32-bit helpers: a seeded uniform generator (for tests and simulations)
 * and the per-sample seed derivation of an estimate. Only 32-bit integer operations
 * (Math.imul, >>>), so the same seed gives the same numbers on every platform.
 */

/** The murmur3 32-bit finaliser: a bijection on 32-bit integers that mixes every bit. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Seed of the k-th sample of a run with base seed `baseSeed`: fmix32(base + k * 0x9E3779B9 mod 2^32).
 * The golden-ratio step is odd, so k -> base + k*step is a bijection mod 2^32, and fmix32 is a
 * bijection: the seeds of one run are distinct for k < 2^32, and neighbouring base seeds do not
 * share sample seeds the way base + k would.
 */
export function sampleSeed(baseSeed: number, k: number): number {
  const base = Math.floor(baseSeed) >>> 0;
  return fmix32((base + Math.imul(k >>> 0, 0x9e3779b9)) >>> 0);
}

/** A seeded uniform generator on [0, 1) (mulberry32). */
export function uniformRng(seed: number): () => number {
  let state = Math.floor(seed) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
