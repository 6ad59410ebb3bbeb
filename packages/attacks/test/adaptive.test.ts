// BPDA and EOT (Athalye et al. 2018) on a CNN trained on real MNIST digits. The BPDA gradient is
// checked against the undefended model's gradient at inputs quantised here in TS; the attacks
// are compared by their robust accuracy on the defended model, each run through evaluateAttack,
// which refuses any input outside the box or the ε-ball.
import { describe, expect, it } from 'vitest';

import { defendedClassifier, evaluateDefence } from '../src/defences/adaptive.js';
import { parseTransforms } from '../src/defences/transforms.js';
import { type AttackTask, evaluateAttack, onnxClassifier, pgd } from '../src/index.js';
import { mnistCnn } from './models.js';

const halfToEven = (v: number) => {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** Round(x·m)/m with m = 2^b − 1, each float32 operation rounded as ORT rounds it. */
const quantise = (x: Float32Array, depth: number) => {
  const m = 2 ** depth - 1;
  return Float32Array.from(x, (v) => Math.fround(halfToEven(Math.fround(v * m)) / m));
};

/** Σ over coordinates of the variance across repeated estimates. */
function totalVariance(estimates: Float32Array[]): number {
  let total = 0;
  for (let e = 0; e < estimates[0].length; e++) {
    const mean = estimates.reduce((s, g) => s + g[e], 0) / estimates.length;
    total += estimates.reduce((s, g) => s + (g[e] - mean) ** 2, 0) / (estimates.length - 1);
  }
  return total;
}

describe('on a CNN trained on MNIST', async () => {
  const { model, test } = await mnistCnn(100);
  const task: AttackTask = { x: test.x, labels: test.labels };
  const d = 784, n = 20;
  const x = test.x.subarray(0, n * d), labels = test.labels.subarray(0, n);
  const ce = { kind: 'cross-entropy', labels } as const;

  it('BPDA through bits:B is the undefended gradient at the quantised input; the naive one is zero', async () => {
    const undefended = await onnxClassifier(model);
    for (const depth of [3, 8]) {
      const transforms = [{ kind: 'bits', depth } as const];
      const bpda = await defendedClassifier(model, transforms, { gradient: 'bpda' });
      const naive = await defendedClassifier(model, transforms, { gradient: 'naive' });
      const reference = await undefended.lossGradient(quantise(x, depth), ce);
      const got = await bpda.lossGradient(x, ce);
      expect(Array.from(got.gradient)).toEqual(Array.from(reference.gradient));
      expect(Array.from(got.loss)).toEqual(Array.from(reference.loss));
      expect(Array.from(got.logits)).toEqual(Array.from(await bpda.scores(x)));
      expect(bpda.usage).toEqual({ queries: n, gradientCalls: n });
      const masked = await naive.lossGradient(x, ce);
      expect(masked.gradient.every((v) => v === 0)).toBe(true);
      expect(Array.from(masked.loss)).toEqual(Array.from(reference.loss));
      if (depth === 8) {
        // MNIST pixels lie on the 1/255 grid: bits:8 is the identity there, and so is BPDA.
        expect(Array.from(quantise(x, 8))).toEqual(Array.from(x));
        expect(Array.from(got.gradient)).toEqual(Array.from((await undefended.lossGradient(x, ce)).gradient));
      } else {
        expect(reference.gradient.some((v) => v !== 0)).toBe(true);
      }
      await Promise.all([bpda.release(), naive.release()]);
    }
    await undefended.release();
  });

  it('averages EOT draws of every loss kind: a deterministic transform gives the one-draw result at 3× the gradient calls', async () => {
    const transforms = parseTransforms('bits:3');
    const one = await defendedClassifier(model, transforms, { gradient: 'bpda' });
    const three = await defendedClassifier(model, transforms, { gradient: 'bpda', eotSamples: 3 });
    const cotangent = Float32Array.from({ length: n * 10 }, (_, e) => ((e * 7) % 10) / 10 - 0.4);
    const targets = Int32Array.from(labels, (y) => (y + 3) % 10);
    for (const loss of [ce, { kind: 'dot', cotangent } as const, { kind: 'targeted-dlr', labels, targets } as const]) {
      const [a, b] = [await one.lossGradient(x, loss), await three.lossGradient(x, loss)];
      expect(Array.from(b.gradient)).toEqual(Array.from(a.gradient));
      expect(Array.from(b.loss)).toEqual(Array.from(a.loss));
      expect(Array.from(b.logits)).toEqual(Array.from(a.logits));
    }
    expect(three.usage.gradientCalls).toBe(3 * one.usage.gradientCalls);
    await Promise.all([one.release(), three.release()]);
  });

  it('EOT over noise:0.1 cuts the gradient variance about tenfold and makes a stronger attack', async () => {
    const transforms = parseTransforms('noise:0.1');
    const single = await defendedClassifier(model, transforms, { gradient: 'bpda', eotSamples: 1 });
    const eot = await defendedClassifier(model, transforms, { gradient: 'bpda' });
    // The margin's gradient, not cross-entropy's: a sample whose rare draws reach a high loss gives
    // cross-entropy heavy tails, and a few repeats then misjudge the variance of one draw.
    const margin = { kind: 'margin', labels } as const;
    const draws = async (c: typeof eot) => {
      const out: Float32Array[] = [];
      for (let r = 0; r < 8; r++) out.push((await c.lossGradient(x, margin)).gradient);
      return out;
    };
    const [v1, v10] = [totalVariance(await draws(single)), totalVariance(await draws(eot))];
    expect(eot.usage.gradientCalls).toBe(8 * 10 * n);
    // The mean of 10 independent draws has a tenth of the variance of one (seen: 0.10).
    expect(v10 / v1).toBeGreaterThan(0.06);
    expect(v10 / v1).toBeLessThan(0.16);
    await Promise.all([single.release(), eot.release()]);

    const eps = 0.15;
    const robust = async (c: typeof eot) => {
      const result = await evaluateAttack(c, task, { norm: 'linf', eps }, () => pgd(c, task, { eps, steps: 20, seed: 1 }));
      expect(Math.max(...result.norms.linf)).toBeLessThanOrEqual(eps * (1 + 1e-5));
      return result;
    };
    // A fresh classifier for each run: its noise sessions then start from their seeds, so that
    // the same seed replays the same draws and gives the same adversarial inputs.
    const fresh = async (eotSamples: number) => {
      const c = await defendedClassifier(model, transforms, { gradient: 'bpda', eotSamples });
      try { return await robust(c); } finally { await c.release(); }
    };
    const [withoutEot, withEot] = [await fresh(1), await fresh(10)];
    // Seen: 0.52 without EOT, 0.30 with it, clean 0.96.
    expect(withEot.summary.robustAccuracy).toBeLessThan(withoutEot.summary.robustAccuracy - 0.1);
    expect(withEot.gradientCalls).toBeGreaterThan(5 * withoutEot.gradientCalls);
    expect((await fresh(10)).adversarial.every((v, e) => v === withEot.adversarial[e])).toBe(true);
  });

  it('bits:3 masks the naive gradient; BPDA breaks it (ε = 0.25)', async () => {
    const r = await evaluateDefence(model, parseTransforms('bits:3'), task, { eps: 0.25, steps: 20, squareQueries: 200, seed: 1 });
    // Seen: clean 0.95, naive 0.94, adaptive 0, Square 0.05, undefended 0, transfer 0.1.
    expect(r.cleanAccuracy).toBeGreaterThan(0.9);
    expect(r.naive).toBeGreaterThan(0.85);
    expect(r.adaptive).toBeLessThan(0.1);
    expect(r.adaptive).toBeLessThanOrEqual(r.blackBox);
    expect(r.blackBox).toBeLessThan(r.naive! - 0.5);
    expect(r.undefended).toBeLessThan(0.1);
  });

  it('median:3 is differentiable (TopK) and masks nothing; BPDA breaks it as well, where transfer does not (ε = 0.25)', async () => {
    const r = await evaluateDefence(model, parseTransforms('median:3'), task, { eps: 0.25, steps: 20, squareQueries: 200, seed: 1 });
    // Seen: clean 0.95, naive 0, BPDA 0.01, adaptive 0, Square 0.15, undefended 0, transfer 0.92.
    expect(r.naive).toBeLessThan(0.1);
    // the worst case over BPDA and the median's exact gradient: never above either
    expect(r.adaptive).toBeLessThanOrEqual(Math.min(r.naive!, r.bpda));
    expect(r.cleanAccuracy).toBeGreaterThan(0.9);
    expect(r.adaptive).toBeLessThan(0.1);
    expect(r.adaptive).toBeLessThanOrEqual(r.blackBox);
    expect(r.transfer).toBeGreaterThan(0.5);
  });

  it('refuses bad options with one-line RangeErrors', async () => {
    const transforms = parseTransforms('noise:0.1');
    await expect(defendedClassifier(model, transforms, { gradient: 'bpda', eotSamples: 0 })).rejects.toThrow(/^eotSamples must be a positive integer, got 0$/);
    await expect(defendedClassifier(model, transforms, { gradient: 'bpda', noiseSeed: -1 })).rejects.toThrow(/^noiseSeed must be a non-negative integer, got -1$/);
    await expect(defendedClassifier(model, transforms, { gradient: 'exact' as 'bpda' })).rejects.toThrow(/^gradient must be 'bpda' or 'naive', got 'exact'$/);
  });
});
