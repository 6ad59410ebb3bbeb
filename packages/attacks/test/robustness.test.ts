// Robust accuracy against ε on a CNN trained on MNIST, checked for the properties any honest curve
// has, and on a model that rounds its input, whose masked gradients must be flagged.
import { describe, expect, it } from 'vitest';

import { argmaxRows, type AttackTask, onnxClassifier } from '../src/index.js';
import { evaluateRobustness } from '../src/robustness/evaluate.js';
import { mnistCnn, tinyModel } from './models.js';

describe('evaluateRobustness', () => {
  it('on an MNIST CNN: a falling curve, 0% at a large ε, minimal norms consistent with it, no flags', async () => {
    const { model, test } = await mnistCnn(60);
    const classifier = await onnxClassifier(model);
    const task: AttackTask = { x: test.x, labels: test.labels };
    const r = await evaluateRobustness(classifier, task, { eps: [0.3, 0.05, 0.1], suite: 'fast', seed: 1 });
    expect(r.curve.map((p) => p.eps)).toEqual([0.05, 0.1, 0.3]);
    expect(r.cleanAccuracy).toBeGreaterThan(0.9);
    for (const [j, point] of r.curve.entries()) {
      expect(point.robustAccuracy).toBeLessThanOrEqual(Math.min(point.suiteAccuracy, point.minimalNormAccuracy!));
      if (j > 0) expect(point.robustAccuracy).toBeLessThanOrEqual(r.curve[j - 1].robustAccuracy);
    }
    expect(r.curve[2].robustAccuracy).toBe(0);
    // DeepFool's L∞ distances: the fraction left beyond ε is what the minimum-norm curve reports
    const norms = r.minimalNorms!.norms;
    expect(r.curve[0].minimalNormAccuracy).toBeCloseTo(norms.filter((v) => v > 0.05).length / norms.length, 12);
    expect(r.minimalNorms!.quantiles!.median).toBeGreaterThan(0.01);
    expect(r.wholeBox).toMatchObject({ robustAccuracy: 0 });
    expect(r.warnings).toEqual([]);
  });

  it('on a model that rounds its input: the whole-box probe and the loss check flag it', async () => {
    const W = Float32Array.from({ length: 24 }, (_, e) => Math.sin(3 * e + 1));
    const x = Float32Array.from({ length: 20 * 6 }, (_, e) => 0.5 + 0.4 * Math.sin(1.3 * e));
    const classifier = await onnxClassifier(tinyModel(W, Float32Array.from([0.2, -0.1, 0.05, 0]), { masked: true }));
    const task: AttackTask = { x, labels: argmaxRows(await classifier.scores(x), 4) };
    const r = await evaluateRobustness(classifier, task, { eps: [0.05], suite: 'fast', minimal: 'none' });
    expect(r.wholeBox!.robustAccuracy).toBe(1);
    expect(r.warnings).toContainEqual(expect.stringMatching(/the whole input box\) BIM still leaves 100\.00% of 20 points robust/));
    expect(r.warnings).toContainEqual(expect.stringMatching(/raised the loss on only 0\.00%/));
  });

  it('refuses an empty ε list and C&W in L∞', async () => {
    const classifier = await onnxClassifier(tinyModel(Float32Array.from({ length: 24 }, (_, e) => e % 5), new Float32Array(4), {}));
    const task: AttackTask = { x: new Float32Array(6).fill(0.5), labels: Int32Array.of(0) };
    await expect(evaluateRobustness(classifier, task, { eps: [] })).rejects.toThrow(/at least one ε/);
    await expect(evaluateRobustness(classifier, task, { eps: [0.1], minimal: 'cw' })).rejects.toThrow(/C&W minimises the L2 norm/);
  });
});
