// Logits of a model run in training mode, batch by batch: BatchNormalization normalises each
// batch with its own statistics and Dropout drops units by seeded masks. The answers depend on
// which samples share a batch: `x` is cut into consecutive batches of `batchSize`.
import * as ort from 'onnxruntime-node';
import type { ModelProto } from 'onnx-buf';

import { dataInput } from '../input-gradients.js';
import { logitsModel } from '../inference.js';
import { encodeModel } from '../model/io.js';
import { createSession, type SessionOptions } from '../session.js';
import { drawMask } from './step-feeds.js';
import { streamKey } from './streams.js';
import { type DropoutMask, trainingModeModel } from './training-graph.js';

export interface TrainingModeOptions extends SessionOptions {
  batchSize: number;
  /** Seeds the dropout masks (default 0). */
  seed?: number;
}

export async function trainingModeLogits(model: ModelProto, x: Float32Array, sampleDims: number[], options: TrainingModeOptions): Promise<{ logits: Float32Array; classes: number }> {
  const { batchSize, seed = 0 } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`the batch size must be a positive integer, got ${batchSize}`);
  const sampleSize = sampleDims.reduce((a, b) => a * b, 1);
  const n = x.length / sampleSize;
  if (!Number.isInteger(n)) throw new RangeError(`x holds ${x.length} values, not a whole number of samples of [${sampleDims}]`);
  const { model: scoring } = logitsModel(model);
  const input = dataInput(scoring);
  const sessions = new Map<number, { session: ort.InferenceSession; masks: DropoutMask[] }>();
  const key = streamKey(seed, 'dropout');
  let logits: Float32Array | undefined;
  let classes = 0;
  let offset = 0n;
  try {
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      let entry = sessions.get(size);
      if (!entry) {
        const built = await trainingModeModel(scoring, input, [size, ...sampleDims]);
        entry = { session: await createSession(encodeModel(built.model), options), masks: built.masks };
        sessions.set(size, entry);
      }
      const feeds: Record<string, ort.Tensor> = { [input]: new ort.Tensor('float32', x.slice(start * sampleSize, (start + size) * sampleSize), [size, ...sampleDims]) };
      for (const mask of entry.masks) {
        const values = new Float32Array(mask.dims.reduce((a, b) => a * b, 1));
        await drawMask(values, mask.ratio, key, offset);
        offset += BigInt(values.length);
        feeds[mask.name] = new ort.Tensor('float32', values, mask.dims);
      }
      const out = await entry.session.run(feeds);
      const batch = out[entry.session.outputNames[0]].data as Float32Array;
      classes ||= batch.length / size;
      logits ??= new Float32Array(n * classes);
      logits.set(batch, start * classes);
    }
  } finally {
    for (const { session } of sessions.values()) await session.release();
  }
  return { logits: logits ?? new Float32Array(0), classes };
}
