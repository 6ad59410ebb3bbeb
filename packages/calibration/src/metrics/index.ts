// Calibration metrics of logits with integer labels; conventions in the package README ("Metrics").
export { calibrationReport } from './report.js';
export type { CalibrationReport } from './report.js';
export { accuracy, negativeLogLikelihood, brierScore } from './scores.js';
export { expectedCalibrationError, maximumCalibrationError, reliabilityDiagram, confidenceHistogram } from './top-label.js';
export type { ReliabilityBin, HistogramBin } from './top-label.js';
export { classwiseCalibrationError, adaptiveCalibrationError } from './classwise.js';
export { DEFAULT_BINS } from './bins.js';
export type { Binning, BinningOptions } from './bins.js';
