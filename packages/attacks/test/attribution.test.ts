// Saliency, SmoothGrad and Integrated Gradients against closed forms on a linear model (whose logit
// gradient is the constant W[:, c]), and on a CNN trained on MNIST against finite differences,
// an independent replay of SmoothGrad's noise, and Integrated Gradients' own completeness.
import { randomNormal } from '@onnx-audit/native';
import { describe, expect, it } from 'vitest';

import { argmaxRows, integratedGradients, onnxClassifier, saliency, smoothGrad } from '../src/index.js';
import { quadrature } from '../src/attribution/quadrature.js';
import { linearModel, mnistCnn } from './models.js';

// 3 classes, 4 inputs
const [D, K] = [4, 3];
const W = Float32Array.from([1, -1, 0.5, -2, 0.3, 1, 0.7, 0.2, -1, 0.1, -0.6, 0.9]);
const B = Float32Array.from([0.1, -0.2, 0.05]);
const X = Float32Array.from([0.2, 0.5, 0.7, 0.1, 0.9, 0.3, 0.4, 0.6, 0.5, 0.5, 0.5, 0.5, 1, 0, 0.8, 0.3]);
const CLASSES = Int32Array.from([0, 1, 2, 1]);
const N = CLASSES.length;

describe('quadrature', () => {
  it('Gauss–Legendre with n points integrates α^k exactly for k < 2n; its weights sum to 1', () => {
    for (const n of [1, 2, 5, 16, 64]) {
      const { nodes, weights } = quadrature('gauss-legendre', n);
      for (let s = 1; s < n; s++) expect(nodes[s]).toBeGreaterThan(nodes[s - 1]);
      expect(nodes[0]).toBeGreaterThan(0);
      expect(nodes[n - 1]).toBeLessThan(1);
      for (let k = 0; k < Math.min(2 * n, 40); k++) {
        const integral = nodes.reduce((sum, a, s) => sum + weights[s] * a ** k, 0);
        expect(integral, `n=${n}, k=${k}`).toBeCloseTo(1 / (k + 1), 12);
      }
    }
  });

  it('the trapezoid takes both ends, evenly spaced, with half weights at the ends', () => {
    const { nodes, weights } = quadrature('riemann-trapezoid', 5);
    expect(Array.from(nodes)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(weights)).toEqual([0.125, 0.25, 0.25, 0.25, 0.125]);
  });
});

describe('on a linear model z = xW + b followed by Softmax', async () => {
  // the Softmax is stripped: every method attributes the logit
  const classifier = await onnxClassifier(linearModel(W, B, true), { box: { lo: -1, hi: 1 } });
  const column = (i: number, j: number) => W[j * K + CLASSES[i]];

  it('saliency is W[:, c] exactly, and x ⊙ W[:, c] or its absolute value when asked', async () => {
    const plain = await saliency(classifier, X, CLASSES);
    const signed = await saliency(classifier, X, CLASSES, { timesInput: true });
    const absolute = await saliency(classifier, X, CLASSES, { timesInput: true, absolute: true });
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < D; j++) {
        expect(plain.attributions[i * D + j]).toBe(column(i, j));
        expect(signed.attributions[i * D + j]).toBe(Math.fround(X[i * D + j] * column(i, j)));
        expect(absolute.attributions[i * D + j]).toBe(Math.abs(signed.attributions[i * D + j]));
      }
    }
    expect(plain.settings).toEqual({ method: 'saliency', absolute: false, timesInput: false });
  });

  it.each([
    ['gauss-legendre', 'zero', 0],
    ['riemann-trapezoid', 'min', -1],
  ] as const)('Integrated Gradients (%s, baseline %s) is (x − x′) ⊙ W[:, c] with no completeness error', async (rule, baseline, b) => {
    const r = await integratedGradients(classifier, X, CLASSES, { rule, baseline, steps: 7 });
    for (let i = 0; i < N; i++) {
      let delta = 0;
      for (let j = 0; j < D; j++) {
        const want = (X[i * D + j] - b) * column(i, j);
        delta += want;
        expect(Math.abs(r.attributions[i * D + j] - want)).toBeLessThanOrEqual(1e-7 * Math.max(1, Math.abs(want)));
      }
      expect(r.logitDifference[i]).toBeCloseTo(delta, 5);
      expect(r.completenessError[i]).toBeLessThan(1e-5);
    }
    expect(r.settings).toEqual({ method: 'integrated-gradients', steps: 7, rule, baseline });
  });

  it('takes a baseline per sample or one for all', async () => {
    const one = Float32Array.from([0.1, -0.3, 0.2, 0.4]);
    const each = Float32Array.from({ length: N * D }, (_, e) => Math.sin(e));
    for (const baseline of [one, each]) {
      const r = await integratedGradients(classifier, X, CLASSES, { baseline, steps: 3 });
      for (let e = 0; e < N * D; e++) {
        const want = (X[e] - baseline[e % baseline.length]) * column(Math.floor(e / D), e % D);
        expect(r.attributions[e]).toBeCloseTo(want, 6);
      }
      expect(Math.max(...r.completenessError)).toBeLessThan(1e-5);
    }
  });

  it('SmoothGrad of a constant gradient is that gradient', async () => {
    const { attributions, settings } = await smoothGrad(classifier, X, CLASSES, { samples: 5 });
    attributions.forEach((a, e) => expect(a).toBeCloseTo(column(Math.floor(e / D), e % D), 6));
    // σ is a fraction of the box [−1, 1]
    expect(settings).toEqual({ method: 'smoothgrad', samples: 5, noise: 0.15, seed: 0, sigma: 0.3 });
  });

  it('refuses bad options and inputs with a RangeError before any work', async () => {
    const before = classifier.usage.gradientCalls;
    await expect(integratedGradients(classifier, X, CLASSES, { steps: 0 })).rejects.toThrow(/^steps must be an integer ≥ 1, got 0$/);
    await expect(integratedGradients(classifier, X, CLASSES, { steps: 1, rule: 'riemann-trapezoid' })).rejects.toThrow(/steps must be an integer ≥ 2/);
    await expect(integratedGradients(classifier, X, CLASSES, { baseline: new Float32Array(3) })).rejects.toThrow(/baseline holds 3 values; expected 4/);
    await expect(smoothGrad(classifier, X, CLASSES, { noise: 0 })).rejects.toThrow(/noise must be a finite number > 0/);
    await expect(smoothGrad(classifier, X, CLASSES, { seed: -1 })).rejects.toThrow(/seed must be an integer ≥ 0/);
    await expect(saliency(classifier, X, Int32Array.from([0, 1, 3, 0]))).rejects.toThrow(/class 3 of sample 2 is not a class of this 3-class model/);
    await expect(saliency(classifier, X.subarray(1), CLASSES)).rejects.toThrow(/x holds 15 values for 4 classes/);
    expect(classifier.usage.gradientCalls).toBe(before);
  });

  it('reports progress in gradients, and stops on an aborted signal', async () => {
    const calls: Array<[number, number]> = [];
    await smoothGrad(classifier, X, CLASSES, { samples: 5, batchSize: 8, progress: (done, total) => calls.push([done, total]) });
    expect(calls).toEqual([[8, 20], [16, 20], [20, 20]]);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(integratedGradients(classifier, X, CLASSES, { signal: controller.signal })).rejects.toThrow('stop');
  });
});

describe('on a CNN trained on MNIST', async () => {
  const { model, test } = await mnistCnn(50);
  const classifier = await onnxClassifier(model, { batchSize: 128 });
  const d = 784, n = test.labels.length;
  const predicted = argmaxRows(await classifier.scores(test.x), 10);
  const logit = (z: Float32Array, i: number) => z[i * 10 + predicted[i]];

  // The digits' flat background makes the logit non-differentiable at the digits themselves (a
  // first-layer bias that passes ReLU ties whole MaxPool windows; the gradient then takes one of
  // them). A little noise breaks the ties: that is where a gradient has a finite difference to match.
  const jitter = await randomNormal(n * d, { seed: 77 });
  const generic = test.x.map((v, e) => v + 0.01 * jitter[e]);

  it('saliency matches central differences of the logit along the gradient', async () => {
    const { attributions } = await saliency(classifier, generic, predicted);
    const norm = Array.from({ length: n }, (_, i) => Math.hypot(...attributions.subarray(i * d, (i + 1) * d)));
    const h = 1e-3;
    const step = (sign: number) => generic.map((x, e) => x + (sign * h * attributions[e]) / norm[Math.floor(e / d)]);
    const [plus, minus] = [await classifier.scores(step(1)), await classifier.scores(step(-1))];
    const errors = norm.map((g, i) => Math.abs((logit(plus, i) - logit(minus, i)) / (2 * h) - g) / g).sort((a, b) => a - b);
    // float32 logits (~1e-6 of rounding over 2h) and ReLU kinks within h bound the agreement
    expect(errors[Math.floor(n / 2)]).toBeLessThan(2e-3);
    expect(errors[n - 1]).toBeLessThan(2e-2);
  });

  it('Integrated Gradients is complete within 0.5 % on average (1 % with the trapezoid) at 64 steps, and closer at 128 than at 16', async () => {
    const mean = (v: Float64Array) => v.reduce((a, b) => a + b, 0) / v.length;
    for (const [rule, bound] of [['gauss-legendre', 5e-3], ['riemann-trapezoid', 1e-2]] as const) {
      const r = await integratedGradients(classifier, test.x, predicted, { rule, steps: 64, batchSize: 512 });
      expect(mean(r.completenessError), rule).toBeLessThan(bound);
      expect(Math.max(...r.completenessError), rule).toBeLessThan(0.05);
      const coarse = await integratedGradients(classifier, test.x, predicted, { rule, steps: 16, batchSize: 512 });
      const fine = await integratedGradients(classifier, test.x, predicted, { rule, steps: 128, batchSize: 512 });
      expect(mean(fine.completenessError), rule).toBeLessThan(mean(coarse.completenessError) / 3);
    }
  });

  it('reports the completeness error that the attributions and the logits show', async () => {
    const r = await integratedGradients(classifier, test.x, predicted, { steps: 16 });
    const atInput = await classifier.scores(test.x);
    const atBaseline = await classifier.scores(new Float32Array(n * d));
    for (let i = 0; i < n; i++) {
      const delta = logit(atInput, i) - logit(atBaseline, i);
      const total = r.attributions.subarray(i * d, (i + 1) * d).reduce((a, b) => a + b, 0);
      expect(r.logitDifference[i]).toBeCloseTo(delta, 4);
      expect(r.completenessGap[i]).toBeCloseTo(Math.abs(total - delta), 4);
      expect(r.completenessError[i]).toBeCloseTo(Math.abs(total - delta) / Math.abs(delta), 4);
    }
  });

  it('SmoothGrad is the mean saliency over x + σ·N(0, 1) drawn from its seed, however it is batched', async () => {
    const samples = 4, sigma = 0.2, rows = 12;
    const x = test.x.subarray(0, rows * d), classes = predicted.subarray(0, rows);
    const noise = await randomNormal(rows * samples * d, { seed: 9 });
    const copies = noise.map((z, e) => x[Math.floor(e / (samples * d)) * d + (e % d)] + sigma * z);
    const each = (await saliency(classifier, copies, Int32Array.from({ length: rows * samples }, (_, r) => classes[Math.floor(r / samples)]))).attributions;
    const { attributions } = await smoothGrad(classifier, x, classes, { samples, noise: sigma, seed: 9, batchSize: 7 });
    const scale = Math.max(...attributions.map(Math.abs));
    for (let e = 0; e < attributions.length; e++) {
      const i = Math.floor(e / d), j = e % d;
      let want = 0;
      for (let s = 0; s < samples; s++) want += each[(i * samples + s) * d + j] / samples;
      expect(Math.abs(attributions[e] - want)).toBeLessThan(1e-5 * scale);
    }
  });

  it('SmoothGrad repeats with its seed, tends to saliency as σ → 0, and smooths it at σ = 0.15', async () => {
    const rows = 20, x = generic.subarray(0, rows * d), classes = predicted.subarray(0, rows);
    const plain = (await saliency(classifier, x, classes)).attributions;
    const a = (await smoothGrad(classifier, x, classes, { samples: 16, seed: 3 })).attributions;
    expect((await smoothGrad(classifier, x, classes, { samples: 16, seed: 3 })).attributions).toEqual(a);
    expect((await smoothGrad(classifier, x, classes, { samples: 16, seed: 4 })).attributions).not.toEqual(a);
    // σ = 1e-7 of the box stays inside one linear region of the network
    const tiny = (await smoothGrad(classifier, x, classes, { samples: 4, noise: 1e-7 })).attributions;
    expect(distance(tiny, plain)).toBeLessThan(1e-5);
    expect(distance(a, plain)).toBeGreaterThan(0.3);
  });
});

/** ‖u − v‖₂ / ‖v‖₂ */
function distance(u: Float32Array, v: Float32Array): number {
  let num = 0, den = 0;
  for (let e = 0; e < v.length; e++) {
    num += (u[e] - v[e]) ** 2;
    den += v[e] ** 2;
  }
  return Math.sqrt(num / den);
}
