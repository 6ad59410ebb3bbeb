// Plain float64 reference implementations of the native kernels (semantics: native/src/kernels/kernels.h),
// the ground truth that tests and benchmarks check the C++ addon against.
export { softmax } from './softmax.js';
export { METRIC_NAMES, membershipMetrics } from './metrics.js';
export type { MetricName } from './metrics.js';
export { nllTemperature, calibrationBins } from './calibration.js';
export { attackStep, project, perturbationNorms } from './attack.js';
export { philox4x32, philoxBlock, randomUniform, randomNormal, randomLinfBall, randomL2Ball, unitDirections } from './random.js';
export { sgdStep, adamStep } from './optimizers.js';
export type { SgdOptions, AdamOptions } from './optimizers.js';
export { gradientEstimate } from './gradientEstimate.js';
export { roc } from './roc.js';
