// Every native CPU kernel against the float64 TypeScript reference on seeded random inputs of
// sizes 0, 1, odd and large (large enough to run as async work), plus the edge cases each kernel
// documents.
import { describe, expect, it } from 'vitest';

import * as native from '../lib/index.js';
import * as ref from '../lib/reference/index.js';

import { floats, labels, maxRelError, rng } from './inputs.js';

const ROWS = [0, 1, 7, 3001];

describe('softmax', () => {
  for (const n of ROWS) {
    for (const k of [1, 2, 10, 101]) {
      it(`matches the reference for [${n}, ${k}]`, async () => {
        const z = floats(n * k, n * 31 + k, 20);
        for (const [t, log] of [[1, false], [0.5, false], [3, true]] as const) {
          const got = await native.softmax(z, k, { temperature: t, log });
          expect(maxRelError(got, ref.softmax(z, k, t, log), 1)).toBeLessThan(2e-6);
        }
      });
    }
  }

  it('makes a NaN or +Inf row NaN, gives -Inf entries probability 0, and an all -Inf row NaN', async () => {
    const z = Float32Array.from([1, NaN, 0, Infinity, 2, 3, -Infinity, 0, 0, -Infinity, -Infinity, -Infinity]);
    const p = await native.softmax(z, 3);
    expect([...p.slice(0, 6)].every(Number.isNaN)).toBe(true);
    expect(p[6]).toBe(0);
    expect(p[7]).toBeCloseTo(0.5, 7);
    expect([...p.slice(9)].every(Number.isNaN)).toBe(true);
    const logp = await native.softmax(z, 3, { log: true });
    expect(logp[6]).toBe(-Infinity);
  });
});

describe('membership metrics', () => {
  for (const n of ROWS) {
    for (const k of [2, 10, 1000]) {
      if (n * k > 4_000_000) continue;
      it(`matches the reference for [${n}, ${k}]`, async () => {
        const z = floats(n * k, n * 7 + k, 15);
        const y = labels(n, k, n + k);
        const got = await native.membershipMetrics(z, y, k);
        const want = ref.membershipMetrics(z, y, k);
        for (const name of native.METRICS) expect(maxRelError(got[name], want[name], 1e-3), name).toBeLessThan(1e-9);
      });
    }
  }

  it('reproduces the SeqMIA spec fixtures in float64', async () => {
    const z = Float32Array.from([2, 1, 0.1, 2, 1, 0.1]);
    const m = await native.membershipMetrics(z, Int32Array.from([0, 2]), 3);
    // Fixtures are for z = [2, 1, 0.1] in float64; 0.1 is rounded to float32 here, which moves
    // them by about 1e-9.
    expect(m.loss[0]).toBeCloseTo(0.417030016, 7);
    expect(m.maxProb[0]).toBeCloseTo(0.659001139, 7);
    expect(m.stdDev[0]).toBeCloseTo(0.237653913, 7);
    expect(m.entropy[0]).toBeCloseTo(0.846738179, 7);
    expect(m.modifiedEntropy[0]).toBeCloseTo(0.219744658, 7);
    expect(m.loss[1]).toBeCloseTo(2.317030016, 7);
    expect(m.modifiedEntropy[1]).toBeCloseTo(2.864963372, 7);
    const wrong = await native.membershipMetrics(Float32Array.from([30, 0, 0, 0]), Int32Array.from([1]), 4);
    expect(wrong.loss[0]).toBeCloseTo(30, 9);
    // Exactly: -(1 - p_1) log p_1 - p_0 log(1 - p_0) + O(e^-30) = 30 + (30 - log 3). float32
    // code clamps 1 - p_0 = 0 and gets 99.0776; naive float64 loses 1 - p_0 to cancellation and
    // gets the spec's 58.9024. Taking log(1 - p_0) from the logits gets the exact value.
    expect(wrong.modifiedEntropy[0]).toBeCloseTo(60 - Math.log(3), 9);
    expect(wrong.margin[0]).toBe(-30);
    // A confident, correct prediction keeps a relatively exact loss: log(1 + 3e^-30).
    const right = await native.membershipMetrics(Float32Array.from([30, 0, 0, 0]), Int32Array.from([0]), 4);
    expect(Math.abs(right.loss[0] / (3 * Math.exp(-30)) - 1)).toBeLessThan(1e-12);
    expect(wrong.logitConfidence[0]).toBeCloseTo(-30 - Math.log(1 + 2 * Math.exp(-30)), 12);
  });

  it('gives K = 2 a logit confidence equal to the margin', async () => {
    const z = floats(2 * 50, 9, 10);
    const m = await native.membershipMetrics(z, labels(50, 2, 3), 2);
    expect(maxRelError(m.logitConfidence, m.margin, 1)).toBeLessThan(1e-6);
  });

  it('makes rows with NaN or +Inf NaN in every metric and keeps -Inf entries finite', async () => {
    const z = Float32Array.from([NaN, 0, 0, Infinity, 0, 0, -Infinity, 1, 2]);
    const m = await native.membershipMetrics(z, Int32Array.from([0, 1, 2]), 3);
    for (const name of native.METRICS) {
      expect(Number.isNaN(m[name][0]) && Number.isNaN(m[name][1]), name).toBe(true);
      expect(Number.isFinite(m[name][2]), name).toBe(true);
    }
  });
});

describe('NLL in T', () => {
  for (const n of [1, 7, 3001]) {
    it(`matches the reference and finite differences for n = ${n}`, async () => {
      const k = 10;
      const z = floats(n * k, n, 8);
      const y = labels(n, k, n + 1);
      for (const t of [0.3, 1, 2.5]) {
        const got = await native.nllTemperature(z, y, k, t);
        const want = ref.nllTemperature(z, y, k, t);
        expect(got.nll).toBeCloseTo(want.nll, 10);
        expect(got.d1).toBeCloseTo(want.d1, 9);
        expect(got.d2).toBeCloseTo(want.d2, 8);
        const h = 1e-4;
        const [lo, hi] = [ref.nllTemperature(z, y, k, t - h), ref.nllTemperature(z, y, k, t + h)];
        expect(Math.abs(got.d1 - (hi.nll - lo.nll) / (2 * h))).toBeLessThan(1e-6 * Math.max(1, Math.abs(got.d1)));
        expect(Math.abs(got.d2 - (hi.d1 - lo.d1) / (2 * h))).toBeLessThan(1e-5 * Math.max(1, Math.abs(got.d2)));
      }
    });
  }
});

describe('calibration bins', () => {
  for (const n of ROWS) {
    for (const binning of ['equal-width', 'equal-mass'] as const) {
      it(`matches the reference for n = ${n}, ${binning}`, async () => {
        const r = rng(n + 5);
        // Two decimals make many ties, which equal-mass must break by index.
        const conf = Float32Array.from({ length: n }, () => Math.round(r() * 100) / 100);
        const correct = Uint8Array.from({ length: n }, () => (r() < 0.7 ? 1 : 0));
        for (const bins of [1, 10, 15]) {
          const got = await native.calibrationBins(conf, correct, { bins, binning });
          const want = ref.calibrationBins(conf, correct, bins, binning);
          for (const key of ['count', 'meanConfidence', 'accuracy', 'lower', 'upper'] as const) {
            expect(maxRelError(got[key], want[key], 1), key).toBeLessThan(1e-12);
          }
        }
      });
    }
  }

  it('puts confidence 1 in the last equal-width bin', async () => {
    const b = await native.calibrationBins(Float32Array.from([1, 0, 0.5]), Uint8Array.from([1, 0, 1]), { bins: 4 });
    expect([...b.count]).toEqual([1, 0, 1, 1]);
    expect(b.accuracy[3]).toBe(1);
  });
});

describe('ROC', () => {
  for (const n of [2, 7, 3001, 200_001]) {
    it(`matches the reference for n = ${n} with ties`, async () => {
      const r = rng(n);
      const y = Uint8Array.from({ length: n }, (_, i) => (i < 2 ? i : r() < 0.4 ? 1 : 0));
      const s = Float32Array.from(y, (label) => Math.round((r() + 0.3 * label) * 20) / 20);
      const targets = [0, 0.001, 0.01, 0.1, 0.5, 1];
      const got = await native.roc(s, y, { fprTargets: targets });
      const want = ref.roc(s, y, targets);
      expect(got.auc).toBeCloseTo(want.auc, 12);
      expect(maxRelError(got.tprAt, want.tprAt)).toBeLessThan(1e-12);
      expect(maxRelError(got.fpr, want.fpr)).toBe(0);
      expect(maxRelError(got.tpr, want.tpr)).toBe(0);
    });
  }

  it('scores perfect, reversed and all-tied cases exactly', async () => {
    const y = Uint8Array.from([1, 1, 0, 0]);
    expect((await native.roc(Float32Array.from([4, 3, 2, 1]), y)).auc).toBe(1);
    expect((await native.roc(Float32Array.from([1, 2, 3, 4]), y)).auc).toBe(0);
    const tied = await native.roc(Float32Array.from([1, 1, 1, 1]), y, { fprTargets: [0.5] });
    expect(tied.auc).toBe(0.5);
    expect(tied.tprAt[0]).toBe(0.5);
  });
});

describe('attack steps', () => {
  for (const n of ROWS) {
    for (const d of [1, 3, 784]) {
      it(`matches the reference for [${n}, ${d}]`, async () => {
        const x = floats(n * d, n + d, 0.5, 0.5);
        const g = floats(n * d, n * 3 + d);
        if (n * d > 0) g[0] = 0;
        const alpha = Float32Array.from(floats(n, 11), (v) => Math.abs(v) * 0.1);
        for (const kind of ['sign', 'l2', 'l1'] as const) {
          const k = Math.max(1, Math.floor(d / 3));
          const got = await native.attackStep(kind, x, g, d, alpha, { l1TopK: k });
          expect(maxRelError(got, ref.attackStep(kind, x, g, d, alpha, k), 1), kind).toBeLessThan(1e-6);
        }
      });
    }
  }

  it('moves the L1 step along the lower index among tied |g|', async () => {
    const out = await native.attackStep('l1', new Float32Array(4), Float32Array.from([1, -2, 2, 0.5]), 4, 1, { l1TopK: 1 });
    expect([...out]).toEqual([0, -1, 0, 0]);
  });
});

describe('projection', () => {
  for (const n of ROWS) {
    for (const d of [1, 5, 3072]) {
      if (n * d > 100_000) continue; // the reference bisects in JS: large sizes only cost time
      it(`matches the reference for [${n}, ${d}]`, async () => {
        const x0 = floats(n * d, n + d * 7, 0.5, 0.5);
        x0.fill(1, 0, Math.min(x0.length, 3)); // on the box edge
        const v = floats(n * d, n * 5 + d, 0.6, 0.5);
        const eps = Float32Array.from({ length: n }, (_, i) => [0, 0.01, 0.3, 2][i % 4]);
        for (const norm of ['linf', 'l2', 'l1'] as const) {
          const got = await native.project(norm, v, x0, d, eps);
          expect(maxRelError(got, ref.project(norm, v, x0, d, eps, 0, 1), 1), norm).toBeLessThan(2e-6);
          const norms = ref.perturbationNorms(Float64Array.from(got, (z, i) => z - x0[i]), d);
          const size = norm === 'linf' ? norms.linf : norm === 'l2' ? norms.l2 : norms.l1;
          for (let i = 0; i < n; i++) expect(size[i]).toBeLessThanOrEqual(eps[i] * (1 + 1e-5) + 1e-6);
          expect(got.every((z) => z >= 0 && z <= 1)).toBe(true);
        }
      });
    }
  }

  it('returns x0 for ε = 0 and leaves points inside the ball unchanged', async () => {
    const x0 = Float32Array.from([0.2, 0.4, 0.6]);
    const v = Float32Array.from([0.9, 0.1, 0.6]);
    for (const norm of ['linf', 'l2', 'l1'] as const) {
      expect([...(await native.project(norm, v, x0, 3, 0))]).toEqual([...x0]);
      expect([...(await native.project(norm, v, x0, 3, 10))]).toEqual([...v]);
    }
  });
});

describe('perturbation norms', () => {
  for (const n of ROWS) {
    it(`match the reference for n = ${n}`, async () => {
      const d = 1001;
      const delta = floats(n * d, n + 2);
      for (let i = 0; i < delta.length; i += 3) delta[i] = 0;
      const got = await native.perturbationNorms(delta, d);
      const want = ref.perturbationNorms(delta, d);
      for (const key of ['l0', 'l1', 'l2', 'linf'] as const) expect(maxRelError(got[key], want[key]), key).toBeLessThan(1e-12);
    });
  }
});

describe('gradient estimate', () => {
  for (const [b, q, d] of [[0, 1, 1], [1, 1, 1], [3, 5, 7], [16, 20, 3072]]) {
    it(`matches the reference for b=${b} q=${q} d=${d}`, async () => {
      const fp = floats(b * q, 1), fm = floats(b * q, 2), u = floats(b * q * d, 3);
      const got = await native.gradientEstimate(fp, fm, u, q, 0.01);
      expect(maxRelError(got, ref.gradientEstimate(fp, fm, u, q, d, 0.01), 1)).toBeLessThan(1e-6);
    });
  }

  it('recovers a linear function exactly from basis directions', async () => {
    const w = [3, -1, 0.5];
    const sigma = 0.5;
    const u = new Float32Array(9);
    for (let i = 0; i < 3; i++) u[i * 3 + i] = 1;
    const fPlus = Float32Array.from(w, (wi) => wi * sigma), fMinus = Float32Array.from(w, (wi) => -wi * sigma);
    // Σ_i (2σ w_i) e_i / (2σ·3) = w / 3 for q = 3 antithetic basis queries.
    const got = await native.gradientEstimate(fPlus, fMinus, u, 3, sigma);
    expect(maxRelError(got.map((g) => g * 3), w)).toBeLessThan(1e-7);
  });
});

describe('random numbers', () => {
  for (const count of [0, 1, 7, 100_003]) {
    it(`reproduce the reference Philox streams for ${count} numbers at an odd offset`, async () => {
      for (const seed of [0n, 42n, 0xfedcba9876543210n]) {
        const u = await native.randomUniform(count, { seed, offset: 5 });
        expect(maxRelError(u, ref.randomUniform(seed, 5, count))).toBe(0);
        const z = await native.randomNormal(count, { seed, offset: 5 });
        expect(maxRelError(z, ref.randomNormal(seed, 5, count), 1)).toBeLessThan(1e-6);
      }
    });
  }

  it('write into a given array of the right length, and refuse one of another', async () => {
    const out = new Float32Array(1000);
    const returned = await native.randomUniform(1000, { seed: 3n, offset: 11, out });
    expect(returned).toBe(out);
    expect(maxRelError(out, ref.randomUniform(3n, 11, 1000))).toBe(0);
    await expect(native.randomNormal(999, { seed: 3n, out })).rejects.toThrow('out holds 1000 numbers, expected 999');
  });

  it('draws ball samples and directions like the reference', async () => {
    const n = 9, d = 257;
    const x0 = floats(n * d, 4, 0.5, 0.5);
    const eps = 0.1;
    const seed = 7n;
    const linf = await native.randomBall('linf', x0, d, eps, { seed, offset: 3 });
    expect(maxRelError(linf, ref.randomLinfBall(x0, d, new Float32Array(n).fill(eps), 0, 1, seed, 3), 1)).toBeLessThan(1e-6);
    const l2 = await native.randomBall('l2', x0, d, eps, { seed, offset: 3 });
    expect(maxRelError(l2, ref.randomL2Ball(x0, d, new Float32Array(n).fill(eps), 0, 1, seed, 3), 1)).toBeLessThan(1e-6);
    const dirs = await native.unitDirections(n, d, { seed });
    expect(maxRelError(dirs, ref.unitDirections(n, d, seed, 0), 1)).toBeLessThan(1e-6);
  });

  it('gives the same numbers for the same seed and different ones for another', async () => {
    const a = await native.randomNormal(1000, { seed: 1 });
    expect([...(await native.randomNormal(1000, { seed: 1 }))]).toEqual([...a]);
    expect([...(await native.randomNormal(1000, { seed: 2 }))]).not.toEqual([...a]);
  });
});

describe('optimizers', () => {
  for (const size of [0, 1, 7, 300_001]) {
    it(`SGD variants match the reference over three steps (${size} parameters)`, async () => {
      for (const [momentum, dampening, nesterov, weightDecay] of [[0, 0, false, 0], [0.9, 0, false, 1e-2], [0.9, 0.1, false, 0], [0.9, 0, true, 5e-4]] as const) {
        const p = floats(size, 1), p64 = Float64Array.from(p);
        const state = native.sgdState(size), buf64 = new Float64Array(size);
        for (let step = 0; step < 3; step++) {
          const g = floats(size, 10 + step);
          await native.sgdStep(p, g, state, { lr: 0.1, momentum, dampening, nesterov, weightDecay });
          ref.sgdStep(p64, g, buf64, { lr: 0.1, momentum, dampening, nesterov, weightDecay }, step);
        }
        expect(state.step).toBe(3);
        expect(maxRelError(p, p64, 1)).toBeLessThan(1e-6);
      }
    });

    it(`Adam and AdamW match the reference over three steps (${size} parameters)`, async () => {
      for (const decoupled of [false, true]) {
        const p = floats(size, 2), p64 = Float64Array.from(p);
        const state = native.adamState(size), m64 = new Float64Array(size), v64 = new Float64Array(size);
        const o = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.05, decoupled };
        for (let step = 0; step < 3; step++) {
          const g = floats(size, 20 + step);
          await native.adamStep(p, g, state, o);
          ref.adamStep(p64, g, m64, v64, o, step);
        }
        expect(maxRelError(p, p64, 1)).toBeLessThan(1e-6);
      }
    });
  }
});
