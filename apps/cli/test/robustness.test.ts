// `onnx-audit robustness` on a linear softmax model, where robustness is decided in closed form: a
// correctly classified x is robust at L∞ radius ε exactly when every margin z_y − z_j exceeds
// ε·‖w_y − w_j‖₁ (the ball stays inside the box here), so the whole curve can be checked.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { writeNpz } from '@onnx-audit/data';
import { encodeModel } from '@onnx-audit/onnx';

import { linearSoftmax } from './linear-model.js';
import { cli } from './run-cli.js';

const [D, K, N] = [4, 3, 40];
const W = Float32Array.from({ length: D * K }, (_, i) => 2 * Math.sin(i + 1));
const B = Float32Array.from({ length: K }, (_, i) => 0.1 * i);
const X = Float32Array.from({ length: N * D }, (_, i) => 0.5 + 0.3 * Math.cos(3 * i + 1));
const EPS = [0.02, 0.05, 0.1];

function logits(i: number): number[] {
  return Array.from({ length: K }, (_, k) => B[k] + Array.from({ length: D }, (_, j) => X[i * D + j] * W[j * K + k]).reduce((a, b) => a + b));
}
const Y = Int32Array.from({ length: N }, (_, i) => {
  const z = logits(i);
  return (z.indexOf(Math.max(...z)) + (i % 8 === 0 ? 1 : 0)) % K;
});

/** The exact L∞ distance of sample i to the nearest decision boundary (0 when misclassified). */
function distance(i: number): number {
  const z = logits(i), y = Y[i];
  if (z.indexOf(Math.max(...z)) !== y) return 0;
  return Math.min(...Array.from({ length: K }, (_, j) => (j === y ? Infinity : (z[y] - z[j]) / Array.from({ length: D }, (_, c) => Math.abs(W[c * K + y] - W[c * K + j])).reduce((a, b) => a + b))));
}

describe('onnx-audit robustness', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-robustness-'));
  const model = join(dir, 'linear.onnx');
  const data = join(dir, 'data.npz');
  writeFileSync(model, encodeModel(linearSoftmax(W, B)));

  it('reports the closed-form robust accuracy at every ε, and DeepFool distances within 3% of the exact ones', async () => {
    await writeNpz(data, { x: { dtype: 'float32', shape: [N, D], data: X }, y: { dtype: 'int32', shape: [N], data: Y } });
    const out = join(dir, 'result.json');
    const r = cli('robustness', '--model', model, '--data', data, '--eps', EPS.join(','), '--suite', 'fast', '--json', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    const distances = Array.from({ length: N }, (_, i) => distance(i));
    expect(distances.filter((d) => d > 0.1).length).toBeGreaterThan(0);
    for (const [j, eps] of EPS.entries()) {
      expect(result.curve[j].eps).toBe(eps);
      expect(result.worstCase[j].robustAccuracy).toBeCloseTo(distances.filter((d) => d > eps).length / N, 12);
    }
    const written = JSON.parse(await readFile(out, 'utf8'));
    written.minimalNorms.norms.forEach((norm: number | string | null, i: number) => {
      if (distances[i] === 0) expect(norm).toBe('misclassified');
      // beyond 0.2 the ball around x ∈ [0.2, 0.8] meets the box, and the exact distance is another
      // problem; below 0.005 DeepFool's fixed 1e−4 step past the boundary is more than 3%
      else if (distances[i] > 0.005 && distances[i] < 0.2) expect(Math.abs((norm as number) / distances[i] - 1)).toBeLessThan(0.03);
    });
    // 3 classes: no APGD-T, and APGD-CE alone misses some points DeepFool breaks (CE is not the margin)
    for (const warning of result.warnings) expect(warning).toMatch(/APGD-T needs at least 4 classes|deepfool broke \d+ points within ε that the suite called robust/);
  });

  it('refuses a suite or minimum-norm attack that cannot run, in one line', () => {
    for (const [args, message] of [
      [['--eps', '0.1'], /standard suite's Square attack needs images .* use --suite fast/],
      [['--eps', '0.1', '--suite', 'fast', '--minimal', 'cw'], /--minimal cw measures L2 distances/],
      [['--eps', '0.1,-2', '--suite', 'fast'], /--eps must be a number > 0/],
    ] as const) {
      const r = cli('robustness', '--model', model, '--data', data, ...args);
      expect(r.status).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
