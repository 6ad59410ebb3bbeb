// Checks the float64 reference kernels against facts that do not come from the reference itself:
// hand-computed values, published test vectors, identities, and brute-force or alternative
// algorithms.
import { describe, it, expect } from 'vitest';
import {
  METRIC_NAMES,
  adamStep,
  attackStep,
  calibrationBins,
  gradientEstimate,
  membershipMetrics,
  nllTemperature,
  perturbationNorms,
  philox4x32,
  philoxBlock,
  project,
  randomL2Ball,
  randomLinfBall,
  randomNormal,
  randomUniform,
  roc,
  sgdStep,
  softmax,
  unitDirections,
} from '../lib/reference/index.js';

// Deterministic test data that does not depend on the Philox code under test.
import { rng } from './inputs.js';

const sum = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0);
const l2 = (a: ArrayLike<number>): number => Math.sqrt(sum(Array.from(a, (v) => v * v)));
const l1 = (a: ArrayLike<number>): number => sum(Array.from(a, Math.abs));
const sub = (a: ArrayLike<number>, b: ArrayLike<number>): number[] => Array.from(a, (v, i) => v - b[i]);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => sum(Array.from(a, (v, i) => v * b[i]));

describe('softmax', () => {
  const rand = rng(1);
  const k = 7;
  const logits = Float32Array.from({ length: 5 * k }, () => (rand() - 0.5) * 20);

  it('rows sum to 1 and log-softmax is the log of softmax', () => {
    const p = softmax(logits, k);
    const logP = softmax(logits, k, 1, true);
    for (let i = 0; i < 5; i++) expect(sum(p.subarray(i * k, (i + 1) * k))).toBeCloseTo(1, 14);
    p.forEach((v, j) => expect(logP[j]).toBeCloseTo(Math.log(v), 12));
  });

  it('softmax(z, T) = softmax(z / T, 1)', () => {
    for (const T of [0.3, 1, 4.5]) {
      const scaled = softmax(Array.from(logits, (z) => z / T), k);
      softmax(logits, k, T).forEach((v, j) => expect(v).toBeCloseTo(scaled[j], 14));
    }
  });

  it('matches a hand-computed row', () => {
    const e = [Math.exp(0), Math.exp(-1), Math.exp(-2)];
    const s = e[0] + e[1] + e[2];
    softmax([3, 2, 1], 3).forEach((v, j) => expect(v).toBeCloseTo(e[j] / s, 15));
  });

  it('NaN or +Inf rows are all NaN; -Inf entries get probability 0', () => {
    const out = softmax([1, NaN, 2, 1, Infinity, 0, -Infinity, -Infinity, -Infinity, 0, -Infinity, 0], 3);
    expect(Array.from(out.subarray(0, 9)).every(Number.isNaN)).toBe(true);
    expect(Array.from(out.subarray(9))).toEqual([0.5, 0, 0.5]);
    expect(Array.from(softmax([0, -Infinity, 0], 3, 1, true))).toEqual([-Math.LN2, -Infinity, -Math.LN2]);
  });
});

describe('membershipMetrics', () => {
  it('matches the SeqMIA fixtures', () => {
    const m = membershipMetrics([2, 1, 0.1, 2, 1, 0.1, 30, 0, 0, 0].slice(0, 6), [0, 2], 3);
    expect(m.loss[0]).toBeCloseTo(0.417030016, 9);
    expect(m.maxProb[0]).toBeCloseTo(0.659001139, 9);
    expect(m.stdDev[0]).toBeCloseTo(0.237653913, 9);
    expect(m.entropy[0]).toBeCloseTo(0.846738179, 9);
    expect(m.modifiedEntropy[0]).toBeCloseTo(0.219744658, 9);
    expect(m.loss[1]).toBeCloseTo(2.317030016, 9);
    expect(m.modifiedEntropy[1]).toBeCloseTo(2.864963372, 9);
  });

  it('stays exact when p_y rounds to 1 or 0', () => {
    // y = 1: loss = 30 + log(1 + 3e-30); m-entropy ≈ 30 + (30 - ln 3) = 60 - ln 3 = 58.9014.
    const other = membershipMetrics([30, 0, 0, 0], [1], 4);
    expect(other.loss[0]).toBeCloseTo(30, 4);
    expect(other.modifiedEntropy[0]).toBeCloseTo(58.9014, 4);
    expect(other.modifiedEntropy[0]).toBeCloseTo(60 - Math.log(3), 10);
    // y = 0: p_y = 1 - 3e^-30 rounds to 1, yet log(1 - p_y) = -30 + ln 3 - log1p(e^-30).
    const own = membershipMetrics([30, 0, 0, 0], [0], 4);
    expect(own.logitConfidence[0]).toBeCloseTo(30 - Math.log(3), 10);
    expect(own.loss[0]).toBeGreaterThan(0);
    expect(own.loss[0]).toBeCloseTo(3 * Math.exp(-30), 15);
  });

  it('margin and logit confidence: for k = 2 both are z_y - z_other', () => {
    const m = membershipMetrics([1.5, -0.25, 3, 7], [0, 1], 2);
    expect(m.margin[0]).toBe(1.75);
    expect(m.logitConfidence[0]).toBeCloseTo(1.75, 14);
    expect(m.margin[1]).toBe(4);
    expect(m.logitConfidence[1]).toBeCloseTo(4, 14);
    // k = 3: margin against the largest other logit, logit confidence against their log-sum-exp.
    const m3 = membershipMetrics([1, 4, 2], [0], 3);
    expect(m3.margin[0]).toBe(-3);
    expect(m3.logitConfidence[0]).toBeCloseTo(1 - Math.log(Math.exp(4) + Math.exp(2)), 14);
  });

  it('uniform logits: entropy log k, SD 0, max prob 1/k', () => {
    const m = membershipMetrics([5, 5, 5, 5], [2], 4);
    expect(m.entropy[0]).toBeCloseTo(Math.log(4), 14);
    expect(m.stdDev[0]).toBeCloseTo(0, 15);
    expect(m.maxProb[0]).toBeCloseTo(0.25, 15);
    expect(m.loss[0]).toBeCloseTo(Math.log(4), 14);
  });

  it('NaN, +Inf and all -Inf rows give NaN everywhere; -Inf entries count as probability 0', () => {
    const m = membershipMetrics([NaN, 1, 2, Infinity, -Infinity, -Infinity, 0, -Infinity, 0], [0, 1, 0], 3);
    for (const name of METRIC_NAMES) expect([m[name][0], m[name][1]].every(Number.isNaN)).toBe(true);
    expect(m.loss[2]).toBeCloseTo(Math.LN2, 15);
    expect(m.entropy[2]).toBeCloseTo(Math.LN2, 15);
    expect(m.margin[2]).toBe(0);
  });
});

describe('nllTemperature', () => {
  const rand = rng(2);
  const n = 20;
  const k = 5;
  const logits = Array.from({ length: n * k }, () => (rand() - 0.5) * 8);
  const labels = Array.from({ length: n }, () => Math.floor(rand() * k));
  const nll = (T: number) => nllTemperature(logits, labels, k, T).nll;

  it('nll is the mean -log softmax(z / T)_y', () => {
    const p = softmax(logits, k, 1.7);
    const expected = sum(labels.map((y, i) => -Math.log(p[i * k + y]))) / n;
    expect(nll(1.7)).toBeCloseTo(expected, 13);
  });

  it('d1 and d2 agree with central finite differences', () => {
    const h = 1e-4;
    for (const T of [0.5, 1, 2.5]) {
      const { d1, d2 } = nllTemperature(logits, labels, k, T);
      const fd1 = (nll(T + h) - nll(T - h)) / (2 * h);
      const fd2 = (nll(T + h) - 2 * nll(T) + nll(T - h)) / (h * h);
      expect(Math.abs(d1 - fd1)).toBeLessThan(1e-6 * Math.abs(d1));
      expect(Math.abs(d2 - fd2)).toBeLessThan(1e-6 * Math.abs(d2) + 1e-6);
    }
  });
});

describe('calibrationBins', () => {
  it('equal width: c = 1 falls in the last bin, empty bins are 0', () => {
    const r = calibrationBins([0.05, 0.15, 0.95, 1.0, 0.5], [1, 0, 1, 1, 0], 4, 'equal-width');
    expect(Array.from(r.count)).toEqual([2, 0, 1, 2]);
    expect(r.meanConfidence[0]).toBeCloseTo(0.1, 15);
    expect(r.meanConfidence[1]).toBe(0);
    expect(r.meanConfidence[2]).toBe(0.5);
    expect(r.meanConfidence[3]).toBeCloseTo(0.975, 15);
    expect(Array.from(r.accuracy)).toEqual([0.5, 0, 0, 1]);
    expect(Array.from(r.lower)).toEqual([0, 0.25, 0.5, 0.75]);
    expect(Array.from(r.upper)).toEqual([0.25, 0.5, 0.75, 1]);
  });

  it('equal width: a confidence on an inner edge opens the upper bin', () => {
    expect(Array.from(calibrationBins([0.25, 0.5, 0.75, 0], [1, 1, 1, 1], 4, 'equal-width').count)).toEqual([1, 1, 1, 1]);
  });

  it('equal mass: ranks floor(b n / B), ties broken by index', () => {
    // Sorted (confidence, index): (0.1, 1) (0.2, 3) (0.3, 0) (0.3, 2) (0.3, 4); rank edges 0, 1, 3, 5.
    const r = calibrationBins([0.3, 0.1, 0.3, 0.2, 0.3], [1, 0, 0, 1, 1], 3, 'equal-mass');
    expect(Array.from(r.count)).toEqual([1, 2, 2]);
    expect(Array.from(r.accuracy)).toEqual([0, 1, 0.5]); // bin 1 = {3, 0}, bin 2 = {2, 4}
    expect(r.meanConfidence[1]).toBeCloseTo(0.25, 15);
    expect(r.meanConfidence[2]).toBeCloseTo(0.3, 15);
    expect(Array.from(r.lower)).toEqual([0.1, 0.2, 0.3]);
    expect(Array.from(r.upper)).toEqual([0.1, 0.3, 0.3]);
  });

  it('equal mass: more bins than samples leaves empty bins at 0', () => {
    // n = 2, B = 3: rank edges 0, 0, 1, 2.
    const r = calibrationBins([0.9, 0.4], [1, 0], 3, 'equal-mass');
    expect(Array.from(r.count)).toEqual([0, 1, 1]);
    expect(Array.from(r.meanConfidence)).toEqual([0, 0.4, 0.9]);
    expect(Array.from(r.accuracy)).toEqual([0, 0, 1]);
    expect(Array.from(r.lower)).toEqual([0, 0.4, 0.9]);
    expect(Array.from(r.upper)).toEqual([0, 0.4, 0.9]);
  });
});

describe('attackStep', () => {
  it('sign step, with sign(0) = 0', () => {
    const out = attackStep('sign', [1, 1, 1, 0, 0, 0], [2, -0.5, 0, 0, 3, -3], 3, [0.1, 0.25]);
    expect(Array.from(out)).toEqual([1.1, 0.9, 1, 0, 0.25, -0.25]);
  });

  it('L2 step has norm alpha along g, and none where g = 0', () => {
    const out = attackStep('l2', [1, 2, 1, 2], [3, -4, 0, 0], 2, [0.5, 0.5]);
    expect(out[0]).toBeCloseTo(1.3, 15);
    expect(out[1]).toBeCloseTo(1.6, 15);
    expect(l2(sub(out.subarray(0, 2), [1, 2]))).toBeCloseTo(0.5, 15);
    expect(Array.from(out.subarray(2))).toEqual([1, 2]);
  });

  it('L1 step: k nonzeros of size alpha / k, ties to the lower index', () => {
    const x = [0, 0, 0, 0, 0];
    const g = [0.5, -2, 2, 0.1, -2];
    expect(Array.from(attackStep('l1', x, g, 5, [1], 2))).toEqual([0, -0.5, 0.5, 0, 0]);
    const three = attackStep('l1', x, g, 5, [0.3], 3);
    expect(Array.from(three, (v) => v !== 0)).toEqual([false, true, true, false, true]);
    expect(l1(three)).toBeCloseTo(0.3, 15);
    expect(Array.from(attackStep('l1', [1, 1, 1], [1, 1, 1], 3, [0.5], 1))).toEqual([1.5, 1, 1]);
  });
});

describe('perturbationNorms', () => {
  it('L0, L1, L2, L∞ per row', () => {
    const r = perturbationNorms([3, -4, 0, 0, 0, 0, -1, 0.5, 2], 3);
    expect(Array.from(r.l0)).toEqual([2, 0, 3]);
    expect(Array.from(r.l1)).toEqual([7, 0, 3.5]);
    expect(Array.from(r.l2)).toEqual([5, 0, Math.sqrt(5.25)]);
    expect(Array.from(r.linf)).toEqual([4, 0, 2]);
  });
});

// Exact Euclidean projections onto each set alone, for Dykstra's alternating projections, an
// algorithm independent of the KKT bisection that converges to the projection onto A ∩ B.
function projectBall(norm: 'l2' | 'l1' | 'linf', w: number[], eps: number): number[] {
  if (norm === 'linf') return w.map((t) => Math.min(eps, Math.max(-eps, t)));
  if (norm === 'l2') {
    const r = l2(w);
    return r <= eps ? w : w.map((t) => (t * eps) / r);
  }
  if (l1(w) <= eps) return w;
  // Duchi et al. 2008: soft-threshold at θ found from the sorted magnitudes.
  const u = w.map(Math.abs).sort((a, b) => b - a);
  let cumulative = 0;
  let theta = 0;
  u.forEach((uj, j) => {
    cumulative += uj;
    if (uj - (cumulative - eps) / (j + 1) > 0) theta = (cumulative - eps) / (j + 1);
  });
  return w.map((t) => Math.sign(t) * Math.max(Math.abs(t) - theta, 0));
}

function dykstra(norm: 'l2' | 'l1' | 'linf', v: number[], x0: number[], eps: number, lo: number, hi: number): number[] {
  let x = v.slice();
  let p = v.map(() => 0);
  let q = v.map(() => 0);
  for (let it = 0; it < 20000; it++) {
    const y = projectBall(norm, x.map((xj, j) => xj + p[j] - x0[j]), eps).map((t, j) => t + x0[j]);
    const nextP = x.map((xj, j) => xj + p[j] - y[j]);
    const nextX = y.map((yj, j) => Math.min(hi, Math.max(lo, yj + q[j])));
    const nextQ = y.map((yj, j) => yj + q[j] - nextX[j]);
    // A fixed point of the whole state (x and both corrections), not just a pause in x.
    const change = Math.max(...[sub(nextX, x), sub(nextP, p), sub(nextQ, q)].flat().map(Math.abs));
    [x, p, q] = [nextX, nextP, nextQ];
    if (change < 1e-15) break;
  }
  return x;
}

const pNorm = (norm: 'l2' | 'l1' | 'linf', w: number[]): number => (norm === 'l2' ? l2(w) : norm === 'l1' ? l1(w) : Math.max(...w.map(Math.abs)));

describe('project', () => {
  const norms = ['linf', 'l2', 'l1'] as const;

  it('eps = 0 gives x0; a point already inside is unchanged', () => {
    for (const norm of norms) {
      expect(Array.from(project(norm, [0.9, 0.1, 0.5], [0.2, 0.3, 0], 3, [0], 0, 1))).toEqual([0.2, 0.3, 0]);
      expect(Array.from(project(norm, [0.7, 0.35, 0.1], [0.6, 0.3, 0.1], 3, [0.2], 0, 1))).toEqual([0.7, 0.35, 0.1]);
    }
  });

  it('x0 on the box edge: outward moves are clipped, inward ones shrink', () => {
    for (const norm of norms) {
      expect(Array.from(project(norm, [-1, 2, 0.5], [0, 1, 0.5], 3, [0.3], 0, 1))).toEqual([0, 1, 0.5]);
      const z = project(norm, [-1, 0.5, 0.5], [0, 1, 0.5], 3, [0.3], 0, 1);
      expect(z[0]).toBe(0);
      expect(z[1]).toBeCloseTo(0.7, 12);
      expect(z[2]).toBe(0.5);
    }
    // Two inward coordinates under L1: soft-threshold t = (-0.5, -0.2) at λ = 0.2 gives L1 0.3.
    const z = project('l1', [0.5, 0.8], [1, 1], 2, [0.3], 0, 1);
    expect(z[0]).toBeCloseTo(0.7, 12);
    expect(z[1]).toBe(1);
  });

  for (const norm of norms) {
    it(`${norm}: feasible, and no feasible point is closer to v (random small cases)`, () => {
      const rand = rng(3);
      for (let d = 2; d <= 5; d++) {
        for (let trial = 0; trial < 12; trial++) {
          const [lo, hi] = [-1, 1];
          const x0 = Array.from({ length: d }, () => lo + (hi - lo) * rand());
          if (trial % 4 === 0) x0[0] = hi; // on the box edge
          const eps = 0.05 + 0.6 * rand();
          const v = x0.map((c) => c + (rand() - 0.5) * 3);
          const z = Array.from(project(norm, v, x0, d, [eps], lo, hi));
          expect(z.every((zj) => zj >= lo && zj <= hi)).toBe(true);
          expect(pNorm(norm, sub(z, x0))).toBeLessThanOrEqual(eps * (1 + 1e-12));
          // Random feasible points, inside and on the sphere, and near z along the sphere: none is
          // closer, and none violates the optimality condition <v - z, y - z> <= 0.
          const best = l2(sub(v, z));
          let closest = Infinity;
          let worstAngle = -Infinity;
          for (let s = 0; s < 400; s++) {
            const raw = Array.from({ length: d }, () => rand() - 0.5);
            const delta =
              s % 2 === 0
                ? projectBall(norm, z.map((zj, j) => zj - x0[j] + 1e-3 * raw[j]), eps)
                : raw.map((t) => (t / pNorm(norm, raw)) * eps * (s % 3 === 0 ? 1 : rand()));
            // Clipping into the box moves each coordinate toward x0, so it stays in the ball.
            const y = delta.map((t, j) => Math.min(hi, Math.max(lo, x0[j] + t)));
            closest = Math.min(closest, l2(sub(v, y)));
            worstAngle = Math.max(worstAngle, dot(sub(v, z), sub(y, z)));
          }
          expect(closest).toBeGreaterThanOrEqual(best - 1e-9);
          expect(worstAngle).toBeLessThanOrEqual(1e-9);
          // Dykstra's algorithm lands on the same point.
          expect(Math.max(...sub(dykstra(norm, v, x0, eps, lo, hi), z).map(Math.abs))).toBeLessThan(1e-7);
        }
      }
    });
  }
});

describe('philox', () => {
  // Known-answer vectors of Random123 (kat_vectors, philox4x32_10).
  it('reproduces the Random123 test vectors', () => {
    expect(philox4x32([0, 0, 0, 0], [0, 0])).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(philoxBlock(0n, 0n, 0)).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    const ones = 0xffffffff;
    expect(philox4x32([ones, ones, ones, ones], [ones, ones])).toEqual([0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]);
    expect(philox4x32([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0])).toEqual([
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1,
    ]);
  });

  it('agrees with a BigInt Philox on random counters and keys; block layout (lo, hi, stream, 0)', () => {
    const M = [0xd2511f53n, 0xcd9e8d57n];
    const W = [0x9e3779b9n, 0xbb67ae85n];
    const mask = 0xffffffffn;
    const reference = (ctr: bigint[], key: bigint[]): number[] => {
      let c = ctr.slice();
      let k = key.slice();
      for (let r = 0; r < 10; r++) {
        const p0 = M[0] * c[0];
        const p1 = M[1] * c[2];
        c = [(p1 >> 32n) ^ c[1] ^ k[0], p1 & mask, (p0 >> 32n) ^ c[3] ^ k[1], p0 & mask];
        k = [(k[0] + W[0]) & mask, (k[1] + W[1]) & mask];
      }
      return c.map(Number);
    };
    const rand = rng(4);
    const u32 = () => Math.floor(rand() * 2 ** 32);
    for (let t = 0; t < 200; t++) {
      const ctr = [u32(), u32(), u32(), u32()];
      const key = [u32(), u32()];
      expect(philox4x32([ctr[0], ctr[1], ctr[2], ctr[3]], [key[0], key[1]])).toEqual(reference(ctr.map(BigInt), key.map(BigInt)));
      const seed = (BigInt(key[1]) << 32n) | BigInt(key[0]);
      const block = (BigInt(ctr[1]) << 32n) | BigInt(ctr[0]);
      expect(philoxBlock(seed, block, ctr[2])).toEqual(reference([ctr[0], ctr[1], ctr[2], 0].map(BigInt), key.map(BigInt)));
    }
  });

  it('uniform: 24-bit values in [0, 1), element j from block j / 4 word j % 4, offsets consistent', () => {
    const u = randomUniform(42n, 0, 100_000);
    expect(u.every((x) => x >= 0 && x < 1 && Number.isInteger(x * 2 ** 24))).toBe(true);
    expect(sum(u) / u.length).toBeCloseTo(0.5, 2);
    expect(sum(Array.from(u, (x) => (x - 0.5) ** 2)) / u.length).toBeCloseTo(1 / 12, 2);
    const words = philoxBlock(42n, 2n, 0);
    expect(u[9]).toBe((words[1] >>> 8) / 2 ** 24);
    expect(Array.from(randomUniform(42n, 7, 13))).toEqual(Array.from(u.subarray(7, 20)));
    expect(randomUniform(43n, 0, 4)).not.toEqual(u.subarray(0, 4));
  });

  it('normal: mean 0 and variance 1 over 100k; pairs share one radius and angle', () => {
    const z = randomNormal(7n, 3, 100_000);
    const mean = sum(z) / z.length;
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(Math.abs(sum(Array.from(z, (x) => (x - mean) ** 2)) / z.length - 1)).toBeLessThan(0.02);
    // Elements 2q, 2q+1 of a block are r cos θ, r sin θ with r^2 = -2 ln u1.
    const w = philoxBlock(7n, 5n, 1);
    const pair = randomNormal(7n, 22, 2); // block 5, words 2 and 3
    const u1 = ((w[2] >>> 8) + 1) / 2 ** 24;
    expect(pair[0] ** 2 + pair[1] ** 2).toBeCloseTo(-2 * Math.log(u1), 12);
    expect(Math.atan2(pair[1], pair[0]) / (2 * Math.PI) + (pair[1] < 0 ? 1 : 0)).toBeCloseTo((w[3] >>> 8) / 2 ** 24, 12);
  });
});

describe('random balls and directions', () => {
  const n = 2000;
  const d = 3;
  const x0 = Float64Array.from({ length: n * d }, (_, j) => (j % 5) / 4); // includes the box edges 0 and 1
  const eps = Float64Array.from({ length: n }, (_, i) => 0.05 + (i % 7) * 0.05);

  it('L∞ ball samples lie within eps of x0 and in the box', () => {
    const out = randomLinfBall(x0, d, eps, 0, 1, 9n, 100);
    out.forEach((v, j) => {
      expect(Math.abs(v - x0[j])).toBeLessThanOrEqual(eps[Math.floor(j / d)]);
      expect(v >= 0 && v <= 1).toBe(true);
    });
  });

  it('L2 ball samples have norm <= eps, lie in the box, and fill the ball uniformly', () => {
    const out = randomL2Ball(x0, d, eps, 0, 1, 9n, 100);
    for (let i = 0; i < n; i++) {
      const row = out.subarray(i * d, (i + 1) * d);
      expect(l2(sub(row, x0.subarray(i * d, (i + 1) * d)))).toBeLessThanOrEqual(eps[i] * (1 + 1e-12));
      for (const v of row) expect(v >= 0 && v <= 1).toBe(true);
    }
    // Unit ball, no box: P(|x| < 1/2) = (1/2)^3.
    const m = 20_000;
    const free = randomL2Ball(new Float64Array(m * d), d, new Float64Array(m).fill(1), -Infinity, Infinity, 11n, 0);
    let inner = 0;
    for (let i = 0; i < m; i++) if (l2(free.subarray(i * d, (i + 1) * d)) < 0.5) inner++;
    expect(Math.abs(inner / m - 0.125)).toBeLessThan(0.01);
  });

  it('unit directions have norm 1 and follow the normal stream', () => {
    const u = unitDirections(500, 4, 5n, 8);
    for (let i = 0; i < 500; i++) expect(l2(u.subarray(i * 4, (i + 1) * 4))).toBeCloseTo(1, 14);
    const g = randomNormal(5n, 8, 4);
    Array.from(g, (v) => v / l2(g)).forEach((v, j) => expect(u[j]).toBeCloseTo(v, 15));
  });
});

describe('optimizers', () => {
  const sgd = { lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false };

  it('SGD without momentum is p - lr g (with weight decay added to g)', () => {
    const p = Float64Array.from([1, -2]);
    sgdStep(p, [0.5, 0.25], new Float64Array(2), sgd, 0);
    expect(Array.from(p)).toEqual([1 - 0.05, -2 - 0.025]);
    const q = Float64Array.from([2]);
    sgdStep(q, [1], new Float64Array(1), { ...sgd, weightDecay: 0.5 }, 0);
    expect(q[0]).toBeCloseTo(2 - 0.1 * (1 + 0.5 * 2), 15);
  });

  it('momentum: buf = g on the first step, then momentum buf + (1 - dampening) g', () => {
    const p = Float64Array.from([1]);
    const buf = Float64Array.from([123]); // stale contents must be ignored on step 0
    const o = { ...sgd, momentum: 0.9, dampening: 0.5 };
    sgdStep(p, [0.5], buf, o, 0);
    expect(buf[0]).toBe(0.5);
    expect(p[0]).toBeCloseTo(0.95, 15);
    sgdStep(p, [0.5], buf, o, 1);
    expect(buf[0]).toBeCloseTo(0.9 * 0.5 + 0.5 * 0.5, 15); // 0.7
    expect(p[0]).toBeCloseTo(0.95 - 0.07, 15);
  });

  it('Nesterov: two hand-computed steps', () => {
    const p = Float64Array.from([1]);
    const buf = new Float64Array(1);
    const o = { ...sgd, momentum: 0.9, nesterov: true };
    sgdStep(p, [0.5], buf, o, 0); // buf 0.5, g 0.5 + 0.45 = 0.95
    expect(p[0]).toBeCloseTo(0.905, 15);
    sgdStep(p, [0.5], buf, o, 1); // buf 0.95, g 0.5 + 0.855 = 1.355
    expect(p[0]).toBeCloseTo(0.7695, 15);
  });

  const adam = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false };

  it('Adam: the first step moves each parameter by about lr sign(g)', () => {
    const p = Float64Array.from([1, 1, 1, 1]);
    adamStep(p, [1e-3, -50, 2, 0], new Float64Array(4), new Float64Array(4), adam, 0);
    expect(p[0]).toBeCloseTo(0.9, 5);
    expect(p[1]).toBeCloseTo(1.1, 9);
    expect(p[2]).toBeCloseTo(0.9, 9);
    expect(p[3]).toBe(1);
  });

  it('Adam: two hand-computed steps', () => {
    const p = Float64Array.from([1]);
    const m = new Float64Array(1);
    const v = new Float64Array(1);
    adamStep(p, [1], m, v, adam, 0); // m = 0.1, v = 0.001; m̂ = 1, v̂ = 1
    const first = 1 - 0.1 / (1 + 1e-8);
    expect(p[0]).toBeCloseTo(first, 15);
    adamStep(p, [2], m, v, adam, 1); // m = 0.29, v = 0.004999; corrections 0.19 and 0.001999
    expect(m[0]).toBeCloseTo(0.29, 15);
    expect(v[0]).toBeCloseTo(0.004999, 15);
    expect(p[0]).toBeCloseTo(first - (0.1 * (0.29 / 0.19)) / (Math.sqrt(0.004999 / 0.001999) + 1e-8), 14);
  });

  it('AdamW decays the parameters; Adam feeds the decay through the moments', () => {
    // Zero gradient: AdamW shrinks p by lr wd; Adam normalises wd p into a full lr-sized step.
    const o = { ...adam, weightDecay: 0.01 };
    const pw = Float64Array.from([2]);
    adamStep(pw, [0], new Float64Array(1), new Float64Array(1), { ...o, decoupled: true }, 0);
    expect(pw[0]).toBeCloseTo(2 * (1 - 0.001), 15);
    const pa = Float64Array.from([2]);
    adamStep(pa, [0], new Float64Array(1), new Float64Array(1), o, 0);
    expect(pa[0]).toBeCloseTo(2 - 0.1, 6);
  });
});

describe('gradientEstimate', () => {
  it('recovers w exactly for linear f with u = ±sqrt(d) basis vectors or all sign vectors', () => {
    // E[u uᵀ] = I for both designs (plain ±e_i would give w / d).
    const sigma = 0.5;
    const w = [1.5, -2, 0.25, 4];
    const x = [1, 2, -3, 0.5];
    const f = (p: number[]) => dot(w, p);
    const d = 4;
    const basis: number[][] = [];
    for (let i = 0; i < d; i++) for (const s of [1, -1]) basis.push(Array.from({ length: d }, (_, j) => (j === i ? 2 * s : 0)));
    const signs: number[][] = [];
    for (let mask = 0; mask < 2 ** d; mask++) signs.push(Array.from({ length: d }, (_, j) => ((mask >> j) & 1 ? -1 : 1)));
    const q = 16; // the basis design has 8 vectors: sample 0 takes it twice, sample 1 the 16 sign vectors
    const us = [basis.concat(basis), signs];
    const fPlus = us.flatMap((set) => set.map((u) => f(x.map((xj, j) => xj + sigma * u[j]))));
    const fMinus = us.flatMap((set) => set.map((u) => f(x.map((xj, j) => xj - sigma * u[j]))));
    const out = gradientEstimate(fPlus, fMinus, us.flat(2), q, d, sigma);
    expect(Array.from(out)).toEqual([...w, ...w]);
  });
});

describe('roc', () => {
  it('hand-computed curve with ties, AUC and tprAt including a vertical segment', () => {
    // P = 2, N = 2. Points: (0,0) +Inf, (0,1/2) at 0.9, (1/2,1) at 0.8 (a tied pos/neg), (1,1) at 0.3.
    const r = roc([0.9, 0.8, 0.8, 0.3], [1, 0, 1, 0], [0, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(r.fpr)).toEqual([0, 0, 0.5, 1]);
    expect(Array.from(r.tpr)).toEqual([0, 0.5, 1, 1]);
    expect(Array.from(r.thresholds)).toEqual([Infinity, 0.9, 0.8, 0.3]);
    expect(r.auc).toBe(0.875); // pairs: 1 + 1 + 1/2 + 1 out of 4
    expect(Array.from(r.tprAt)).toEqual([0.5, 0.75, 1, 1, 1]);
    // A vertical run in the middle: TPR at that FPR is its top.
    const s = roc([5, 4, 3, 2, 1], [1, 0, 1, 1, 0], [0.5, 0.25]);
    expect(Array.from(s.fpr)).toEqual([0, 0, 0.5, 0.5, 0.5, 1]);
    expect(s.tprAt[0]).toBe(1);
    expect(s.tprAt[1]).toBeCloseTo(1 / 3, 15);
  });

  it('perfect separation gives AUC 1 and TPR 1 at FPR 0; reversed gives 0', () => {
    const perfect = roc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0], [0]);
    expect(perfect.auc).toBe(1);
    expect(perfect.tprAt[0]).toBe(1);
    const reversed = roc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1], [0, 0.5]);
    expect(reversed.auc).toBe(0);
    expect(Array.from(reversed.tprAt)).toEqual([0, 0]);
  });

  it('trapezoid AUC equals the pairwise Mann-Whitney count on tied random data', () => {
    const rand = rng(5);
    for (let trial = 0; trial < 5; trial++) {
      const n = 300;
      const labels = Array.from({ length: n }, () => (rand() < 0.4 ? 1 : 0));
      const scores = labels.map((l) => Math.round((rand() + 0.3 * l) * 10) / 10);
      let wins = 0;
      let pairs = 0;
      for (let i = 0; i < n; i++) {
        if (labels[i] !== 1) continue;
        for (let j = 0; j < n; j++) {
          if (labels[j] !== 0) continue;
          pairs++;
          wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
        }
      }
      const r = roc(scores, labels, []);
      expect(r.auc).toBeCloseTo(wins / pairs, 12);
      expect(r.fpr.length).toBe(new Set(scores).size + 1);
      expect(r.fpr[r.fpr.length - 1]).toBe(1);
      expect(r.tpr[r.tpr.length - 1]).toBe(1);
    }
  });
});
