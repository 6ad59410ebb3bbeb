/**
 * Mean NLL of softmax(z / T) over logits [n, k] and its first and second derivatives in T:
 * d/dT = mean (z_y - E_p[z]) / T^2, d2/dT2 = mean [-2 (z_y - E_p[z]) / T^3 + Var_p(z) / T^4].
 */
export function nllTemperature(logits: ArrayLike<number>, labels: ArrayLike<number>, k: number, temperature: number): { nll: number; d1: number; d2: number } {
  const n = labels.length;
  const T = temperature;
  let nll = 0;
  let d1 = 0;
  let d2 = 0;
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: k }, (_, j) => logits[i * k + j]);
    const zy = z[labels[i]];
    const m = z.reduce((a, b) => Math.max(a, b), -Infinity);
    const e = z.map((v) => Math.exp((v - m) / T));
    const sum = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / sum);
    let mean = 0;
    for (let j = 0; j < k; j++) if (p[j] > 0) mean += p[j] * z[j];
    let variance = 0;
    for (let j = 0; j < k; j++) if (p[j] > 0) variance += p[j] * (z[j] - mean) ** 2;
    nll += m / T + Math.log(sum) - zy / T;
    d1 += (zy - mean) / T ** 2;
    d2 += (-2 * (zy - mean)) / T ** 3 + variance / T ** 4;
  }
  return { nll: nll / n, d1: d1 / n, d2: d2 / n };
}

/**
 * Reliability-diagram bins of confidences in [0, 1] with 0/1 correctness flags.
 * Equal width: bin b = [b/B, (b+1)/B), the last bin closed so that c = 1 lands in bin B-1.
 * Equal mass: ranks of the confidences sorted ascending (ties by index), bin b holding ranks
 * [floor(b n / B), floor((b+1) n / B)); its edges are its smallest and largest confidence.
 * Empty bins report 0 for mean confidence, accuracy and (equal mass) edges.
 */
export function calibrationBins(
  confidence: ArrayLike<number>,
  correct: ArrayLike<number>,
  bins: number,
  binning: 'equal-width' | 'equal-mass',
): { count: Float64Array; meanConfidence: Float64Array; accuracy: Float64Array; lower: Float64Array; upper: Float64Array } {
  const n = confidence.length;
  const count = new Float64Array(bins);
  const meanConfidence = new Float64Array(bins);
  const accuracy = new Float64Array(bins);
  const lower = new Float64Array(bins);
  const upper = new Float64Array(bins);
  const add = (b: number, i: number) => {
    count[b] += 1;
    meanConfidence[b] += confidence[i];
    accuracy[b] += correct[i] !== 0 ? 1 : 0;
  };
  if (binning === 'equal-width') {
    for (let b = 0; b < bins; b++) {
      lower[b] = b / bins;
      upper[b] = (b + 1) / bins;
    }
    for (let i = 0; i < n; i++) add(Math.min(bins - 1, Math.max(0, Math.floor(confidence[i] * bins))), i);
  } else {
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => confidence[a] - confidence[b] || a - b);
    for (let b = 0; b < bins; b++) {
      const first = Math.floor((b * n) / bins);
      const last = Math.floor(((b + 1) * n) / bins);
      if (first === last) continue;
      lower[b] = confidence[order[first]];
      upper[b] = confidence[order[last - 1]];
      for (let r = first; r < last; r++) add(b, order[r]);
    }
  }
  for (let b = 0; b < bins; b++) {
    if (count[b] === 0) continue;
    meanConfidence[b] /= count[b];
    accuracy[b] /= count[b];
  }
  return { count, meanConfidence, accuracy, lower, upper };
}
