// Histogram binning (Zadrozny & Elkan 2001; Guo et al. 2017's multi-class form): per class,
// one-vs-rest, [0, 1] is cut into equal-width bins and p_k is replaced by the fraction of its
// bin's fitting samples whose label is k. The last bin is closed on the right, so p = 1 falls in
// it. A bin no fitting sample fell into keeps its midpoint: with no evidence, p_k stays about p_k.
import { fitOneVsRest, type OneVsRestCalibrator } from './one-vs-rest.js';

export interface HistogramOptions {
  /** Equal-width bins per class (default 15, as in Guo et al.). */
  bins?: number;
}

/** Per-class histogram binning, renormalised; apply() returns log-probabilities. */
export async function fitHistogramBinning(logits: Float32Array, labels: Int32Array, classes: number, options: HistogramOptions = {}): Promise<OneVsRestCalibrator> {
  const { bins = 15 } = options;
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const binOf = (p: number) => Math.min(Math.floor(p * bins), bins - 1);
  return fitOneVsRest('histogram', logits, labels, classes, { bins }, (probabilities, positive) => {
    const count = new Float64Array(bins), hits = new Float64Array(bins);
    probabilities.forEach((p, i) => {
      count[binOf(p)]++;
      hits[binOf(p)] += positive[i];
    });
    const frequency = Array.from(count, (c, b) => (c > 0 ? hits[b] / c : (b + 0.5) / bins));
    return { value: (p) => frequency[binOf(p)], parameters: { frequency, count: Array.from(count) } };
  });
}
