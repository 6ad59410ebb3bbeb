// The trainer: mini-batch gradient descent on any ONNX classifier the gradient builder supports.
// One session run per step returns the losses, logits, gradients and updated BatchNormalization
// statistics; the native optimizer then steps all parameters as one flat vector. Every random
// choice (initialisation, shuffling, dropout masks) comes from the seed and the position in
// training, so a run resumed from a checkpoint continues exactly as the uninterrupted one.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { ModelProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';

import { adamState, adamStep, membershipMetrics, randomUniform, sgdState, sgdStep, softmax } from '@onnx-audit/native';

import type { LossHead } from '../autodiff/heads.js';
import { predictLogits } from '../inference.js';
import { dataInput } from '../input-gradients.js';
import { encodeModel, writeModel } from '../model/io.js';
import { createSession, type SessionOptions } from '../session.js';
import { readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { TrainingError } from './errors.js';
import { reinitialize } from './init.js';
import { assertSameSettings, type CheckpointHeader, exists, fingerprint } from './resume.js';
import { gatherValues, parameterLayout, withValues } from './parameters.js';
import { learningRate, type Schedule } from './schedule.js';
import { streamKey } from './streams.js';
import { type BatchSource, StepFeeds } from './step-feeds.js';
import { buildTrainingGraph, type TrainingGraph } from './training-graph.js';

export interface TrainingData {
  /** [n, ...sampleDims], row-major. */
  x: Float32Array;
  sampleDims: number[];
  /** Class indices in [0, classes). */
  labels: ArrayLike<number>;
}

export type OptimizerName = 'sgd' | 'adam' | 'adamw';

export interface TrainOptions extends SessionOptions {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  lr: number;
  /** SGD momentum (default 0). */
  momentum?: number;
  nesterov?: boolean;
  /** L2 penalty (SGD, Adam) or decoupled decay (AdamW); default 0. */
  weightDecay?: number;
  schedule?: Schedule;
  /** Seeds initialisation, shuffling and dropout (default 0). */
  seed?: number;
  /** Start from fresh He/Glorot weights instead of the model's own. */
  reinit?: boolean;
  /** Train on a teacher's softmax at `temperature` (loss τ²·KL) instead of the labels. */
  distill?: { teacher: ModelProto; temperature: number };
  /** Evaluated after every epoch. */
  validation?: TrainingData;
  /** Directory for one ONNX snapshot per epoch (epoch-001.onnx, ...). */
  snapshots?: string;
  /** Checkpoint file, rewritten after every epoch. */
  checkpoint?: string;
  /** Continue from `checkpoint` when it exists. */
  resume?: boolean;
  onStep?: (report: StepReport) => void;
  onEpoch?: (summary: EpochSummary) => void;
  /**
   * Rewrites each batch's inputs in place before the step trains on them (adversarial training).
   * It must be deterministic given (epoch, step) and the weights it is shown, or a resumed run
   * drifts from the uninterrupted one.
   */
  perturb?: (batch: PerturbBatch) => Promise<void>;
  /** What `perturb` does (e.g. 'pgd eps=0.3 steps=7'): kept in the checkpoint, so resuming with other settings is refused. Required with `perturb`. */
  perturbation?: string;
  /**
   * TRADES (Zhang et al. 2019): each step runs the b clean samples followed by b copies that
   * `perturb` (required) turns into adversarial examples, with the loss
   * CE(f(x), y) + β·KL(softmax(f(x)) ‖ softmax(f(x'))) per clean sample. BatchNormalization, in
   * training mode, normalises the 2b rows with their joint statistics; the reference code runs the
   * clean and adversarial halves as two forward passes, each with its own batch statistics.
   */
  trades?: { beta: number };
}

export interface PerturbBatch {
  /**
   * The step's input tensor data [b, ...sampleDims], written in place; with `trades`, [2b, ...]:
   * the b clean samples, then copies of them to replace by adversarial examples.
   */
  x: Float32Array;
  labels: Int32Array;
  sampleDims: number[];
  /** 0-based. */
  epoch: number;
  step: number;
  /** The live parameters and BatchNormalization running statistics, by initializer name: feed them to run the current model. */
  weights: Readonly<Record<string, ort.Tensor>>;
}

export interface StepReport {
  epoch: number;
  epochs: number;
  step: number;
  steps: number;
  /** Mean loss over the epoch so far. */
  loss: number;
  samplesPerSecond: number;
}

export interface EpochSummary {
  /** 1-based. */
  epoch: number;
  lr: number;
  loss: number;
  /** Accuracy on the training batches as they were trained (training mode; with `trades`, of the clean rows). */
  trainAccuracy: number;
  validationLoss?: number;
  validationAccuracy?: number;
  seconds: number;
  samplesPerSecond: number;
  snapshot?: string;
}

export interface TrainResult {
  model: ModelProto;
  history: EpochSummary[];
  /** Epochs already done in the checkpoint this run resumed from. */
  resumedFrom?: number;
  parameterCount: number;
}

interface StepSession {
  graph: TrainingGraph;
  session: ort.InferenceSession;
  inputs: StepFeeds;
}

export async function train(model: ModelProto, data: TrainingData, options: TrainOptions): Promise<TrainResult> {
  const o = checkOptions(options);
  const sampleSize = data.sampleDims.reduce((a, b) => a * b, 1);
  const n = data.labels.length;
  if (n === 0) throw new TrainingError('the training data holds no samples');
  if (data.x.length !== n * sampleSize) throw new TrainingError(`x holds ${data.x.length} values, expected ${n} samples × ${sampleSize}`);

  const layout = parameterLayout(model);
  if (layout.parameterCount === 0) throw new TrainingError('the model has no float32 weights read by differentiable ops: nothing to train');
  const start = o.reinit ? await reinitialize(model, layout, o.seed) : model;
  const parameters = gatherValues(start, layout.parameters, layout.parameterCount);
  const statistics = gatherValues(start, layout.statistics, layout.statisticCount);
  const gradient = new Float32Array(layout.parameterCount);
  const sgd = o.optimizer === 'sgd' ? sgdState(layout.parameterCount) : undefined;
  const adam = o.optimizer === 'sgd' ? undefined : adamState(layout.parameterCount);

  const targets = o.distill ? await teacherTargets(o.distill, data, o) : undefined;
  const source: BatchSource = { x: data.x, labels: data.labels, ...(targets ? { targets } : {}) };
  // Hashing the model and data costs a pass over them: only a run that keeps a checkpoint needs it.
  const settings = o.checkpoint ? fingerprint(model, data, o) : {};
  let history: EpochSummary[] = [];
  let epochsDone = 0;
  let resumedFrom: number | undefined;
  if (o.checkpoint && o.resume && (await exists(o.checkpoint))) {
    const saved = await readCheckpoint<CheckpointHeader<EpochSummary>>(o.checkpoint);
    assertSameSettings(o.checkpoint, saved.header.settings, settings);
    parameters.set(saved.sections.parameters);
    statistics.set(saved.sections.statistics);
    if (sgd) sgd.momentumBuffer.set(saved.sections.momentum);
    if (adam) {
      adam.m.set(saved.sections.m);
      adam.v.set(saved.sections.v);
    }
    (sgd ?? adam)!.step = saved.header.optimizerSteps;
    history = saved.header.history;
    epochsDone = resumedFrom = saved.header.epochsDone;
  }
  if (o.snapshots) await mkdir(o.snapshots, { recursive: true });

  const input = dataInput(model);
  const head: LossHead = o.distill ? { kind: 'soft-cross-entropy', temperature: o.distill.temperature } : o.trades ? { kind: 'trades', beta: o.trades.beta } : { kind: 'cross-entropy' };
  // TRADES trains on each sample twice, clean and perturbed: the rows a step feeds per sample.
  const copies = o.trades ? 2 : 1;
  // Views of the flat vectors: the optimizer updates them in place, every run reads the new values.
  const shared: Record<string, ort.Tensor> = {};
  for (const slot of layout.parameters) shared[slot.name] = new ort.Tensor('float32', parameters.subarray(slot.offset, slot.offset + slot.size), slot.dims);
  for (const slot of layout.statistics) shared[slot.name] = new ort.Tensor('float32', statistics.subarray(slot.offset, slot.offset + slot.size), slot.dims);
  const sessions = new Map<number, StepSession>();
  const sessionFor = async (size: number): Promise<StepSession> => {
    let entry = sessions.get(size);
    if (!entry) {
      const graph = await buildTrainingGraph(model, layout, input, [size, ...data.sampleDims], head);
      entry = { graph, session: await createSession(encodeModel(graph.model), o), inputs: new StepFeeds(graph, size, data.sampleDims, shared) };
      sessions.set(size, entry);
    }
    return entry;
  };

  const diverged = (what: string, epoch: number) => {
    const kept = o.checkpoint && epoch > 0 ? `; the checkpoint of epoch ${epoch} is kept at ${o.checkpoint}` : '';
    return new TrainingError(`${what}: training diverged; lower the learning rate${kept}`);
  };
  const snapshotOf = () => withValues(model, [{ slots: layout.parameters, values: parameters }, { slots: layout.statistics, values: statistics }]);
  const steps = Math.ceil(n / o.batchSize);
  const shuffleKey = streamKey(o.seed, 'shuffle');
  const dropoutKey = streamKey(o.seed, 'dropout');
  try {
    const first = await sessionFor(copies * Math.min(o.batchSize, n));
    const maskTotal = first.graph.masks.reduce((sum, m) => sum + m.dims.reduce((a, b) => a * b, 1), 0);
    const classes = first.graph.classes;
    checkLabels(data.labels, classes, 'training');
    if (o.validation) checkLabels(o.validation.labels, classes, 'validation');
    if (targets && targets.length !== n * classes) throw new TrainingError(`the teacher has ${targets.length / n} classes and the student ${classes}; distillation needs the same classes`);

    for (let epoch = epochsDone; epoch < o.epochs; epoch++) {
      const began = performance.now();
      const order = await permutation(n, shuffleKey, BigInt(epoch) * BigInt(n));
      const lr = learningRate(o.lr, o.schedule, { epoch, step: 0, stepsPerEpoch: steps, epochs: o.epochs });
      let lossSum = 0;
      let correct = 0;
      for (let step = 0; step < steps; step++) {
        const batch = order.subarray(step * o.batchSize, Math.min(n, (step + 1) * o.batchSize));
        const { graph, session, inputs } = await sessionFor(copies * batch.length);
        inputs.fill(source, copies === 1 ? batch : Uint32Array.from({ length: copies * batch.length }, (_, i) => batch[i % batch.length]));
        if (o.perturb) {
          const x = inputs.feeds[graph.input].data as Float32Array;
          await o.perturb({ x, labels: Int32Array.from(batch, (row) => data.labels[row]), sampleDims: data.sampleDims, epoch, step, weights: shared });
        }
        await inputs.drawMasks(dropoutKey, BigInt(epoch * steps + step) * BigInt(maskTotal));

        // Outputs are copied out: ONNX Runtime's pre-allocated outputs (run(feeds, fetches)) measured 2× slower.
        const out = await session.run(inputs.feeds);
        const batchLoss = (out[graph.loss].data as Float32Array).reduce((a, b) => a + b, 0);
        if (!Number.isFinite(batchLoss)) throw diverged(`the loss became ${batchLoss} at epoch ${epoch + 1}, step ${step + 1}`, epoch);
        lossSum += batchLoss;
        correct += countCorrect(out[graph.logits].data as Float32Array, classes, data.labels, batch);
        layout.parameters.forEach((slot, i) => gradient.set(out[graph.gradients[i]].data as Float32Array, slot.offset));
        layout.statistics.forEach((slot, i) => statistics.set(out[graph.updatedStatistics[i]].data as Float32Array, slot.offset));

        const rate = learningRate(o.lr, o.schedule, { epoch, step, stepsPerEpoch: steps, epochs: o.epochs });
        if (sgd) await sgdStep(parameters, gradient, sgd, { lr: rate, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay });
        else await adamStep(parameters, gradient, adam!, { lr: rate, weightDecay: o.weightDecay, decoupled: o.optimizer === 'adamw' });

        const done = Math.min(n, (step + 1) * o.batchSize);
        o.onStep?.({ epoch: epoch + 1, epochs: o.epochs, step: step + 1, steps, loss: lossSum / done, samplesPerSecond: done / ((performance.now() - began) / 1000) });
      }

      // The last step's update is not yet seen by any loss: check it before it is saved anywhere.
      if (!parameters.every(Number.isFinite)) throw diverged(`the weights became non-finite at epoch ${epoch + 1}`, epoch);
      const snapshot = snapshotOf();
      const seconds = (performance.now() - began) / 1000;
      const summary: EpochSummary = { epoch: epoch + 1, lr, loss: lossSum / n, trainAccuracy: correct / n, seconds, samplesPerSecond: n / seconds };
      if (o.validation) Object.assign(summary, await evaluate(snapshot, o.validation, o));
      if (o.snapshots) {
        summary.snapshot = join(o.snapshots, `epoch-${String(epoch + 1).padStart(3, '0')}.onnx`);
        await writeModel(summary.snapshot, snapshot);
      }
      history.push(summary);
      if (o.checkpoint) {
        const sections: Record<string, Float32Array> = { parameters, statistics, ...(sgd ? { momentum: sgd.momentumBuffer } : { m: adam!.m, v: adam!.v }) };
        await writeCheckpoint<CheckpointHeader<EpochSummary>>(o.checkpoint, { header: { epochsDone: epoch + 1, optimizerSteps: (sgd ?? adam)!.step, settings, history }, sections });
      }
      o.onEpoch?.(summary);
    }
  } finally {
    for (const { session } of sessions.values()) await session.release();
  }
  return { model: snapshotOf(), history, ...(resumedFrom !== undefined ? { resumedFrom } : {}), parameterCount: layout.parameterCount };
}

type Checked = Omit<TrainOptions, 'seed' | 'schedule'> & { seed: number; schedule: Schedule };

function checkOptions(options: TrainOptions): Checked {
  const positiveInteger = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 1) throw new TrainingError(`${what} must be a positive integer, got ${v}`);
  };
  positiveInteger(options.epochs, 'epochs');
  positiveInteger(options.batchSize, 'the batch size');
  if (!(options.lr > 0 && Number.isFinite(options.lr))) throw new TrainingError(`the learning rate must be a positive number, got ${options.lr}`);
  if (!['sgd', 'adam', 'adamw'].includes(options.optimizer)) throw new TrainingError(`unknown optimizer '${options.optimizer}': use sgd, adam or adamw`);
  if (options.distill && !(options.distill.temperature > 0)) throw new TrainingError(`the distillation temperature must be positive, got ${options.distill.temperature}`);
  if (options.resume && !options.checkpoint) throw new TrainingError('resuming needs a checkpoint file');
  if (options.perturb && !options.perturbation) throw new TrainingError('a perturb hook needs a perturbation description, recorded in checkpoints');
  if (options.trades) {
    if (!(options.trades.beta >= 0 && Number.isFinite(options.trades.beta))) throw new TrainingError(`the TRADES β must be a finite number ≥ 0, got ${options.trades.beta}`);
    if (!options.perturb) throw new TrainingError('TRADES needs a perturb hook to make the adversarial copies');
    if (options.distill) throw new TrainingError('TRADES trains on the labels; it cannot be combined with distillation');
  }
  const schedule = options.schedule ?? { kind: 'constant' };
  if (schedule.kind === 'step') positiveInteger(schedule.every, 'the step schedule\'s period');
  return { ...options, seed: options.seed ?? 0, schedule };
}

function checkLabels(labels: ArrayLike<number>, classes: number, which: string): void {
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new TrainingError(`${which} label ${label} at index ${i} is outside [0, ${classes}): the model has ${classes} classes`);
    }
  }
}

/** A uniformly random order of 0..n−1: the argsort of n uniform numbers (ties broken by index). */
async function permutation(n: number, key: bigint, offset: bigint): Promise<Uint32Array> {
  const u = await randomUniform(n, { seed: key, offset });
  return Uint32Array.from({ length: n }, (_, i) => i).sort((a, b) => u[a] - u[b] || a - b);
}

function countCorrect(logits: Float32Array, classes: number, labels: ArrayLike<number>, batch: Uint32Array): number {
  let correct = 0;
  batch.forEach((row, i) => {
    let best = 0;
    for (let k = 1; k < classes; k++) if (logits[i * classes + k] > logits[i * classes + best]) best = k;
    if (best === labels[row]) correct++;
  });
  return correct;
}

async function teacherTargets(distill: { teacher: ModelProto; temperature: number }, data: TrainingData, o: SessionOptions & { batchSize: number }): Promise<Float32Array> {
  const { logits, classes } = await predictLogits(distill.teacher, data.x, data.sampleDims, { ...o, batchSize: Math.max(o.batchSize, 256) });
  return softmax(logits, classes, { temperature: distill.temperature });
}

async function evaluate(model: ModelProto, data: TrainingData, o: SessionOptions & { batchSize: number }): Promise<{ validationLoss: number; validationAccuracy: number }> {
  const { logits, classes } = await predictLogits(model, data.x, data.sampleDims, { ...o, batchSize: Math.max(o.batchSize, 256) });
  const labels = Int32Array.from(data.labels);
  const { loss } = await membershipMetrics(logits, labels, classes);
  const correct = countCorrect(logits, classes, labels, Uint32Array.from(labels, (_, i) => i));
  return { validationLoss: loss.reduce((a, b) => a + b, 0) / labels.length, validationAccuracy: correct / labels.length };
}
