// APGD against the exact worst case of a linear model, against a loss whose maximum lies inside
// the ball (only step-size halving gets close to it), and against PGD on a CNN trained on MNIST.
import { describe, expect, it } from 'vitest';

import { apgd, checkpoints } from '../src/attacks/apgd.js';
import { type AttackLoss, type AttackTask, type DifferentiableClassifier, evaluateAttack, onnxClassifier, pgd } from '../src/index.js';
import { linearModel, mnistCnn } from './models.js';

// Classes 0 and 1 compete; class 2 sits 1000 below, so CE and DLR both reduce to the 0-vs-1
// margin m(x) = (w₀ − w₁)·x + b₀ − b₁, whose minimum over the ball ‖δ‖ ≤ ε (when the box does
// not bind) is m(x) − ε‖w₀ − w₁‖_* with the dual norm: ‖·‖₁ for L∞, ‖·‖₂ for L2.
const D = 6;
const W0 = [1.0, -0.8, 0.6, -1.2, 0.9, -0.5];
const W1 = [-0.7, 0.9, -1.1, 0.4, -0.6, 1.3];
const W = Float32Array.from({ length: D * 3 }, (_, e) => [W0, W1, [0, 0, 0, 0, 0, 0]][e % 3][Math.floor(e / 3)]);
const B = Float32Array.from([0.2, -0.1, -1000]);
const DW = Array.from({ length: D }, (_, j) => W[j * 3] - W[j * 3 + 1]);
// margin / (worst-case drop): below 1 the sample can be broken, above it cannot
const RATIOS = [0.3, 0.7, 0.9, 0.97, 1.03, 1.1, 1.5, 2.5];

function margin(x: ArrayLike<number>): number {
  let m = B[0] - B[1];
  for (let j = 0; j < D; j++) m += DW[j] * x[j];
  return m;
}

/** Samples near the middle of the box whose margins are RATIOS × the worst-case drop `drop`. */
function samplesAt(drop: number): Float32Array {
  const norm2 = DW.reduce((s, v) => s + v * v, 0);
  const x = new Float32Array(RATIOS.length * D);
  RATIOS.forEach((ratio, i) => {
    const base = Array.from({ length: D }, (_, j) => 0.5 + 0.05 * Math.sin(7 * i + j));
    const shift = (ratio * drop - margin(base)) / norm2;
    base.forEach((v, j) => (x[i * D + j] = v + shift * DW[j]));
  });
  return x;
}

describe('on a linear model, APGD finds the exact worst case', () => {
  const cases = [
    { norm: 'linf', eps: 0.05, dual: DW.reduce((s, v) => s + Math.abs(v), 0) },
    { norm: 'l2', eps: 0.1, dual: Math.hypot(...DW) },
  ] as const;
  it.each(cases.flatMap((c) => (['cross-entropy', 'dlr'] as const).map((loss) => ({ ...c, loss }))))('$norm, $loss', async ({ norm, eps, dual, loss }) => {
    const classifier = await onnxClassifier(linearModel(W, B));
    const x = samplesAt(eps * dual);
    // the ball never reaches the box's faces, so the closed form holds
    for (const v of x) expect(Math.min(v - eps, 1 - v - eps)).toBeGreaterThan(0);
    const task: AttackTask = { x, labels: new Int32Array(RATIOS.length) };
    const result = await evaluateAttack(classifier, task, { norm, eps }, () => apgd(classifier, task, { norm, eps, loss, steps: 30, unfooled: 'best-loss', seed: 3 }));
    expect(result.summary.cleanAccuracy).toBe(1);
    RATIOS.forEach((ratio, i) => {
      expect(result.success[i]).toBe(ratio < 1 ? 1 : 0);
      if (ratio < 1) return;
      const worst = margin(x.subarray(i * D, (i + 1) * D)) - eps * dual;
      expect(Math.abs(margin(result.adversarial.subarray(i * D, (i + 1) * D)) - worst)).toBeLessThan(1e-4);
    });
    await classifier.release();
  });

  it('refuses DLR below 3 classes and targeted DLR below 4, before any work', async () => {
    const two = await onnxClassifier(linearModel(Float32Array.from([1, -1, 2, 0.5]), Float32Array.from([0, 0])));
    const task: AttackTask = { x: Float32Array.from([0.5, 0.5]), labels: Int32Array.from([0]) };
    await expect(apgd(two, task, { loss: 'dlr' })).rejects.toThrow(/DLR loss needs at least 3 classes; this model has 2$/);
    expect(two.usage).toEqual({ queries: 0, gradientCalls: 0 });
    const three = await onnxClassifier(linearModel(W, B));
    const task3: AttackTask = { x: samplesAt(0.1).subarray(0, D), labels: Int32Array.from([0]) };
    await expect(apgd(three, task3, { loss: 'targeted-dlr' })).rejects.toThrow(/at least 4 classes; this model has 3$/);
    await expect(apgd(three, task3, { norm: 'l1', eps: 1 })).rejects.toThrow(/linf or l2/);
    expect(three.usage).toEqual({ queries: 0, gradientCalls: 0 });
    await Promise.all([two.release(), three.release()]);
  });
});

/**
 * A classifier whose loss −‖x − c‖₂² peaks at c, inside the L∞ ball, and which is never fooled:
 * sign steps of a fixed size can only oscillate around c, so getting close needs the step halved.
 */
function bowl(center: Float32Array, d: number): DifferentiableClassifier {
  const usage = { queries: 0, gradientCalls: 0 };
  const logits = (n: number) => Float32Array.from({ length: 2 * n }, (_, e) => (e % 2 === 0 ? 1 : 0));
  return {
    differentiable: true,
    sampleDims: [d],
    sampleSize: d,
    classes: 2,
    box: { lo: 0, hi: 1 },
    usage,
    async scores(x) {
      usage.queries += x.length / d;
      return logits(x.length / d);
    },
    async lossGradient(x: Float32Array, _loss: AttackLoss) {
      const n = x.length / d;
      usage.gradientCalls += n;
      const loss = new Float32Array(n), gradient = new Float32Array(x.length);
      for (let e = 0; e < x.length; e++) {
        const i = Math.floor(e / d), u = x[e] - center[e % d];
        loss[i] -= u * u;
        gradient[e] = -2 * u;
      }
      return { loss, gradient, logits: logits(n) };
    },
    async release() {},
  };
}

describe('step-size schedule', () => {
  it('reviews the step at AutoAttack checkpoints: 22%, then intervals shrinking by 3% to no less than 6%', () => {
    expect(checkpoints(100)).toEqual([22, 41, 57, 70, 80, 87, 93, 99]);
    expect(checkpoints(25)).toEqual([5, 9, 12, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
  });

  it('halves the step where the loss stalls, closing in on an interior maximum', async () => {
    const d = 40, n = 3, eps = 0.1;
    const center = Float32Array.from({ length: d }, (_, j) => 0.5 + 0.7 * eps * Math.sin(3 * j + 1));
    const classifier = bowl(center, d);
    const task: AttackTask = { x: new Float32Array(n * d).fill(0.5), labels: new Int32Array(n) };
    const { adversarial } = await apgd(classifier, task, { eps, steps: 100, unfooled: 'best-loss', seed: 5 });
    // one gradient call at the start and one per step, for every sample
    expect(classifier.usage.gradientCalls).toBe(n * 101);
    // a fixed step of 2ε keeps every coordinate ≳ 0.3·2ε from c; eight halvings bring it to 2ε/256
    for (let e = 0; e < adversarial.length; e++) expect(Math.abs(adversarial[e] - center[e % d])).toBeLessThan(eps / 50);
  });
});

describe('on a CNN trained on MNIST', async () => {
  const { model, test } = await mnistCnn(150);
  const classifier = await onnxClassifier(model, { batchSize: 64 });
  const task: AttackTask = { x: test.x, labels: test.labels };
  const eps = 0.1;
  const threat = { norm: 'linf', eps } as const;

  it('APGD-CE is at least as strong as PGD with the same 100 gradient steps', async () => {
    const p = await evaluateAttack(classifier, task, threat, () => pgd(classifier, task, { eps, steps: 100, seed: 1 }));
    const a = await evaluateAttack(classifier, task, threat, () => apgd(classifier, task, { eps, steps: 100, seed: 1 }));
    expect(a.summary.cleanAccuracy).toBeGreaterThan(0.9);
    expect(a.summary.robustAccuracy).toBeLessThanOrEqual(p.summary.robustAccuracy + 1 / test.labels.length);
    expect(a.summary.robustAccuracy).toBeLessThan(a.summary.cleanAccuracy - 0.3);
    // at most one start and 100 steps per sample, fewer once fooled
    expect(a.gradientCalls).toBeLessThanOrEqual(101 * test.labels.length);
  });

  it('APGD-T reaches the targets it is given, and breaks samples via runner-up classes', async () => {
    const targets = Int32Array.from(test.labels, (y) => (y + 3) % 10);
    const targeted: AttackTask = { ...task, targets };
    const t = await evaluateAttack(classifier, targeted, { norm: 'linf', eps: 0.3 }, () => apgd(classifier, targeted, { eps: 0.3, loss: 'targeted-dlr', steps: 50 }));
    expect(t.summary.successRate).toBeGreaterThan(0.95);
    t.success.forEach((s, i) => s && expect(t.predictions[i]).toBe(targets[i]));
    const ce = await evaluateAttack(classifier, targeted, { norm: 'linf', eps: 0.3 }, () => apgd(classifier, targeted, { eps: 0.3, steps: 50 }));
    expect(ce.summary.successRate).toBeGreaterThan(0.95);
    const untargeted = await evaluateAttack(classifier, task, threat, () => apgd(classifier, task, { eps, loss: 'targeted-dlr', targetClasses: 3, steps: 50 }));
    expect(untargeted.summary.robustAccuracy).toBeLessThan(untargeted.summary.cleanAccuracy - 0.3);
  });

  it.each(['linf', 'l2'] as const)('%s: stays in the ball and the box and repeats exactly with its seed', async (norm) => {
    const e = norm === 'linf' ? eps : 1.5;
    const run = (seed: number) => evaluateAttack(classifier, task, { norm, eps: e }, () => apgd(classifier, task, { norm, eps: e, loss: 'dlr', steps: 20, seed }));
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(b.adversarial).toEqual(a.adversarial);
    expect(c.adversarial).not.toEqual(a.adversarial);
    expect(a.summary.robustAccuracy).toBeLessThan(a.summary.cleanAccuracy - 0.2);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const progress = (done: number, total: number) => {
      seen.push(total);
      if (done === 5) controller.abort(new Error('enough'));
    };
    await expect(apgd(classifier, task, { eps, steps: 100, progress, signal: controller.signal })).rejects.toThrow('enough');
    expect(seen.every((total) => total === 100)).toBe(true);
  });
});
