// The classifier an attack command works on, from its flags: the model in the user's input space
// (--mean/--std folded into its graph), the box from --input-range (default [0, 1]) checked
// against the data, white-box when the model's ops all have gradient rules.
import { NotDifferentiableError, onnxClassifier, onnxPredictor, type Classifier, type DifferentiableClassifier } from '@onnx-audit/attacks';
import { readModel, type SessionOptions } from '@onnx-audit/onnx';

import { UserError } from './errors.js';
import { checkInputRange, type InputSpaceFlags, modelInUserSpace } from './input-space.js';

export interface ClassifierFlags extends InputSpaceFlags {
  batchSize?: number;
}

export async function openClassifier(path: string, flags: ClassifierFlags, session: SessionOptions, data: { source: string; x: Float32Array; sampleDims: number[] }, access: 'white-box'): Promise<DifferentiableClassifier>;
export async function openClassifier(path: string, flags: ClassifierFlags, session: SessionOptions, data: { source: string; x: Float32Array; sampleDims: number[] }, access: 'white-box' | 'black-box'): Promise<Classifier>;
export async function openClassifier(path: string, flags: ClassifierFlags, session: SessionOptions, data: { source: string; x: Float32Array; sampleDims: number[] }, access: 'white-box' | 'black-box'): Promise<Classifier> {
  const [lo, hi] = checkInputRange(data.source, data.x, flags) ?? defaultBox(data);
  const model = modelInUserSpace(await readModel(path), flags);
  const options = { ...session, sampleDims: data.sampleDims, box: { lo, hi }, ...(flags.batchSize ? { batchSize: flags.batchSize } : {}) };
  try {
    return access === 'white-box' ? await onnxClassifier(model, options) : await onnxPredictor(model, options);
  } catch (error) {
    if (error instanceof NotDifferentiableError) throw new UserError(`${path}: ${error.message}`);
    throw error;
  }
}

/** [0, 1] unless the data says otherwise, in which case the user must declare the range. */
function defaultBox(data: { source: string; x: Float32Array }): [number, number] {
  const outside = data.x.findIndex((v) => v < 0 || v > 1);
  if (outside >= 0) throw new UserError(`${data.source}: x holds ${data.x[outside]}, outside the default input box [0, 1]; pass --input-range lo,hi`);
  return [0, 1];
}
