// Per-sample signals the score-based membership attacks rank by, from a model's logits. Every
// score follows one convention, larger = more likely a member, so that any of them can be fed to
// the same ROC code (mia_calibration.md §2.1–2.2, seqmia.md §4).
import { membershipMetrics } from '@onnx-audit/native';

export const METRIC_SIGNALS = ['loss', 'max', 'sd', 'entropy', 'mentropy'] as const;
export type MetricSignal = (typeof METRIC_SIGNALS)[number];

/** Rows of logits [n, classes] with one label per row; throws otherwise. */
export function checkLogits(logits: Float32Array, labels: Int32Array, classes: number): number {
  if (!Number.isInteger(classes) || classes < 2) throw new RangeError(`classes must be an integer ≥ 2, got ${classes}`);
  const n = labels.length;
  if (logits.length !== n * classes) throw new RangeError(`logits hold ${logits.length} values, expected ${n} labels × ${classes} classes`);
  for (let i = 0; i < n; i++) {
    if (labels[i] < 0 || labels[i] >= classes) throw new RangeError(`label ${labels[i]} at index ${i} is outside [0, ${classes})`);
  }
  return n;
}

/**
 * Per-sample membership score of a metric, larger = member: −loss, max p, SD of p, −entropy,
 * −modified entropy (native membershipMetrics, float64; its log(1 − p) terms come from sums of
 * exponentials, so m-entropy of z = [30, 0, 0, 0], y = 1 is 58.90, not float32's 99.08).
 */
export async function metricScores(logits: Float32Array, labels: Int32Array, classes: number, metric: MetricSignal): Promise<Float64Array> {
  if (!METRIC_SIGNALS.includes(metric)) throw new RangeError(`unknown metric '${metric}': use one of ${METRIC_SIGNALS.join(', ')}`);
  checkLogits(logits, labels, classes);
  const m = await membershipMetrics(logits, labels, classes);
  const negate = (v: Float64Array) => v.map((x) => -x);
  switch (metric) {
    case 'loss':
      return negate(m.loss);
    case 'max':
      return m.maxProb.slice();
    case 'sd':
      return m.stdDev.slice();
    case 'entropy':
      return negate(m.entropy);
    case 'mentropy':
      return negate(m.modifiedEntropy);
  }
}

/**
 * LiRA's logit-scaled confidence φ = log(p_y / (1 − p_y)) = z_y − log Σ_{k≠y} exp z_k, in float64
 * (mia_calibration.md §2.1). The log-sum-exp form stays exact where p_y rounds to 1, which the
 * log(1 − p_y) form (and the reference code's +1e-45) cannot resolve. Non-finite logits give a
 * non-finite φ.
 */
export function logitScaledConfidence(logits: Float32Array, labels: Int32Array, classes: number): Float64Array {
  const n = checkLogits(logits, labels, classes);
  const phi = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    const y = labels[i];
    let top = -Infinity;
    for (let k = 0; k < classes; k++) if (k !== y) top = Math.max(top, logits[row + k]);
    let sum = 0;
    for (let k = 0; k < classes; k++) if (k !== y) sum += Math.exp(logits[row + k] - top);
    phi[i] = logits[row + y] - top - Math.log(sum);
  }
  return phi;
}
