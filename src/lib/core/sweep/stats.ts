/**
 * Statistics of a sweep: the 95% Wilson score interval of an accuracy, the rate–distortion fit
 * D(R) = C·exp(−b·R) + D0 (nonlinear least squares by ml-levenberg-marquardt), and the Pearson
 * and Spearman correlation of MI with accuracy (simple-statistics). Pure functions.
 */
import { levenbergMarquardt } from 'ml-levenberg-marquardt';
import { sampleCorrelation, sampleRankCorrelation } from 'simple-statistics';

/** z for a two-sided 95% interval. */
export const Z95 = 1.959963984540054;

/**
 * Wilson score interval for `correct` successes out of `total` trials:
 * (p + z²/2n ± z·sqrt(p(1−p)/n + z²/4n²)) / (1 + z²/n). With total = 0 there is nothing to
 * estimate: null.
 */
export function wilsonInterval(correct: number, total: number, z = Z95): { low: number; high: number } | null {
  if (!(total > 0)) return null;
  if (correct < 0 || correct > total) throw new RangeError(`correct (${correct}) must lie in 0..${total}`);
  const p = correct / total;
  const z2 = z * z;
  const denom = 1 + z2 / total;
  const centre = (p + z2 / (2 * total)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / total + z2 / (4 * total * total))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface RateDistortionFit {
  C: number;
  b: number;
  D0: number;
  /** Root mean square of D − D(R) over the fitted points. */
  rmse: number;
  points: number;
}

/** The fit needs three points for three parameters; fewer is refused with this reason. */
export const MIN_FIT_POINTS = 3;

export function fitNeedsMessage(points: number): string {
  return `A fit of D(R) = C·exp(−b·R) + D0 needs at least ${MIN_FIT_POINTS} configurations with an accuracy; this sweep has ${points}.`;
}

/** D(R) for fitted parameters. */
export function distortionAt(fit: Pick<RateDistortionFit, 'C' | 'b' | 'D0'>, rateBits: number): number {
  return fit.C * Math.exp(-fit.b * rateBits) + fit.D0;
}

/**
 * Fit D(R) = C·exp(−b·R) + D0 to points (R in bits, D = 1 − accuracy) by Levenberg–Marquardt
 * with the analytic Jacobian, from several starting values of b (the problem is not convex in
 * b); the start with the smallest squared error wins. Bounds: C in [0, 10], b in [0, 100],
 * D0 in [0, 1] (distortion falls with rate and never below 0). Returns null with fewer than
 * three points.
 */
export function fitRateDistortion(rateBits: readonly number[], distortion: readonly number[]): RateDistortionFit | null {
  const n = rateBits.length;
  if (n !== distortion.length) throw new RangeError('rate and distortion must have the same length');
  if (n < MIN_FIT_POINTS) return null;
  const x = [...rateBits];
  const y = [...distortion];
  const model = ([C, b, D0]: number[]) => (r: number) => C * Math.exp(-b * r) + D0;
  const jacobian = ([C, b]: number[]) => (r: number) => [Math.exp(-b * r), -C * r * Math.exp(-b * r), 1];
  const maxR = Math.max(...x.map(Math.abs), 1e-9);
  const yMin = Math.min(...y);
  const yMax = Math.max(...y);
  let best: { p: number[]; sse: number } | null = null;
  for (const bStart of [0.1, 0.5, 1, 2, 5, 10].map((k) => k / maxR)) {
    const res = levenbergMarquardt({ x, y }, model, {
      initialValues: [Math.max(1e-3, yMax - yMin), Math.min(100, bStart), Math.max(0, yMin * 0.9)],
      jacobianFunction: jacobian,
      minValues: [0, 0, 0],
      maxValues: [10, 100, 1],
      maxIterations: 500,
      errorTolerance: 1e-14,
      damping: 1e-2,
    });
    const p = res.parameterValues;
    const f = model(p);
    const sse = x.reduce((a, r, i) => a + (f(r) - y[i]) ** 2, 0);
    if (Number.isFinite(sse) && (!best || sse < best.sse)) best = { p, sse };
  }
  if (!best) return null;
  const [C, b, D0] = best.p;
  return { C, b, D0, rmse: Math.sqrt(best.sse / n), points: n };
}

/**
 * Pearson and Spearman correlation of x with y (sample formulas of simple-statistics). null
 * for a coefficient that is undefined (fewer than 3 points, or a constant series).
 */
export function correlation(x: readonly number[], y: readonly number[]): { pearson: number | null; spearman: number | null } {
  if (x.length !== y.length) throw new RangeError('x and y must have the same length');
  if (x.length < 3) return { pearson: null, spearman: null };
  const safe = (f: () => number) => {
    try {
      const v = f();
      return Number.isFinite(v) ? v : null;
    } catch {
      return null;
    }
  };
  return {
    pearson: safe(() => sampleCorrelation([...x], [...y])),
    spearman: safe(() => sampleRankCorrelation([...x], [...y])),
  };
}

/** Sample standard deviation (n − 1); 0 for fewer than two values. */
export function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, v) => a + (v - m) ** 2, 0) / (xs.length - 1));
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}
