// A labelled .npz dataset as the commands take it: x (float32, batch first) and y (integer
// labels), checked against the model before any work starts so that a mistake costs one line.
import { type NdArray, readNpz } from '@onnx-audit/data';
import type { InspectionReport } from '@onnx-audit/onnx';

import { UserError } from './errors.js';

export interface LabelledData {
  x: Float32Array;
  sampleDims: number[];
  labels: number[];
}

export async function readLabelledData(file: string, model: InspectionReport): Promise<LabelledData> {
  return checkLabelledData(file, await readNpz(file), model.inputs[0]?.shape ?? null, model.classes);
}

export function checkLabelledData(file: string, arrays: Record<string, NdArray>, modelShape: ReadonlyArray<number | string | null> | null, classes: number | null): LabelledData {
  const { x, y } = arrays;
  if (!x || !y) throw new UserError(`${file}: needs arrays 'x' (inputs, batch first) and 'y' (integer labels); it holds ${Object.keys(arrays).join(', ') || 'none'}`);
  if (x.dtype !== 'float32') throw new UserError(`${file}: x is ${x.dtype}; save it as float32 (x.astype(np.float32))`);
  if (!['int32', 'int64', 'uint8'].includes(y.dtype)) throw new UserError(`${file}: y is ${y.dtype}; save integer class labels`);
  const n = x.shape[0] ?? 0;
  if (n === 0) throw new UserError(`${file}: x holds no samples`);
  if (y.shape.length !== 1 || y.shape[0] !== n) throw new UserError(`${file}: y has shape [${y.shape}], expected [${n}] (one label per sample of x)`);
  if (modelShape && (modelShape.length !== x.shape.length || modelShape.some((d, i) => i > 0 && typeof d === 'number' && d !== x.shape[i]))) {
    throw new UserError(`${file}: x has shape [${x.shape}], the model takes [${modelShape.map((d) => d ?? '?')}]`);
  }
  const data = x.data as Float32Array;
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new UserError(`${file}: x holds ${data[bad]} at flat index ${bad}; remove or fix non-finite inputs`);
  const labels = Array.from(y.data as ArrayLike<number | bigint>, Number);
  const outside = labels.findIndex((l) => !Number.isInteger(l) || l < 0 || (classes !== null && l >= classes));
  if (outside >= 0) throw new UserError(`${file}: label ${labels[outside]} at index ${outside} is outside [0, ${classes ?? '∞'})`);
  return { x: data, sampleDims: x.shape.slice(1), labels };
}
