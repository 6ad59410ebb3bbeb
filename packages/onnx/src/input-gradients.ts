// Per-sample input gradients of the cross-entropy loss, batch by batch: for each sample i,
// d loss_i / d x_i, where loss_i is the natural-log cross-entropy of its logits (before a trailing
// Softmax) with its integer label. One gradient model is built per distinct batch size (the full
// size and the remainder), since gradient graphs are built for concrete shapes.
import { toBinary } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';

import { buildGradientModel, type GradientModel } from './autodiff/gradient.js';
import { createSession, type SessionOptions } from './session.js';

export interface InputGradientOptions extends SessionOptions {
  /** Samples per run (default 64). */
  batchSize?: number;
  /** Called after each batch with the samples done so far. */
  progress?: (done: number, total: number) => void;
}

export interface InputGradients {
  gradients: Float32Array;
  losses: Float32Array;
  /** The Softmax node whose input was used as logits, when the model ends in one. */
  strippedSoftmax?: string;
}

/** The model's data input: the first graph input that is not an initializer. */
export function dataInput(model: ModelProto): string {
  const initializers = new Set(model.graph?.initializer.map((t) => t.name));
  const input = model.graph?.input.find((i) => !initializers.has(i.name));
  if (!input) throw new Error('the model has no data input');
  return input.name;
}

/** x is [n, ...sampleDims] flattened; labels are class indices in [0, classes). */
export async function inputGradients(model: ModelProto, x: Float32Array, sampleDims: number[], labels: ArrayLike<number>, options: InputGradientOptions = {}): Promise<InputGradients> {
  const n = labels.length;
  const sampleSize = sampleDims.reduce((a, b) => a * b, 1);
  if (x.length !== n * sampleSize) throw new RangeError(`x holds ${x.length} values, expected ${n} samples × ${sampleSize}`);
  const batchSize = options.batchSize ?? 64;
  const input = dataInput(model);
  const gradients = new Float32Array(x.length);
  const losses = new Float32Array(n);
  const built = new Map<number, { graph: GradientModel; session: ort.InferenceSession }>();
  let strippedSoftmax: string | undefined;
  try {
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      const xs = new ort.Tensor('float32', x.subarray(start * sampleSize, (start + size) * sampleSize), [size, ...sampleDims]);
      let entry = built.get(size);
      if (!entry) {
        const graph = await buildGradientModel(model, { wrt: [input], head: { kind: 'cross-entropy' }, feeds: { [input]: xs } });
        entry = { graph, session: await createSession(toBinary(ModelProtoSchema, graph.model), options) };
        built.set(size, entry);
      }
      strippedSoftmax = entry.graph.strippedSoftmax;
      const y = new ort.Tensor('int64', BigInt64Array.from({ length: size }, (_, i) => BigInt(labels[start + i])), [size]);
      const out = await entry.session.run({ [input]: xs, [entry.graph.labels!]: y });
      gradients.set(out[entry.graph.gradients[input]].data as Float32Array, start * sampleSize);
      losses.set(out[entry.graph.loss].data as Float32Array, start);
      options.progress?.(start + size, n);
    }
  } finally {
    for (const { session } of built.values()) await session.release();
  }
  return { gradients, losses, ...(strippedSoftmax ? { strippedSoftmax } : {}) };
}
