export const METRIC_NAMES = ['loss', 'maxProb', 'stdDev', 'entropy', 'modifiedEntropy', 'margin', 'logitConfidence'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/**
 * Per-sample membership-inference metrics of logits [n, k] with class-index labels. Every log is
 * taken of a sum of exponentials rather than of a rounded probability, so log(1 - p_j) stays exact
 * when p_j rounds to 1. Rows holding NaN or +Inf, or only -Inf, give NaN in every metric.
 */
export function membershipMetrics(logits: ArrayLike<number>, labels: ArrayLike<number>, k: number): Record<MetricName, Float64Array> {
  const n = labels.length;
  if (k < 2 || logits.length !== n * k) throw new RangeError('membershipMetrics: need k >= 2 and logits of length n * k');
  const out = Object.fromEntries(METRIC_NAMES.map((name) => [name, new Float64Array(n)])) as Record<MetricName, Float64Array>;
  for (let i = 0; i < n; i++) {
    const y = labels[i];
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new RangeError(`membershipMetrics: label ${y} outside [0, ${k})`);
    const z = Array.from({ length: k }, (_, j) => logits[i * k + j]);
    const m = z.reduce((a, b) => Math.max(a, b), -Infinity);
    if (z.some(Number.isNaN) || !Number.isFinite(m)) {
      for (const name of METRIC_NAMES) out[name][i] = NaN;
      continue;
    }
    const e = z.map((v) => Math.exp(v - m));
    // Sum of the others as prefix + suffix: no cancellation, unlike total - e_j.
    const before = new Float64Array(k + 1);
    const after = new Float64Array(k + 1);
    for (let j = 0; j < k; j++) before[j + 1] = before[j] + e[j];
    for (let j = k - 1; j >= 0; j--) after[j] = after[j + 1] + e[j];
    const sum = before[k];
    const logSum = Math.log(sum);
    const p = e.map((v) => v / sum);
    const logP = (j: number) => z[j] - m - logSum;
    const restSum = (j: number) => before[j] + after[j + 1];
    const logOneMinusP = (j: number) => Math.log(restSum(j)) - logSum;

    let entropy = 0;
    let squares = 0;
    let modified = -(restSum(y) / sum) * logP(y);
    let maxOther = -Infinity;
    for (let j = 0; j < k; j++) {
      if (p[j] > 0) entropy -= p[j] * logP(j); // 0 log 0 = 0
      squares += (p[j] - 1 / k) ** 2;
      if (j === y) continue;
      if (p[j] > 0) modified -= p[j] * logOneMinusP(j);
      maxOther = Math.max(maxOther, z[j]);
    }
    out.loss[i] = -logP(y);
    out.maxProb[i] = p.reduce((a, b) => Math.max(a, b), -Infinity);
    out.stdDev[i] = Math.sqrt(squares / k);
    out.entropy[i] = entropy;
    out.modifiedEntropy[i] = modified;
    out.margin[i] = z[y] - maxOther;
    out.logitConfidence[i] = logP(y) - logOneMinusP(y);
  }
  return out;
}
