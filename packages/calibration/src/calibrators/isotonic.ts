// Isotonic regression (Zadrozny & Elkan 2002), per class one-vs-rest: the non-decreasing function
// of p_k closest in squared error to the indicators 1[y = k], by pool-adjacent-violators. Samples
// with equal p_k are pooled first, so ties cannot be ordered arbitrarily. As scikit-learn's
// IsotonicRegression does, predictions interpolate linearly between the ends of the fitted blocks
// and are clamped to the first and last block's values outside the fitted range.
import { type ClassMap, fitOneVsRest, type OneVsRestCalibrator } from './one-vs-rest.js';

/** Per-class isotonic regression, renormalised; apply() returns log-probabilities. */
export async function fitIsotonic(logits: Float32Array, labels: Int32Array, classes: number): Promise<OneVsRestCalibrator> {
  return fitOneVsRest('isotonic', logits, labels, classes, {}, isotonicMap);
}

interface Block {
  sum: number;
  weight: number;
  from: number;
  to: number;
}

function isotonicMap(probabilities: Float64Array, positive: Uint8Array): ClassMap {
  const order = Uint32Array.from(probabilities.keys()).sort((a, b) => probabilities[a] - probabilities[b]);
  const blocks: Block[] = [];
  for (const i of order) {
    const p = probabilities[i];
    const top = blocks.at(-1);
    if (top && top.to === p) {
      top.sum += positive[i];
      top.weight++;
    } else {
      blocks.push({ sum: positive[i], weight: 1, from: p, to: p });
    }
    // Pool while the newest block's mean is not above its predecessor's.
    while (blocks.length > 1) {
      const last = blocks[blocks.length - 1], previous = blocks[blocks.length - 2];
      if (previous.sum / previous.weight < last.sum / last.weight) break;
      previous.sum += last.sum;
      previous.weight += last.weight;
      previous.to = last.to;
      blocks.pop();
    }
  }
  const x: number[] = [], y: number[] = [];
  for (const b of blocks) {
    x.push(b.from);
    y.push(b.sum / b.weight);
    if (b.to > b.from) {
      x.push(b.to);
      y.push(b.sum / b.weight);
    }
  }
  return { value: (p) => interpolate(x, y, p), parameters: { x, y } };
}

/** Piecewise-linear through (x, y), x increasing, constant beyond the ends. */
function interpolate(x: number[], y: number[], p: number): number {
  if (!(p > x[0])) return y[0];
  if (p >= x[x.length - 1]) return y[y.length - 1];
  let lo = 0, hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= p) lo = mid;
    else hi = mid;
  }
  return y[lo] + ((y[hi] - y[lo]) * (p - x[lo])) / (x[hi] - x[lo]);
}
