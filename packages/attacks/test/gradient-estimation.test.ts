// NES and SPSA: their gradient estimates against the analytic gradients of a linear model, and
// the attacks on a CNN trained on real MNIST digits: strength, budgets, query accounting,
// determinism, and the same results through a user's score function as through ONNX.
import { randomNormal, randomUniform } from '@onnx-audit/native';
import { describe, expect, it } from 'vitest';

import { estimateGradient, nes, spsa } from '../src/attacks/gradient-estimation.js';
import { attackerLoss, type ScoreLoss } from '../src/attacks/score-loss.js';
import { type AttackTask, evaluateAttack, functionClassifier, onnxPredictor } from '../src/index.js';
import { linearModel, mnistCnn } from './models.js';

describe('the estimate on a linear model (100 inputs, 3 classes)', async () => {
  const d = 100, k = 3, m = 4;
  const W = Float32Array.from(await randomNormal(d * k, { seed: 11 }), (v) => v / 10);
  const B = Float32Array.from([0.2, -0.1, 0]);
  const x = Float32Array.from(await randomUniform(m * d, { seed: 12 }), (u) => 0.1 + 0.8 * u);
  const classifier = await onnxPredictor(linearModel(W, B));
  const labels = Int32Array.from({ length: m }, (_, i) => i % k);
  const task: AttackTask = { x, labels };

  /** The gradient of the attacker's loss at row i, in float64: w_y − w_j* for the margin Z_y − Z_j*, −W(p − e_y) for −CE. */
  function analytic(i: number, kind: ScoreLoss): Float64Array {
    const z = Array.from({ length: k }, (_, c) => B[c] + x.subarray(i * d, (i + 1) * d).reduce((s, v, j) => s + v * W[j * k + c], 0));
    const y = labels[i];
    const coefficient = new Float64Array(k);
    if (kind === 'margin') {
      const runnerUp = z.reduce((best, v, c) => (c !== y && (best < 0 || v > z[best]) ? c : best), -1);
      coefficient[y] = 1;
      coefficient[runnerUp] = -1;
    } else {
      const top = Math.max(...z);
      const e = z.map((v) => Math.exp(v - top));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let c = 0; c < k; c++) coefficient[c] = -(e[c] / sum - (c === y ? 1 : 0));
    }
    return Float64Array.from({ length: d }, (_, j) => coefficient.reduce((s, a, c) => s + a * W[j * k + c], 0));
  }

  const cases = [
    ['gaussian', 'margin'],
    ['rademacher', 'cross-entropy'],
  ] as const;
  it.each(cases)('%s directions on the %s loss converge to the gradient', async (distribution, kind) => {
    const loss = (scores: Float32Array, owner: Int32Array) => attackerLoss(scores, k, owner, task, kind);
    for (const [samples, low, high] of [
      [2000, 0.93, 1],
      [5, -1, 0.6],
    ] as const) {
      const { gradient } = await estimateGradient(classifier, x, loss, { distribution, samples, sigma: 1e-3, box: { lo: 0, hi: 1 }, seed: 3 });
      for (let i = 0; i < m; i++) {
        const g = analytic(i, kind);
        const e = gradient.subarray(i * d, (i + 1) * d);
        let dot = 0, gg = 0, ee = 0;
        for (let j = 0; j < d; j++) [dot, gg, ee] = [dot + g[j] * e[j], gg + g[j] ** 2, ee + e[j] ** 2];
        const cosine = dot / Math.sqrt(gg * ee);
        expect(cosine).toBeGreaterThan(low);
        expect(cosine).toBeLessThan(high);
        // unbiased, with E‖ĝ‖² ≈ ‖g‖²(1 + d/q): a wrong scale (σ, the 2q) shows here
        if (samples === 2000) {
          expect(Math.sqrt(ee / gg)).toBeGreaterThan(0.95);
          expect(Math.sqrt(ee / gg)).toBeLessThan(1.1);
        }
      }
    }
  });
});

describe('on a CNN trained on MNIST', async () => {
  const { model, test } = await mnistCnn(100);
  const classifier = await onnxPredictor(model, { batchSize: 128 });
  const task: AttackTask = { x: test.x, labels: test.labels };

  it('NES and SPSA at L∞ ε = 0.3 break nearly every digit within 600 queries', async () => {
    const eps = 0.3;
    for (const attack of [nes, spsa]) {
      const result = await evaluateAttack(classifier, task, { norm: 'linf', eps }, () => attack(classifier, task, { eps, queries: 600, samples: 32, seed: 1 }));
      expect(result.summary.cleanAccuracy).toBeGreaterThan(0.9);
      expect(result.summary.robustAccuracy).toBeLessThanOrEqual(0.1);
    }
  });

  it('NES and SPSA at L2 ε = 2 stay in the ball and lower the accuracy', async () => {
    const half: AttackTask = { x: task.x.subarray(0, 50 * 784), labels: task.labels.subarray(0, 50) };
    for (const attack of [nes, spsa]) {
      const result = await evaluateAttack(classifier, half, { norm: 'l2', eps: 2 }, () => attack(classifier, half, { norm: 'l2', eps: 2, queries: 600, samples: 10, seed: 1 }));
      expect(result.summary.robustAccuracy).toBeLessThan(result.summary.cleanAccuracy - 0.15);
    }
  });

  it.each(['nes', 'spsa'] as const)('%s counts every query to its sample, stops on fooled samples and within the budget', async (name) => {
    const attack = name === 'nes' ? nes : spsa;
    const samples = 20, queries = 200;
    const full = 1 + Math.floor((queries - 1) / (2 * samples + 1)) * (2 * samples + 1);
    const before = classifier.usage.queries;
    const { adversarial, queriesPerSample } = await attack(classifier, task, { eps: 0.2, samples, queries, seed: 2 });
    expect(queriesPerSample!.reduce((a, b) => a + b, 0)).toBe(classifier.usage.queries - before);
    const result = await evaluateAttack(classifier, task, { norm: 'linf', eps: 0.2 }, async () => ({ adversarial, queriesPerSample }));
    let fooledEarly = 0, unfooled = 0;
    for (let i = 0; i < task.labels.length; i++) {
      const q = queriesPerSample![i];
      expect(q).toBeLessThanOrEqual(queries);
      if (result.cleanPredictions[i] !== task.labels[i]) {
        expect(q).toBe(1);
      } else if (result.success[i]) {
        fooledEarly += q < full ? 1 : 0;
      } else {
        expect(q).toBe(full);
        unfooled++;
      }
    }
    expect(fooledEarly).toBeGreaterThan(5);
    expect(unfooled).toBeGreaterThan(5);
  });

  it.each(['nes', 'spsa'] as const)('%s repeats exactly with its seed, and gives the same through a user score function', async (name) => {
    const attack = name === 'nes' ? nes : spsa;
    const half: AttackTask = { x: task.x.subarray(0, 50 * 784), labels: task.labels.subarray(0, 50) };
    const options = { eps: 0.2, samples: 10, queries: 64, seed: 4 };
    const a = await attack(classifier, half, options);
    const b = await attack(classifier, half, options);
    expect(b.adversarial).toEqual(a.adversarial);
    expect(b.queriesPerSample).toEqual(a.queriesPerSample);
    expect((await attack(classifier, half, { ...options, seed: 5 })).adversarial).not.toEqual(a.adversarial);

    const remote = await onnxPredictor(model, { batchSize: 128 });
    const user = functionClassifier((x) => remote.scores(x), { sampleDims: [1, 28, 28], classes: 10, batchSize: 128 });
    const c = await attack(user, half, options);
    expect(c.adversarial).toEqual(a.adversarial);
    expect(c.queriesPerSample).toEqual(a.queriesPerSample);
    await remote.release();
  });

  it('refuses settings it cannot run before querying', async () => {
    const before = classifier.usage.queries;
    await expect(nes(classifier, task, { queries: 100 })).rejects.toThrow(/pays for no step/);
    await expect(nes(classifier, task, { norm: 'l1' as 'l2' })).rejects.toThrow(/linf and l2/);
    await expect(nes(classifier, task, { momentum: 1 })).rejects.toThrow(/momentum/);
    await expect(spsa(classifier, task, { delta: 0 })).rejects.toThrow(/radius/);
    await expect(spsa(classifier, task, { lr: -1 })).rejects.toThrow(/lr/);
    expect(classifier.usage.queries).toBe(before);
  });
});
