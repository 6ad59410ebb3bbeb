// Calibrators on synthetic logits whose right answer is known: labels drawn from softmax(z), so
// logits 3z are over-confident by exactly 3 in the limit, and T = 3 (or w = 1/3) undoes it.
import { describe, expect, it } from 'vitest';

import { fitHistogramBinning, fitIsotonic, fitMatrixScaling, fitTemperature, fitVectorScaling, OneVsRestCalibrator } from '../src/index.js';
import { calibratedLogits, referenceNll } from './calibrators-synthetic.js';

/** The NLL-minimising T by brute force: nested grids on log T, each 20 times finer than the last. */
function gridSearchTemperature(logits: Float32Array, labels: Int32Array, k: number): number {
  let lo = Math.log(0.05), hi = Math.log(20);
  let best = 0;
  for (let round = 0; round < 8; round++) {
    const grid = Array.from({ length: 41 }, (_, i) => lo + ((hi - lo) * i) / 40);
    const nll = grid.map((u) => referenceNll(logits, labels, k, Math.exp(u)));
    const b = nll.indexOf(Math.min(...nll));
    best = grid[b];
    [lo, hi] = [grid[Math.max(b - 1, 0)], grid[Math.min(b + 1, 40)]];
  }
  return Math.exp(best);
}

function expectProbabilityRows(logProbabilities: Float32Array, k: number): void {
  for (let i = 0; i < logProbabilities.length / k; i++) {
    const p = Array.from(logProbabilities.subarray(i * k, (i + 1) * k), Math.exp);
    for (const v of p) expect(v >= 0 && v <= 1).toBe(true);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
  }
}

describe('fitTemperature', () => {
  it('finds the float64 optimum of a brute-force grid search to 1e-6 relative', async () => {
    for (const [scale, spread, seed] of [[0.5, 2, 1], [1, 2, 2], [3, 2, 3], [3, 1, 4], [10, 0.3, 5]]) {
      const { logits, labels } = await calibratedLogits(2000, 5, { seed, scale, spread });
      const calibrator = await fitTemperature(logits, labels, 5);
      const expected = gridSearchTemperature(logits, labels, 5);
      expect(Math.abs(calibrator.temperature / expected - 1)).toBeLessThan(1e-6);
      expect(calibrator.fit.converged).toBe(true);
      expect(calibrator.fit.passes).toBeLessThanOrEqual(scale < 10 ? 7 : 10);
      expect(calibrator.fit.nllAfter).toBeCloseTo(referenceNll(logits, labels, 5, calibrator.temperature), 10);
    }
  });

  it('gets T ≈ 3 back from logits made over-confident by 3', async () => {
    const { logits, labels } = await calibratedLogits(20_000, 10, { seed: 7, scale: 3 });
    const calibrator = await fitTemperature(logits, labels, 10);
    expect(calibrator.temperature).toBeGreaterThan(2.85);
    expect(calibrator.temperature).toBeLessThan(3.15);
    expect(calibrator.fit.nllAfter!).toBeLessThan(calibrator.fit.nllBefore!);
    const scaled = calibrator.apply(logits);
    expect(scaled[5]).toBeCloseTo(logits[5] / calibrator.temperature, 6);
  });

  it('reports an optimum outside the search range, or none at all, as not converged', async () => {
    const { logits, labels } = await calibratedLogits(2000, 5, { seed: 6 });
    const clamped = await fitTemperature(logits, labels, 5, { minTemperature: 2 });
    expect(clamped.temperature).toBeCloseTo(2, 9);
    expect(clamped.fit.converged).toBe(false);
    // Every label is its row's argmax by a wide margin: the NLL keeps falling as T → 0.
    const separable = Float32Array.from({ length: 300 }, (_, i) => (i % 3 === Math.floor(i / 3) % 3 ? 5 : 0));
    const cycling = Int32Array.from({ length: 100 }, (_, i) => i % 3);
    expect((await fitTemperature(separable, cycling, 3)).fit.converged).toBe(false);
  });

  it('rejects labels outside the classes', async () => {
    await expect(fitTemperature(new Float32Array(6), Int32Array.of(0, 3), 3)).rejects.toThrow(/label 3 at row 1/);
  });
});

describe('vector and matrix scaling', () => {
  it('vector scaling gets w ≈ 1/3 and b ≈ 0 back from logits over-confident by 3', async () => {
    const { logits, labels } = await calibratedLogits(20_000, 4, { seed: 11, scale: 3 });
    const calibrator = await fitVectorScaling(logits, labels, 4);
    expect(calibrator.fit.converged).toBe(true);
    for (const w of calibrator.weights) expect(Math.abs(w - 1 / 3)).toBeLessThan(0.03);
    for (const b of calibrator.bias) expect(Math.abs(b)).toBeLessThan(0.05);
  });

  it('matrix scaling fits at least as well as temperature scaling, whose map it contains', async () => {
    const { logits, labels } = await calibratedLogits(5000, 4, { seed: 12, scale: 3 });
    const matrix = await fitMatrixScaling(logits, labels, 4, { l2: 0 });
    const temperature = await fitTemperature(logits, labels, 4);
    expect(matrix.fit.converged).toBe(true);
    expect(matrix.fit.nllAfter!).toBeLessThanOrEqual(temperature.fit.nllAfter! + 1e-9);
    // The scaled logits are what the fit's NLL was measured on.
    expect(referenceNll(matrix.apply(logits), labels, 4)).toBeCloseTo(matrix.fit.nllAfter!, 6);
  });

  it('a strong L2 pull keeps matrix scaling at the identity', async () => {
    const { logits, labels } = await calibratedLogits(1000, 3, { seed: 13, scale: 3 });
    const calibrator = await fitMatrixScaling(logits, labels, 3, { l2: 1e6 });
    calibrator.weights.forEach((w, i) => expect(w).toBeCloseTo(i % 4 === 0 ? 1 : 0, 4));
  });
});

describe('histogram binning and isotonic regression', () => {
  it('give valid probability vectors that fit better than the over-confident logits', async () => {
    const { logits, labels } = await calibratedLogits(5000, 5, { seed: 21, scale: 3 });
    const heldOut = await calibratedLogits(1000, 5, { seed: 22, scale: 3 });
    for (const calibrator of [await fitHistogramBinning(logits, labels, 5), await fitIsotonic(logits, labels, 5)]) {
      expect(calibrator.output).toBe('log-probabilities');
      expectProbabilityRows(calibrator.apply(logits), 5);
      expectProbabilityRows(calibrator.apply(heldOut.logits), 5);
      expect(calibrator.fit.nllAfter!).toBeLessThan(calibrator.fit.nllBefore!);
      expect(JSON.parse(JSON.stringify(calibrator.describe())).method).toBe(calibrator.method);
    }
  });

  it('isotonic maps are non-decreasing in p_k', async () => {
    const { logits, labels } = await calibratedLogits(3000, 3, { seed: 23, scale: 2 });
    const calibrator = await fitIsotonic(logits, labels, 3);
    for (const map of calibrator.maps) {
      const values = Array.from({ length: 101 }, (_, i) => map.value(i / 100));
      values.slice(1).forEach((v, i) => expect(v).toBeGreaterThanOrEqual(values[i]));
    }
  });

  it('histogram bins hold the empirical frequency, and empty bins their midpoint', async () => {
    // Class 0 has p_0 = 0.9 in every row; 3 of 4 labels are 0.
    const logits = Float32Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? Math.log(9) : 0));
    const calibrator = await fitHistogramBinning(logits, Int32Array.of(0, 0, 0, 1), 2, { bins: 10 });
    expect(calibrator.maps[0].value(0.95)).toBeCloseTo(0.75, 12);
    expect(calibrator.maps[0].value(0.5)).toBeCloseTo(0.55, 12);
    expect(calibrator.maps[0].value(1)).toBeCloseTo(0.75, 12);
  });

  it('a row every class maps to 0 becomes uniform', () => {
    const zero = { value: () => 0, parameters: {} };
    const calibrator = new OneVsRestCalibrator('isotonic', 3, [zero, zero, zero], {}, { iterations: 0, passes: 0, converged: true, milliseconds: 0 });
    for (const v of calibrator.apply(Float32Array.of(1, 2, 3))) expect(v).toBeCloseTo(-Math.log(3), 6);
  });
});
