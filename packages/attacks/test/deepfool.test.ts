// DeepFool against the closed form on linear models (the nearest boundary of class y against
// class j is the hyperplane z_y = z_j, at distance |z_y − z_j| / ‖w_y − w_j‖ in the dual norm),
// and against the other attacks on a CNN trained on MNIST.
import { describe, expect, it } from 'vitest';

import { deepfool } from '../src/attacks/deepfool.js';
import { type AttackResult, evaluateAttack, onnxClassifier, type AttackTask } from '../src/index.js';
import { linearModel, mnistCnn } from './models.js';

const ETA = 0.02;

interface Linear {
  W: Float32Array;
  B: Float32Array;
  inputs: number;
  classes: number;
}

/** A linear model with deterministic, well-spread weights (large, so boundaries are near). */
function linear(inputs: number, classes: number, scale: number): Linear {
  const W = Float32Array.from({ length: inputs * classes }, (_, e) => scale * Math.sin(1.7 * Math.floor(e / classes) + 2.3 * (e % classes) + 0.5));
  const B = Float32Array.from({ length: classes }, (_, k) => 0.3 * Math.cos(k));
  return { W, B, inputs, classes };
}

function logits(m: Linear, x: ArrayLike<number>): number[] {
  return Array.from({ length: m.classes }, (_, k) => m.B[k] + Array.from(x).reduce((s, v, j) => s + v * m.W[j * m.classes + k], 0));
}

/** For class j against y = argmax z: f = z_j − z_y and w = ∇f = W[:, j] − W[:, y], in float64. */
function boundary(m: Linear, x: ArrayLike<number>, j: number): { f: number; w: number[]; y: number } {
  const z = logits(m, x);
  const y = z.indexOf(Math.max(...z));
  return { f: z[j] - z[y], w: Array.from({ length: m.inputs }, (_, i) => m.W[i * m.classes + j] - m.W[i * m.classes + y]), y };
}

const l2 = (v: number[]) => Math.hypot(...v);
const l1 = (v: number[]) => v.reduce((s, x) => s + Math.abs(x), 0);
const rowsOf = (x: Float32Array, d: number) => Array.from({ length: x.length / d }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));

async function attackLinear(m: Linear, x: Float32Array, options: Parameters<typeof deepfool>[2]) {
  const classifier = await onnxClassifier(linearModel(m.W, m.B));
  const labels = Int32Array.from(rowsOf(x, m.inputs), (row) => boundary(m, row, 0).y);
  const task: AttackTask = { x, labels };
  const result = await evaluateAttack(classifier, task, undefined, () => deepfool(classifier, task, options));
  await classifier.release();
  return { result, deltas: rowsOf(result.adversarial, m.inputs).map((row, i) => row.map((v, j) => v - x[i * m.inputs + j])) };
}

describe('on a two-class linear model', () => {
  // w = W[:, 1] − W[:, 0] = (6, −8, 4, 10); z_1 − z_0 = −3, −4.1, −2.1 at the three points
  const m: Linear = { W: Float32Array.from([1, 7, 2, -6, -1, 3, 0, 10]), B: Float32Array.from([4, -5]), inputs: 4, classes: 2 };
  const x = Float32Array.from([0.5, 0.5, 0.5, 0.5, 0.4, 0.6, 0.45, 0.55, 0.6, 0.4, 0.5, 0.45]);

  it('DeepFool-L2 crosses the boundary in one step along w, (1 + η)·(|f| + 1e−4)/‖w‖ long', async () => {
    const { result, deltas } = await attackLinear(m, x, {});
    expect(result.gradientCalls).toBe(2 * 3); // the step, then the check that the label changed
    deltas.forEach((delta, i) => {
      const row = Array.from(x.subarray(i * 4, i * 4 + 4));
      const { f, w, y } = boundary(m, row, 1 - boundary(m, row, 0).y);
      const distance = Math.abs(f) / l2(w);
      expect(Math.abs(f)).toBeGreaterThan(2); // so that the 1e−4 added to |f| stays under 1e−4 relative
      w.forEach((wj, j) => expect(delta[j]).toBeCloseTo(((1 + ETA) * (Math.abs(f) + 1e-4) * wj) / l2(w) ** 2, 5));
      expect(Math.abs(l2(delta) / ((1 + ETA) * distance) - 1)).toBeLessThan(1e-4);
      expect(result.predictions[i]).not.toBe(y);
    });
    expect(result.summary.successRate).toBe(1);
  });

  it('DeepFool-L∞ steps (1 + η)·(|f| + 1e−4)/‖w‖₁ along sign(w)', async () => {
    const { result, deltas } = await attackLinear(m, x, { norm: 'linf' });
    deltas.forEach((delta, i) => {
      const row = Array.from(x.subarray(i * 4, i * 4 + 4));
      const { f, w } = boundary(m, row, 1 - boundary(m, row, 0).y);
      const size = ((1 + ETA) * (Math.abs(f) + 1e-4)) / l1(w);
      w.forEach((wj, j) => expect(delta[j]).toBeCloseTo(size * Math.sign(wj), 5));
      expect(Math.abs(Math.max(...delta.map(Math.abs)) / (((1 + ETA) * Math.abs(f)) / l1(w)) - 1)).toBeLessThan(1e-4);
    });
    expect(result.summary.successRate).toBe(1);
  });
});

describe('on a five-class linear model', () => {
  const m = linear(6, 5, 8);
  const x = Float32Array.from({ length: 6 * 6 }, (_, e) => 0.5 + 0.15 * Math.sin(3.1 * e + 1));

  it.each(['l2', 'linf'] as const)('DeepFool-%s lands (1 + η) past the nearest of all the class boundaries', async (norm) => {
    const dual = norm === 'l2' ? l2 : l1;
    const { result, deltas } = await attackLinear(m, x, { norm });
    deltas.forEach((delta, i) => {
      const row = Array.from(x.subarray(i * 6, i * 6 + 6));
      const y = boundary(m, row, 0).y;
      const nearest = Math.min(...[0, 1, 2, 3, 4].filter((j) => j !== y).map((j) => Math.abs(boundary(m, row, j).f) / dual(boundary(m, row, j).w)));
      // the solution lies inside the box, so the box does not change the answer
      for (const v of row) expect(Math.min(v, 1 - v)).toBeGreaterThan(1.1 * nearest);
      const size = norm === 'l2' ? l2(delta) : Math.max(...delta.map(Math.abs));
      expect(size / ((1 + ETA) * nearest)).toBeCloseTo(1, 3);
    });
    expect(result.summary.successRate).toBe(1);
  });

  it('considers only the `candidates` classes of highest clean logit', async () => {
    // class 1 is the runner-up but its boundary is far; class 2's, of a steeper w, is nearer
    const m3: Linear = { W: Float32Array.from([0, 0.5, 8, 0, 0.5, -8, 0, 0, 6, 0, 0, 0]), B: Float32Array.from([2, 1.3, -2]), inputs: 4, classes: 3 };
    const x3 = Float32Array.from([0.5, 0.5, 0.5, 0.5, 0.45, 0.5, 0.55, 0.5]);
    const expected = (row: number[], j: number) => {
      const { f, w } = boundary(m3, row, j);
      return ((1 + ETA) * (Math.abs(f) + 1e-4)) / l2(w);
    };
    for (const [candidates, target] of [[10, 2], [2, 1]] as const) {
      const { result, deltas } = await attackLinear(m3, x3, { candidates });
      deltas.forEach((delta, i) => {
        expect(l2(delta)).toBeCloseTo(expected(Array.from(x3.subarray(i * 4, i * 4 + 4)), target), 5);
        expect(result.predictions[i]).toBe(target);
      });
    }
  });

  it('refuses targets and bad options before any work', async () => {
    const classifier = await onnxClassifier(linearModel(m.W, m.B));
    const task: AttackTask = { x: x.subarray(0, 6), labels: Int32Array.of(0) };
    await expect(deepfool(classifier, { ...task, targets: Int32Array.of(1) })).rejects.toThrow(/untargeted/);
    await expect(deepfool(classifier, task, { candidates: 1 })).rejects.toThrow(RangeError);
    await expect(deepfool(classifier, task, { overshoot: -0.1 })).rejects.toThrow(RangeError);
    await expect(deepfool(classifier, task, { norm: 'l1' as 'l2' })).rejects.toThrow(RangeError);
    expect(classifier.usage.queries + classifier.usage.gradientCalls).toBe(0);
    await classifier.release();
  });
});

describe('on a CNN trained on MNIST', async () => {
  const { model, test } = await mnistCnn(100);
  const classifier = await onnxClassifier(model, { batchSize: 64 });
  const task: AttackTask = { x: test.x, labels: test.labels };

  it('DeepFool-L2 and -L∞ break every digit inside the box, each nearer in its own norm', async () => {
    // evaluateAttack refuses any output outside the box
    const byL2 = await evaluateAttack(classifier, task, undefined, () => deepfool(classifier, task));
    const byLinf = await evaluateAttack(classifier, task, undefined, () => deepfool(classifier, task, { norm: 'linf' }));
    expect(byL2.summary.cleanAccuracy).toBeGreaterThan(0.9);
    expect(byL2.summary.successRate).toBe(1);
    expect(byLinf.summary.successRate).toBe(1);
    const median = (values: ArrayLike<number>, result: AttackResult) => {
      const broken = Array.from(values).filter((_, i) => result.success[i] && result.cleanPredictions[i] === task.labels[i]);
      return broken.sort((a, b) => a - b)[broken.length >> 1];
    };
    expect(median(byL2.norms.l2, byL2)).toBeLessThan(median(byLinf.norms.l2, byLinf));
    expect(median(byLinf.norms.linf, byLinf)).toBeLessThan(median(byL2.norms.linf, byL2));
  });

  it('repeats exactly', async () => {
    const run = () => deepfool(classifier, task);
    expect((await run()).adversarial).toEqual((await run()).adversarial);
  });
});
