// `onnx-audit calibrate` on a classifier made over-confident on purpose: labels are drawn from
// softmax(xW) (a calibrated model), the model file holds 3W, so temperature scaling must find
// T ≈ 3, lower the test ECE, and write a model whose logits are the original ones divided by T.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { writeNpz } from '@onnx-audit/data';
import { encodeModel, predictLogits, readModel } from '@onnx-audit/onnx';

import { linearSoftmax } from './linear-model.js';
import { cli } from './run-cli.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const [D, K] = [4, 3];
const W = Float32Array.from([1.2, -0.4, 0.3, -0.8, 0.9, 0.1, 0.5, 0.2, -1.1, -0.3, -0.6, 0.8]);

/** n samples whose labels are drawn from softmax(x W): the unscaled model is calibrated on them. */
function calibratedSamples(n: number, seed: number): { x: Float32Array; y: Int32Array } {
  const r = lcg(seed);
  const x = Float32Array.from({ length: n * D }, () => 2 * r() - 1);
  const y = Int32Array.from({ length: n }, (_, i) => {
    const z = Array.from({ length: K }, (_, k) => Array.from({ length: D }, (_, d) => x[i * D + d] * W[d * K + k]).reduce((a, b) => a + b));
    const e = z.map(Math.exp);
    let u = r() * e.reduce((a, b) => a + b);
    for (let k = 0; k < K - 1; k++) if ((u -= e[k]) < 0) return k;
    return K - 1;
  });
  return { x, y };
}

describe('onnx-audit calibrate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-calibrate-'));
  const files = { model: join(dir, 'overconfident.onnx'), val: join(dir, 'val.npz'), test: join(dir, 'test.npz'), out: join(dir, 'calibrated.onnx') };

  it('finds T ≈ 3 for logits scaled ×3, lowers the test ECE and NLL, and exports a model dividing the logits by T', async () => {
    writeFileSync(files.model, encodeModel(linearSoftmax(W.map((w) => 3 * w), new Float32Array(K))));
    for (const [path, seed] of [[files.val, 1], [files.test, 2]] as const) {
      const { x, y } = calibratedSamples(5000, seed);
      await writeNpz(path, { x: { dtype: 'float32', shape: [5000, D], data: x }, y: { dtype: 'int32', shape: [5000], data: y } });
    }
    const run = cli('calibrate', '--model', files.model, '--data', files.val, '--test', files.test, '--out', files.out, '--json');
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ method: 'temperature', split: 'test', samples: 5000 });
    // 5 000 samples pin T to about ±3%.
    expect(result.temperature).toBeGreaterThan(2.85);
    expect(result.temperature).toBeLessThan(3.15);
    expect(result.after.ece).toBeLessThan(result.before.ece / 3);
    expect(result.after.nll).toBeLessThan(result.before.nll);
    expect(result.after.accuracy).toBe(result.before.accuracy);
    expect(result.bins).toHaveLength(15);

    const { x } = calibratedSamples(50, 3);
    const original = await predictLogits(await readModel(files.model), x, [D]);
    const calibrated = await predictLogits(await readModel(files.out), x, [D]);
    calibrated.logits.forEach((v, i) => expect(v).toBeCloseTo(original.logits[i] / result.temperature, 5));
  });

  it('prints a table, warns that the fitting data flatters, and refuses to export binning methods', () => {
    const table = cli('calibrate', '--model', files.model, '--data', files.val, '--method', 'vector');
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^vector calibration, fitted on .*the fitting data: expect it to look better than on new data/);
    expect(table.stdout).toMatch(/^ece +0\.\d{4} +0\.\d{4}$/m);
    const refused = cli('calibrate', '--model', files.model, '--data', files.val, '--method', 'isotonic', '--out', join(dir, 'x.onnx'));
    expect([refused.status, refused.stderr.trim()]).toEqual([1, 'onnx-audit: --out: isotonic calibration cannot be written as ONNX ops; use --method temperature, vector or matrix to export']);
  });

  it('reads .npz data a batch at a time, naming a bad value by its index in the whole file', async () => {
    const { x, y } = calibratedSamples(20_000, 4);
    x[70_001] = Number.POSITIVE_INFINITY;
    const big = join(dir, 'big.npz');
    await writeNpz(big, { x: { dtype: 'float32', shape: [20_000, D], data: x }, y: { dtype: 'int32', shape: [20_000], data: y } }, { compress: true });
    const run = cli('calibrate', '--model', files.model, '--data', files.val, '--test', big, '--batch-size', '100');
    expect([run.status, run.stderr.trim().split('\n').at(-1)]).toEqual([1, `onnx-audit: ${big}: x holds Infinity at flat index 70001; remove or fix non-finite inputs`]);
  });
});
