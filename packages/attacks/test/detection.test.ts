// Feature-squeezing detection: scores against a float64 hand computation on a linear model whose
// logits read one pixel, the threshold against a brute-force search over every threshold, and the
// detector on a CNN trained on real MNIST against C&W and PGD examples (Xu et al. 2018 report
// detection rates of about 0.6–1 on MNIST at a 5% false-positive rate).
import { afterAll, describe, expect, it } from 'vitest';

import { SeededRandom } from '@onnx-audit/data';

import { cw } from '../src/attacks/cw.js';
import { pgd } from '../src/attacks/pgd.js';
import { evaluateAttack } from '../src/attack.js';
import { onnxClassifier } from '../src/classifier/onnx.js';
import { defaultSqueezers, featureSqueezing, formatSqueezer, thresholdForFpr } from '../src/defences/detection.js';
import { parseTransforms } from '../src/defences/transforms.js';
import { linearModel, mnistCnn, tinyModel } from './models.js';

/** Two classes on 6 inputs: z = (A·x₀, −A·x₀), so only pixel 0 matters. */
const A = 3;
const W = Float32Array.from({ length: 12 }, (_, e) => (e === 0 ? A : e === 1 ? -A : 0));
const B = new Float32Array(2);

/** ‖softmax(A·u, −A·u) − softmax(A·v, −A·v)‖₁ = 2·|σ(2Au) − σ(2Av)|, in float64. */
const l1 = (u: number, v: number) => 2 * Math.abs(1 / (1 + Math.exp(-2 * A * u)) - 1 / (1 + Math.exp(-2 * A * v)));
const halfToEven = (v: number) => (Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
const bits = (v: number, depth: number) => halfToEven(v * (2 ** depth - 1)) / (2 ** depth - 1);

/** Samples whose pixel 0 is `first`; the other pixels are noise the model ignores. */
function samples(first: number[]): Float32Array {
  return Float32Array.from({ length: first.length * 6 }, (_, e) => (e % 6 === 0 ? first[e / 6] : 0.5 + 0.4 * Math.sin(e)));
}

describe('scores on a one-pixel linear model', () => {
  const first = [0.3, 0.45, 0.55, 0.7, 0.05, 0.95, 0.2, 0.62];

  it('are the max over squeezers (chains included) of the L1 distance between softmaxes', async () => {
    const squeezers = [parseTransforms('bits:1'), parseTransforms('bits:2'), parseTransforms('bits:3,bits:1')];
    const detector = await featureSqueezing(linearModel(W, B), squeezers);
    const { score, distances } = await detector.evaluate(samples(first));
    first.forEach((u, i) => {
      const want = [l1(u, bits(u, 1)), l1(u, bits(u, 2)), l1(u, bits(bits(u, 3), 1))];
      want.forEach((w, s) => expect(Math.abs(distances[s][i] - w)).toBeLessThan(1e-6));
      expect(Math.abs(score[i] - Math.max(...want))).toBeLessThan(1e-6);
    });
    expect(await detector.scores(samples(first))).toEqual(score);
    await detector.release();
  });

  it('reads logits before a trailing Softmax, and flags exactly the scores above the threshold', async () => {
    const detector = await featureSqueezing(linearModel(W, B, true), [parseTransforms('bits:1')]);
    const want = first.map((u) => l1(u, bits(u, 1)));
    const sorted = [...want].sort((a, b) => a - b);
    const between = (sorted[4] + sorted[5]) / 2;
    expect(Array.from(await detector.detect(samples(first), between))).toEqual(want.map((w) => (w > between ? 1 : 0)));
    // a score equal to the threshold is not flagged
    const scores = await detector.scores(samples(first));
    expect(Array.from(await detector.detect(samples(first), scores[6]))).toEqual(Array.from(scores, (s) => (s > scores[6] ? 1 : 0)));
    expect((await detector.detect(samples(first), scores[6]))[6]).toBe(0);
    await detector.release();
  });

  it('refuses bad settings and inputs with one-line RangeErrors', async () => {
    await expect(featureSqueezing(linearModel(W, B), [])).rejects.toThrow(/at least one squeezer/);
    await expect(featureSqueezing(linearModel(W, B), [[]])).rejects.toThrow(/squeezer 1 is empty/);
    await expect(featureSqueezing(linearModel(W, B), [parseTransforms('median:2')])).rejects.toThrow(/squeezer 'median:2': a median filter needs \[N, C, H, W\] images/);
    const detector = await featureSqueezing(linearModel(W, B), [parseTransforms('bits:1')]);
    for (const fpr of [0, 1, -0.1, NaN]) await expect(detector.calibrate(samples(first), fpr)).rejects.toThrow(/must be in \(0, 1\)/);
    await expect(detector.calibrate(new Float32Array(0))).rejects.toThrow(/no clean samples/);
    await expect(detector.scores(new Float32Array(0))).rejects.toThrow(/no samples/);
    await detector.release();
    expect(() => defaultSqueezers([6])).toThrow(/no default squeezers/);
    expect(defaultSqueezers([3, 32, 32]).map(formatSqueezer)).toEqual(['bits:5', 'median:2']);
  });

  it('runs median squeezers on image inputs', async () => {
    // the tiny image model's logits are linear in its one 2×3 image, so the squeezed softmax is computable here
    const weights = Float32Array.from({ length: 12 }, (_, e) => Math.cos(e));
    const model = tinyModel(weights, new Float32Array(2), { image: true });
    const x = Float32Array.of(0.1, 0.9, 0.4, 0.7, 0.2, 0.6);
    // scipy-style 2×2 median with reflect padding reaching back: window rows {i−1, i}, cols {j−1, j}, upper middle
    const at = (p: number) => (p < 0 ? -p - 1 : p);
    const squeezed = Array.from({ length: 6 }, (_, e) => {
      const [i, j] = [Math.floor(e / 3), e % 3];
      const window = [[i - 1, j - 1], [i - 1, j], [i, j - 1], [i, j]].map(([r, c]) => x[at(r) * 3 + at(c)]).sort((a, b) => a - b);
      return window[2];
    });
    const softmax = (image: ArrayLike<number>) => {
      const z = [0, 1].map((k) => Array.from(image).reduce((s, v, j) => s + v * weights[j * 2 + k], 0));
      const e = z.map((v) => Math.exp(v - Math.max(...z)));
      return e.map((v) => v / (e[0] + e[1]));
    };
    const [p, q] = [softmax(x), softmax(squeezed)];
    const detector = await featureSqueezing(model, [parseTransforms('median:2')]);
    expect(Math.abs((await detector.scores(x))[0] - (Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1])))).toBeLessThan(1e-6);
    await detector.release();
  });
});

describe('thresholdForFpr', () => {
  /** The most flags any threshold gives without exceeding ⌊fpr·n⌋, by trying every score (and −∞). */
  function bestAllowed(scores: number[], fpr: number): number {
    const allowed = Math.floor(fpr * scores.length + 1e-9);
    return Math.max(...[-Infinity, ...scores].map((t) => scores.filter((s) => s > t).length).filter((c) => c <= allowed));
  }
  const flagged = (scores: number[], t: number) => scores.filter((s) => s > t).length;

  it('flags at most fpr·n clean scores, and as many as any threshold can', () => {
    const distinct = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) / 10);
    const tied = [...Array(90).fill(0), ...Array(10).fill(1)];
    const lumpy = Array.from({ length: 57 }, (_, i) => Math.floor(Math.abs(Math.sin(i * 1.3)) * 8));
    for (const scores of [distinct, tied, lumpy]) {
      for (const fpr of [0.001, 0.05, 0.049, 0.1, 0.29, 0.5, 0.95]) {
        const t = thresholdForFpr(scores, fpr);
        expect(flagged(scores, t) / scores.length).toBeLessThanOrEqual(fpr);
        expect(flagged(scores, t)).toBe(bestAllowed(scores, fpr));
        // the smallest such threshold: any score below it flags too many
        expect(scores.filter((s) => s < t).every((s) => flagged(scores, s) > Math.floor(fpr * scores.length + 1e-9))).toBe(true);
      }
    }
    // exact values: 1..100 at 5% → the 95th; at 4.9% → the 96th; 0.29·100 is 28.999… in floating point
    const ranks = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(thresholdForFpr(ranks, 0.05)).toBe(95);
    expect(thresholdForFpr(ranks, 0.049)).toBe(96);
    expect(thresholdForFpr(ranks, 0.29)).toBe(71);
    // ties at the quantile: 10 tied top scores cannot be split, so none is flagged
    expect(thresholdForFpr(tied, 0.05)).toBe(1);
    expect(thresholdForFpr(ranks, 0.001)).toBe(100);
  });

  it('refuses an fpr outside (0, 1), no scores, and NaN scores', () => {
    expect(() => thresholdForFpr([1, 2], 0)).toThrow(/\(0, 1\)/);
    expect(() => thresholdForFpr([1, 2], 1)).toThrow(/\(0, 1\)/);
    expect(() => thresholdForFpr([], 0.05)).toThrow(/no clean scores/);
    expect(() => thresholdForFpr([1, NaN], 0.05)).toThrow(/NaN/);
  });
});

describe('on a CNN trained on MNIST, with the paper\'s MNIST squeezers', async () => {
  const { model, test } = await mnistCnn(200);
  const d = 784;
  const squeezers = defaultSqueezers(test.sampleDims);
  const detector = await featureSqueezing(model, squeezers, { batchSize: 100 });
  // even digits choose the threshold; odd ones are the held-out clean set and the attacked set
  // (interleaved, as the digits come grouped by class)
  const rows = (parity: number) => Array.from({ length: 100 }, (_, r) => 2 * r + parity);
  const pick = (parity: number) => Float32Array.from({ length: 100 * d }, (_, e) => test.x[rows(parity)[Math.floor(e / d)] * d + (e % d)]);
  const calibration = pick(0);
  const heldOut = { x: pick(1), labels: Int32Array.from(rows(1), (i) => test.labels[i]) };
  const threshold = await detector.calibrate(calibration, 0.05);
  const classifier = await onnxClassifier(model, { batchSize: 100 });
  afterAll(() => Promise.all([detector.release(), classifier.release()]));

  async function detectionRate(attack: 'cw' | 'pgd'): Promise<{ rate: number; successes: number }> {
    const run = attack === 'cw'
      ? () => cw(classifier, heldOut, { steps: 100, learningRate: 0.1, searchSteps: 5, initialConst: 0.1 })
      : () => pgd(classifier, heldOut, { norm: 'linf', eps: 0.1, steps: 20, seed: 1 });
    const result = await evaluateAttack(classifier, heldOut, attack === 'pgd' ? { norm: 'linf', eps: 0.1 } : undefined, run);
    const flags = await detector.detect(result.adversarial, threshold);
    const rows = Array.from(result.success.keys()).filter((i) => result.success[i]);
    const detected = rows.filter((i) => flags[i]).length;
    return { rate: detected / rows.length, successes: rows.length };
  }

  it('has the paper\'s squeezers, and a held-out false-positive rate near 5%', async () => {
    expect(squeezers.map(formatSqueezer)).toEqual(['bits:1', 'median:2', 'median:3']);
    const calibrationFpr = (await detector.detect(calibration, threshold)).reduce((a, b) => a + b, 0) / 100;
    const heldOutFpr = (await detector.detect(heldOut.x, threshold)).reduce((a, b) => a + b, 0) / 100;
    expect(calibrationFpr).toBe(0.05);
    // 100 held-out digits against a threshold from 100 others: the rate varies by a few points
    expect(heldOutFpr).toBeLessThanOrEqual(0.12);
    // over many random halvings: with 5 of 100 allowed, a held-out score exceeds the threshold with
    // probability (5 + 1)/(100 + 1) ≈ 0.059 when scores are exchangeable (order statistics)
    const scores = await detector.scores(test.x);
    const random = new SeededRandom(7);
    let total = 0;
    const splits = 200;
    for (let r = 0; r < splits; r++) {
      const order = Int32Array.from({ length: 200 }, (_, i) => i);
      random.shuffle(order);
      const t = thresholdForFpr(Array.from(order.subarray(0, 100), (i) => scores[i]), 0.05);
      total += order.subarray(100).filter((i) => scores[i] > t).length / 100;
    }
    console.log(`MNIST feature squeezing: threshold ${threshold.toFixed(4)}, FPR ${calibrationFpr.toFixed(3)} (calibration), ${heldOutFpr.toFixed(3)} (held out); mean held-out FPR over ${splits} random halvings ${(total / splits).toFixed(4)}`);
    expect(Math.abs(total / splits - 6 / 101)).toBeLessThan(0.01);
  });

  it('detects most successful C&W L2 examples at 5% FPR', async () => {
    const { rate, successes } = await detectionRate('cw');
    console.log(`C&W L2: ${successes} successful, detection rate ${rate.toFixed(3)}`);
    expect(successes).toBeGreaterThan(90);
    expect(rate).toBeGreaterThan(0.6);
  });

  it('detects most successful PGD L∞ (ε = 0.1) examples at 5% FPR', async () => {
    const { rate, successes } = await detectionRate('pgd');
    console.log(`PGD L∞ ε=0.1: ${successes} successful, detection rate ${rate.toFixed(3)}`);
    expect(successes).toBeGreaterThan(40);
    expect(rate).toBeGreaterThan(0.6);
  });
});
