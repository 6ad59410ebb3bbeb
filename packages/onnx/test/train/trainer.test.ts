// The trainer against references computed here in float64: one step of SGD and of Adam on a
// softmax regression (whose mean cross-entropy gradient is (1/N) Σ (p_i − e_{y_i}) x_iᵀ), the
// BatchNormalization running statistics, and the guarantees around them: the same seed gives the
// same bytes, a resumed run gives exactly the uninterrupted one's model, divergence stops cleanly.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { ModelProto } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { buildClassifier, encodeModel, readModel, tensorToArray, train, TrainingError, type TrainOptions } from '../../src/index.js';
import { bandImages, smallCnn } from './fixtures.js';

const weightOf = (model: ModelProto, name: string) => Float64Array.from(tensorToArray(model.graph!.initializer.find((t) => t.name === name)!) as Float32Array);

/** d mean-CE / d(W, b) for logits z = x Wᵀ + b, W [K, D]. */
function softmaxRegressionGradient(W: Float64Array, b: Float64Array, x: Float32Array, labels: number[], d: number, k: number) {
  const n = labels.length;
  const dW = new Float64Array(k * d);
  const db = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: k }, (_, c) => b[c] + Array.from({ length: d }, (_, j) => W[c * d + j] * x[i * d + j]).reduce((s, t) => s + t));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const total = e.reduce((s, t) => s + t);
    for (let c = 0; c < k; c++) {
      const r = e[c] / total - (c === labels[i] ? 1 : 0);
      db[c] += r / n;
      for (let j = 0; j < d; j++) dW[c * d + j] += (r * x[i * d + j]) / n;
    }
  }
  return { dW, db };
}

describe('train', () => {
  const [D, K, N] = [4, 3, 12];
  const x = Float32Array.from({ length: N * D }, (_, i) => Math.sin(1.3 * i));
  const labels = Array.from({ length: N }, (_, i) => (i * 7) % K);
  const regression = () => buildClassifier({ input: [D], layers: [{ kind: 'linear', units: K }], seed: 2 });

  it('takes one full-batch SGD step of −lr·∇ (mean cross-entropy)', async () => {
    const model = await regression();
    const [W, b] = [weightOf(model, 'fc0.weight'), weightOf(model, 'fc0.bias')];
    const { dW, db } = softmaxRegressionGradient(W, b, x, labels, D, K);
    const { model: trained } = await train(model, { x, sampleDims: [D], labels }, { epochs: 1, batchSize: N, optimizer: 'sgd', lr: 0.5 });
    const W1 = weightOf(trained, 'fc0.weight');
    const b1 = weightOf(trained, 'fc0.bias');
    W.forEach((w, i) => expect(W1[i]).toBeCloseTo(w - 0.5 * dW[i], 6));
    b.forEach((v, i) => expect(b1[i]).toBeCloseTo(v - 0.5 * db[i], 6));
  });

  it('takes a first Adam step of −lr·g/(|g| + ε) (bias-corrected moments)', async () => {
    const model = await regression();
    const [W, b] = [weightOf(model, 'fc0.weight'), weightOf(model, 'fc0.bias')];
    const { dW } = softmaxRegressionGradient(W, b, x, labels, D, K);
    const { model: trained } = await train(model, { x, sampleDims: [D], labels }, { epochs: 1, batchSize: N, optimizer: 'adam', lr: 0.01 });
    const W1 = weightOf(trained, 'fc0.weight');
    W.forEach((w, i) => expect(W1[i]).toBeCloseTo(w - (0.01 * dW[i]) / (Math.abs(dW[i]) + 1e-8), 6));
  });

  it('updates BatchNormalization running statistics with momentum 0.9 and the batch mean and variance', async () => {
    const model = await buildClassifier({ input: [D], layers: [{ kind: 'batchNorm' }, { kind: 'linear', units: K }], seed: 2 });
    const { model: trained } = await train(model, { x, sampleDims: [D], labels }, { epochs: 1, batchSize: N, optimizer: 'sgd', lr: 0.1 });
    const mean = weightOf(trained, 'bn0.running_mean');
    const variance = weightOf(trained, 'bn0.running_var');
    for (let j = 0; j < D; j++) {
      const column = Array.from({ length: N }, (_, i) => x[i * D + j]);
      const mu = column.reduce((s, t) => s + t) / N;
      const biased = column.reduce((s, t) => s + (t - mu) ** 2, 0) / N;
      expect(mean[j]).toBeCloseTo(0.9 * 0 + 0.1 * mu, 6);
      // ONNX Runtime updates the running variance with the biased (population) batch variance.
      expect(variance[j]).toBeCloseTo(0.9 * 1 + 0.1 * biased, 6);
    }
  });

  const cnnOptions = (dir: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
    epochs: 3, batchSize: 16, optimizer: 'sgd', lr: 0.05, momentum: 0.9, seed: 7, reinit: true, checkpoint: join(dir, 'run.ckpt'), ...extra,
  });

  it('is deterministic for a seed, and the seed matters', async () => {
    const [model, data] = [await smallCnn(), bandImages(90, 1)];
    const dir = mkdtempSync(join(tmpdir(), 'train-det-'));
    const a = await train(model, data, { ...cnnOptions(dir), checkpoint: undefined, epochs: 2 });
    const b = await train(model, data, { ...cnnOptions(dir), checkpoint: undefined, epochs: 2 });
    const c = await train(model, data, { ...cnnOptions(dir), checkpoint: undefined, epochs: 2, seed: 8 });
    expect(encodeModel(a.model)).toEqual(encodeModel(b.model));
    expect(encodeModel(a.model)).not.toEqual(encodeModel(c.model));
  });

  it('resumes from a checkpoint to exactly the model an uninterrupted run gives, with one snapshot per epoch', async () => {
    const [model, data] = [await smallCnn(), bandImages(90, 1)];
    const whole = mkdtempSync(join(tmpdir(), 'train-whole-'));
    const uninterrupted = await train(model, data, cnnOptions(whole, { snapshots: join(whole, 'snapshots') }));
    expect(readdirSync(join(whole, 'snapshots'))).toEqual(['epoch-001.onnx', 'epoch-002.onnx', 'epoch-003.onnx']);
    expect(encodeModel(await readModel(join(whole, 'snapshots', 'epoch-003.onnx')))).toEqual(encodeModel(uninterrupted.model));
    expect(uninterrupted.history.at(-1)!.trainAccuracy).toBeGreaterThan(0.9);

    const split = mkdtempSync(join(tmpdir(), 'train-split-'));
    const stop = new Error('interrupted');
    await expect(train(model, data, cnnOptions(split, { onEpoch: (e) => { if (e.epoch === 1) throw stop; } }))).rejects.toBe(stop);
    const resumed = await train(model, data, cnnOptions(split, { resume: true }));
    expect(resumed.resumedFrom).toBe(1);
    expect(encodeModel(resumed.model)).toEqual(encodeModel(uninterrupted.model));
    expect(resumed.history.map((e) => e.loss)).toEqual(uninterrupted.history.map((e) => e.loss));
  });

  it('refuses to resume a checkpoint written with other settings, naming them', async () => {
    const [model, data] = [await smallCnn(), bandImages(30, 1)];
    const dir = mkdtempSync(join(tmpdir(), 'train-other-'));
    await train(model, data, cnnOptions(dir, { epochs: 1 }));
    await expect(train(model, data, cnnOptions(dir, { epochs: 2, lr: 0.1, resume: true }))).rejects.toThrow(/different run \(lr 0\.05 → 0\.1\)/);
    writeFileSync(join(dir, 'run.ckpt'), readFileSync(join(dir, 'run.ckpt')).subarray(0, 100));
    await expect(train(model, data, cnnOptions(dir, { epochs: 2, resume: true }))).rejects.toThrow(/not a usable checkpoint/);
  });

  it('stops with a clear error when the loss diverges', async () => {
    const model = await regression();
    const error = await train(model, { x: x.map((v) => v * 1e4), sampleDims: [D], labels }, { epochs: 3, batchSize: 4, optimizer: 'sgd', lr: 1e38 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingError);
    expect((error as Error).message).toMatch(/^the loss became (NaN|Infinity) at epoch 1, step \d+: training diverged; lower the learning rate$/);
  });

  it('rejects labels outside the model\'s classes before training', async () => {
    const model = await regression();
    await expect(train(model, { x, sampleDims: [D], labels: labels.map((l, i) => (i === 5 ? 3 : l)) }, { epochs: 1, batchSize: 4, optimizer: 'sgd', lr: 0.1 }))
      .rejects.toThrow('training label 3 at index 5 is outside [0, 3): the model has 3 classes');
  });
});
