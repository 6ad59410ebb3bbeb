// Calibration of every class's probability, not only the top one: a model can be calibrated on
// its confident predictions and still be wrong about the runner-up classes.
import type { Binning } from '@onnx-audit/native';
import { binScores, resolveBinning, weightedCalibrationError } from './bins.js';
import { predictionsFromLogits, type Predictions } from './predictions.js';

/** (1/K) Σ_k Σ_b (n_bk/N)·|freq_k(b) − mean p_k(b)|, each class's probability binned on its own. */
export async function meanClassCalibrationError(p: Predictions, bins: number, binning: Binning): Promise<number> {
  const scores = new Float32Array(p.samples);
  const isClass = new Uint8Array(p.samples);
  let total = 0;
  for (let k = 0; k < p.classes; k++) {
    for (let i = 0; i < p.samples; i++) {
      scores[i] = p.probabilities[i * p.classes + k];
      isClass[i] = p.labels[i] === k ? 1 : 0;
    }
    total += weightedCalibrationError(await binScores(scores, isClass, bins, binning), p.samples);
  }
  return total / p.classes;
}

/** Classwise ECE (Kull et al. 2019): the mean over classes of each class's ECE, equal-width bins (default 15). */
export async function classwiseCalibrationError(logits: Float32Array, labels: Int32Array, classes: number, options?: { bins?: number }): Promise<number> {
  const { bins } = resolveBinning(options);
  return meanClassCalibrationError(await predictionsFromLogits(logits, labels, classes), bins, 'equal-width');
}

/**
 * Adaptive calibration error (Nixon et al. 2019): classwise ECE with equal-mass bins (default 15),
 * bins weighted by their count; with N a multiple of the bin count that is Nixon's 1/(KR) Σ form.
 */
export async function adaptiveCalibrationError(logits: Float32Array, labels: Int32Array, classes: number, options?: { bins?: number }): Promise<number> {
  const { bins } = resolveBinning(options);
  return meanClassCalibrationError(await predictionsFromLogits(logits, labels, classes), bins, 'equal-mass');
}
