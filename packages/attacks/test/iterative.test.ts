// FGSM, FGM, BIM, PGD and MI-FGSM against closed forms on a linear softmax model, and against
// each other on a CNN trained on real MNIST digits.
import { describe, expect, it } from 'vitest';

import { bim, evaluateAttack, fgm, fgsm, mifgsm, onnxClassifier, pgd, type AttackTask } from '../src/index.js';
import { linearModel, mnistCnn } from './models.js';

// 3 classes, 4 inputs
const W = Float32Array.from([1, -1, 0.5, -2, 0.3, 1, 0.7, 0.2, -1, 0.1, -0.6, 0.9]);
const B = Float32Array.from([0.1, -0.2, 0.05]);
const X = Float32Array.from([0.2, 0.5, 0.7, 0.1, 0.9, 0.3, 0.4, 0.6, 0.5, 0.5, 0.5, 0.5]);
// the model's own predictions: an attack leaves a sample it already misclassifies as it is
const LABELS = Int32Array.from([0, 1, 2], (i) => predict(Array.from(X.subarray(i * 4, i * 4 + 4))));

/** d CE / dx = W (softmax(z) − e_y), in float64. */
function ceGradient(x: ArrayLike<number>, y: number): number[] {
  const z = [0, 1, 2].map((k) => B[k] + [0, 1, 2, 3].reduce((s, j) => s + x[j] * W[j * 3 + k], 0));
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const p = e.map((v) => v / e.reduce((a, b) => a + b, 0));
  return [0, 1, 2, 3].map((j) => [0, 1, 2].reduce((s, k) => s + W[j * 3 + k] * (p[k] - (k === y ? 1 : 0)), 0));
}

describe('on a linear softmax model', () => {
  it('FGSM is x + ε·sign(∇ CE), clipped to the box', async () => {
    const classifier = await onnxClassifier(linearModel(W, B, true));
    const eps = 0.25;
    const task: AttackTask = { x: X, labels: LABELS };
    const result = await evaluateAttack(classifier, task, { norm: 'linf', eps }, () => fgsm(classifier, task, { eps }));
    for (let i = 0; i < 3; i++) {
      const g = ceGradient(X.subarray(i * 4, i * 4 + 4), LABELS[i]);
      for (let j = 0; j < 4; j++) {
        const expected = Math.min(1, Math.max(0, X[i * 4 + j] + eps * Math.sign(g[j])));
        expect(result.adversarial[i * 4 + j]).toBeCloseTo(expected, 6);
      }
    }
    expect(result.gradientCalls).toBe(3);
    await classifier.release();
  });

  it('FGM moves ε along ∇/‖∇‖₂', async () => {
    const classifier = await onnxClassifier(linearModel(W, B));
    const eps = 0.1;
    const task: AttackTask = { x: X, labels: LABELS };
    const { adversarial } = await fgm(classifier, task, { eps });
    for (let i = 0; i < 3; i++) {
      const g = ceGradient(X.subarray(i * 4, i * 4 + 4), LABELS[i]);
      const norm = Math.hypot(...g);
      for (let j = 0; j < 4; j++) expect(adversarial[i * 4 + j]).toBeCloseTo(X[i * 4 + j] + (eps * g[j]) / norm, 5);
    }
    await classifier.release();
  });

  it('BIM equals a float64 replay of its steps until the sample is fooled', async () => {
    const classifier = await onnxClassifier(linearModel(W, B));
    const eps = 0.3, steps = 6, alpha = 0.07;
    const task: AttackTask = { x: X, labels: LABELS };
    const { adversarial } = await bim(classifier, task, { eps, steps, stepSize: alpha });
    for (let i = 0; i < 3; i++) {
      const x0 = Array.from(X.subarray(i * 4, i * 4 + 4));
      let x = [...x0];
      for (let t = 0; t < steps; t++) {
        if (predict(x) !== LABELS[i]) break;
        const g = ceGradient(x, LABELS[i]);
        x = x.map((v, j) => Math.min(1, Math.max(0, Math.min(x0[j] + eps, Math.max(x0[j] - eps, v + alpha * Math.sign(g[j]))))));
      }
      for (let j = 0; j < 4; j++) expect(adversarial[i * 4 + j]).toBeCloseTo(x[j], 5);
    }
    await classifier.release();
  });
});

describe('PGD with a random start on a 2-class linear model', () => {
  it('ends at the corner x + ε·sign(w_other − w_y) of the ball, the exact loss maximiser', async () => {
    // With 2 classes the cross-entropy grows with the margin z_other − z_y, which is linear: over
    // the L∞ ball its maximum is that corner, whatever the start. Margins here exceed ε·‖Δw‖₁,
    // so no iterate fools the model and PGD returns its last one.
    const w = Float32Array.from([1, -1, 0.5, 0.3, -0.4, 0.2, 0.8, -0.6]);
    const b = Float32Array.of(1, -1);
    const x = Float32Array.from([0.4, 0.5, 0.6, 0.45, 0.55, 0.5, 0.35, 0.6]);
    const classifier = await onnxClassifier(linearModel(w, b));
    const eps = 0.05;
    const task: AttackTask = { x, labels: Int32Array.of(0, 0) };
    const result = await evaluateAttack(classifier, task, { norm: 'linf', eps }, () => pgd(classifier, task, { eps, seed: 3 }));
    expect(result.success).toEqual(Uint8Array.of(0, 0));
    for (let e = 0; e < x.length; e++) {
      const j = e % 4;
      expect(result.adversarial[e]).toBeCloseTo(x[e] + eps * Math.sign(w[j * 2 + 1] - w[j * 2]), 6);
    }
    await classifier.release();
  });
});

function predict(x: number[]): number {
  const z = [0, 1, 2].map((k) => B[k] + x.reduce((s, v, j) => s + v * W[j * 3 + k], 0));
  return z.indexOf(Math.max(...z));
}

describe('on a CNN trained on MNIST', async () => {
  const { model, test } = await mnistCnn(200);
  const classifier = await onnxClassifier(model, { batchSize: 64 });
  const task: AttackTask = { x: test.x, labels: test.labels };

  it('PGD is at least as strong as FGSM, and reaches 0% at a large ε', async () => {
    const accuracy = async (eps: number, attack: typeof pgd) => (await evaluateAttack(classifier, task, { norm: 'linf', eps }, () => attack(classifier, task, { eps, seed: 1 }))).summary;
    const f = await accuracy(0.1, fgsm);
    const p = await accuracy(0.1, pgd);
    expect(f.cleanAccuracy).toBeGreaterThan(0.9);
    expect(f.robustAccuracy).toBeLessThan(f.cleanAccuracy);
    expect(p.robustAccuracy).toBeLessThanOrEqual(f.robustAccuracy);
    expect((await accuracy(0.4, pgd)).robustAccuracy).toBe(0);
  });

  it.each(['linf', 'l2', 'l1'] as const)('PGD-%s stays in the ball and the box, and repeats exactly with its seed', async (norm) => {
    const eps = { linf: 0.1, l2: 1.5, l1: 12 }[norm];
    const run = () => evaluateAttack(classifier, task, { norm, eps }, () => pgd(classifier, task, { norm, eps, steps: 10, restarts: 2, seed: 7 }));
    const a = await run();
    const b = await run();
    expect(b.adversarial).toEqual(a.adversarial);
    expect(Math.max(...a.norms[norm])).toBeLessThanOrEqual(eps * (1 + 1e-5));
    expect(a.summary.robustAccuracy).toBeLessThan(a.summary.cleanAccuracy - 0.2);
  });

  it('targeted PGD and MI-FGSM reach their target class', async () => {
    const targets = Int32Array.from(test.labels, (y) => (y + 1) % 10);
    const targeted: AttackTask = { ...task, targets };
    const p = await evaluateAttack(classifier, targeted, { norm: 'linf', eps: 0.3 }, () => pgd(classifier, targeted, { eps: 0.3, seed: 2 }));
    expect(p.summary.successRate).toBeGreaterThan(0.95);
    p.success.forEach((s, i) => s && expect(p.predictions[i]).toBe(targets[i]));
    const m = await evaluateAttack(classifier, targeted, { norm: 'linf', eps: 0.3 }, () => mifgsm(classifier, targeted, { eps: 0.3 }));
    expect(m.summary.successRate).toBeGreaterThan(0.5);
  });
});
