// Accuracy and the two proper scoring rules. They need no binning, so they are the numbers to
// trust when ECE moves with the choice of bins.
import { nllTemperature } from '@onnx-audit/native';
import { predictionsFromLogits, type Predictions } from './predictions.js';

export function accuracyOf(p: Predictions): number {
  let hits = 0;
  for (let i = 0; i < p.samples; i++) hits += p.correct[i];
  return hits / p.samples;
}

// From the logits in float64 (log-sum-exp), not from log(p): a float32 probability that rounds
// to 0 would make a finite loss infinite.
export async function negativeLogLikelihoodOf(p: Predictions): Promise<number> {
  return (await nllTemperature(p.logits, p.labels, p.classes, 1)).nll;
}

export function brierScoreOf(p: Predictions): number {
  let total = 0;
  for (let i = 0; i < p.samples; i++) {
    for (let k = 0; k < p.classes; k++) {
      const target = p.labels[i] === k ? 1 : 0;
      total += (p.probabilities[i * p.classes + k] - target) ** 2;
    }
  }
  return total / p.samples;
}

/** Fraction of samples whose top class (argmax of the logits, ties to the lower index) is the label. */
export async function accuracy(logits: Float32Array, labels: Int32Array, classes: number): Promise<number> {
  return accuracyOf(await predictionsFromLogits(logits, labels, classes));
}

/** Mean negative log-likelihood of the labels, natural log: −(1/N) Σ_i log p_{i,y_i}. */
export async function negativeLogLikelihood(logits: Float32Array, labels: Int32Array, classes: number): Promise<number> {
  return negativeLogLikelihoodOf(await predictionsFromLogits(logits, labels, classes));
}

/** Multiclass Brier score, summed over classes (range [0, 2]): (1/N) Σ_i Σ_k (p_ik − 1[y_i = k])². */
export async function brierScore(logits: Float32Array, labels: Int32Array, classes: number): Promise<number> {
  return brierScoreOf(await predictionsFromLogits(logits, labels, classes));
}
