// The adversarial-attack heads ('margin', 'dlr', 'targeted-dlr') on an MLP ending in Softmax (the
// heads read the logits before it), against a float64 reimplementation of the same network:
// - the per-sample loss ORT returns against the loss computed in float64 from the logits ORT
//   returns with it: relative 1e-5 (float32 rounding of a few ops; measured ≤ 1.4e-7 over batch
//   seeds 1–30);
// - the input gradient against central differences of the float64 network's per-sample loss, every
//   input coordinate, step 1e-5: relative 1e-4 in the max norm per sample (float32 rounding of the
//   backward pass; measured over batch seeds 1–30: margin ≤ 1.7e-7, dlr ≤ 7.1e-6, targeted-dlr
//   ≤ 2.1e-6; at the seeds the tests run 1.3e-7, 4.0e-7 and 3.1e-7). The heads are piecewise
//   smooth (max, sort) and the network piecewise linear (Relu), so the samples are drawn with every
//   gap between consecutive logits ≥ 0.05 and every hidden pre-activation ≥ 1e-2 from its kink, far
//   beyond what the step moves.
// Labels are chosen by the rank of their logit, so the label is in turn the top class, the
// runner-up, π3 and π4: the one-hot rows of the numerator and the denominator then overlap in
// every way the quotient rule has to sum. ATTACK_HEAD_ERRORS=1 prints the errors measured.
import { toBinary } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, TensorProto_DataType } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { buildGradientModel } from '../src/autodiff/gradient.js';
import type { LossHead } from '../src/autodiff/heads.js';
import { buildModel, type ModelSpec, rng } from './autodiff/harness.js';

const LOSS_TOLERANCE = 1e-5;
const GRADIENT_TOLERANCE = 1e-4;
const STEP = 1e-5;
const MIN_LOGIT_GAP = 0.05;
const MIN_PREACTIVATION = 1e-2;

const [D, H, K, N] = [5, 16, 6, 8];

type AttackHead = Extract<LossHead, { kind: 'margin' | 'dlr' | 'targeted-dlr' }>;

/** Float32 weights, read back as float64 by the reference, so both compute with the same values. */
function uniform(count: number, seed: number, bound: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: count }, () => bound * (2 * r() - 1));
}

const W1 = uniform(H * D, 11, 1 / Math.sqrt(D));
const B1 = uniform(H, 12, 1 / Math.sqrt(D));
const W2 = uniform(K * H, 13, 2);
const B2 = uniform(K, 14, 0.5);

function mlpSpec(n: number, classes = K, w2 = W2, b2 = B2): ModelSpec {
  return {
    inputs: { x: [n, D] },
    floats: {
      W1: { dims: [H, D], values: [...W1] }, b1: { dims: [H], values: [...B1] },
      W2: { dims: [classes, H], values: [...w2.subarray(0, classes * H)] }, b2: { dims: [classes], values: [...b2.subarray(0, classes)] },
    },
    nodes: [
      { op: 'Gemm', inputs: ['x', 'W1', 'b1'], outputs: ['h'], attrs: { transB: 1 } },
      { op: 'Relu', inputs: ['h'], outputs: ['a'] },
      { op: 'Gemm', inputs: ['a', 'W2', 'b2'], outputs: ['z'], attrs: { transB: 1 } },
      { op: 'Softmax', inputs: ['z'], outputs: ['probs'], attrs: { axis: 1 } },
    ],
    output: 'probs',
  };
}

/** The network in float64: logits and hidden pre-activations of one sample. */
function reference(x: ArrayLike<number>): { z: number[]; pre: number[] } {
  const pre = Array.from({ length: H }, (_, j) => {
    let s = B1[j];
    for (let d = 0; d < D; d++) s += W1[j * D + d] * x[d];
    return s;
  });
  const z = Array.from({ length: K }, (_, k) => {
    let s = B2[k];
    for (let j = 0; j < H; j++) s += W2[k * H + j] * Math.max(pre[j], 0);
    return s;
  });
  return { z, pre };
}

/** Class indices by descending logit (lowest index first on ties, as TopK). */
const order = (z: number[]) => z.map((_, k) => k).sort((a, b) => z[b] - z[a] || a - b);

function runnerUp(z: number[], y: number): number {
  let best = -Infinity;
  for (let k = 0; k < z.length; k++) if (k !== y && z[k] > best) best = z[k];
  return best;
}

/** The heads' per-sample losses in float64, as AutoAttack and Carlini–Wagner define them. */
function referenceLoss(kind: AttackHead['kind'], z: number[], y: number, t: number): number {
  const s = order(z).map((k) => z[k]);
  switch (kind) {
    case 'margin': return z[y] - runnerUp(z, y);
    case 'dlr': return -(z[y] - runnerUp(z, y)) / (s[0] - s[2] + 1e-12);
    case 'targeted-dlr': return -(z[y] - z[t]) / (s[0] - (s[2] + s[3]) / 2 + 1e-12);
  }
}

interface Batch {
  x: Float32Array;
  labels: number[];
  targets: number[];
}

/**
 * Inputs far from every kink, with labels cycling through the logit ranks and targets through the
 * other ranks, so that t is in turn π1, π2, π3, π4 and a class outside the denominator.
 */
function separatedBatch(seed: number): Batch {
  const r = rng(seed);
  const x = new Float32Array(N * D);
  const labels: number[] = [];
  const targets: number[] = [];
  for (let i = 0, tries = 0; i < N; tries++) {
    if (tries > 100_000) throw new Error('no well-separated inputs found; loosen the gaps or change the seed');
    const sample = Float32Array.from({ length: D }, () => 4 * r() - 2);
    const { z, pre } = reference(sample);
    const ranks = order(z);
    const gaps = ranks.slice(1).map((k, j) => z[ranks[j]] - z[k]);
    if (Math.min(...gaps) < MIN_LOGIT_GAP || pre.some((p) => Math.abs(p) < MIN_PREACTIVATION)) continue;
    x.set(sample, i * D);
    const labelRank = i % K;
    labels.push(ranks[labelRank]);
    targets.push(ranks[(labelRank + 1 + (i % (K - 1))) % K]);
    i++;
  }
  return { x, labels, targets };
}

const int64 = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [values.length]);

interface HeadRun {
  loss: Float32Array;
  logits: Float32Array;
  gradient: Float32Array;
}

async function runHead(model: ModelProto, head: LossHead, x: Float32Array, dims: number[], labels: number[], targets?: number[], mean = false): Promise<HeadRun> {
  const feeds = { x: new ort.Tensor('float32', x, dims) };
  const built = await buildGradientModel(model, { wrt: ['x'], head, feeds, mean });
  const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, built.model));
  try {
    const out = await session.run({
      ...feeds,
      [built.labels!]: int64(labels),
      ...(targets ? { [built.targets!]: int64(targets) } : {}),
    });
    return { loss: out[built.loss].data as Float32Array, logits: out[built.logits].data as Float32Array, gradient: out[built.gradients.x].data as Float32Array };
  } finally {
    await session.release();
  }
}

/** Worst relative errors of the loss and, per sample in the max norm, of the input gradient. */
async function check(head: AttackHead, batch: Batch): Promise<{ loss: number; gradient: number }> {
  const { x, labels, targets } = batch;
  const run = await runHead(buildModel(mlpSpec(N)), head, x, [N, D], labels, head.kind === 'targeted-dlr' ? targets : undefined);
  let lossError = 0;
  let gradientError = 0;
  for (let i = 0; i < N; i++) {
    const y = labels[i], t = targets[i];
    const logits = Array.from(run.logits.subarray(i * K, (i + 1) * K));
    const expected = referenceLoss(head.kind, logits, y, t);
    lossError = Math.max(lossError, Math.abs(run.loss[i] - expected) / Math.max(Math.abs(expected), 1e-3));

    const xi = Array.from(x.subarray(i * D, (i + 1) * D));
    // The reference's logits must agree with ORT's, or the differences below describe another network.
    expect(Math.max(...reference(xi).z.map((v, k) => Math.abs(v - logits[k])))).toBeLessThan(1e-5);
    const numeric = xi.map((_, d) => {
      const at = (step: number) => referenceLoss(head.kind, reference(xi.map((v, j) => (j === d ? v + step : v))).z, y, t);
      return (at(STEP) - at(-STEP)) / (2 * STEP);
    });
    const analytic = run.gradient.subarray(i * D, (i + 1) * D);
    // Floored as in autodiff/harness.ts: with the label at π3, DLR is the constant 1 and its
    // gradient is float32 rounding of terms that cancel.
    const scale = Math.max(...numeric.map(Math.abs), 1e-2);
    gradientError = Math.max(gradientError, Math.max(...numeric.map((v, d) => Math.abs(analytic[d] - v))) / scale);
  }
  if (process.env.ATTACK_HEAD_ERRORS) console.log(`${head.kind}: loss ${lossError.toExponential(1)}, gradient ${gradientError.toExponential(1)}`);
  return { loss: lossError, gradient: gradientError };
}

/** logits = x · 1: the head sees exactly the values fed, and the input gradient is the seed. */
function identityLogits(n: number, classes: number): ModelProto {
  return buildModel({
    inputs: { x: [n, classes] },
    floats: { one: { dims: [], values: [1] } },
    nodes: [{ op: 'Mul', inputs: ['x', 'one'], outputs: ['z'] }],
    output: 'z',
  });
}

describe('attack loss heads', () => {
  for (const [kind, seed] of [['margin', 1], ['dlr', 2], ['targeted-dlr', 3]] as const) {
    it(`'${kind}': loss and input gradient of an MLP against float64 finite differences`, async () => {
      const errors = await check({ kind }, separatedBatch(seed));
      expect(errors.loss).toBeLessThan(LOSS_TOLERANCE);
      expect(errors.gradient).toBeLessThan(GRADIENT_TOLERANCE);
    });
  }

  it("'targeted-dlr' reads the targets fed as an int64 [N] input, and explicit targets change the loss", async () => {
    const x = Float32Array.from([3, 1, 2, -1, 0.5, /**/ -2, 4, 0, 1, 3]);
    const model = identityLogits(2, 5);
    const built = await buildGradientModel(model, { wrt: ['x'], head: { kind: 'targeted-dlr' }, feeds: { x: new ort.Tensor('float32', x, [2, 5]) } });
    const declared = built.model.graph!.input.find((i) => i.name === built.targets);
    const tensorType = declared?.type?.value.case === 'tensorType' ? declared.type.value.value : undefined;
    expect(tensorType?.elemType).toBe(TensorProto_DataType.INT64);
    expect(tensorType?.shape?.dim).toHaveLength(1);

    const labels = [0, 1];
    // Sample 0 sorted: 3 (0), 2 (2), 1 (1), 0.5 (4), −1 (3): denominator 3 − (1 + 0.5)/2 = 2.25.
    // Sample 1 sorted: 4 (1), 3 (4), 1 (3), 0 (2), −2 (0): denominator 4 − (1 + 0)/2 = 3.5.
    for (const [targets, expected] of [
      [[2, 4], [-(3 - 2) / 2.25, -(4 - 3) / 3.5]],
      [[3, 0], [-(3 + 1) / 2.25, -(4 + 2) / 3.5]],
    ] as const) {
      const run = await runHead(model, { kind: 'targeted-dlr' }, x, [2, 5], labels, [...targets]);
      expect(Array.from(run.loss)).toEqual(expected.map((v) => expect.closeTo(v, 6)));
    }
    // Seed of sample 0 with t = 3: −(e_0 − e_3)/d + (u/d²)(e_0 − (e_1 + e_4)/2), u = 4, d = 2.25.
    const run = await runHead(model, { kind: 'targeted-dlr' }, x, [2, 5], labels, [3, 0]);
    const [d, u] = [2.25, 4];
    const seed0 = [-1 / d + u / d ** 2, -u / d ** 2 / 2, 0, 1 / d, -u / d ** 2 / 2];
    expect(Array.from(run.gradient.subarray(0, 5))).toEqual(seed0.map((v) => expect.closeTo(v, 6)));
  });

  it("'margin' masks the label's logit rather than zeroing it, so all-negative other logits still count", async () => {
    // Zeroing the label's logit (a torchattacks bug) would make that 0 the best other class in
    // every row: margins 2, −0.5 and −0.25, and gradients e_y alone.
    const x = Float32Array.from([
      2, -1, -3, -0.2, -5, // label 0, positive; runner-up class 3
      -4, -0.5, -2, -0.7, -9, // label 1, itself negative; runner-up class 3
      -3, -1, -0.25, -1, -2, // label 2 is the top class; runner-up classes 1 and 3 tie at −1: the lower index, 1
    ]);
    const run = await runHead(identityLogits(3, 5), { kind: 'margin' }, x, [3, 5], [0, 1, 2]);
    expect(Array.from(run.loss)).toEqual([2.2, 0.2, 0.75].map((v) => expect.closeTo(v, 6)));
    expect(Array.from(run.gradient)).toEqual([
      1, 0, 0, -1, 0,
      0, 1, 0, -1, 0,
      0, -1, 1, 0, 0,
    ]);
  });

  it("'dlr' masks the label's logit the same way, and sums the rows where the runner-up is π1", async () => {
    // Sample 0: label 0 is π1 (−0.1), runner-up class 2 (−0.3, π2), π3 class 1 (−1): u = 0.2, d = 0.9.
    // Sample 1: label 1 is π2; runner-up and π1 are class 0, π3 class 3: u = −1, d = 1.5.
    const x = Float32Array.from([
      -0.1, -1, -0.3, -4,
      1, 0, -2, -0.5,
    ]);
    const run = await runHead(identityLogits(2, 4), { kind: 'dlr' }, x, [2, 4], [0, 1]);
    expect(Array.from(run.loss)).toEqual([-0.2 / 0.9, 1 / 1.5].map((v) => expect.closeTo(v, 6)));
    const [u0, d0, u1, d1] = [0.2, 0.9, -1, 1.5];
    expect(Array.from(run.gradient)).toEqual([
      // −(e_0 − e_2)/d + (u/d²)(e_0 − e_1)
      -1 / d0 + u0 / d0 ** 2, -u0 / d0 ** 2, 1 / d0, 0,
      // −(e_1 − e_0)/d + (u/d²)(e_0 − e_3): class 0 takes both the runner-up's and π1's parts
      1 / d1 + u1 / d1 ** 2, -1 / d1, 0, -u1 / d1 ** 2,
    ].map((v) => expect.closeTo(v, 6)));
  });

  it('divides the loss gradient by N with mean', async () => {
    const batch = separatedBatch(4);
    const model = buildModel(mlpSpec(N));
    for (const kind of ['margin', 'dlr', 'targeted-dlr'] as const) {
      const targets = kind === 'targeted-dlr' ? batch.targets : undefined;
      const sum = await runHead(model, { kind }, batch.x, [N, D], batch.labels, targets);
      const mean = await runHead(model, { kind }, batch.x, [N, D], batch.labels, targets, true);
      expect(Array.from(mean.gradient)).toEqual(Array.from(sum.gradient, (v) => expect.closeTo(v / N, 6)));
    }
  });

  it('refuses logits with too few classes, naming the count', async () => {
    for (const [kind, classes, min] of [['margin', 1, 2], ['dlr', 2, 3], ['targeted-dlr', 3, 4]] as const) {
      const model = buildModel(mlpSpec(2, classes));
      const feeds = { x: new ort.Tensor('float32', new Float32Array(2 * D), [2, D]) };
      await expect(buildGradientModel(model, { wrt: ['x'], head: { kind }, feeds })).rejects.toThrow(
        `the '${kind}' loss head needs at least ${min} classes; the logits have ${classes}`,
      );
    }
  });
});
