// A labelled dataset as the commands take it, from any source the data package reads: a .npz with
// x (float32, batch first) and y (integer labels), a CSV, a folder of class subfolders of images,
// or builtin:mnist / builtin:fashion-mnist. It is checked against the model before any work
// starts, so that a mistake costs one line.
import { stat } from 'node:fs/promises';

import { loadBuiltin, type NdArray, parseDatasetRef, readCsv, readImageFolder, readNpz } from '@onnx-audit/data';
import type { InspectionReport } from '@onnx-audit/onnx';

import { UserError } from './errors.js';

export interface LabelledData {
  x: Float32Array;
  sampleDims: number[];
  labels: number[];
}

export interface DataOptions {
  /** Resize images in a folder to [height, width]. */
  resize?: [number, number];
}

export async function readLabelledData(ref: string, model: InspectionReport, options: DataOptions = {}): Promise<LabelledData> {
  const source = parseDatasetRef(ref);
  const fromDataset = (d: { x: Float32Array; shape: number[]; y: Int32Array }) => ({ x: d.x, shape: d.shape, labels: Array.from(d.y) });
  let samples: { x: Float32Array; shape: number[]; labels: number[] };
  if (source.kind === 'builtin') samples = fromDataset(await loadBuiltin(source.name));
  else if (ref.toLowerCase().endsWith('.csv')) samples = fromDataset(await readCsv(ref));
  else if ((await stat(ref)).isDirectory()) samples = fromDataset(await readImageFolder(ref, options.resize ? { size: options.resize } : {}));
  else samples = npzSamples(ref, await readNpz(ref));
  return checkAgainstModel(ref, samples, model.inputs[0]?.shape ?? null, model.classes);
}

function npzSamples(file: string, arrays: Record<string, NdArray>): { x: Float32Array; shape: number[]; labels: number[] } {
  const { x, y } = arrays;
  if (!x || !y) throw new UserError(`${file}: needs arrays 'x' (inputs, batch first) and 'y' (integer labels); it holds ${Object.keys(arrays).join(', ') || 'none'}`);
  if (x.dtype !== 'float32') throw new UserError(`${file}: x is ${x.dtype}; save it as float32 (x.astype(np.float32))`);
  if (!['int32', 'int64', 'uint8'].includes(y.dtype)) throw new UserError(`${file}: y is ${y.dtype}; save integer class labels`);
  const n = x.shape[0] ?? 0;
  if (y.shape.length !== 1 || y.shape[0] !== n) throw new UserError(`${file}: y has shape [${y.shape}], expected [${n}] (one label per sample of x)`);
  return { x: x.data as Float32Array, shape: x.shape, labels: Array.from(y.data as ArrayLike<number | bigint>, Number) };
}

function checkAgainstModel(file: string, samples: { x: Float32Array; shape: number[]; labels: number[] }, modelShape: ReadonlyArray<number | string | null> | null, classes: number | null): LabelledData {
  const { x, shape, labels } = samples;
  if ((shape[0] ?? 0) === 0) throw new UserError(`${file}: holds no samples`);
  if (modelShape && (modelShape.length !== shape.length || modelShape.some((d, i) => i > 0 && typeof d === 'number' && d !== shape[i]))) {
    throw new UserError(`${file}: x has shape [${shape}], the model takes [${modelShape.map((d) => d ?? '?')}]`);
  }
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new UserError(`${file}: x holds ${x[bad]} at flat index ${bad}; remove or fix non-finite inputs`);
  const outside = labels.findIndex((l) => !Number.isInteger(l) || l < 0 || (classes !== null && l >= classes));
  if (outside >= 0) throw new UserError(`${file}: label ${labels[outside]} at index ${outside} is outside [0, ${classes ?? '∞'})`);
  return { x, sampleDims: shape.slice(1), labels };
}
