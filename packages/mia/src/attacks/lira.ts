// LiRA (Carlini et al., S&P 2022): per sample, Gaussians fitted to the logit-scaled confidence φ
// of reference models that did (IN) and did not (OUT) train on it, and a likelihood-ratio test of
// the target's φ (mia_calibration.md §2.2, §4.1). One query per sample; the lead averages the
// scores of augmented queries itself if it makes them.
import { SeededRandom } from '@onnx-audit/data';

/**
 * k × n 0/1 matrix (row per reference model): every sample is IN for exactly ⌊k/2⌋ models,
 * chosen at random with the seed, as LiRA's keep matrix (its `keep.argsort(0) < k/2`).
 */
export function inclusionMatrix(models: number, samples: number, seed: number): Uint8Array {
  if (!Number.isInteger(models) || models < 2) throw new RangeError(`LiRA needs an integer number of reference models ≥ 2, got ${models}`);
  if (!Number.isInteger(samples) || samples < 0) throw new RangeError(`samples must be a non-negative integer, got ${samples}`);
  const random = new SeededRandom(seed);
  const mask = new Uint8Array(models * samples);
  const order = new Int32Array(models);
  const half = Math.floor(models / 2);
  for (let j = 0; j < samples; j++) {
    for (let m = 0; m < models; m++) order[m] = m;
    // Partial Fisher–Yates: the first ⌊k/2⌋ places are a uniform random subset.
    for (let i = 0; i < half; i++) {
      const r = i + random.below(models - i);
      const t = order[i];
      order[i] = order[r];
      order[r] = t;
      mask[order[i] * samples + j] = 1;
    }
  }
  return mask;
}

export interface LiraOptions {
  /** Online: fit IN and OUT Gaussians (needs inMask). Offline: OUT only. */
  online: boolean;
  /**
   * 'global' pools every sample's squared deviations from its own centre into one σ_in and one
   * σ_out (the paper: better below 64 models); 'per-example' fits σ per sample. Default: global
   * when k < 64. Both divide by the count (numpy's std, ddof 0). The reference plot.py's
   * fix_variance instead takes np.std of all IN values around their grand mean, which adds the
   * spread between samples' centres.
   */
  variance?: 'global' | 'per-example';
  /** How μ is estimated across reference models (paper: mean; reference code: median). Default 'mean'. */
  center?: 'mean' | 'median';
  /** Offline test: 'one-sided' = log Pr[Z < φ] under N(μ_out, σ_out) (paper eq. 4); 'two-sided' = −log pdf (reference plot.py). Default 'one-sided'. */
  offlineTest?: 'one-sided' | 'two-sided';
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);
/** Added to every σ, as the reference code does, so that identical reference values give finite scores. */
const SIGMA_FLOOR = 1e-30;

function logPdf(x: number, mu: number, sigma: number): number {
  const t = (x - mu) / sigma;
  return -0.5 * t * t - Math.log(sigma) - HALF_LOG_2PI;
}

/**
 * log Φ(x), accurate to a few ulps for every x: the Taylor series Φ(x) = ½ + ϕ(x)·Σ x^(2j+1)/(2j+1)!!
 * near 0, and in the tails Laplace's continued fraction for the Mills ratio, evaluated in logs so
 * that log Φ(−40) = −804.6 does not underflow.
 */
export function logNormalCdf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (Math.abs(x) < 2.5) {
    let term = x;
    let sum = x;
    for (let j = 1; Math.abs(term) > 1e-17 * Math.abs(sum); j++) {
      term *= (x * x) / (2 * j + 1);
      sum += term;
    }
    return Math.log(0.5 + Math.exp(-0.5 * x * x - HALF_LOG_2PI) * sum);
  }
  const t = Math.abs(x);
  // Tail mass 1 − Φ(t) = ϕ(t) / C(t), C(t) = t + 1/(t + 2/(t + 3/(t + …))): modified Lentz.
  const tiny = 1e-300;
  let c = t;
  let f = t;
  let d = 0;
  for (let j = 1; j < 5000; j++) {
    d = t + j * d;
    d = Math.abs(d) < tiny ? 1 / tiny : 1 / d;
    c = t + j / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const logTail = -0.5 * t * t - HALF_LOG_2PI - Math.log(f);
  return x < 0 ? logTail : Math.log1p(-Math.exp(logTail));
}

function center(values: number[], how: 'mean' | 'median'): number {
  if (how === 'mean') return values.reduce((a, b) => a + b, 0) / values.length;
  const sorted = values.slice().sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

interface Fit {
  mu: Float64Array;
  sigma: Float64Array;
}

/** μ and σ per sample of the reference values that `pick` selects (one group: IN or OUT). */
function fitGroup(reference: Float64Array, k: number, n: number, pick: (model: number, sample: number) => boolean, how: 'mean' | 'median', globalVariance: boolean, group: string): Fit {
  const mu = new Float64Array(n);
  const sigma = new Float64Array(n);
  let squares = 0;
  let count = 0;
  for (let j = 0; j < n; j++) {
    const values: number[] = [];
    for (let m = 0; m < k; m++) if (pick(m, j)) values.push(reference[m * n + j]);
    if (values.length === 0) throw new RangeError(`sample ${j} has no ${group} reference model: give every sample both IN and OUT models (inclusionMatrix does)`);
    if (!globalVariance && values.length < 2) throw new RangeError(`sample ${j} has one ${group} reference model: a per-example σ needs 2 or more; use variance 'global'`);
    mu[j] = center(values, how);
    const s = values.reduce((acc, v) => acc + (v - mu[j]) ** 2, 0);
    sigma[j] = Math.sqrt(s / values.length);
    squares += s;
    count += values.length;
  }
  if (globalVariance) sigma.fill(Math.sqrt(squares / count));
  for (let j = 0; j < n; j++) sigma[j] += SIGMA_FLOOR;
  return { mu, sigma };
}

/**
 * Λ per sample, larger = member. observed [n]: the target's φ per sample; reference [k × n]: each
 * reference model's φ on every sample; inMask [k × n]: 1 where that reference model trained on
 * the sample (required online; offline it marks the models to leave out, and without it all k
 * are OUT models).
 * - Online: log N(φ; μ_in, σ_in) − log N(φ; μ_out, σ_out).
 * - Offline, one-sided: log Φ((φ − μ_out)/σ_out); two-sided: −log N(φ; μ_out, σ_out).
 * A sample with no IN model (online) or no OUT model, or with a single one under per-example
 * variance, is an error naming it: those Gaussians cannot be fitted. Every σ gets +1e-30, as in
 * the reference code.
 */
export function liraScores(observed: Float64Array, reference: Float64Array, inMask: Uint8Array | undefined, options: LiraOptions): Float64Array {
  const n = observed.length;
  if (n === 0) return new Float64Array(0);
  const k = reference.length / n;
  if (!Number.isInteger(k) || k < 1) throw new RangeError(`reference holds ${reference.length} values: expected k reference models × ${n} samples`);
  if (inMask && inMask.length !== k * n) throw new RangeError(`inMask holds ${inMask.length} entries, expected ${k} models × ${n} samples`);
  if (options.online && !inMask) throw new RangeError('online LiRA needs inMask: which reference models trained on each sample');
  const variance = options.variance ?? (k < 64 ? 'global' : 'per-example');
  if (variance !== 'global' && variance !== 'per-example') throw new RangeError(`unknown variance '${variance}': use 'global' or 'per-example'`);
  const how = options.center ?? 'mean';
  if (how !== 'mean' && how !== 'median') throw new RangeError(`unknown center '${how}': use 'mean' or 'median'`);
  const test = options.offlineTest ?? 'one-sided';
  if (test !== 'one-sided' && test !== 'two-sided') throw new RangeError(`unknown offlineTest '${test}': use 'one-sided' or 'two-sided'`);

  const global = variance === 'global';
  const isIn = (m: number, j: number) => inMask !== undefined && inMask[m * n + j] !== 0;
  const out = fitGroup(reference, k, n, (m, j) => !isIn(m, j), how, global, 'OUT');
  if (options.online) {
    const fitted = fitGroup(reference, k, n, isIn, how, global, 'IN');
    return observed.map((x, j) => logPdf(x, fitted.mu[j], fitted.sigma[j]) - logPdf(x, out.mu[j], out.sigma[j]));
  }
  return observed.map((x, j) => (test === 'one-sided' ? logNormalCdf((x - out.mu[j]) / out.sigma[j]) : -logPdf(x, out.mu[j], out.sigma[j])));
}
