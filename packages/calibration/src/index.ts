// The public API of @onnx-audit/calibration.
export * from './metrics/index.js';
export * from './calibrators/index.js';
export { appendToLogits, CALIBRATION_METADATA_KEY } from './export.js';
