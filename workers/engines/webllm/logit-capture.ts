/**
 * The one LogitProcessor registered with web-llm for the loaded model. web-llm calls it with the
 * raw next-token logits (a Float32Array on the CPU, before logit_bias, penalties, temperature and
 * its GPU sampler) and then tells it which id its sampler drew.
 *
 * Modes (set by the engine around each call; web-llm calls nothing on its own between them):
 * - `pass`: return the logits untouched.
 * - `capture`: keep a float64 copy of the row so the engine can score forced ids from it.
 * - `sample`: draw the next id ourselves with the seeded sampler shared with the reference engine
 *   (temperature, top-p, seed exactly as asked), record ln p(id) = float64 log-softmax of
 *   logits / T at that id, and hand web-llm a one-hot row (0 at the id, -1e9 elsewhere) so its GPU
 *   sampler (run at T = 1, top_p = 1, no penalties) can only return our id. `processSampledToken`
 *   checks that it did. Doing the draw here gives exact ids and log-probs from one float64
 *   computation, honours our seed, and needs no access to web-llm's internal RNG.
 *
 * Invariant: the array returned has the length web-llm passed in.
 */
import { Mulberry32, logProb, sample, type Sampled } from '../reference/sampler';

export type CaptureMode =
  | { kind: 'pass' }
  | { kind: 'capture' }
  | { kind: 'sample'; temperature: number; topP: number; rng: Mulberry32 };

/** Logit value of every id except the forced one; finite so penalties and bias stay harmless. */
export const FORCE_OFF_LOGIT = -1e9;

export class LogitCapture {
  private mode: CaptureMode = { kind: 'pass' };
  private force: Float32Array | null = null;
  /** float64 copy of the last row seen in `capture` or `sample` mode. */
  lastRow: Float64Array | null = null;
  /** Our draw for the last row in `sample` mode. */
  lastSample: Sampled | null = null;
  /** What web-llm's sampler returned last. */
  lastSampledId: number | null = null;
  /** Rows seen since the last reset (for tests and counters). */
  rowsSeen = 0;

  setMode(mode: CaptureMode): void {
    this.mode = mode;
    this.lastRow = null;
    this.lastSample = null;
    this.lastSampledId = null;
  }

  startSampling(temperature: number, topP: number, seed: number): void {
    this.setMode({ kind: 'sample', temperature, topP, rng: new Mulberry32(seed) });
  }

  processLogits(logits: Float32Array): Float32Array {
    this.rowsSeen++;
    if (this.mode.kind === 'pass') return logits;
    const row = new Float64Array(logits.length);
    for (let i = 0; i < logits.length; i++) row[i] = logits[i];
    this.lastRow = row;
    if (this.mode.kind === 'capture') return logits;
    const s = sample(row, this.mode.temperature, this.mode.topP, this.mode.rng);
    this.lastSample = s;
    if (!this.force || this.force.length !== logits.length) this.force = new Float32Array(logits.length);
    this.force.fill(FORCE_OFF_LOGIT);
    this.force[s.id] = 0;
    return this.force;
  }

  processSampledToken(token: number): void {
    this.lastSampledId = token;
  }

  resetState(): void {
    this.lastRow = null;
    this.lastSample = null;
    this.lastSampledId = null;
  }
}

/** ln p(id) under softmax(row / T) in float64 (T = 0 is scored at T = 1). */
export function rowLogProb(row: Float64Array, id: number, temperature: number): number {
  if (id < 0 || id >= row.length) throw new RangeError(`Token id ${id} is outside the vocabulary (${row.length}).`);
  return logProb(row, id, temperature > 0 ? temperature : 1);
}

/**
 * ln p(id) under softmax(row / T) for the row at `offset` (length `rowLength`) of a flat float32
 * array, computed in float64 without copying the row (T = 0 is scored at T = 1).
 */
export function rowsLogProb(rows: Float32Array, offset: number, rowLength: number, id: number, temperature: number): number {
  if (id < 0 || id >= rowLength) throw new RangeError(`Token id ${id} is outside the vocabulary (${rowLength}).`);
  const t = temperature > 0 ? temperature : 1;
  let max = -Infinity;
  for (let k = 0; k < rowLength; k++) {
    const v = rows[offset + k] / t;
    if (v > max) max = v;
  }
  let sum = 0;
  for (let k = 0; k < rowLength; k++) sum += Math.exp(rows[offset + k] / t - max);
  return rows[offset + id] / t - (max + Math.log(sum));
}
