// The AutoAttack-style suite on a CNN trained on MNIST (its bookkeeping checked against fresh
// forward passes and the ε-ball), and on a model that rounds its input, the textbook case of
// masked gradients, which the suite must flag rather than report as robust.

import { perturbationNorms } from '@onnx-audit/native';
import { describe, expect, it } from 'vitest';

import { argmaxRows, type AttackTask, type DifferentiableClassifier, onnxClassifier } from '../src/index.js';
import { runSuite, type SuiteResult } from '../src/robustness/suite.js';
import { mnistCnn, tinyModel } from './models.js';

/** Every invariant a suite result owes its reader, checked from scratch. */
async function checkResult(classifier: DifferentiableClassifier, task: AttackTask, r: SuiteResult): Promise<void> {
  const n = task.labels.length, d = classifier.sampleSize, k = classifier.classes;
  const cleanPredictions = argmaxRows(await classifier.scores(task.x), k);
  expect(r.cleanAccuracy).toBe(cleanPredictions.filter((p, i) => p === task.labels[i]).length / n);
  // each attack only removes robust points
  const sequence = [r.cleanAccuracy, ...r.perAttack.map((a) => a.robustAccuracy)];
  sequence.slice(1).forEach((acc, j) => expect(acc).toBeLessThanOrEqual(sequence[j]));
  expect(r.robustAccuracy).toBe(sequence.at(-1));
  expect(r.robustAccuracy).toBe(r.robust.reduce((a, b) => a + b, 0) / n);

  const predictions = argmaxRows(await classifier.scores(r.adversarial), k);
  const attacks = r.perAttack.map((a) => a.attack);
  for (let i = 0; i < n; i++) {
    const correctClean = cleanPredictions[i] === task.labels[i];
    if (r.brokenBy[i] !== null) {
      expect(correctClean).toBe(true);
      expect(attacks).toContain(r.brokenBy[i]);
      expect(predictions[i]).not.toBe(task.labels[i]);
    } else {
      // robust points and points misclassified clean keep their clean input
      expect(r.adversarial.subarray(i * d, (i + 1) * d)).toEqual(task.x.subarray(i * d, (i + 1) * d));
      expect(r.robust[i]).toBe(correctClean ? 1 : 0);
    }
    expect(r.robust[i] === 1).toBe(correctClean && r.brokenBy[i] === null);
  }
  // the number of points each attack broke is the drop it caused
  r.perAttack.forEach((a, j) => expect(r.brokenBy.filter((b) => b === a.attack).length / n).toBeCloseTo(sequence[j] - sequence[j + 1], 12));

  expect(r.adversarial.every((v) => v >= classifier.box.lo && v <= classifier.box.hi)).toBe(true);
  const norms = await perturbationNorms(Float32Array.from(r.adversarial, (v, e) => v - task.x[e]), d);
  expect(Math.max(...norms[r.norm])).toBeLessThanOrEqual(r.eps * (1 + 1e-5));
}

describe('on a CNN trained on MNIST', async () => {
  const { model, test } = await mnistCnn(150);
  const classifier = await onnxClassifier(model, { batchSize: 64 });
  const task: AttackTask = { x: test.x, labels: test.labels };

  it('fast suite at ε = 0.1: consistent bookkeeping and AutoAttack-style log', async () => {
    const lines: string[] = [];
    const progress: number[] = [];
    const r = await runSuite(classifier, task, { eps: 0.1, suite: 'fast', seed: 1, log: (l) => lines.push(l), progress: (done) => progress.push(done) });
    await checkResult(classifier, task, r);
    expect(r.perAttack.map((a) => a.attack)).toEqual(['APGD-CE', 'APGD-T']);
    expect(r.cleanAccuracy).toBeGreaterThan(0.9);
    expect(r.robustAccuracy).toBeLessThan(r.cleanAccuracy - 0.3);
    expect(r.perAttack[0].gradientCalls).toBeGreaterThan(0);
    expect(r.warnings).toEqual([]);
    expect(lines[0]).toBe(`initial accuracy: ${(100 * r.cleanAccuracy).toFixed(2)}%`);
    expect(lines).toContainEqual(expect.stringMatching(/^robust accuracy after APGD-CE: \d+\.\d\d% \(total time \d+\.\d s\)$/));
    expect(lines).toContainEqual(expect.stringMatching(/^max Linf perturbation: 0\.(0\d{4}|1000\d), nan in tensor: 0, max: 1\.00000, min: 0\.00000$/));
    expect(lines.at(-1)).toBe(`robust accuracy: ${(100 * r.robustAccuracy).toFixed(2)}%`);
    expect(progress.at(-1)).toBe(2);
    progress.slice(1).forEach((p, j) => expect(p).toBeGreaterThanOrEqual(progress[j]));
  });

  it('fast suite at ε = 0.3 breaks every digit', async () => {
    const r = await runSuite(classifier, task, { eps: 0.3, suite: 'fast' });
    await checkResult(classifier, task, r);
    expect(r.robustAccuracy).toBe(0);
    expect(r.brokenBy.filter((b) => b !== null).length).toBe(Math.round(r.cleanAccuracy * task.labels.length));
  });

  it('standard suite: APGD-CE, APGD-T, then Square on what is left', async () => {
    const small: AttackTask = { x: test.x.subarray(0, 20 * 784), labels: test.labels.subarray(0, 20) };
    const r = await runSuite(classifier, small, { eps: 0.1, norm: 'linf', seed: 2 });
    await checkResult(classifier, small, r);
    expect(r.perAttack.map((a) => a.attack)).toEqual(['APGD-CE', 'APGD-T', 'Square']);
    expect(r.perAttack[2].gradientCalls).toBe(0);
    expect(r.warnings).toEqual([]);
  });

  it('refuses what it cannot measure, before any work', async () => {
    const before = { ...classifier.usage };
    await expect(runSuite(classifier, { ...task, targets: task.labels }, { eps: 0.1 })).rejects.toThrow(/untargeted/);
    await expect(runSuite(classifier, task, { eps: 1, norm: 'l1' })).rejects.toThrow(/linf or l2/);
    await expect(runSuite(classifier, task, { eps: 0 })).rejects.toThrow(RangeError);
    expect(classifier.usage).toEqual(before);
  });
});

describe('flags', () => {
  it('masked gradients: zero clean gradients, and Square beating the gradient attacks', async () => {
    // Pixels sit 0.04–0.06 below a rounding boundary (0.375), ε = 0.07: class 1 overtakes class 0
    // exactly when pixels 0, 1 and 2 all cross it. A search over the ball's corners finds that; a
    // random start rarely does, and zero gradients never move it.
    const W = Float32Array.from({ length: 24 }, (_, e) => (e % 4 === 1 && e < 12 ? 1 : 0));
    const B = Float32Array.from([0, -1.35, -5, -5]);
    const x = Float32Array.from({ length: 20 * 6 }, (_, e) => 0.325 + 0.01 * Math.sin(1.7 * e + 0.3));
    const classifier = await onnxClassifier(tinyModel(W, B, { masked: true, image: true }));
    const task: AttackTask = { x, labels: argmaxRows(await classifier.scores(x), 4) };
    const r = await runSuite(classifier, task, { eps: 0.07, seed: 4 });
    await checkResult(classifier, task, r);
    expect(r.cleanAccuracy).toBe(1);
    expect(r.perAttack[1].robustAccuracy).toBeGreaterThanOrEqual(0.8);
    expect(r.perAttack[2].robustAccuracy).toBe(0);
    expect(r.warnings).toContainEqual(expect.stringMatching(/^20 of 20 correctly classified points have a zero cross-entropy gradient/));
    expect(r.warnings).toContainEqual(expect.stringMatching(/^Square \(scores only\) lowered robust accuracy from \d+\.\d\d% to 0\.00% after the gradient attacks/));
  });

  it('probabilities for logits, too few classes for APGD-T, and non-image samples', async () => {
    const W = Float32Array.from({ length: 18 }, (_, e) => Math.sin(5 * e + 2));
    const x = Float32Array.from({ length: 60 * 6 }, (_, e) => 0.5 + 0.3 * Math.sin(1.7 * e + 0.3));
    const classifier = await onnxClassifier(tinyModel(W, Float32Array.from([0.1, -0.05, 0.02]), { probabilities: true }));
    const task: AttackTask = { x, labels: argmaxRows(await classifier.scores(x), 3) };
    await expect(runSuite(classifier, task, { eps: 0.1 })).rejects.toThrow(/needs image samples .* not \[6\]; use suite 'fast'/);
    const r = await runSuite(classifier, task, { eps: 0.1, suite: 'fast' });
    await checkResult(classifier, task, r);
    expect(r.perAttack.map((a) => a.attack)).toEqual(['APGD-CE']);
    expect(r.warnings).toEqual([expect.stringMatching(/^the scores look like probabilities/), 'APGD-T needs at least 4 classes; this model has 3, so only APGD-CE ran']);
  });
});
