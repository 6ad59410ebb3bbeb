// The binning every binned metric shares: the native kernel sorts scores into bins, and the
// calibration error of a set of bins is read off its per-bin counts, means and frequencies.
import { calibrationBins, type Binning, type CalibrationBins } from '@onnx-audit/native';

export type { Binning } from '@onnx-audit/native';

export interface BinningOptions {
  /** Number of bins (default 15, as Guo et al. 2017). */
  bins?: number;
  /**
   * 'equal-width' (default): bin b is [b/B, (b+1)/B), the last bin closed so that 1 falls in it.
   * 'equal-mass': scores sorted ascending (ties by sample index), bin b holds the ranks
   * [floor(bN/B), floor((b+1)N/B)), so counts differ by at most one.
   */
  binning?: Binning;
}

export const DEFAULT_BINS = 15;
const MAX_BINS = 1 << 20; // the native kernel's limit

export function resolveBinning(options: BinningOptions = {}): { bins: number; binning: Binning } {
  const bins = options.bins ?? DEFAULT_BINS;
  const binning = options.binning ?? 'equal-width';
  if (!Number.isInteger(bins) || bins < 1 || bins > MAX_BINS) throw new RangeError(`bins must be an integer in [1, ${MAX_BINS}], got ${bins}`);
  if (binning !== 'equal-width' && binning !== 'equal-mass') throw new RangeError(`binning must be 'equal-width' or 'equal-mass', got '${String(binning)}'`);
  return { bins, binning };
}

/** Bins scores in [0, 1] against 0/1 outcomes: per bin the count, mean score and outcome frequency. */
export function binScores(scores: Float32Array, outcomes: Uint8Array, bins: number, binning: Binning): Promise<CalibrationBins> {
  return calibrationBins(scores, outcomes, { bins, binning });
}

/** Σ_b (n_b/N)·|freq_b − mean_b|; empty bins weigh nothing. */
export function weightedCalibrationError(b: CalibrationBins, samples: number): number {
  let total = 0;
  for (let i = 0; i < b.count.length; i++) {
    if (b.count[i] > 0) total += b.count[i] * Math.abs(b.accuracy[i] - b.meanConfidence[i]);
  }
  return total / samples;
}

/** max_b |freq_b − mean_b| over the non-empty bins. */
export function maximumBinError(b: CalibrationBins): number {
  let worst = 0;
  for (let i = 0; i < b.count.length; i++) {
    if (b.count[i] > 0) worst = Math.max(worst, Math.abs(b.accuracy[i] - b.meanConfidence[i]));
  }
  return worst;
}
