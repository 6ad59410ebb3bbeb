// The 'trades' loss head on logits fed directly (z = x · 1, so the input gradient is the seed):
// per-sample losses against a float64 TRADES loss, CE(z_i, y_i) + β·KL(softmax(z_i) ‖ softmax(z_{B+i}))
// on the clean rows and 0 on the adversarial ones, and the seed against central differences of the
// float64 total (step 1e-5; the loss is smooth, so only float32 rounding separates them: relative
// 1e-4 in the max norm). `mean` must divide by B, the clean samples, not by the 2B rows.
import { toBinary } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { buildGradientModel } from '../src/autodiff/gradient.js';
import { buildModel, rng } from './autodiff/harness.js';

const [B, K] = [5, 4];
const STEP = 1e-5;

function identityLogits(n: number): ModelProto {
  return buildModel({
    inputs: { x: [n, K] },
    floats: { one: { dims: [], values: [1] } },
    nodes: [{ op: 'Mul', inputs: ['x', 'one'], outputs: ['z'] }],
    output: 'z',
  });
}

function logSoftmax(z: number[]): number[] {
  const max = Math.max(...z);
  const lse = max + Math.log(z.reduce((s, v) => s + Math.exp(v - max), 0));
  return z.map((v) => v - lse);
}

/** Sample i's TRADES loss in float64 from the 2B rows of logits. */
function reference(z: ArrayLike<number>, labels: number[], beta: number, i: number): number {
  const row = (r: number) => Array.from({ length: K }, (_, k) => z[r * K + k]);
  const logp = logSoftmax(row(i)), logq = logSoftmax(row(B + i));
  const kl = logp.reduce((s, lp, k) => s + Math.exp(lp) * (lp - logq[k]), 0);
  return -logp[labels[i]] + beta * kl;
}

async function runHead(x: Float32Array, labels: number[], beta: number, mean: boolean): Promise<{ loss: Float32Array; seed: Float32Array }> {
  const feeds = { x: new ort.Tensor('float32', x, [2 * B, K]) };
  const built = await buildGradientModel(identityLogits(2 * B), { wrt: ['x'], head: { kind: 'trades', beta }, feeds, mean });
  const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, built.model));
  try {
    const out = await session.run({ ...feeds, [built.labels!]: new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [labels.length]) });
    return { loss: out[built.loss].data as Float32Array, seed: out[built.gradients.x].data as Float32Array };
  } finally {
    await session.release();
  }
}

describe("the 'trades' loss head", () => {
  for (const [beta, seed] of [[6, 1], [1, 2], [0, 3]] as const) {
    it(`β = ${beta}: losses against float64 and the seed against central differences`, async () => {
      const r = rng(seed);
      // Adversarial rows near their clean rows, as after a small attack, but not equal: KL > 0.
      const x = new Float32Array(2 * B * K);
      for (let e = 0; e < B * K; e++) x[e] = 6 * r() - 3;
      for (let e = 0; e < B * K; e++) x[B * K + e] = x[e] + (2 * r() - 1);
      // The second half of the labels is ignored: garbage there must not matter.
      const labels = [...Array.from({ length: B }, (_, i) => i % K), ...Array.from({ length: B }, (_, i) => (i + 1) % K)];
      const { loss, seed: gradient } = await runHead(x, labels, beta, false);

      const z = Float64Array.from(x);
      for (let i = 0; i < B; i++) expect(Math.abs(loss[i] - reference(z, labels, beta, i)) / Math.max(1, reference(z, labels, beta, i))).toBeLessThan(1e-5);
      for (let i = B; i < 2 * B; i++) expect(loss[i]).toBe(0);

      const total = (v: Float64Array) => Array.from({ length: B }, (_, i) => reference(v, labels, beta, i)).reduce((a, b) => a + b, 0);
      const numeric = Array.from(z, (_, e) => {
        const at = (h: number) => total(Float64Array.from(z, (v, j) => (j === e ? v + h : v)));
        return (at(STEP) - at(-STEP)) / (2 * STEP);
      });
      const scale = Math.max(...numeric.map(Math.abs));
      const error = Math.max(...numeric.map((v, e) => Math.abs(gradient[e] - v))) / scale;
      expect(error).toBeLessThan(1e-4);
      // β = 0 leaves plain cross-entropy: no gradient reaches the adversarial rows.
      if (beta === 0) expect(Math.max(...gradient.subarray(B * K).map(Math.abs))).toBe(0);
      else expect(Math.max(...gradient.subarray(B * K).map(Math.abs))).toBeGreaterThan(1e-3);

      const averaged = await runHead(x, labels, beta, true);
      for (let e = 0; e < x.length; e++) expect(averaged.seed[e]).toBeCloseTo(gradient[e] / B, 6);
    });
  }

  it('refuses an odd number of rows', async () => {
    const feeds = { x: new ort.Tensor('float32', new Float32Array(3 * K), [3, K]) };
    await expect(buildGradientModel(identityLogits(3), { wrt: ['x'], head: { kind: 'trades', beta: 6 }, feeds })).rejects.toThrow(/equal numbers, got 3 rows/);
  });
});
