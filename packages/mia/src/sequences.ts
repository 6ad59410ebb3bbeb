// SeqMIA's per-sample sequences (shared/specs/seqmia.md §4–5): for each model of a chronological
// list (the distilled snapshots, then the original model last), the five metrics [loss, max, sd,
// entropy, m-entropy] of its logits, as a [samples, steps, 5] tensor with no normalisation.
import { membershipMetrics } from '@onnx-audit/native';
import { predictLogits, type SessionOptions, trainingModeLogits } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';

import type { LabelledSet } from './membership-data.js';

export const SEQUENCE_FEATURES = ['loss', 'max', 'sd', 'entropy', 'mentropy'] as const;

/**
 * 'float64' computes the metrics in float64 (our kernel: correct on saturated posteriors);
 * 'float32' emulates the official code's numpy float32 with its 1e−30 clamp, where the m-entropy
 * of a confidently wrong sample comes out 99.08 instead of 58.90 (seqmia.md §4.3).
 */
export type MetricPrecision = 'float64' | 'float32';

/** The five metrics of logits [n, k], as rows [n, 5]. */
export async function sequenceFeatures(logits: Float32Array, labels: Int32Array, classes: number, precision: MetricPrecision): Promise<Float32Array> {
  const n = labels.length;
  const out = new Float32Array(n * SEQUENCE_FEATURES.length);
  if (precision === 'float32') {
    for (let i = 0; i < n; i++) out.set(float32Metrics(logits.subarray(i * classes, (i + 1) * classes), labels[i]), i * SEQUENCE_FEATURES.length);
    return out;
  }
  const m = await membershipMetrics(logits, labels, classes);
  const columns = [m.loss, m.maxProb, m.stdDev, m.entropy, m.modifiedEntropy];
  for (let i = 0; i < n; i++) columns.forEach((column, f) => (out[i * columns.length + f] = column[i]));
  return out;
}

const f32 = Math.fround;
const CLAMP = 1e-30;

/** The official code's arithmetic: a max-shifted float32 softmax, logs clamped at 1e−30. */
function float32Metrics(z: Float32Array, y: number): number[] {
  const k = z.length;
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  const e = Array.from(z, (v) => f32(Math.exp(f32(v - max))));
  let sum = 0;
  for (const v of e) sum = f32(sum + v);
  const p = e.map((v) => f32(v / sum));
  const loss = f32(f32(max + f32(Math.log(sum))) - z[y]);
  const top = Math.max(...p);
  let squares = 0;
  for (const v of p) squares = f32(squares + f32(f32(v - f32(1 / k)) ** 2));
  const sd = f32(Math.sqrt(f32(squares / k)));
  let entropy = 0;
  for (const v of p) entropy = f32(entropy - f32(v * f32(Math.log(Math.max(v, CLAMP)))));
  let mentropy = f32(-f32(f32(1 - p[y]) * f32(Math.log(Math.max(p[y], CLAMP)))));
  p.forEach((v, j) => {
    if (j !== y) mentropy = f32(mentropy - f32(v * f32(Math.log(Math.max(f32(1 - v), CLAMP)))));
  });
  return [loss, top, sd, entropy, mentropy];
}

/**
 * The official code's way of querying the distilled snapshots: left in training mode (dropout
 * on, BatchNormalization on the batch's statistics), in batches of `batchSize` that never mix the
 * consecutive `parts` of the set (its members, then its non-members).
 */
export interface TrainingModeQuery {
  batchSize: number;
  seed: number;
  parts: number[];
}

export interface SequenceOptions {
  precision: MetricPrecision;
  session?: SessionOptions;
  /** Query every model but the last (the original, always in inference mode) in training mode. */
  trainingMode?: TrainingModeQuery;
  onModel?: (done: number) => void;
}

/**
 * Sequences [n, models.length, 5]: row t of sample i holds the metrics of models[t] on it. Each
 * model runs once over the whole set.
 */
export async function metricSequences(models: readonly ModelProto[], set: LabelledSet, options: SequenceOptions): Promise<Float32Array> {
  const n = set.labels.length;
  const steps = models.length;
  const width = SEQUENCE_FEATURES.length;
  const out = new Float32Array(n * steps * width);
  for (let t = 0; t < steps; t++) {
    const query = t < steps - 1 ? options.trainingMode : undefined;
    const { logits, classes } = query ? await trainingModeParts(models[t], set, query, options.session) : await predictLogits(models[t], set.x, set.sampleDims, { ...options.session, batchSize: 512 });
    const features = await sequenceFeatures(logits, set.labels, classes, options.precision);
    for (let i = 0; i < n; i++) out.set(features.subarray(i * width, (i + 1) * width), (i * steps + t) * width);
    options.onModel?.(t + 1);
  }
  return out;
}

async function trainingModeParts(model: ModelProto, set: LabelledSet, query: TrainingModeQuery, session: SessionOptions = {}): Promise<{ logits: Float32Array; classes: number }> {
  const size = set.sampleDims.reduce((a, b) => a * b, 1);
  let logits: Float32Array | undefined;
  let classes = 0;
  let start = 0;
  for (const [p, count] of query.parts.entries()) {
    // Each part draws its dropout masks from its own stream.
    const part = await trainingModeLogits(model, set.x.subarray(start * size, (start + count) * size), set.sampleDims, { ...session, batchSize: query.batchSize, seed: query.seed * 31 + p });
    classes = part.classes;
    logits ??= new Float32Array(set.labels.length * classes);
    logits.set(part.logits, start * classes);
    start += count;
  }
  return { logits: logits!, classes };
}

/** One feature of every step, [n, steps]: TrajectoryMIA's loss trajectory is feature 0. */
export function featureColumn(sequences: Float32Array, steps: number, feature: number): Float32Array {
  const width = SEQUENCE_FEATURES.length;
  const n = sequences.length / (steps * width);
  return Float32Array.from({ length: n * steps }, (_, e) => sequences[e * width + feature]);
}
