// Post-hoc calibrators fitted on held-out (logits, labels). Fit on a validation split and judge on
// another: scored on their own fitting data they look better than they are.
import type { Calibrator, CalibrationMethod } from './calibrator.js';
import { fitHistogramBinning, type HistogramOptions } from './histogram.js';
import { fitIsotonic } from './isotonic.js';
import { fitMatrixScaling, fitVectorScaling, type LinearScalingOptions } from './linear-scaling.js';
import { fitTemperature, type TemperatureOptions } from './temperature.js';

export type { CalibratedOutput, CalibrationMethod, Calibrator, CalibratorDescription, FitReport } from './calibrator.js';
export { fitHistogramBinning, type HistogramOptions } from './histogram.js';
export { fitIsotonic } from './isotonic.js';
export type { LbfgsOptions } from './lbfgs.js';
export { fitMatrixScaling, fitVectorScaling, LinearScalingCalibrator, type LinearScalingOptions } from './linear-scaling.js';
export { OneVsRestCalibrator } from './one-vs-rest.js';
export { fitTemperature, TemperatureCalibrator, type TemperatureOptions } from './temperature.js';

export const CALIBRATION_METHODS: readonly CalibrationMethod[] = ['temperature', 'vector', 'matrix', 'histogram', 'isotonic'];

/** Options of every method together; each method reads its own. */
export type CalibratorOptions = TemperatureOptions & LinearScalingOptions & HistogramOptions;

/** Fits the calibrator named by `method` (for callers that take the method as a setting). */
export function fitCalibrator(method: CalibrationMethod, logits: Float32Array, labels: Int32Array, classes: number, options: CalibratorOptions = {}): Promise<Calibrator> {
  switch (method) {
    case 'temperature':
      return fitTemperature(logits, labels, classes, options);
    case 'vector':
      return fitVectorScaling(logits, labels, classes, options);
    case 'matrix':
      return fitMatrixScaling(logits, labels, classes, options);
    case 'histogram':
      return fitHistogramBinning(logits, labels, classes, options);
    case 'isotonic':
      return fitIsotonic(logits, labels, classes);
  }
}
