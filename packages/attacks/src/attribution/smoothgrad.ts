// SmoothGrad (Smilkov et al. 2017): the mean of ∂Z_c/∂x over noisy copies x + N(0, σ²I). A ReLU
// network's gradient jumps from one linear region to the next, so a single gradient is mostly
// noise at the pixel scale; averaging over a neighbourhood keeps what the neighbourhood agrees on.
import { randomNormal } from '@onnx-audit/native';

import type { DifferentiableClassifier } from '../classifier/classifier.js';
import { checkCount } from '../attacks/options.js';
import { type AttributionContext, checkInputs, weightedLogitGradients } from './gradients.js';

export interface SmoothGradOptions extends AttributionContext {
  /** Noisy copies per sample (default 50: the paper finds the map stops changing visibly beyond ~50). */
  samples?: number;
  /**
   * σ as a fraction of the box width hi − lo (default 0.15: the paper's best maps come from
   * 10–20 % of the input range; much less reproduces the raw gradient, much more blurs it).
   */
  noise?: number;
  /** Seeds the noise (default 0); the same seed gives the same map, whatever the batch size. */
  seed?: number;
}

export interface SmoothGradSettings {
  method: 'smoothgrad';
  samples: number;
  noise: number;
  seed: number;
}

export interface SmoothGradResult {
  /** [n, sampleSize], in the layout of x. */
  attributions: Float32Array;
  /** The settings used, with σ in input units. */
  settings: SmoothGradSettings & { sigma: number };
}

/** The options with their defaults, checked (RangeError) before any work. */
export function smoothGradSettings(o: SmoothGradOptions = {}): SmoothGradSettings {
  const noise = o.noise ?? 0.15;
  if (!(Number.isFinite(noise) && noise > 0)) throw new RangeError(`noise must be a finite number > 0, got ${noise}`);
  const seed = o.seed ?? 0;
  if (!(Number.isSafeInteger(seed) && seed >= 0)) throw new RangeError(`seed must be an integer ≥ 0, got ${seed}`);
  return { method: 'smoothgrad', samples: checkCount('samples', o.samples ?? 50), noise, seed };
}

/**
 * The mean gradient of logit classes[i] over noisy copies of x_i. The copies are not clipped to
 * the box: clipping would pile the noise of saturated inputs (an MNIST background at 0) onto the
 * bound, a biased, one-sided neighbourhood, while the gradient is as well defined outside the box
 * as inside it.
 */
export async function smoothGrad(classifier: DifferentiableClassifier, x: Float32Array, classes: Int32Array, options: SmoothGradOptions = {}): Promise<SmoothGradResult> {
  const settings = smoothGradSettings(options);
  checkInputs(classifier, x, classes, options);
  const d = classifier.sampleSize, m = settings.samples;
  const sigma = settings.noise * (classifier.box.hi - classifier.box.lo);
  // Copy s of sample i draws its noise at stream position (i·m + s)·d: the same numbers whatever
  // the batches are cut into.
  const sum = await weightedLogitGradients(classifier, classes, new Float64Array(m).fill(1 / m), async (first, count, out) => {
    await randomNormal(count * d, { seed: settings.seed, offset: first * d, out });
    for (let r = 0; r < count; r++) {
      const at = Math.floor((first + r) / m) * d;
      for (let j = 0; j < d; j++) out[r * d + j] = x[at + j] + sigma * out[r * d + j];
    }
  }, options);
  return { attributions: Float32Array.from(sum), settings: { ...settings, sigma } };
}
