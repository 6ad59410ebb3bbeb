// The inputs of one training step, allocated once per batch size and refilled in place every step.
// Allocating them afresh (a batch of images, dropout masks) made V8's concurrent garbage collector
// compete with ONNX Runtime's spinning threads and halved the trainer's throughput on 2 cores.
import * as ort from 'onnxruntime-node';

import { randomUniform } from '@onnx-audit/native';

import type { TrainingGraph } from './training-graph.js';

export interface BatchSource {
  x: Float32Array;
  labels: ArrayLike<number>;
  /** Soft targets [n, classes] (distillation). */
  targets?: Float32Array;
}

export class StepFeeds {
  /** Everything the step's session run takes. */
  readonly feeds: Record<string, ort.Tensor>;
  private readonly x: Float32Array;
  private readonly labels?: BigInt64Array;
  private readonly targets?: Float32Array;
  private readonly masks: Array<{ values: Float32Array; ratio: number }>;

  /** `shared` are the tensors every batch size feeds alike: views of the parameters and statistics. */
  private readonly sampleSize: number;

  constructor(private readonly graph: TrainingGraph, size: number, sampleDims: number[], shared: Record<string, ort.Tensor>) {
    this.sampleSize = sampleDims.reduce((a, b) => a * b, 1);
    this.x = new Float32Array(size * this.sampleSize);
    this.feeds = { ...shared, [graph.input]: new ort.Tensor('float32', this.x, [size, ...sampleDims]) };
    if (graph.labels) {
      this.labels = new BigInt64Array(size);
      this.feeds[graph.labels] = new ort.Tensor('int64', this.labels, [size]);
    }
    if (graph.targets) {
      this.targets = new Float32Array(size * graph.classes);
      this.feeds[graph.targets] = new ort.Tensor('float32', this.targets, [size, graph.classes]);
    }
    this.masks = graph.masks.map((mask) => {
      const values = new Float32Array(mask.dims.reduce((a, b) => a * b, 1));
      this.feeds[mask.name] = new ort.Tensor('float32', values, mask.dims);
      return { values, ratio: mask.ratio };
    });
  }

  /** Copies the samples `rows` of `source` into the batch. */
  fill(source: BatchSource, rows: Uint32Array): void {
    const sampleSize = this.sampleSize;
    const k = this.graph.classes;
    rows.forEach((row, i) => {
      this.x.set(source.x.subarray(row * sampleSize, (row + 1) * sampleSize), i * sampleSize);
      if (this.labels) this.labels[i] = BigInt(source.labels[row]);
      if (this.targets && source.targets) this.targets.set(source.targets.subarray(row * k, (row + 1) * k), i * k);
    });
  }

  /**
   * Draws every dropout mask from the stream `key` starting at `offset`: a unit is dropped with
   * the mask's ratio, a kept one scaled by 1 / (1 − ratio).
   */
  async drawMasks(key: bigint, offset: bigint): Promise<void> {
    for (const { values, ratio } of this.masks) {
      await drawMask(values, ratio, key, offset);
      offset += BigInt(values.length);
    }
  }
}

/** Fills `values` from the stream `key` at `offset`: 0 with probability `ratio`, else 1 / (1 − ratio). */
export async function drawMask(values: Float32Array, ratio: number, key: bigint, offset: bigint): Promise<void> {
  await randomUniform(values.length, { seed: key, offset, out: values });
  const keep = 1 / (1 - ratio);
  for (let i = 0; i < values.length; i++) values[i] = values[i] < ratio ? 0 : keep;
}
