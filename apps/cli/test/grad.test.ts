// `onnx-audit grad` against the analytic gradient of a linear softmax classifier:
// z = xW + b, loss_i = −log softmax(z_i)_{y_i}, so d loss_i / d x_i = (softmax(z_i) − e_{y_i}) Wᵀ.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readNpy, writeNpz } from '@onnx-audit/data';
import { encodeModel } from '@onnx-audit/onnx';

import { linearSoftmax } from './linear-model.js';
import { cli } from './run-cli.js';

const [D, K, N] = [4, 3, 7];
const W = Float32Array.from({ length: D * K }, (_, i) => Math.sin(i + 1));
const B = Float32Array.from({ length: K }, (_, i) => 0.1 * i);
const X = Float32Array.from({ length: N * D }, (_, i) => Math.cos(3 * i));
const Y = Int32Array.from({ length: N }, (_, i) => i % K);

function analytic(): Float64Array {
  const g = new Float64Array(N * D);
  for (let i = 0; i < N; i++) {
    const z = Array.from({ length: K }, (_, k) => B[k] + Array.from({ length: D }, (_, d) => X[i * D + d] * W[d * K + k]).reduce((a, b) => a + b));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b);
    const r = e.map((v, k) => v / s - (k === Y[i] ? 1 : 0));
    for (let d = 0; d < D; d++) g[i * D + d] = r.reduce((acc, rk, k) => acc + rk * W[d * K + k], 0);
  }
  return g;
}

describe('onnx-audit grad', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-grad-'));
  const modelPath = join(dir, 'linear.onnx');
  writeFileSync(modelPath, encodeModel(linearSoftmax(W, B)));

  it('writes per-sample input gradients equal to (softmax − one-hot)·Wᵀ, in batches with a remainder', async () => {
    const data = join(dir, 'd.npz');
    await writeNpz(data, { x: { dtype: 'float32', shape: [N, D], data: X }, y: { dtype: 'int32', shape: [N], data: Y } }, { compress: true });
    const out = join(dir, 'g.npy');
    const r = cli('grad', '--model', modelPath, '--data', data, '--out', out, '--batch-size', '3');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/ends in Softmax \(node 'sm'\)/);
    const g = await readNpy(out);
    expect(g.dtype).toBe('float32');
    expect(g.shape).toEqual([N, D]);
    const want = analytic();
    for (let i = 0; i < want.length; i++) expect(Math.abs((g.data as Float32Array)[i] - want[i])).toBeLessThan(1e-6);
  });

  it('refuses labels outside [0, K), NaN inputs and wrong shapes with one line and exit code 1', async () => {
    const cases: Array<[string, Record<string, { dtype: 'float32' | 'int32'; shape: number[]; data: Float32Array | Int32Array }>, RegExp]> = [
      ['label', { x: { dtype: 'float32', shape: [N, D], data: X }, y: { dtype: 'int32', shape: [N], data: Int32Array.from(Y, (v, i) => (i === 2 ? K : v)) } }, /label 3 at index 2 is outside \[0, 3\)/],
      ['nan', { x: { dtype: 'float32', shape: [N, D], data: Float32Array.from(X, (v, i) => (i === 5 ? NaN : v)) }, y: { dtype: 'int32', shape: [N], data: Y } }, /x holds NaN at flat index 5/],
      ['shape', { x: { dtype: 'float32', shape: [N, D - 1], data: X.subarray(0, N * (D - 1)) }, y: { dtype: 'int32', shape: [N], data: Y } }, /x has shape \[7,3\], the model takes \[N,4\]/],
    ];
    for (const [name, arrays, message] of cases) {
      const data = join(dir, `${name}.npz`);
      await writeNpz(data, arrays);
      const r = cli('grad', '--model', modelPath, '--data', data, '--out', join(dir, `${name}.npy`));
      expect(r.status, name).toBe(1);
      expect(r.stderr.trim().split('\n'), name).toHaveLength(1);
      expect(r.stderr, name).toMatch(message);
    }
  });

  it('puts --mean/--std into the graph (gradients in the user\'s units: ∂/∂x = ∂/∂x̂ / std) and holds data to --input-range', async () => {
    const raw = join(dir, 'raw.npz');
    const normalised = join(dir, 'normalised.npz');
    await writeNpz(raw, { x: { dtype: 'float32', shape: [N, D], data: X }, y: { dtype: 'int32', shape: [N], data: Y } });
    await writeNpz(normalised, { x: { dtype: 'float32', shape: [N, D], data: X.map((v) => (v - 0.5) / 2) }, y: { dtype: 'int32', shape: [N], data: Y } });
    expect(cli('grad', '--model', modelPath, '--data', raw, '--out', join(dir, 'user.npy'), '--mean', '0.5', '--std', '2').status).toBe(0);
    expect(cli('grad', '--model', modelPath, '--data', normalised, '--out', join(dir, 'inner.npy')).status).toBe(0);
    const user = (await readNpy(join(dir, 'user.npy'))).data as Float32Array;
    const inner = (await readNpy(join(dir, 'inner.npy'))).data as Float32Array;
    user.forEach((g, i) => expect(g).toBeCloseTo(inner[i] / 2, 6));

    const outside = cli('grad', '--model', modelPath, '--data', raw, '--out', join(dir, 'x.npy'), '--input-range', '0,1');
    expect(outside.status).toBe(1);
    expect(outside.stderr.trim()).toMatch(/^onnx-audit: .*raw\.npz: x holds -?[\d.]+ at flat index \d+, outside --input-range 0,1; fix the data or the range$/);
  });
});
