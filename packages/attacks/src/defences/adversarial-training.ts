// Adversarial training (Madry et al. 2018): the trainer's batch hook replaces each batch, or a
// share of it, by adversarial examples against the weights of the moment, so the model learns
// min_θ E max_{‖δ‖∞≤ε} L(θ, x + δ, y). Two inner maximisers:
// - 'pgd': Madry's PGD, a uniform random start in the L∞ ball then `steps` sign steps, each
//   projected onto the ball ∩ box. Default 10 steps of 2.5·ε/steps: Madry used 40 steps on MNIST
//   (ε = 0.3, α = 0.01); Wong et al. (2020) and Rice et al. (2020) train with 7–10.
// - 'fgsm-rs': Wong, Rice & Kolter (2020) "Fast is better than free": a uniform start in the ball,
//   one sign step of α = 1.25·ε, projected. The start matters: plain FGSM training overfits to a
//   masked gradient ("catastrophic overfitting").
// - 'trades': Zhang et al. (2019). The trainer (its `trades` option) feeds the b clean samples and
//   b copies; the hook overwrites the copies with PGD on KL(softmax(f(x)) ‖ softmax(f(x'))), the
//   soft-cross-entropy head at temperature 1 with the clean softmax as targets, started at
//   x + 0.001·N(0, 1) as the reference code does (a uniform start would be a stronger attack, but
//   not TRADES'; the noise only breaks the zero gradient of KL at x' = x). The step's loss is then
//   CE + β·KL on the pair; β = 6 by default, the paper's and ART's. Default step 2.5·ε/steps, as
//   PGD (the reference's CIFAR setting, 10 steps of 0.007 at ε = 0.031, is 2.26·ε/steps).
// The attack runs the model in inference mode (BatchNormalization normalises with the running
// statistics, Dropout is off), as Madry's and TRADES' code put the model in eval mode to generate
// attacks; the training step then sees the perturbed batch in training mode. Every step runs all
// rows for all iterations (no early stop when a row is already misclassified): training wants the
// loss maximiser, not the first adversarial point.
// One gradient graph per batch size takes every weight and statistic as an input, and each run
// feeds the trainer's live tensors: no model is rebuilt as the weights change.
import {
  buildGradientModel,
  createSession,
  dataInput,
  encodeModel,
  type GradientModel,
  logitsModel,
  parameterLayout,
  type PerturbBatch,
  type SessionOptions,
  slotsAsInputs,
  type TrainOptions,
} from '@onnx-audit/onnx';
import { attackStep, project, randomBall, randomNormal, softmax } from '@onnx-audit/native';
import { clone } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';

import type { Box } from '../classifier/classifier.js';
import { checkCount, checkStepSize, checkThreat } from '../attacks/options.js';

export type AdversarialKind = 'pgd' | 'fgsm-rs' | 'trades';

export interface AdversarialTrainingOptions extends SessionOptions {
  kind: AdversarialKind;
  /** L∞ radius. */
  eps: number;
  /** PGD iterations (default 10); FGSM-RS takes exactly 1. */
  steps?: number;
  /** Default 2.5·ε/steps (PGD), 1.25·ε (FGSM-RS). */
  stepSize?: number;
  /**
   * Share of each batch replaced by adversarial examples, in (0, 1] (default 1): the first
   * ⌈mix·b⌉ rows. The trainer's batches are already a seeded shuffle, so these are a random subset.
   */
  mix?: number;
  /** The valid input box (default [0, 1]). */
  box?: Box;
  /** Seeds the random starts (default 0). */
  seed?: number;
  /** TRADES' weight of the KL term (default 6); 'trades' only. */
  beta?: number;
}

export interface AdversarialPerturbation {
  perturb: NonNullable<TrainOptions['perturb']>;
  /** Every setting that shapes the examples: the trainer's `perturbation`, kept in checkpoints. */
  describe: string;
  /** The trainer's `trades` option, for kind 'trades'. */
  trades?: { beta: number };
  release(): Promise<void>;
}

interface Resolved {
  kind: AdversarialKind;
  eps: number;
  steps: number;
  stepSize: number;
  mix: number;
  box: Box;
  seed: number;
  beta: number;
}

interface AttackSession {
  graph: GradientModel;
  session: ort.InferenceSession;
  x: Float32Array;
  feeds: Record<string, ort.Tensor>;
  /** Cross-entropy: the labels fed. */
  labels?: BigInt64Array;
  /** TRADES: the clean softmax fed as the KL's targets, and the inference session computing it. */
  targets?: Float32Array;
  clean?: { session: ort.InferenceSession; logits: string; classes: number };
}

export async function adversarialPerturbation(model: ModelProto, sampleDims: number[], options: AdversarialTrainingOptions): Promise<AdversarialPerturbation> {
  const o = resolve(options);
  const d = sampleDims.reduce((a, b) => a * b, 1);
  const input = dataInput(model);
  const layout = parameterLayout(model);
  const slots = [...layout.parameters, ...layout.statistics];
  const withInputs = clone(ModelProtoSchema, model);
  slotsAsInputs(withInputs, slots);
  const sessionOptions: SessionOptions = { device: options.device, threads: options.threads, spinning: options.spinning ?? false };

  const sessions = new Map<number, Promise<AttackSession>>();
  const sessionFor = (size: number): Promise<AttackSession> => {
    let entry = sessions.get(size);
    if (!entry) {
      entry = (async () => {
        const x = new Float32Array(size * d);
        const feeds: Record<string, ort.Tensor> = { [input]: new ort.Tensor('float32', x, [size, ...sampleDims]) };
        for (const slot of layout.parameters) feeds[slot.name] = new ort.Tensor('float32', new Float32Array(slot.size), slot.dims);
        // Variances of 1: building the graph runs the model once, which must not divide by zero.
        for (const slot of layout.statistics) feeds[slot.name] = new ort.Tensor('float32', new Float32Array(slot.size).fill(1), slot.dims);
        if (o.kind !== 'trades') {
          const graph = await buildGradientModel(withInputs, { wrt: [input], head: { kind: 'cross-entropy' }, feeds });
          const labels = new BigInt64Array(size);
          const runFeeds = { [input]: feeds[input], [graph.labels!]: new ort.Tensor('int64', labels, [size]) };
          return { graph, session: await createSession(encodeModel(graph.model), sessionOptions), x, labels, feeds: runFeeds };
        }
        const scoring = logitsModel(withInputs).model;
        const cleanSession = await createSession(encodeModel(scoring), sessionOptions);
        const logits = scoring.graph!.output[0].name;
        const classes = (await cleanSession.run(feeds))[logits].dims[1];
        const graph = await buildGradientModel(withInputs, { wrt: [input], head: { kind: 'soft-cross-entropy', temperature: 1 }, feeds });
        const targets = new Float32Array(size * classes);
        const runFeeds = { [input]: feeds[input], [graph.targets!]: new ort.Tensor('float32', targets, [size, classes]) };
        return { graph, session: await createSession(encodeModel(graph.model), sessionOptions), x, targets, feeds: runFeeds, clean: { session: cleanSession, logits, classes } };
      })();
      sessions.set(size, entry);
    }
    return entry;
  };

  const gradient = async (s: AttackSession, weights: PerturbBatch['weights']): Promise<Float32Array> => {
    const out = await s.session.run({ ...weights, ...s.feeds });
    return out[s.graph.gradients[input]].data as Float32Array;
  };

  /** TRADES: the b clean rows stay, the b rows after them become PGD-KL examples against them. */
  const perturbTrades = async (batch: PerturbBatch, b: number): Promise<void> => {
    const s = await sessionFor(b);
    const { session, logits, classes } = s.clean!;
    const x0 = batch.x.slice(0, b * d);
    s.x.set(x0);
    const scores = (await session.run({ ...batch.weights, [input]: s.feeds[input] }))[logits].data as Float32Array;
    await softmax(scores, classes, { out: s.targets });
    const noise = await randomNormal(b * d, { seed: stepKey(o.seed, batch.epoch, batch.step) });
    for (let i = 0; i < b * d; i++) s.x[i] = x0[i] + 0.001 * noise[i];
    await ascend(s, x0, batch.weights);
    batch.x.set(s.x, b * d);
  };

  /** `steps` signed gradient steps from s.x, each projected onto the ε-ball around x0 ∩ box. */
  const ascend = async (s: AttackSession, x0: Float32Array, weights: PerturbBatch['weights']): Promise<void> => {
    for (let t = 0; t < o.steps; t++) {
      const g = await gradient(s, weights);
      // The gradient is spent once the step is taken: the step overwrites it.
      await attackStep('sign', s.x, g, d, o.stepSize, { out: g });
      await project('linf', g, x0, d, o.eps, { box: o.box, out: s.x });
    }
  };

  const perturb = async (batch: PerturbBatch): Promise<void> => {
    const b = batch.labels.length;
    const rows = o.kind === 'trades' ? 2 * b : b;
    if (batch.x.length !== rows * d) {
      const expected = o.kind === 'trades' ? `${b} clean samples and their ${b} copies (the trainer's trades option)` : `${b} samples`;
      throw new RangeError(`the batch holds ${batch.x.length} values, expected ${expected} × ${d}`);
    }
    const missing = slots.find((slot) => !batch.weights[slot.name]);
    if (missing) throw new RangeError(`the trainer feeds no weight '${missing.name}': the hook was built for another model`);
    if (o.kind === 'trades') return perturbTrades(batch, b);
    const m = Math.ceil(o.mix * b);
    const s = await sessionFor(m);
    const x0 = batch.x.slice(0, m * d);
    for (let i = 0; i < m; i++) s.labels![i] = BigInt(batch.labels[i]);
    // A Philox key per (seed, epoch, step): the start depends only on the position in training.
    const start = await randomBall('linf', x0, d, o.eps, { box: o.box, seed: stepKey(o.seed, batch.epoch, batch.step) });
    s.x.set(start);
    await ascend(s, x0, batch.weights);
    batch.x.set(s.x);
  };

  const trades = o.kind === 'trades';
  return {
    perturb,
    describe: `${o.kind} linf eps=${o.eps} steps=${o.steps} stepSize=${o.stepSize} mix=${o.mix} box=[${o.box.lo}, ${o.box.hi}] seed=${o.seed}${trades ? ` beta=${o.beta}` : ''}`,
    ...(trades ? { trades: { beta: o.beta } } : {}),
    release: async () => {
      const all = await Promise.all(sessions.values());
      sessions.clear();
      await Promise.all(all.flatMap((s) => [s.session.release(), ...(s.clean ? [s.clean.session.release()] : [])]));
    },
  };
}

function resolve(options: AdversarialTrainingOptions): Resolved {
  if (!['pgd', 'fgsm-rs', 'trades'].includes(options.kind)) throw new RangeError(`the adversarial kind must be pgd, fgsm-rs or trades, got '${options.kind}'`);
  const eps = options.eps;
  checkThreat({ norm: 'linf', eps });
  const fast = options.kind === 'fgsm-rs';
  if (fast && options.steps !== undefined && options.steps !== 1) throw new RangeError(`fgsm-rs takes exactly one step, got steps ${options.steps}`);
  const steps = checkCount('steps', options.steps ?? (fast ? 1 : 10));
  const stepSize = checkStepSize(options.stepSize ?? (fast ? 1.25 * eps : (2.5 * eps) / steps), eps);
  const mix = options.mix ?? 1;
  if (!(mix > 0 && mix <= 1)) throw new RangeError(`mix must be in (0, 1], got ${mix}`);
  const trades = options.kind === 'trades';
  // TRADES already trains on every clean sample alongside its adversarial copy.
  if (trades && mix !== 1) throw new RangeError(`trades pairs every sample with its adversarial copy; mix must be 1, got ${mix}`);
  if (!trades && options.beta !== undefined) throw new RangeError(`beta is TRADES' weight; ${options.kind} takes none`);
  const beta = options.beta ?? 6;
  if (!(beta >= 0 && Number.isFinite(beta))) throw new RangeError(`beta must be a finite number ≥ 0, got ${beta}`);
  const box = options.box ?? { lo: 0, hi: 1 };
  if (!(box.lo < box.hi)) throw new RangeError(`the input box [${box.lo}, ${box.hi}] is empty`);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`the seed must be a non-negative integer, got ${seed}`);
  return { kind: options.kind, eps, steps, stepSize, mix, box, seed, beta };
}

const MASK = (1n << 64n) - 1n;

/** SplitMix64 over (seed, epoch, step): one well-mixed Philox key per training step. */
export function stepKey(seed: number, epoch: number, step: number): bigint {
  let z = 0x4144564e5452n; // 'ADVNTR': keeps these keys apart from the trainer's own streams
  for (const part of [seed, epoch, step]) {
    z = (z + BigInt(part) + 0x9e3779b97f4a7c15n) & MASK;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    z ^= z >> 31n;
  }
  return z;
}
