// `onnx-audit explain` on a linear softmax classifier z = xW + b, whose logit gradient is W[:, c]
// (the Softmax is stripped: the logit is explained), so saliency is W[:, c] and Integrated
// Gradients (x − x′) ⊙ W[:, c]; SmoothGrad is checked against the library run with the same seed.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { clone, create } from '@bufbuild/protobuf';
import { ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';

import { onnxClassifier, smoothGrad } from '@onnx-audit/attacks';
import { readNpy, writeNpz } from '@onnx-audit/data';
import { encodeModel } from '@onnx-audit/onnx';

import { linearSoftmax } from './linear-model.js';
import { cli } from './run-cli.js';

const [D, K, N] = [4, 3, 7];
const W = Float32Array.from({ length: D * K }, (_, i) => Math.sin(i + 1));
const B = Float32Array.from({ length: K }, (_, i) => 0.1 * i);
const X = Float32Array.from({ length: N * D }, (_, i) => 0.5 + 0.5 * Math.cos(3 * i));
const Y = Int32Array.from({ length: N }, (_, i) => i % K);

function predicted(i: number): number {
  const z = Array.from({ length: K }, (_, k) => B[k] + Array.from({ length: D }, (_, j) => X[i * D + j] * W[j * K + k]).reduce((a, b) => a + b));
  return z.indexOf(Math.max(...z));
}

async function attributions(path: string): Promise<Float32Array> {
  const a = await readNpy(path);
  expect(a.dtype).toBe('float32');
  expect(a.shape).toEqual([N, D]);
  return a.data as Float32Array;
}

describe('onnx-audit explain', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-explain-'));
  const model = linearSoftmax(W, B);
  const modelPath = join(dir, 'linear.onnx');
  writeFileSync(modelPath, encodeModel(model));
  const data = join(dir, 'd.npz');
  const written = writeNpz(data, { x: { dtype: 'float32', shape: [N, D], data: X }, y: { dtype: 'int32', shape: [N], data: Y } });
  const explain = async (...args: string[]) => {
    await written;
    return cli('explain', '--model', modelPath, '--data', data, ...args);
  };

  it('writes Integrated Gradients (x − x′) ⊙ W[:, c] for the predicted class, and prints its completeness error', async () => {
    const out = join(dir, 'ig.npy');
    const r = await explain('--method', 'integrated-gradients', '--steps', '8', '--baseline', 'min', '--input-range', '-1,1', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(/^integrated-gradients \(steps 8, rule gauss-legendre, baseline min\) of the predicted class's logit, 7 inputs; completeness error \(relative to the logit difference\) median [\d.e-]+%, mean [\d.e-]+%, max [\d.e-]+%; wrote .*ig\.npy: float32 \[7,4\]$/m);
    const a = await attributions(out);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < D; j++) expect(a[i * D + j]).toBeCloseTo((X[i * D + j] + 1) * W[j * K + predicted(i)], 6);
    }
  });

  it('writes saliency W[:, y] for --class label', async () => {
    const out = join(dir, 'saliency.npy');
    const r = await explain('--method', 'saliency', '--class', 'label', '--out', out);
    expect(r.status, r.stderr).toBe(0);
    const a = await attributions(out);
    for (let e = 0; e < N * D; e++) expect(a[e]).toBe(W[(e % D) * K + Y[Math.floor(e / D)]]);
  });

  it('prints one JSON object with --json, and SmoothGrad equals the library\'s with the same seed', async () => {
    const out = join(dir, 'smooth.npy');
    const r = await explain('--method', 'smoothgrad', '--samples', '6', '--noise', '0.2', '--seed', '11', '--out', out, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      method: 'smoothgrad',
      settings: { method: 'smoothgrad', samples: 6, noise: 0.2, seed: 11, sigma: 0.2 },
      class: 'predicted',
      samples: N,
      shape: [N, D],
      gradientCalls: 6 * N,
      out,
    });
    const classifier = await onnxClassifier(model);
    const want = await smoothGrad(classifier, X, Int32Array.from({ length: N }, (_, i) => predicted(i)), { samples: 6, noise: 0.2, seed: 11 });
    await classifier.release();
    expect(await attributions(out)).toEqual(want.attributions);
  });

  it('refuses bad flags and labels in one line with exit code 1, writing nothing', async () => {
    const bad = join(dir, 'bad-labels.npz');
    await writeNpz(bad, { x: { dtype: 'float32', shape: [N, D], data: X }, y: { dtype: 'int32', shape: [N], data: Int32Array.from(Y, (y, i) => (i === 4 ? K : y)) } });
    const out = join(dir, 'refused.npy');
    const cases: Array<[string[], RegExp]> = [
      [['--method', 'integrated-gradients', '--steps', '0'], /^onnx-audit: --steps must be an integer ≥ 1, got '0'$/],
      [['--method', 'integrated-gradients', '--steps', '1', '--rule', 'riemann-trapezoid'], /steps must be an integer ≥ 2, got 1$/],
      [['--method', 'gradcam'], /--method must be saliency, smoothgrad or integrated-gradients; got 'gradcam'$/],
      [['--method', 'saliency', '--steps', '4'], /--steps applies to --method integrated-gradients only$/],
      [['--method', 'smoothgrad', '--noise', '-0.1'], /--noise must be a number > 0, got '-0.1'$/],
      [['--method', 'saliency', '--data', bad], /bad-labels\.npz: label 3 at index 4 is outside \[0, 3\)$/],
    ];
    for (const [args, message] of cases) {
      const r = await explain(...args, '--out', out);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim(), args.join(' ')).toMatch(message);
    }
    expect(existsSync(out)).toBe(false);
  });

  it('names an op without a gradient rule in one line', async () => {
    const fancy = clone(ModelProtoSchema, model);
    fancy.graph!.node[0].opType = 'FancyGemm';
    fancy.graph!.node[0].domain = 'com.example';
    fancy.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: 'com.example', version: 1n }));
    const path = join(dir, 'fancy.onnx');
    writeFileSync(path, encodeModel(fancy));
    await written;
    const r = cli('explain', '--model', path, '--data', data, '--method', 'saliency');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr.trim()).toMatch(/fancy\.onnx: not differentiable: com\.example\.FancyGemm \(node 'fc'\)$/);
  });
});
