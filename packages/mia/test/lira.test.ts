import { describe, expect, it } from 'vitest';

import { SeededRandom } from '@onnx-audit/data';

import { inclusionMatrix, liraScores, type LiraOptions, logNormalCdf } from '../src/attacks/lira.js';
import { logitScaledConfidence } from '../src/attacks/signals.js';

const uniform = (r: SeededRandom) => (r.nextUint32() + 0.5) / 2 ** 32;
/** Box–Muller on the seeded generator. */
const normal = (r: SeededRandom) => Math.sqrt(-2 * Math.log(uniform(r))) * Math.cos(2 * Math.PI * uniform(r));

const normalPdf = (t: number) => Math.exp(-0.5 * t * t) / Math.sqrt(2 * Math.PI);
/**
 * log(1 − Φ(t)) for t ≥ 0 by Simpson's rule: 1 − Φ(t) = ϕ(t)·∫₀^∞ exp(−t·u − u²/2) du, the integral
 * cut at u = 40/(1 + t), where the integrand is below e^−38, on steps a 200th of its decay length.
 */
function logTailByQuadrature(t: number): number {
  const steps = 8000;
  const h = 40 / (1 + t) / steps;
  const g = (u: number) => Math.exp(-t * u - 0.5 * u * u);
  let s = g(0) + g(steps * h);
  for (let i = 1; i < steps; i++) s += (i % 2 ? 4 : 2) * g(i * h);
  return -0.5 * t * t - 0.5 * Math.log(2 * Math.PI) + Math.log((s * h) / 3);
}
const logCdfReference = (z: number) => (z < 0 ? logTailByQuadrature(-z) : Math.log1p(-Math.exp(logTailByQuadrature(z))));

describe('logitScaledConfidence', () => {
  it('equals log(p_y / (1 − p_y)) on moderate logits', () => {
    const random = new SeededRandom(3);
    const classes = 6;
    const n = 50;
    const logits = Float32Array.from({ length: n * classes }, () => 4 * normal(random));
    const labels = Int32Array.from({ length: n }, () => random.below(classes));
    const phi = logitScaledConfidence(logits, labels, classes);
    for (let i = 0; i < n; i++) {
      const e = Array.from(logits.subarray(i * classes, (i + 1) * classes), Math.exp);
      const p = e[labels[i]] / e.reduce((a, b) => a + b, 0);
      expect(Math.abs(phi[i] - Math.log(p / (1 - p)))).toBeLessThan(1e-9);
    }
  });

  it('stays exact where p_y rounds to 1', () => {
    const classes = 5;
    const logits = Float32Array.of(100, 0, 0, 0, 0, 100, 0, 0, 0, 0);
    const phi = logitScaledConfidence(logits, Int32Array.of(0, 1), classes);
    expect(Math.fround(Math.exp(100) / (Math.exp(100) + 4))).toBe(1); // the direct form would give +Inf
    expect(phi[0]).toBeCloseTo(100 - Math.log(classes - 1), 12);
    // z_1 − LSE(100, 0, 0, 0) = −100 − log(1 + 3e^−100) = −100 in float64.
    expect(phi[1]).toBe(-100);
  });
});

describe('logNormalCdf', () => {
  it('matches quadrature on [−30, 8] and the asymptotic series far in the tail', () => {
    for (let z = -30; z <= 8; z += 0.37) expect(Math.abs(logNormalCdf(z) - logCdfReference(z))).toBeLessThan(1e-11 * Math.max(1, Math.abs(logCdfReference(z))));
    for (const z of [-40, -100, -1000]) {
      const u = 1 / (z * z);
      const series = -0.5 * z * z - Math.log(-z) - 0.5 * Math.log(2 * Math.PI) + Math.log(1 - u + 3 * u * u - 15 * u ** 3 + 105 * u ** 4);
      expect(logNormalCdf(z)).toBeCloseTo(series, 9);
    }
    expect(logNormalCdf(0)).toBeCloseTo(-Math.LN2, 15);
  });
});

describe('inclusionMatrix', () => {
  it('puts every sample IN for exactly ⌊k/2⌋ models, differently per seed', () => {
    for (const k of [7, 8]) {
      const n = 300;
      const mask = inclusionMatrix(k, n, 1);
      for (let j = 0; j < n; j++) {
        let ins = 0;
        for (let m = 0; m < k; m++) ins += mask[m * n + j];
        expect(ins).toBe(Math.floor(k / 2));
      }
      // Each model trains on about ⌊k/2⌋/k of the samples (binomial sd ≈ 9 here).
      for (let m = 0; m < k; m++) {
        const rowSum = mask.subarray(m * n, (m + 1) * n).reduce((a, b) => a + b, 0);
        expect(Math.abs(rowSum - (n * Math.floor(k / 2)) / k)).toBeLessThan(45);
      }
      expect(inclusionMatrix(k, n, 1)).toEqual(mask);
      expect(inclusionMatrix(k, n, 2)).not.toEqual(mask);
    }
    expect(() => inclusionMatrix(1, 10, 0)).toThrow(RangeError);
  });
});

/** LiRA written out plainly, sample by sample (float64). */
function referenceLira(observed: Float64Array, reference: Float64Array, inMask: Uint8Array | undefined, o: Required<LiraOptions>): number[] {
  const n = observed.length;
  const k = reference.length / n;
  const centre = (v: number[]) => {
    if (o.center === 'mean') return v.reduce((a, b) => a + b, 0) / v.length;
    const s = [...v].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  const groups = (wantIn: boolean) => Array.from({ length: n }, (_, j) => Array.from({ length: k }, (_, m) => m).filter((m) => (inMask?.[m * n + j] === 1) === wantIn).map((m) => reference[m * n + j]));
  const fit = (g: number[][]) => {
    const mu = g.map(centre);
    const dev = g.map((v, j) => v.map((x) => (x - mu[j]) ** 2));
    const pooled = Math.sqrt(dev.flat().reduce((a, b) => a + b, 0) / dev.flat().length);
    const sigma = dev.map((d) => (o.variance === 'global' ? pooled : Math.sqrt(d.reduce((a, b) => a + b, 0) / d.length)));
    return { mu, sigma };
  };
  const logN = (x: number, mu: number, s: number) => Math.log(normalPdf((x - mu) / s) / s);
  const out = fit(groups(false));
  if (o.online) {
    const inn = fit(groups(true));
    return Array.from(observed, (x, j) => logN(x, inn.mu[j], inn.sigma[j]) - logN(x, out.mu[j], out.sigma[j]));
  }
  return Array.from(observed, (x, j) => (o.offlineTest === 'one-sided' ? logCdfReference((x - out.mu[j]) / out.sigma[j]) : -logN(x, out.mu[j], out.sigma[j])));
}

describe('liraScores', () => {
  const random = new SeededRandom(9);
  const k = 9; // odd: the IN and OUT groups differ in size, and medians of both parities occur
  const n = 40;
  const inMask = inclusionMatrix(k, n, 4);
  const offsets = Float64Array.from({ length: n }, () => 3 * normal(random));
  const spread = Float64Array.from({ length: n }, () => 0.3 + uniform(random));
  const reference = Float64Array.from({ length: k * n }, (_, i) => offsets[i % n] + inMask[i] * 1.5 + spread[i % n] * normal(random));
  const observed = Float64Array.from({ length: n }, (_, j) => offsets[j] + 0.75 + 2 * normal(random));

  it('agrees with a plain float64 reference in every configuration', () => {
    for (const online of [true, false]) {
      for (const variance of ['global', 'per-example'] as const) {
        for (const center of ['mean', 'median'] as const) {
          for (const offlineTest of online ? (['one-sided'] as const) : (['one-sided', 'two-sided'] as const)) {
            const o = { online, variance, center, offlineTest };
            const got = liraScores(observed, reference, inMask, o);
            const want = referenceLira(observed, reference, inMask, o);
            want.forEach((w, j) => expect(Math.abs(got[j] - w), JSON.stringify(o)).toBeLessThan(1e-9 * Math.max(1, Math.abs(w))));
          }
        }
      }
    }
  });

  it('uses all models as OUT offline without inMask, and global variance below 64 models by default', () => {
    const o = { online: false, variance: 'global', center: 'mean', offlineTest: 'two-sided' } as const;
    const got = liraScores(observed, reference, undefined, { online: false, offlineTest: 'two-sided' });
    referenceLira(observed, reference, undefined, o).forEach((w, j) => expect(got[j]).toBeCloseTo(w, 9));
  });

  it('recovers the exact log-ratio 2φ − 2 for IN ~ N(2, 1), OUT ~ N(0, 1)', () => {
    const r = new SeededRandom(21);
    const models = 10_000;
    const grid = [-0.5, 0, 0.5, 1, 1.5, 2, 2.5];
    const samples = grid.length;
    const mask = inclusionMatrix(models, samples, 22);
    const ref = Float64Array.from(mask, (m) => (m ? 2 : 0) + normal(r));
    const online = liraScores(Float64Array.from(grid), ref, mask, { online: true, variance: 'per-example' });
    // Sampling error: sd of Λ̂ ≤ 4.6/√5000 = 0.065 on this grid; the tolerance is about 4.5 sd.
    grid.forEach((phi, j) => expect(Math.abs(online[j] - (2 * phi - 2))).toBeLessThan(0.3));
    // Offline one-sided: log Φ(φ) under N(0, 1).
    const offline = liraScores(Float64Array.from(grid), ref, mask, { online: false, variance: 'per-example' });
    grid.forEach((phi, j) => expect(Math.abs(offline[j] - logCdfReference(phi))).toBeLessThan(0.1));
  });

  it('grows with φ when μ_in > μ_out and the σ are equal', () => {
    const samples = 20;
    const mask = inclusionMatrix(4, samples, 0);
    // Every sample: IN values μ_in ± 1, OUT values μ_out ± 1, so σ_in = σ_out = 1 exactly.
    const ref = new Float64Array(4 * samples);
    for (let j = 0; j < samples; j++) {
      const signIn = [-1, 1];
      const signOut = [-1, 1];
      for (let m = 0; m < 4; m++) ref[m * samples + j] = mask[m * samples + j] ? 1 + signIn.pop()! : -1 + signOut.pop()!;
    }
    const phi = Float64Array.from({ length: samples }, (_, j) => -6 + (12 * j) / (samples - 1));
    for (const variance of ['global', 'per-example'] as const) {
      const lambda = liraScores(phi, ref, mask, { online: true, variance });
      for (let j = 1; j < samples; j++) expect(lambda[j]).toBeGreaterThan(lambda[j - 1]);
      // Equal σ: Λ is linear with slope (μ_in − μ_out)/σ² = 2 and Λ(0) = 0.
      phi.forEach((x, j) => expect(lambda[j]).toBeCloseTo(2 * x, 12));
    }
  });

  it('refuses what it cannot fit', () => {
    expect(() => liraScores(observed, reference, undefined, { online: true })).toThrow(/inMask/);
    const noIn = inMask.slice();
    for (let m = 0; m < k; m++) noIn[m * n + 3] = 0;
    expect(() => liraScores(observed, reference, noIn, { online: true })).toThrow(/sample 3 has no IN/);
    expect(() => liraScores(observed, reference.subarray(1), inMask, { online: false })).toThrow(/reference models/);
    const twoModels = inclusionMatrix(2, n, 0);
    expect(() => liraScores(observed, reference.subarray(0, 2 * n), twoModels, { online: true, variance: 'per-example' })).toThrow(/use variance 'global'/);
  });
});
