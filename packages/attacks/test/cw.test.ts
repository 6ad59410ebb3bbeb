// Carlini–Wagner L2 against the closed form on linear models (the nearest point of class j's side
// of z_y = z_j lies |z_y − z_j| / ‖w_y − w_j‖₂ away along w_j − w_y, when it is inside the box),
// and against DeepFool on a CNN trained on MNIST.
import { describe, expect, it } from 'vitest';

import { cw, type CwOptions } from '../src/attacks/cw.js';
import { deepfool } from '../src/attacks/deepfool.js';
import { evaluateAttack, onnxClassifier, type AttackTask } from '../src/index.js';
import { linearModel, mnistCnn } from './models.js';

interface Linear {
  W: Float32Array;
  B: Float32Array;
  inputs: number;
  classes: number;
}

function logits(m: Linear, x: ArrayLike<number>): number[] {
  return Array.from({ length: m.classes }, (_, k) => m.B[k] + Array.from(x).reduce((s, v, j) => s + v * m.W[j * m.classes + k], 0));
}

/** Distance from x to the hyperplane z_y = z_j, and the nearest point on it, in float64. */
function hyperplane(m: Linear, x: number[], y: number, j: number): { distance: number; foot: number[] } {
  const z = logits(m, x);
  const w = x.map((_, i) => m.W[i * m.classes + j] - m.W[i * m.classes + y]);
  const norm2 = w.reduce((s, v) => s + v * v, 0);
  return { distance: Math.abs(z[j] - z[y]) / Math.sqrt(norm2), foot: x.map((v, i) => v + ((z[y] - z[j]) * w[i]) / norm2) };
}

/** Deterministic, well-spread weights (large, so boundaries are near). */
function sinusoidal(inputs: number, classes: number, scale: number): Linear {
  const W = Float32Array.from({ length: inputs * classes }, (_, e) => scale * Math.sin(1.7 * Math.floor(e / classes) + 2.3 * (e % classes) + 0.5));
  return { W, B: Float32Array.from({ length: classes }, (_, k) => 0.3 * Math.cos(k)), inputs, classes };
}

const rowsOf = (x: Float32Array, d: number) => Array.from({ length: x.length / d }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));
const argmax = (v: number[]) => v.indexOf(Math.max(...v));

async function attackLinear(m: Linear, x: Float32Array, targets?: Int32Array, options: CwOptions = {}) {
  const classifier = await onnxClassifier(linearModel(m.W, m.B));
  const labels = Int32Array.from(rowsOf(x, m.inputs), (row) => argmax(logits(m, row)));
  const task: AttackTask = { x, labels, ...(targets ? { targets } : {}) };
  const result = await evaluateAttack(classifier, task, undefined, () => cw(classifier, task, options));
  await classifier.release();
  return { result, labels };
}

/**
 * ‖δ‖₂ of each sample over the distance to its boundary with class towards(i): no successful
 * point is nearer (a float32 hair aside), and C&W, with κ = 0, should come close to it.
 */
function excess(m: Linear, x: Float32Array, norms: Float64Array | Float32Array, labels: Int32Array, towards: (i: number) => number): number[] {
  return rowsOf(x, m.inputs).map((row, i) => {
    const { distance, foot } = hyperplane(m, row, labels[i], towards(i));
    // the closed form holds only where the nearest boundary point is inside the box
    for (const v of foot) expect(v > 0.01 && v < 0.99).toBe(true);
    const ratio = norms[i] / distance;
    expect(ratio).toBeGreaterThan(1 - 1e-4);
    return ratio;
  });
}

describe('on linear models', () => {
  // two classes, w = W[:, 1] − W[:, 0] = (6, −8, 4, 10); nearest boundary points 0.2, 0.27 and 0.14 away
  const two: Linear = { W: Float32Array.from([1, 7, 2, -6, -1, 3, 0, 10]), B: Float32Array.from([4, -5]), inputs: 4, classes: 2 };
  const x2 = Float32Array.from([0.5, 0.5, 0.5, 0.5, 0.4, 0.6, 0.45, 0.55, 0.6, 0.4, 0.5, 0.45]);

  it('finds the nearest boundary point of a two-class model to within 0.5%', async () => {
    const { result, labels } = await attackLinear(two, x2);
    expect(result.summary.successRate).toBe(1);
    for (const r of excess(two, x2, result.norms.l2, labels, (i) => 1 - labels[i])) expect(r).toBeLessThan(1.005);
  });

  it('with confidence κ, stops at the hyperplane where the other class leads by κ', async () => {
    const kappa = 1;
    const { result, labels } = await attackLinear(two, x2, undefined, { confidence: kappa });
    expect(result.summary.successRate).toBe(1);
    rowsOf(x2, 4).forEach((row, i) => {
      const z = logits(two, row), y = labels[i];
      // w = ∇(z_other − z_y) = (6, −8, 4, 10) × ±1, ‖w‖ = √216
      const distance = (z[y] - z[1 - y] + kappa) / Math.sqrt(216);
      const lead = logits(two, rowsOf(result.adversarial, 4)[i]);
      expect(lead[1 - y] - lead[y]).toBeGreaterThanOrEqual(kappa - 1e-5);
      expect(result.norms.l2[i] / distance).toBeGreaterThan(1 - 1e-4);
      expect(result.norms.l2[i] / distance).toBeLessThan(1.005);
    });
  });

  it('untargeted, reaches the nearest class boundary of a five-class model', async () => {
    // here the nearest class is also the runner-up: the margin only ever pulls towards the
    // best other class, so C&W can miss a nearer boundary of a lower-ranked one (DeepFool cannot)
    const five = sinusoidal(6, 5, 8);
    const x = Float32Array.from({ length: 6 * 6 }, (_, e) => 0.5 + 0.15 * Math.sin(3.1 * e + 1));
    const { result, labels } = await attackLinear(five, x);
    expect(result.summary.successRate).toBe(1);
    const nearest = (i: number) => {
      const row = rowsOf(x, 6)[i];
      const others = [0, 1, 2, 3, 4].filter((j) => j !== labels[i]);
      return others.reduce((best, j) => (hyperplane(five, row, labels[i], j).distance < hyperplane(five, row, labels[i], best).distance ? j : best));
    };
    for (const r of excess(five, x, result.norms.l2, labels, nearest)) expect(r).toBeLessThan(1.005);
  });

  it('targeted, reaches the boundary of the target class, the runner-up or not', async () => {
    // class 1 is the runner-up, 0.32 away; class 2's boundary is 0.09 away, along a direction
    // that leaves z_1 unchanged (and the way to class 1's leaves z_2 unchanged)
    const three: Linear = { W: Float32Array.from([0, 0.5, 8, 0, 0.5, -8, 0, 0, 6, 0, 0, 0]), B: Float32Array.from([2, 1.3, -2]), inputs: 4, classes: 3 };
    const x = Float32Array.from([0.5, 0.5, 0.5, 0.5, 0.45, 0.5, 0.55, 0.5, 0.5, 0.5, 0.5, 0.5, 0.45, 0.5, 0.55, 0.5]);
    const targets = Int32Array.of(1, 1, 2, 2);
    const { result, labels } = await attackLinear(three, x, targets);
    expect(Array.from(result.predictions)).toEqual(Array.from(targets));
    rowsOf(x, 4).forEach((row, i) => {
      const z = logits(three, hyperplane(three, row, labels[i], targets[i]).foot);
      expect(argmax(z)).toBe(labels[i]); // the target ties the clean class there, the third class is below
      expect(z[targets[i]]).toBeCloseTo(z[labels[i]], 9);
    });
    for (const r of excess(three, x, result.norms.l2, labels, (i) => targets[i])) expect(r).toBeLessThan(1.005);
  });

  it('moves pixels that start at the edges of the box inwards', async () => {
    // w = (5, −5, 2.5): the way to the boundary raises the pixel at 0 and lowers the one at 1; the
    // third pixel alone cannot get there inside the box, so frozen edge pixels would mean failure
    const edge: Linear = { W: Float32Array.from([0, 5, 0, -5, 0, 2.5]), B: Float32Array.from([0, 1.75]), inputs: 3, classes: 2 };
    const x = Float32Array.from([0, 1, 0.5, 0, 1, 0]);
    const { result, labels } = await attackLinear(edge, x);
    expect(result.summary.successRate).toBe(1);
    for (const r of excess(edge, x, result.norms.l2, labels, () => 1)) expect(r).toBeLessThan(1.005);
    for (let i = 0; i < 2; i++) {
      expect(result.adversarial[i * 3]).toBeGreaterThan(0.15);
      expect(result.adversarial[i * 3 + 1]).toBeLessThan(0.85);
    }
  });

  it('refuses bad options before any work', async () => {
    const classifier = await onnxClassifier(linearModel(two.W, two.B));
    const task: AttackTask = { x: x2.subarray(0, 4), labels: Int32Array.of(0) };
    for (const options of [{ steps: 0 }, { searchSteps: 1.5 }, { initialConst: 0 }, { learningRate: Number.NaN }, { confidence: -1 }]) {
      await expect(cw(classifier, task, options)).rejects.toThrow(RangeError);
    }
    expect(classifier.usage.queries + classifier.usage.gradientCalls).toBe(0);
    await classifier.release();
  });

  it('reports progress in search steps, and stops when aborted', async () => {
    const classifier = await onnxClassifier(linearModel(two.W, two.B));
    const task: AttackTask = { x: x2, labels: Int32Array.of(0, 0, 0) };
    const seen: string[] = [];
    await cw(classifier, task, { steps: 20, searchSteps: 3, progress: (done, total) => seen.push(`${done}/${total}`) });
    expect(seen).toEqual(['1/3', '2/3', '3/3']);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(cw(classifier, task, { signal: controller.signal })).rejects.toThrow('stop');
    await classifier.release();
  });
});

describe('on a CNN trained on MNIST', async () => {
  const { model, test } = await mnistCnn(100);
  const classifier = await onnxClassifier(model, { batchSize: 64 });
  const task: AttackTask = { x: test.x, labels: test.labels };
  // cheaper than the defaults (5 × 100 steps, not 9 × 1000), with a larger step so that pixels
  // at 0 or 1 still get off tanh's flat ends in time (lr·steps ≈ 10 > atanh(0.999999) ≈ 7.3)
  const quick: CwOptions = { steps: 100, learningRate: 0.1, searchSteps: 5, initialConst: 0.1 };

  it('breaks every digit inside the box, nearer than DeepFool does', async () => {
    // evaluateAttack refuses any output outside the box
    const c = await evaluateAttack(classifier, task, undefined, () => cw(classifier, task, quick));
    const d = await evaluateAttack(classifier, task, undefined, () => deepfool(classifier, task));
    expect(c.summary.cleanAccuracy).toBeGreaterThan(0.9);
    expect(c.summary.successRate).toBe(1);
    expect(d.summary.successRate).toBe(1);
    expect(c.summary.medianL2!).toBeLessThanOrEqual(1.1 * d.summary.medianL2!);
  });

  it('repeats exactly', async () => {
    const few: AttackTask = { x: task.x.subarray(0, 10 * 784), labels: task.labels.subarray(0, 10) };
    const run = () => cw(classifier, few, { ...quick, steps: 30, searchSteps: 2 });
    expect((await run()).adversarial).toEqual((await run()).adversarial);
  });
});
