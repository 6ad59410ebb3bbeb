// Every CUDA kernel against its CPU twin on the same inputs. Skipped, with the reason, where the
// addon was built without CUDA or no device answers.
import { describe, expect, it } from 'vitest';

import * as native from '../lib/index.js';

import { floats, labels, maxRelError, rng } from './inputs.js';

const caps = native.capabilities();
const cuda = { device: 'cuda' as const };

describe.skipIf(!caps.cuda)(`CUDA twins (${caps.device ?? caps.cudaReason})`, () => {
  it('softmax and membership metrics agree', async () => {
    for (const [n, k] of [[0, 3], [1, 2], [1001, 10], [257, 1000]]) {
      const z = floats(n * k, n + k, 20);
      const y = labels(n, k, 5);
      for (const log of [false, true]) {
        expect(maxRelError(await native.softmax(z, k, { temperature: 1.7, log, ...cuda }), await native.softmax(z, k, { temperature: 1.7, log }), 1)).toBeLessThan(1e-5);
      }
      if (k < 2) continue;
      const [gpu, cpu] = [await native.membershipMetrics(z, y, k, cuda), await native.membershipMetrics(z, y, k)];
      for (const name of native.METRICS) expect(maxRelError(gpu[name], cpu[name], 1e-3), name).toBeLessThan(1e-9);
    }
  });

  it('NLL in T, calibration bins and ROC agree', async () => {
    const n = 5003, k = 10;
    const z = floats(n * k, 1, 6), y = labels(n, k, 2);
    const [g, c] = [await native.nllTemperature(z, y, k, 1.3, cuda), await native.nllTemperature(z, y, k, 1.3)];
    expect(g.nll).toBeCloseTo(c.nll, 9);
    expect(g.d1).toBeCloseTo(c.d1, 9);
    expect(g.d2).toBeCloseTo(c.d2, 8);
    const r = rng(3);
    const conf = Float32Array.from({ length: n }, () => Math.round(r() * 50) / 50);
    const correct = Uint8Array.from({ length: n }, () => (r() < 0.6 ? 1 : 0));
    for (const binning of ['equal-width', 'equal-mass'] as const) {
      const [gb, cb] = [await native.calibrationBins(conf, correct, { binning, ...cuda }), await native.calibrationBins(conf, correct, { binning })];
      for (const key of ['count', 'meanConfidence', 'accuracy', 'lower', 'upper'] as const) expect(maxRelError(gb[key], cb[key]), key).toBeLessThan(1e-12);
    }
    const [gr, cr] = [await native.roc(conf, correct, cuda), await native.roc(conf, correct)];
    expect(gr.auc).toBeCloseTo(cr.auc, 12);
    expect(maxRelError(gr.tprAt, cr.tprAt)).toBeLessThan(1e-12);
    expect(maxRelError(gr.tpr, cr.tpr)).toBe(0);
  });

  it('attack steps, projections and norms agree', async () => {
    for (const [n, d] of [[1, 1], [7, 33], [64, 3072]]) {
      const x0 = floats(n * d, 1, 0.5, 0.5), v = floats(n * d, 2, 0.7, 0.5), g = floats(n * d, 3);
      const eps = Float32Array.from({ length: n }, (_, i) => [0, 0.05, 0.5, 3][i % 4]);
      for (const kind of ['sign', 'l2', 'l1'] as const) {
        const o = { l1TopK: Math.max(1, d >> 2) };
        expect(maxRelError(await native.attackStep(kind, x0, g, d, eps, { ...o, ...cuda }), await native.attackStep(kind, x0, g, d, eps, o), 1), kind).toBeLessThan(1e-6);
      }
      for (const norm of ['linf', 'l2', 'l1'] as const) {
        expect(maxRelError(await native.project(norm, v, x0, d, eps, cuda), await native.project(norm, v, x0, d, eps), 1), norm).toBeLessThan(1e-6);
      }
      const [gn, cn] = [await native.perturbationNorms(g, d, cuda), await native.perturbationNorms(g, d)];
      for (const key of ['l0', 'l1', 'l2', 'linf'] as const) expect(maxRelError(gn[key], cn[key]), key).toBeLessThan(1e-12);
    }
  });

  it('random streams, balls and directions agree for the same seed and offset', async () => {
    const seed = 0xdeadbeefcafen;
    expect(maxRelError(await native.randomUniform(100_003, { seed, offset: 9, ...cuda }), await native.randomUniform(100_003, { seed, offset: 9 }))).toBe(0);
    expect(maxRelError(await native.randomNormal(100_003, { seed, offset: 9, ...cuda }), await native.randomNormal(100_003, { seed, offset: 9 }), 1)).toBeLessThan(1e-6);
    const x0 = floats(16 * 3072, 4, 0.5, 0.5);
    for (const norm of ['linf', 'l2'] as const) {
      expect(maxRelError(await native.randomBall(norm, x0, 3072, 0.1, { seed, ...cuda }), await native.randomBall(norm, x0, 3072, 0.1, { seed }), 1)).toBeLessThan(1e-6);
    }
    expect(maxRelError(await native.unitDirections(16, 3072, { seed, ...cuda }), await native.unitDirections(16, 3072, { seed }), 1)).toBeLessThan(1e-6);
  });

  it('optimizer steps and gradient estimates agree', async () => {
    const size = 100_003;
    for (const decoupled of [false, true]) {
      const [pg, pc] = [floats(size, 1), floats(size, 1)];
      const [sg, sc] = [native.adamState(size), native.adamState(size)];
      for (let t = 0; t < 3; t++) {
        const grad = floats(size, 10 + t);
        await native.adamStep(pg, grad, sg, { lr: 1e-2, weightDecay: 0.01, decoupled, ...cuda });
        await native.adamStep(pc, grad, sc, { lr: 1e-2, weightDecay: 0.01, decoupled });
      }
      expect(maxRelError(pg, pc, 1)).toBeLessThan(1e-6);
    }
    const [pg, pc] = [floats(size, 2), floats(size, 2)];
    const [sg, sc] = [native.sgdState(size), native.sgdState(size)];
    for (let t = 0; t < 3; t++) {
      const grad = floats(size, 20 + t);
      await native.sgdStep(pg, grad, sg, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4, ...cuda });
      await native.sgdStep(pc, grad, sc, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4 });
    }
    expect(maxRelError(pg, pc, 1)).toBeLessThan(1e-6);
    const [b, q, d] = [8, 50, 3072];
    const fp = floats(b * q, 5), fm = floats(b * q, 6), u = floats(b * q * d, 7);
    expect(maxRelError(await native.gradientEstimate(fp, fm, u, q, 0.01, cuda), await native.gradientEstimate(fp, fm, u, q, 0.01), 1)).toBeLessThan(1e-5);
  });
});
