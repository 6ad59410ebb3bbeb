import { describe, expect, it } from 'vitest';

import { logCurve, rocChart } from '../src/charts/roc.js';
import { membershipAttack } from './fixture.js';

/** Best TPR at FPR ≤ alpha, by brute force over all points (float64). */
function bestTpr(fpr: number[], tpr: number[], alpha: number): number {
  let best = 0;
  for (let i = 0; i < fpr.length; i++) if (fpr[i]! <= alpha) best = Math.max(best, tpr[i]!);
  return best;
}

describe('logCurve', () => {
  it('keeps a short curve, clamping zeros onto the log axes', () => {
    expect(logCurve([0, 0, 0.5, 1], [0, 0.2, 0.7, 1], 0.01, 0.02)).toEqual([
      [0.01, 0.02],
      [0.01, 0.2],
      [0.5, 0.7],
      [1, 1],
    ]);
  });

  it('resamples a long curve to its upper envelope on a log grid', () => {
    const { roc } = membershipAttack('a', 1, 5, 2000, 2000);
    const lo = 1 / 2000;
    const points = logCurve(roc.fpr, roc.tpr, lo, lo);
    expect(points.length).toBe(300);
    expect(points[0]![0]).toBeCloseTo(lo, 15);
    expect(points[299]).toEqual([1, 1]);
    for (const [f, t] of points) expect(t).toBe(Math.max(lo, bestTpr(roc.fpr, roc.tpr, f * (1 + 1e-12))));
    for (let i = 1; i < points.length; i++) expect(points[i]![0] / points[i - 1]![0]).toBeCloseTo(2000 ** (1 / 299), 9);
  });

  it('refuses arrays of different lengths', () => {
    expect(() => logCurve([0, 1], [0], 0.1, 0.1)).toThrow(RangeError);
  });
});

describe('rocChart', () => {
  it('puts the 0.1% and 1% FPR rules where a log axis from 1/nonMembers places them', async () => {
    const svg = await rocChart([membershipAttack('loss', 0.5, 1, 1000, 4000)]);
    // x axis spans log10(1/4000)..0 over 420 px; the rules are vertical lines at those positions.
    const rules = [...svg.matchAll(/aria-roledescription="rule mark" transform="translate\(([\d.]+),0\)" x2="0" y2="380"/g)].map((m) => Number(m[1]));
    const x = (fpr: number): number => (420 * (Math.log10(fpr) - Math.log10(1 / 4000))) / -Math.log10(1 / 4000);
    expect(rules.length).toBe(2);
    expect(rules[0]).toBeCloseTo(x(0.001), 6);
    expect(rules[1]).toBeCloseTo(x(0.01), 6);
  });
});
