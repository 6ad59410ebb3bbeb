/**
 * Row-wise softmax of logits [n, k] at temperature T, or log-softmax when `log` is true.
 * A row holding NaN or +Inf, or only -Inf, has no defined softmax and becomes all NaN.
 */
export function softmax(logits: ArrayLike<number>, k: number, temperature = 1, log = false): Float64Array {
  const n = logits.length / k;
  const out = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: k }, (_, j) => logits[i * k + j] / temperature);
    const m = row.reduce((a, b) => Math.max(a, b), -Infinity);
    if (row.some(Number.isNaN) || !Number.isFinite(m)) {
      out.fill(NaN, i * k, (i + 1) * k);
      continue;
    }
    let sum = 0;
    for (const z of row) sum += Math.exp(z - m);
    const logSum = Math.log(sum);
    for (let j = 0; j < k; j++) out[i * k + j] = log ? row[j] - m - logSum : Math.exp(row[j] - m) / sum;
  }
  return out;
}
