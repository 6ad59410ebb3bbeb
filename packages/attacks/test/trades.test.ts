// TRADES through the trainer: the hook's PGD on KL(softmax(f(x)) ‖ softmax(f(x'))) replayed in
// float64 on a linear model (input gradient Wᵀ(q − p) in closed form), robustness gained on real
// MNIST digits over standard training, bit-identical resumption, and the option checks.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadBuiltin } from '@onnx-audit/data';
import { randomNormal } from '@onnx-audit/native';
import { buildClassifier, SMALL_IMAGE_CNN, train, type TrainOptions } from '@onnx-audit/onnx';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { adversarialPerturbation, stepKey } from '../src/defences/adversarial-training.js';
import { digitsOf, initializerBytes, resumableRun, robustAccuracy } from './adversarial-helpers.js';
import { linearModel, uniform } from './models.js';

function softmax64(z: number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** Softmax of z = xW + b in float64. */
function probabilities(W: Float32Array, bias: Float32Array, x: ArrayLike<number>): number[] {
  const k = bias.length;
  return softmax64(Array.from(bias, (bj, j) => Array.from(x).reduce((s, xi, i) => s + xi * W[i * k + j], bj)));
}

const kl = (p: number[], q: number[]) => p.reduce((s, pj, j) => s + pj * Math.log(pj / q[j]), 0);

describe('TRADES adversarial training', () => {
  it('writes PGD-KL examples into the second half as a float64 replay does, raising the KL', async () => {
    const d = 12, k = 4, b = 5, eps = 0.1, steps = 5, stepSize = 0.03;
    const W = uniform(d * k, 1).map((v) => 4 * (v - 0.5));
    const bias = uniform(k, 2).map((v) => v - 0.5);
    // Weights arrive as the trainer's tensors, not from the model: zeros in the model prove it.
    const hook = await adversarialPerturbation(linearModel(new Float32Array(d * k), new Float32Array(k)), [d], { kind: 'trades', eps, steps, stepSize, seed: 5 });
    expect(hook.trades).toEqual({ beta: 6 });
    const clean = uniform(b * d, 3);
    const x = new Float32Array(2 * b * d);
    x.set(clean);
    x.set(clean, b * d);
    const labels = Int32Array.from({ length: b }, (_, i) => i % k);
    const weights = { W: new ort.Tensor('float32', W, [d, k]), b: new ort.Tensor('float32', bias, [k]) };
    await hook.perturb({ x, labels, sampleDims: [d], epoch: 2, step: 9, weights });
    await hook.release();

    expect(x.subarray(0, b * d)).toEqual(clean);
    const noise = await randomNormal(b * d, { seed: stepKey(5, 2, 9) });
    for (let r = 0; r < b; r++) {
      const x0 = Float64Array.from(clean.subarray(r * d, (r + 1) * d));
      const p = probabilities(W, bias, x0);
      const v = Float64Array.from(x0, (xi, i) => xi + 0.001 * noise[r * d + i]);
      for (let t = 0; t < steps; t++) {
        const q = probabilities(W, bias, v);
        for (let i = 0; i < d; i++) {
          const g = q.reduce((s, qj, j) => s + (qj - p[j]) * W[i * k + j], 0);
          const moved = v[i] + stepSize * Math.sign(g);
          v[i] = Math.min(1, Math.max(0, Math.min(x0[i] + eps, Math.max(x0[i] - eps, moved))));
        }
      }
      const row = x.subarray((b + r) * d, (b + r + 1) * d);
      for (let i = 0; i < d; i++) {
        expect(row[i]).toBeCloseTo(v[i], 5);
        expect(Math.abs(row[i] - x0[i])).toBeLessThanOrEqual(eps + 1e-6);
      }
      expect(kl(p, probabilities(W, bias, row))).toBeGreaterThan(1e-3);
    }
  });

  it('refuses bad options with one line before any work', async () => {
    const model = linearModel(new Float32Array(8), new Float32Array(2));
    const cases: Array<[Parameters<typeof adversarialPerturbation>[2], RegExp]> = [
      [{ kind: 'trades', eps: 0.1, mix: 0.5 }, /^trades pairs every sample with its adversarial copy; mix must be 1, got 0.5$/],
      [{ kind: 'trades', eps: 0.1, beta: -1 }, /^beta must be a finite number ≥ 0, got -1$/],
      [{ kind: 'pgd', eps: 0.1, beta: 6 }, /^beta is TRADES' weight; pgd takes none$/],
    ];
    for (const [options, message] of cases) await expect(adversarialPerturbation(model, [4], options)).rejects.toThrow(message);
    const data = { x: new Float32Array(8), sampleDims: [4], labels: [0, 1] };
    const base: TrainOptions = { epochs: 1, batchSize: 2, optimizer: 'sgd', lr: 0.1 };
    await expect(train(model, data, { ...base, trades: { beta: 6 } })).rejects.toThrow(/^TRADES needs a perturb hook/);
    const hook = await adversarialPerturbation(model, [4], { kind: 'trades', eps: 0.1 });
    try {
      await expect(train(model, data, { ...base, trades: { beta: Number.NaN }, perturb: hook.perturb, perturbation: hook.describe })).rejects.toThrow(/^the TRADES β must be/);
      // Without the trainer's trades option the batch holds no room for the copies.
      await expect(train(model, data, { ...base, perturb: hook.perturb, perturbation: hook.describe })).rejects.toThrow(/^the batch holds 8 values, expected 2 clean samples and their 2 copies/);
    } finally {
      await hook.release();
    }
  });

  it('resumes TRADES training bit for bit, and refuses another β', async () => {
    const { run } = await resumableRun({ kind: 'trades', eps: 0.2, steps: 2, seed: 4, beta: 6 });
    const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-trades-'));
    const whole = await run(2);
    expect(whole.history.every((e) => e.trainAccuracy <= 1 && Number.isFinite(e.loss))).toBe(true);
    const checkpoint = join(dir, 'run.ckpt');
    await run(1, checkpoint);
    const resumed = await run(2, checkpoint);
    expect(resumed.resumedFrom).toBe(1);
    expect(initializerBytes(resumed.model)).toEqual(initializerBytes(whole.model));
    await expect(run(3, checkpoint, { beta: 1 })).rejects.toThrow(/trades \{"beta":6\} → \{"beta":1\}/);
  }, 60_000);

  // Measured (seed 3, 200 held-out digits, PGD-20 at ε = 0.1): standard 97% clean, 43% robust;
  // TRADES (β = 6, 5 PGD-KL steps) 93% clean, 82% robust, in 23 s against standard's 6 s. At
  // ε = 0.2 this budget gave 0% against 35.5% robust, but TRADES' clean accuracy fell to 84.5%.
  it('makes the small image CNN more robust on real MNIST digits than standard training', async () => {
    const all = await loadBuiltin('mnist', { perClass: 600 });
    const trainRows: number[] = [], testRows: number[] = [];
    all.y.forEach((_, i) => (i % 15 === 14 ? testRows : trainRows).push(i));
    const data = digitsOf(all, trainRows), test = digitsOf(all, testRows.slice(0, 200));
    const arch = await buildClassifier(SMALL_IMAGE_CNN);
    const eps = 0.1;
    const options: TrainOptions = { epochs: 4, batchSize: 32, optimizer: 'adam', lr: 1e-3, seed: 3 };
    const began = performance.now();
    const standard = await train(arch, data, options);
    const standardSeconds = (performance.now() - began) / 1000;
    const hook = await adversarialPerturbation(arch, data.sampleDims, { kind: 'trades', eps, steps: 5 });
    const start = performance.now();
    const robust = await train(arch, data, { ...options, perturb: hook.perturb, perturbation: hook.describe, trades: hook.trades! }).finally(() => hook.release());
    const robustSeconds = (performance.now() - start) / 1000;
    const before = await robustAccuracy(standard.model, test, eps);
    const after = await robustAccuracy(robust.model, test, eps);
    if (process.env.AT_FIGURES) console.log({ before, after, standardSeconds, robustSeconds, samples: trainRows.length, perturbation: hook.describe });
    expect(before.clean).toBeGreaterThan(0.95);
    expect(after.clean).toBeGreaterThan(0.9);
    expect(after.robust).toBeGreaterThan(before.robust + 0.25);
  }, 90_000);
});
