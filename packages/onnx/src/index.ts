export { runtimeBinaryDir, runtimeInfo } from './runtime.js';
export type { ProviderInfo, RuntimeInfo } from './runtime.js';
export { ModelError } from './model/errors.js';
export { allTensors, decodeModel, encodeModel, readModel, resolveExternalData, writeModel } from './model/io.js';
export type { DecodeOptions } from './model/io.js';
export { isDefaultDomain, nodeLabel, validateModel } from './model/validate.js';
export {
  dataTypeName,
  elementCount,
  elementSize,
  float16ToFloat32,
  float32ToFloat16,
  tensorDims,
  tensorFromArray,
  tensorToArray,
  tensorValueInfo,
} from './model/tensor.js';
export type { TensorArray } from './model/tensor.js';
export { formatInspection, inspectModel, opKey } from './model/inspect.js';
export type { Dim, FinalActivation, InspectionReport, ValueSummary } from './model/inspect.js';
export { GRADIENT_OPS } from './model/gradient-ops.js';
export { buildGradientModel, GradientError } from './autodiff/gradient.js';
export type { GradientModel, GradientOptions } from './autodiff/gradient.js';
export type { LossHead } from './autodiff/heads.js';
export { createSession, resolveProvider } from './session.js';
export type { Device, SessionOptions } from './session.js';
export { dataInput, inputGradients } from './input-gradients.js';
export type { InputGradientOptions, InputGradients } from './input-gradients.js';
export { logitsValue } from './model/logits.js';
export type { LogitsValue } from './model/logits.js';
export { fixedBatchSize, logitsModel, predictLogits } from './inference.js';
export type { PredictOptions, Predictions } from './inference.js';
export { writeFileAtomic } from './atomic-write.js';
export { buildClassifier, INPUT_NAME, LOGITS_NAME, SMALL_IMAGE_CNN } from './builder/classifier.js';
export type { ClassifierSpec, Layer } from './builder/classifier.js';
export { train } from './train/trainer.js';
export type { EpochSummary, OptimizerName, StepReport, TrainingData, TrainOptions, TrainResult } from './train/trainer.js';
export type { Schedule } from './train/schedule.js';
export { TrainingError } from './train/errors.js';
export { reinitialize } from './train/init.js';
export { parameterLayout } from './train/parameters.js';
export type { ParameterLayout, Slot } from './train/parameters.js';
export { buildTrainingGraph, trainingModeModel } from './train/training-graph.js';
export { trainingModeLogits } from './train/training-mode.js';
export type { TrainingModeOptions } from './train/training-mode.js';
export type { DropoutMask, TrainingGraph } from './train/training-graph.js';
export { slotsAsInputs } from './train/parameters.js';
export { withInputNormalisation } from './model/normalisation.js';
export type { Normalisation } from './model/normalisation.js';
export { attribute, GraphEditor } from './autodiff/graph.js';
export type { AttrValue } from './autodiff/graph.js';
export type { PerturbBatch } from './train/trainer.js';
