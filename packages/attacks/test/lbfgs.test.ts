// The L-BFGS attack against the analytic minimal L2 distance to another class's region on linear
// models, and on a CNN trained on MNIST against DeepFool's distances.
import { describe, expect, it } from 'vitest';

import { type AttackTask, evaluateAttack, onnxClassifier } from '../src/index.js';
import { deepfool } from '../src/attacks/deepfool.js';
import { lbfgs } from '../src/attacks/lbfgs.js';
import { linearModel, mnistCnn } from './models.js';

const D = 6;

describe('on linear models', () => {
  it.each(['margin', 'cross-entropy'] as const)('2 classes, %s loss: ‖δ‖₂ within 3% of |z_y − z_t| / ‖w_y − w_t‖₂', async (loss) => {
    const W = Float32Array.from({ length: D * 2 }, (_, e) => Math.sin(2 * e + 1));
    const B = Float32Array.of(0.05, -0.05);
    const x = Float32Array.from({ length: 8 * D }, (_, e) => 0.5 + 0.06 * Math.cos(3 * e));
    const classifier = await onnxClassifier(linearModel(W, B));
    const logits = await classifier.scores(x);
    const labels = Int32Array.from({ length: 8 }, (_, i) => (logits[2 * i] >= logits[2 * i + 1] ? 0 : 1));
    const task: AttackTask = { x, labels };
    const result = await evaluateAttack(classifier, task, undefined, () => lbfgs(classifier, task, { loss }));
    const wNorm = Math.hypot(...Array.from({ length: D }, (_, j) => W[j * 2] - W[j * 2 + 1]));
    for (let i = 0; i < 8; i++) {
      const distance = Math.abs(logits[2 * i] - logits[2 * i + 1]) / wNorm;
      expect(result.success[i]).toBe(1);
      expect(result.norms.l2[i] / distance).toBeGreaterThan(0.999);
      expect(result.norms.l2[i] / distance).toBeLessThan(1.03);
    }
    await classifier.release();
  });

  it('targeted, 4 classes: within 3% of the exact distance to the target region (a QP solved here)', async () => {
    const K = 4;
    const W = Float32Array.from({ length: D * K }, (_, e) => Math.sin(1.3 * e + 0.4));
    const B = new Float32Array(K);
    const x = Float32Array.from({ length: 6 * D }, (_, e) => 0.5 + 0.05 * Math.sin(5 * e));
    const classifier = await onnxClassifier(linearModel(W, B));
    const logits = await classifier.scores(x);
    const labels = Int32Array.from({ length: 6 }, (_, i) => Array.from(logits.subarray(i * K, (i + 1) * K)).reduce((b, v, k, z) => (v > z[b] ? k : b), 0));
    const targets = Int32Array.from(labels, (y) => (y + 2) % K);
    const task: AttackTask = { x, labels, targets };
    const result = await evaluateAttack(classifier, task, undefined, () => lbfgs(classifier, task));
    for (let i = 0; i < 6; i++) {
      const t = targets[i];
      const others = [0, 1, 2, 3].filter((j) => j !== t);
      // (w_t − w_j)·r ≥ z_j − z_t for every j ≠ t
      const a = others.map((j) => Array.from({ length: D }, (_, c) => W[c * K + t] - W[c * K + j]));
      const b = others.map((j) => logits[i * K + j] - logits[i * K + t]);
      const exact = minimumNormInPolyhedron(a, b);
      expect(result.predictions[i]).toBe(t);
      expect(result.norms.l2[i] / exact).toBeGreaterThan(0.999);
      expect(result.norms.l2[i] / exact).toBeLessThan(1.03);
    }
    await classifier.release();
  });
});

/** min ‖r‖₂ subject to a_j·r ≥ b_j, by trying every active set (KKT: feasible, multipliers ≥ 0). */
function minimumNormInPolyhedron(a: number[][], b: number[]): number {
  let best = Infinity;
  for (let mask = 1; mask < 1 << a.length; mask++) {
    const set = a.map((_, j) => j).filter((j) => mask & (1 << j));
    // r = Aᵀλ with (A Aᵀ) λ = b on the active set
    const gram = set.map((p) => set.map((q) => a[p].reduce((s, v, c) => s + v * a[q][c], 0)));
    const lambda = solve(gram, set.map((p) => b[p]));
    if (!lambda || lambda.some((l) => l < -1e-12)) continue;
    const r = a[0].map((_, c) => set.reduce((s, p, m) => s + lambda[m] * a[p][c], 0));
    if (a.some((row, j) => row.reduce((s, v, c) => s + v * r[c], 0) < b[j] - 1e-9)) continue;
    best = Math.min(best, Math.hypot(...r));
  }
  return best;
}

function solve(m: number[][], v: number[]): number[] | undefined {
  const n = v.length;
  const aug = m.map((row, i) => [...row, v[i]]);
  for (let col = 0; col < n; col++) {
    const pivot = aug.slice(col).reduce((p, row, r) => (Math.abs(row[col]) > Math.abs(aug[p][col]) ? r + col : p), col);
    if (Math.abs(aug[pivot][col]) < 1e-12) return undefined;
    [aug[col], aug[pivot]] = [aug[pivot], aug[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = aug[r][col] / aug[col][col];
      for (let c = col; c <= n; c++) aug[r][c] -= f * aug[col][c];
    }
  }
  return aug.map((row, i) => row[n] / row[i]);
}

describe('on an MNIST CNN', () => {
  it('breaks every digit, no farther than DeepFool, inside the box', async () => {
    const { model, test } = await mnistCnn(20);
    const classifier = await onnxClassifier(model);
    const task: AttackTask = { x: test.x, labels: test.labels };
    const ours = await evaluateAttack(classifier, task, undefined, () => lbfgs(classifier, task, { steps: 40, searchSteps: 7, runnerUps: 2 }));
    const fool = await evaluateAttack(classifier, task, undefined, () => deepfool(classifier, task));
    expect(ours.summary.successRate).toBe(1);
    expect(ours.summary.medianL2!).toBeLessThan(fool.summary.medianL2!);
    expect(Math.min(...ours.adversarial)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ours.adversarial)).toBeLessThanOrEqual(1);
    await classifier.release();
  });
});
