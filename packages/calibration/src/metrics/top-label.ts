// Top-label calibration: how well the confidence of the predicted class matches how often that
// prediction is right. ECE, MCE and the reliability diagram all read the same bins.
import type { CalibrationBins } from '@onnx-audit/native';
import { binScores, maximumBinError, resolveBinning, weightedCalibrationError, type BinningOptions } from './bins.js';
import { predictionsFromLogits, type Predictions } from './predictions.js';

/** One bin of a reliability diagram. Empty bins keep their place, with null where a mean is undefined. */
export interface ReliabilityBin {
  /** Bin edges: b/B and (b+1)/B for equal width; the smallest and largest confidence in the bin for equal mass (null when empty). */
  lower: number | null;
  upper: number | null;
  count: number;
  meanConfidence: number | null;
  accuracy: number | null;
  /** meanConfidence − accuracy: positive where the model is overconfident. */
  gap: number | null;
}

/** One bar of the confidence histogram: equal-width bins over [0, 1] of the top-label confidence. */
export interface HistogramBin {
  lower: number;
  upper: number;
  count: number;
}

export function topLabelBins(p: Predictions, options?: BinningOptions): Promise<CalibrationBins> {
  const { bins, binning } = resolveBinning(options);
  return binScores(p.confidence, p.correct, bins, binning);
}

export function reliabilityOf(b: CalibrationBins, equalWidth: boolean): ReliabilityBin[] {
  return Array.from(b.count, (count, i) => {
    const empty = count === 0;
    const edgesKnown = equalWidth || !empty;
    return {
      lower: edgesKnown ? b.lower[i] : null,
      upper: edgesKnown ? b.upper[i] : null,
      count,
      meanConfidence: empty ? null : b.meanConfidence[i],
      accuracy: empty ? null : b.accuracy[i],
      gap: empty ? null : b.meanConfidence[i] - b.accuracy[i],
    };
  });
}

export function histogramOf(equalWidthBins: CalibrationBins): HistogramBin[] {
  return Array.from(equalWidthBins.count, (count, i) => ({ lower: equalWidthBins.lower[i], upper: equalWidthBins.upper[i], count }));
}

/** Expected calibration error of the top label: Σ_b (n_b/N)·|acc_b − conf_b| (Naeini 2015, Guo 2017). */
export async function expectedCalibrationError(logits: Float32Array, labels: Int32Array, classes: number, options?: BinningOptions): Promise<number> {
  const p = await predictionsFromLogits(logits, labels, classes);
  return weightedCalibrationError(await topLabelBins(p, options), p.samples);
}

/** Maximum calibration error of the top label: max over non-empty bins of |acc_b − conf_b|. */
export async function maximumCalibrationError(logits: Float32Array, labels: Int32Array, classes: number, options?: BinningOptions): Promise<number> {
  const p = await predictionsFromLogits(logits, labels, classes);
  return maximumBinError(await topLabelBins(p, options));
}

/** Reliability-diagram data of the top label, one entry per bin (empty bins included). */
export async function reliabilityDiagram(logits: Float32Array, labels: Int32Array, classes: number, options?: BinningOptions): Promise<ReliabilityBin[]> {
  const p = await predictionsFromLogits(logits, labels, classes);
  return reliabilityOf(await topLabelBins(p, options), resolveBinning(options).binning === 'equal-width');
}

/** Counts of top-label confidences in `bins` equal-width bins over [0, 1] (default 15). */
export async function confidenceHistogram(logits: Float32Array, labels: Int32Array, classes: number, options?: { bins?: number }): Promise<HistogramBin[]> {
  const p = await predictionsFromLogits(logits, labels, classes);
  return histogramOf(await topLabelBins(p, { bins: options?.bins, binning: 'equal-width' }));
}
