// A labelled dataset as the commands take it, from any source the data package reads: a .npz with
// x (float32, batch first) and y (integer labels), a CSV, a folder of class subfolders of images,
// or builtin:mnist / builtin:fashion-mnist. It is checked against the model before any work
// starts, so that a mistake costs one line.
import { stat } from 'node:fs/promises';

import type { Command } from 'commander';

import { type Dataset, loadBuiltin, type NdArray, openNpzBatches, parseDatasetRef, readCsv, readImageFolder, readNpz } from '@onnx-audit/data';
import type { InspectionReport } from '@onnx-audit/onnx';

import { UserError } from './errors.js';

export interface LabelledData {
  x: Float32Array;
  sampleDims: number[];
  labels: number[];
  /** The dataset's names for its classes (builtin datasets and image folders name them). */
  classNames?: string[];
}

export interface DataOptions {
  /** Resize images in a folder to [height, width]. */
  resize?: [number, number];
  /** Decode images in a folder to this many channels (default: what the images hold). */
  channels?: 1 | 3;
}

export function addDataOptions(command: Command): Command {
  return command.option('--resize <HxW>', 'image folders: resize every image to H×W (default: they must share one size)');
}

/** The data options of the flags `addDataOptions` adds. */
export function dataOptions(flags: { resize?: string }): DataOptions {
  if (flags.resize === undefined) return {};
  const match = /^(\d+)x(\d+)$/.exec(flags.resize);
  if (!match || Number(match[1]) < 1 || Number(match[2]) < 1) throw new UserError(`--resize must be HxW in pixels, e.g. 28x28; got '${flags.resize}'`);
  return { resize: [Number(match[1]), Number(match[2])] };
}

/** Any dataset the data package reads, as it is: no model to check it against. */
export async function readDataset(ref: string, options: DataOptions = {}): Promise<Dataset> {
  const source = parseDatasetRef(ref);
  if (source.kind === 'builtin') return loadBuiltin(source.name);
  if (ref.toLowerCase().endsWith('.csv')) return readCsv(ref);
  if ((await stat(ref)).isDirectory()) return readImageFolder(ref, { ...(options.resize ? { size: options.resize } : {}), ...(options.channels ? { channels: options.channels } : {}) });
  return npzDataset(ref, await readNpz(ref));
}

export async function readLabelledData(ref: string, model: InspectionReport, options: DataOptions = {}): Promise<LabelledData> {
  // Images are decoded to the channels the model takes (greyscale or RGB), whatever they are stored as.
  const shape = model.inputs[0]?.shape;
  const channels = shape?.length === 4 && (shape[1] === 1 || shape[1] === 3) ? shape[1] : undefined;
  return checkAgainstModel(ref, await readDataset(ref, { ...options, ...(channels ? { channels } : {}) }), model);
}

export interface StreamedData {
  sampleDims: number[];
  labels: Int32Array;
  /** x, one batch in memory at a time, each checked (finite values, and `check`) as it is read. */
  batches: AsyncIterable<Float32Array>;
}

/**
 * A .npz read in batches, for evaluating data larger than memory: the labels whole (one number a
 * sample), x a batch at a time.
 */
export async function streamLabelledNpz(file: string, model: InspectionReport, batchSize: number, check: (x: Float32Array, offset: number) => void = () => {}): Promise<StreamedData> {
  const y = await openNpzBatches(file, 'y', 1 << 20);
  const x = await openNpzBatches(file, 'x', batchSize);
  checkNpzArrays(file, x, y);
  const labels = new Int32Array(x.shape[0]);
  let read = 0;
  for await (const batch of y) {
    labels.set(labelsOf(file, batch.data as ArrayLike<number | bigint>, read), read);
    read += batch.shape[0];
  }
  checkShape(file, x.shape, model);
  checkLabels(file, labels, model.classes);
  const sampleSize = x.shape.slice(1).reduce((a, b) => a * b, 1);
  async function* checked(): AsyncGenerator<Float32Array> {
    let offset = 0;
    for await (const batch of x) {
      const data = batch.data as Float32Array;
      checkFinite(file, data, offset);
      check(data, offset);
      offset += batch.shape[0] * sampleSize;
      yield data;
    }
  }
  return { sampleDims: x.shape.slice(1), labels, batches: checked() };
}

/** x float32, y integer labels, one per sample: what every command needs of a .npz. */
function checkNpzArrays(file: string, x: { dtype: string; shape: number[] }, y: { dtype: string; shape: number[] }): void {
  if (x.dtype !== 'float32') throw new UserError(`${file}: x is ${x.dtype}; save it as float32 (x.astype(np.float32))`);
  if (!['int32', 'int64', 'uint8'].includes(y.dtype)) throw new UserError(`${file}: y is ${y.dtype}; save integer class labels`);
  const n = x.shape[0] ?? 0;
  if (y.shape.length !== 1 || y.shape[0] !== n) throw new UserError(`${file}: y has shape [${y.shape}], expected [${n}] (one label per sample of x)`);
}

/** Stored labels as int32, refusing any an int32 cannot hold (they would wrap into valid ones); `first` is the index of values[0]. */
function labelsOf(file: string, values: ArrayLike<number | bigint>, first: number): Int32Array {
  const labels = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const label = Number(values[i]);
    if (label !== (label | 0)) throw new UserError(`${file}: label ${values[i]} at index ${first + i} is not a class index`);
    labels[i] = label;
  }
  return labels;
}

function npzDataset(file: string, arrays: Record<string, NdArray>): Dataset {
  const { x, y } = arrays;
  if (!x || !y) throw new UserError(`${file}: needs arrays 'x' (inputs, batch first) and 'y' (integer labels); it holds ${Object.keys(arrays).join(', ') || 'none'}`);
  checkNpzArrays(file, x, y);
  const labels = labelsOf(file, y.data as ArrayLike<number | bigint>, 0);
  const classes = labels.reduce((max, l) => Math.max(max, l + 1), 0);
  return { x: x.data as Float32Array, shape: x.shape, y: labels, classes, classNames: Array.from({ length: classes }, (_, k) => String(k)), source: file };
}

function checkAgainstModel(file: string, dataset: Dataset, model: InspectionReport): LabelledData {
  checkShape(file, dataset.shape, model);
  checkFinite(file, dataset.x, 0);
  checkLabels(file, dataset.y, model.classes);
  return { x: dataset.x, sampleDims: dataset.shape.slice(1), labels: Array.from(dataset.y), classNames: dataset.classNames };
}

function checkShape(file: string, shape: number[], model: InspectionReport): void {
  const modelShape = model.inputs[0]?.shape ?? null;
  if ((shape[0] ?? 0) === 0) throw new UserError(`${file}: holds no samples`);
  if (modelShape && (modelShape.length !== shape.length || modelShape.some((d, i) => i > 0 && typeof d === 'number' && d !== shape[i]))) {
    throw new UserError(`${file}: x has shape [${shape}], the model takes [${modelShape.map((d) => d ?? '?')}]`);
  }
}

/** `x` starts at flat index `offset` of the data. */
function checkFinite(file: string, x: Float32Array, offset: number): void {
  const bad = x.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new UserError(`${file}: x holds ${x[bad]} at flat index ${offset + bad}; remove or fix non-finite inputs`);
}

function checkLabels(file: string, labels: Int32Array, classes: number | null): void {
  const outside = labels.findIndex((l) => l < 0 || (classes !== null && l >= classes));
  if (outside >= 0) throw new UserError(`${file}: label ${labels[outside]} at index ${outside} is outside [0, ${classes ?? '∞'})`);
}
