// Feature squeezing as a detector (Xu, Evans & Qi, NDSS 2018): an adversarial input tends to
// need its fine detail, so squeezing it (fewer bits, a median filter) moves the prediction far
// more than it moves a legitimate input's. The score is the largest L1 distance between the
// softmax on the input and the softmax on any squeezed copy; the squeezed models are the ONNX
// input transforms of transforms.ts, so a detector scores exactly what `defend` would deploy.
import type { ModelProto } from 'onnx-buf';

import type { Classifier } from '../classifier/classifier.js';
import { onnxPredictor, type OnnxClassifierOptions } from '../classifier/onnx.js';
import { type InputTransform, withInputTransforms } from './transforms.js';

export interface SqueezeScores {
  /** max over squeezers of ‖softmax(f(x)) − softmax(f(s(x)))‖₁, per sample [n]. */
  score: Float64Array;
  /** The L1 distance for each squeezer, in the order given: distances[s][i]. */
  distances: Float64Array[];
}

export interface FeatureSqueezingDetector {
  readonly squeezers: readonly InputTransform[][];
  /** Per-sample detection scores, in float64 from float64 softmaxes of the models' logits. */
  scores(x: Float32Array): Promise<Float64Array>;
  /** The scores with each squeezer's own distance beside them. */
  evaluate(x: Float32Array): Promise<SqueezeScores>;
  /** The threshold that flags at most ⌊fpr·n⌋ of `cleanX` (see thresholdForFpr). */
  calibrate(cleanX: Float32Array, fpr?: number): Promise<number>;
  /** 1 where score > threshold. */
  detect(x: Float32Array, threshold: number): Promise<Uint8Array>;
  release(): Promise<void>;
}

/**
 * The paper's squeezers for its datasets. Greyscale (MNIST): 1-bit depth, 2×2 and 3×3 median,
 * its best joint MNIST detector. Colour (CIFAR-10, ImageNet): 5-bit depth and 2×2 median, its
 * joint detectors less the non-local-means filter, which has no ONNX form here. Bit-depth
 * reduction assumes inputs in [0, 1].
 */
export function defaultSqueezers(sampleDims: readonly number[]): InputTransform[][] {
  if (sampleDims.length !== 3) throw new RangeError(`no default squeezers for samples of [${sampleDims}]: median filters need [C, H, W] images; name the squeezers`);
  return sampleDims[0] === 1
    ? [[{ kind: 'bits', depth: 1 }], [{ kind: 'median', size: 2 }], [{ kind: 'median', size: 3 }]]
    : [[{ kind: 'bits', depth: 5 }], [{ kind: 'median', size: 2 }]];
}

/** `median:2,bits:1`: a chain as parseTransforms reads it. */
export function formatSqueezer(chain: readonly InputTransform[]): string {
  return chain.map(formatTransform).join(',');
}

function formatTransform(t: InputTransform): string {
  switch (t.kind) {
    case 'median':
      return `median:${t.size}`;
    case 'bits':
      return `bits:${t.depth}`;
    case 'jpeg':
      return `jpeg:${t.quality}`;
    case 'noise':
      return `noise:${t.sigma}${t.seed !== undefined ? `:${t.seed}` : ''}`;
  }
}

/**
 * The smallest threshold t with #{score > t} ≤ ⌊fpr·n⌋: the (n − ⌊fpr·n⌋)-th smallest score.
 * Inputs are flagged when score > t, so scores tied with t are never flagged; when ties straddle
 * the quantile, fewer than ⌊fpr·n⌋ are flagged, as no threshold can flag exactly that many. The
 * false-positive rate on `scores` is therefore ≤ fpr and the closest to it that a threshold gives.
 * fpr·n is floored after a 1e-9 allowance, so that 0.29·100 (28.999…) allows 29.
 */
export function thresholdForFpr(scores: ArrayLike<number>, fpr: number): number {
  checkFpr(fpr);
  const n = scores.length;
  if (n === 0) throw new RangeError('no clean scores to choose a threshold from');
  const sorted = Float64Array.from(scores).sort();
  if (Number.isNaN(sorted[n - 1])) throw new RangeError('the clean scores hold NaN; the model gives non-finite logits');
  const allowed = Math.floor(fpr * n + 1e-9);
  return sorted[n - 1 - allowed];
}

function checkFpr(fpr: number): void {
  if (!(fpr > 0 && fpr < 1)) throw new RangeError(`the false-positive rate must be in (0, 1), got ${fpr}`);
}

/**
 * A detector on `model` (its logits: a trailing Softmax is stripped by the predictor, and the
 * softmax is taken here in float64) with one squeezed copy per chain in `squeezers`.
 */
export async function featureSqueezing(model: ModelProto, squeezers: InputTransform[][], options: OnnxClassifierOptions = {}): Promise<FeatureSqueezingDetector> {
  if (squeezers.length === 0) throw new RangeError('feature squeezing needs at least one squeezer');
  const squeezed = squeezers.map((chain, s) => {
    if (chain.length === 0) throw new RangeError(`squeezer ${s + 1} is empty; each squeezer needs at least one transform`);
    try {
      return withInputTransforms(model, chain);
    } catch (error) {
      if (error instanceof RangeError) throw new RangeError(`squeezer '${formatSqueezer(chain)}': ${error.message}`);
      throw error;
    }
  });
  const opened: Classifier[] = [];
  try {
    for (const m of [model, ...squeezed]) opened.push(await onnxPredictor(m, options));
  } catch (error) {
    await Promise.all(opened.map((c) => c.release()));
    throw error;
  }
  return new Detector(squeezers.map((chain) => chain.slice()), opened[0], opened.slice(1));
}

class Detector implements FeatureSqueezingDetector {
  constructor(
    readonly squeezers: InputTransform[][],
    private readonly base: Classifier,
    private readonly squeezed: Classifier[],
  ) {}

  async evaluate(x: Float32Array): Promise<SqueezeScores> {
    if (x.length === 0) throw new RangeError('no samples to score');
    const k = this.base.classes;
    const reference = softmaxRows(await this.base.scores(x), k);
    const n = reference.length / k;
    const score = new Float64Array(n);
    const distances: Float64Array[] = [];
    for (const classifier of this.squeezed) {
      const p = softmaxRows(await classifier.scores(x), k);
      const distance = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        let sum = 0;
        for (let j = i * k; j < (i + 1) * k; j++) sum += Math.abs(reference[j] - p[j]);
        distance[i] = sum;
        if (sum > score[i]) score[i] = sum;
      }
      distances.push(distance);
    }
    return { score, distances };
  }

  async scores(x: Float32Array): Promise<Float64Array> {
    return (await this.evaluate(x)).score;
  }

  async calibrate(cleanX: Float32Array, fpr = 0.05): Promise<number> {
    checkFpr(fpr);
    if (cleanX.length === 0) throw new RangeError('no clean samples to calibrate on');
    return thresholdForFpr(await this.scores(cleanX), fpr);
  }

  async detect(x: Float32Array, threshold: number): Promise<Uint8Array> {
    if (Number.isNaN(threshold)) throw new RangeError('the threshold is NaN');
    return Uint8Array.from(await this.scores(x), (s) => (s > threshold ? 1 : 0));
  }

  async release(): Promise<void> {
    await Promise.all([this.base, ...this.squeezed].map((c) => c.release()));
  }
}

/** Row-wise softmax in float64, shifted by the row maximum. */
function softmaxRows(logits: Float32Array, k: number): Float64Array {
  const out = new Float64Array(logits.length);
  for (let start = 0; start < logits.length; start += k) {
    let max = -Infinity;
    for (let j = start; j < start + k; j++) max = Math.max(max, logits[j]);
    let sum = 0;
    for (let j = start; j < start + k; j++) sum += out[j] = Math.exp(logits[j] - max);
    for (let j = start; j < start + k; j++) out[j] /= sum;
  }
  return out;
}
