// What every gradient attribution method shares: the gradient of one logit Z_c (not of a loss)
// with respect to the input, averaged with weights over several points per sample (noisy copies
// for SmoothGrad, points along a path for Integrated Gradients). The points of many samples go
// into one lossGradient call, so a model is run on full batches however few points each sample has.
import type { DifferentiableClassifier } from '../classifier/classifier.js';

export interface AttributionContext {
  /** Called after each batch with the gradients (points differentiated) done and due. */
  progress?: (done: number, total: number) => void;
  /** Stops the method between batches; it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * Points per lossGradient call (default 256): bounds the memory held at once to 256 points and
   * their gradients, and how long an abort waits. The classifier still cuts each call into its
   * own runs, so this only needs to be a few of them, not a match.
   */
  batchSize?: number;
}

/**
 * Checks the inputs of an attribution call and returns the number of samples. The input box is
 * not enforced: gradients are defined outside it, and SmoothGrad and Integrated Gradients
 * deliberately evaluate points that may lie outside it.
 */
export function checkInputs(classifier: DifferentiableClassifier, x: Float32Array, classes: Int32Array, o: AttributionContext): number {
  const d = classifier.sampleSize;
  if (classes.length === 0) throw new RangeError('no samples to explain');
  if (x.length !== classes.length * d) throw new RangeError(`x holds ${x.length} values for ${classes.length} classes of ${d} values each`);
  const bad = classes.findIndex((c) => !(c >= 0 && c < classifier.classes));
  if (bad >= 0) throw new RangeError(`class ${classes[bad]} of sample ${bad} is not a class of this ${classifier.classes}-class model`);
  const nonFinite = x.findIndex((v) => !Number.isFinite(v));
  if (nonFinite >= 0) throw new RangeError(`x holds ${x[nonFinite]} at flat index ${nonFinite}`);
  if (o.batchSize !== undefined && !(Number.isInteger(o.batchSize) && o.batchSize >= 1)) throw new RangeError(`batchSize must be an integer ≥ 1, got ${o.batchSize}`);
  return classes.length;
}

/**
 * Writes the points of flat rows [first, first + count) into `out` ([count, d]); row r is point
 * r % m of sample ⌊r / m⌋.
 */
export type PointFill = (first: number, count: number, out: Float32Array) => Promise<void> | void;

/**
 * G_i = Σ_s weights[s] · ∇_x Z_{c_i}(p_is) for every sample i, in float64, over the m points p_is
 * that `fill` writes. ∇Z_c comes from the 'dot' loss with a one-hot cotangent on the logits: the
 * gradient of the logit itself, before any trailing Softmax (a probability saturates near 1 and
 * its gradient vanishes where the model is most confident; the logit's does not).
 */
export async function weightedLogitGradients(classifier: DifferentiableClassifier, classes: Int32Array, weights: Float64Array, fill: PointFill, o: AttributionContext): Promise<Float64Array> {
  const d = classifier.sampleSize, k = classifier.classes, m = weights.length;
  const total = classes.length * m;
  const chunk = Math.min(o.batchSize ?? 256, total);
  const points = new Float32Array(chunk * d);
  const cotangent = new Float32Array(chunk * k);
  const sum = new Float64Array(classes.length * d);
  for (let first = 0; first < total; first += chunk) {
    o.signal?.throwIfAborted();
    const count = Math.min(chunk, total - first);
    const x = points.subarray(0, count * d);
    await fill(first, count, x);
    const oneHot = cotangent.subarray(0, count * k).fill(0);
    for (let r = 0; r < count; r++) oneHot[r * k + classes[Math.floor((first + r) / m)]] = 1;
    const { gradient } = await classifier.lossGradient(x, { kind: 'dot', cotangent: oneHot });
    for (let r = 0; r < count; r++) {
      const row = first + r, w = weights[row % m], at = Math.floor(row / m) * d;
      for (let j = 0; j < d; j++) sum[at + j] += w * gradient[r * d + j];
    }
    o.progress?.(first + count, total);
  }
  return sum;
}
