// What every fitted calibrator offers, whatever its method. Outputs are always something a softmax
// turns into the calibrated probabilities, so metrics and attacks take them as they take logits.
import type { ModelProto } from 'onnx-buf';

export type CalibrationMethod = 'temperature' | 'vector' | 'matrix' | 'histogram' | 'isotonic';

/**
 * 'logits' for the scaling methods; 'log-probabilities' for the binning methods, which are valid
 * logits too (softmax(log p) = p) and may hold −Infinity where a calibrated probability is 0.
 */
export type CalibratedOutput = 'logits' | 'log-probabilities';

/** How the fit went: optimiser iterations and passes over the data (one per loss evaluation). */
export interface FitReport {
  iterations: number;
  passes: number;
  converged: boolean;
  /** Mean NLL on the fitting data before and after calibration. */
  nllBefore?: number;
  nllAfter?: number;
  milliseconds: number;
}

/** A JSON-ready account of a calibrator: enough to reproduce it. */
export interface CalibratorDescription {
  method: CalibrationMethod;
  classes: number;
  output: CalibratedOutput;
  parameters: Record<string, unknown>;
  fit: FitReport;
}

export interface Calibrator {
  readonly method: CalibrationMethod;
  readonly classes: number;
  readonly output: CalibratedOutput;
  /** Calibrated logits or log-probabilities (see `output`) of logits [n, classes]. */
  apply(logits: Float32Array): Float32Array;
  describe(): CalibratorDescription;
  /** The model with this calibrator appended to its logits; throws for methods that cannot be exported. */
  toOnnx(model: ModelProto): ModelProto;
}

/** Rows of logits [n, classes], after checking the labels (when given) fit them. */
export function checkShape(logits: Float32Array, classes: number, labels?: Int32Array): number {
  if (!Number.isInteger(classes) || classes < 2) throw new RangeError(`classes must be an integer ≥ 2, got ${classes}`);
  if (logits.length % classes !== 0) throw new RangeError(`${logits.length} logits are not a whole number of rows of ${classes} classes`);
  const n = logits.length / classes;
  if (labels) {
    if (labels.length !== n) throw new RangeError(`${labels.length} labels for ${n} rows of logits`);
    if (n === 0) throw new RangeError('no samples to fit on');
    const bad = labels.findIndex((y) => y < 0 || y >= classes);
    if (bad >= 0) throw new RangeError(`label ${labels[bad]} at row ${bad} is outside [0, ${classes})`);
  }
  return n;
}
