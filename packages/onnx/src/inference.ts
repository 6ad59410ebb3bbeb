// Logits of a classifier for a whole dataset, batch by batch, so that memory stays bounded by
// the batch size rather than the dataset (the data itself may come as a stream of chunks). A model exported with a fixed batch dimension is run
// at that size, the last batch padded with zeros and the padding's outputs dropped.
import { clone, create } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, ValueInfoProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';

import { dataInput } from './input-gradients.js';
import { encodeModel } from './model/io.js';
import { logitsValue } from './model/logits.js';
import { createSession, type SessionOptions } from './session.js';

export interface PredictOptions extends SessionOptions {
  /** Samples per run (default 256), unless the model fixes its batch size. */
  batchSize?: number;
  /** Called after each batch with the samples done so far (and the total, unless x is a stream). */
  progress?: (done: number, total?: number) => void;
}

export interface Predictions {
  /** [n, classes], row-major. */
  logits: Float32Array;
  classes: number;
  /** The Softmax node whose input was read, when the model ends in one. */
  strippedSoftmax?: string;
}

/** The model with its logits (before a trailing Softmax) as its only output. */
export function logitsModel(model: ModelProto): { model: ModelProto; strippedSoftmax?: string } {
  const { logits, strippedSoftmax } = logitsValue(model);
  const copy = clone(ModelProtoSchema, model);
  const graph = copy.graph!;
  const declared = graph.output.find((o) => o.name === logits) ?? graph.valueInfo.find((v) => v.name === logits);
  graph.output.splice(0, graph.output.length, declared ?? create(ValueInfoProtoSchema, { name: logits }));
  return { model: copy, ...(strippedSoftmax ? { strippedSoftmax } : {}) };
}

/**
 * x is [n, ...sampleDims] flattened, or an async stream of such chunks of whole samples (a
 * dataset read from disk in batches: then only one chunk is in memory at a time).
 */
export async function predictLogits(model: ModelProto, x: Float32Array | AsyncIterable<Float32Array>, sampleDims: number[], options: PredictOptions = {}): Promise<Predictions> {
  const sampleSize = sampleDims.reduce((a, b) => a * b, 1);
  const total = x instanceof Float32Array ? x.length / sampleSize : undefined;
  const input = dataInput(model);
  const fixedBatch = fixedBatchSize(model, input);
  const batchSize = fixedBatch ?? options.batchSize ?? 256;
  const { model: scoring, strippedSoftmax } = logitsModel(model);
  const session = await createSession(encodeModel(scoring), options);
  try {
    const pieces: Float32Array[] = [];
    let classes = 0;
    let done = 0;
    for await (const chunk of x instanceof Float32Array ? [x] : x) {
      if (sampleSize === 0 || chunk.length % sampleSize !== 0) throw new RangeError(`x holds ${chunk.length} values, not a whole number of samples of [${sampleDims}]`);
      const n = chunk.length / sampleSize;
      for (let start = 0; start < n; start += batchSize) {
        const size = Math.min(batchSize, n - start);
        let batch = chunk.subarray(start * sampleSize, (start + size) * sampleSize);
        if (fixedBatch !== undefined && size < fixedBatch) {
          const padded = new Float32Array(fixedBatch * sampleSize);
          padded.set(batch);
          batch = padded;
        }
        const out = await session.run({ [input]: new ort.Tensor('float32', batch, [batch.length / sampleSize, ...sampleDims]) });
        const result = out[session.outputNames[0]];
        if (result.type !== 'float32' || result.dims.length !== 2) {
          throw new Error(`the model's logits '${session.outputNames[0]}' are ${result.type} [${result.dims}]; expected float32 [batch, classes]`);
        }
        classes = result.dims[1];
        pieces.push((result.data as Float32Array).slice(0, size * classes));
        done += size;
        options.progress?.(done, total);
      }
    }
    const logits = new Float32Array(done * classes);
    let offset = 0;
    for (const piece of pieces) {
      logits.set(piece, offset);
      offset += piece.length;
    }
    return { logits, classes, ...(strippedSoftmax ? { strippedSoftmax } : {}) };
  } finally {
    await session.release();
  }
}

/** The batch size a model's input fixes, if its first dimension is a number rather than a symbol. */
export function fixedBatchSize(model: ModelProto, input: string): number | undefined {
  const info = model.graph!.input.find((i) => i.name === input);
  const dim = info?.type?.value.case === 'tensorType' ? info.type.value.value.shape?.dim[0]?.value : undefined;
  return dim?.case === 'dimValue' ? Number(dim.value) : undefined;
}
