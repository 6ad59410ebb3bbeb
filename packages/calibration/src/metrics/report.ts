// All metrics of one batch from one softmax, so that a model before and after calibration is
// compared on numbers computed the same way, with the binning that produced them attached.
import type { Binning } from '@onnx-audit/native';
import { binScores, maximumBinError, resolveBinning, weightedCalibrationError, type BinningOptions } from './bins.js';
import { meanClassCalibrationError } from './classwise.js';
import { predictionsFromLogits } from './predictions.js';
import { accuracyOf, brierScoreOf, negativeLogLikelihoodOf } from './scores.js';
import { histogramOf, reliabilityOf, type HistogramBin, type ReliabilityBin } from './top-label.js';

export interface CalibrationReport {
  samples: number;
  classes: number;
  /** Bin count used by every binned metric. */
  bins: number;
  /** Binning of the top-label metrics (ece, mce, reliability); classwiseEce is always equal-width and ace equal-mass. */
  binning: Binning;
  accuracy: number;
  /** Natural log. */
  nll: number;
  /** Summed over classes, range [0, 2]. */
  brier: number;
  ece: number;
  mce: number;
  classwiseEce: number;
  ace: number;
  reliability: ReliabilityBin[];
  /** Top-label confidences in equal-width bins, whatever `binning` is. */
  histogram: HistogramBin[];
}

/** Accuracy, NLL, Brier, ECE, MCE, classwise ECE, ACE, reliability data and a confidence histogram of logits [N, classes]. */
export async function calibrationReport(logits: Float32Array, labels: Int32Array, classes: number, options?: BinningOptions): Promise<CalibrationReport> {
  const { bins, binning } = resolveBinning(options);
  const p = await predictionsFromLogits(logits, labels, classes);
  const topLabel = await binScores(p.confidence, p.correct, bins, binning);
  const equalWidth = binning === 'equal-width' ? topLabel : await binScores(p.confidence, p.correct, bins, 'equal-width');
  return {
    samples: p.samples,
    classes,
    bins,
    binning,
    accuracy: accuracyOf(p),
    nll: await negativeLogLikelihoodOf(p),
    brier: brierScoreOf(p),
    ece: weightedCalibrationError(topLabel, p.samples),
    mce: maximumBinError(topLabel),
    classwiseEce: await meanClassCalibrationError(p, bins, 'equal-width'),
    ace: await meanClassCalibrationError(p, bins, 'equal-mass'),
    reliability: reliabilityOf(topLabel, binning === 'equal-width'),
    histogram: histogramOf(equalWidth),
  };
}
