// The unrolled LSTM-attention graph against a float64 reference written here with plain loops in
// PyTorch's gate order (i, f, g, o), fed the graph's own initializers; its input and parameter
// gradients against central differences of that reference's cross-entropy.
import type { ModelProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { randomNormal } from '@onnx-audit/native';
import { buildGradientModel, buildTrainingGraph, encodeModel, parameterLayout, tensorFromArray, tensorToArray } from '@onnx-audit/onnx';

import { buildAttentionLstm } from '../src/attack-models/attention-lstm.js';

const NAMES = ['lstm.weight_ih_l0', 'lstm.weight_hh_l0', 'lstm.bias_ih_l0', 'lstm.bias_hh_l0', 'fc.weight', 'fc.bias'] as const;
type Params = Record<(typeof NAMES)[number], Float64Array>;

interface Shape {
  n: number;
  t: number;
  f: number;
  h: number;
  attention: boolean;
}

function paramsOf(model: ModelProto): Params {
  const byName = new Map(model.graph!.initializer.map((t) => [t.name, t]));
  return Object.fromEntries(NAMES.map((name) => [name, Float64Array.from(tensorToArray(byName.get(name)!) as Float32Array)])) as Params;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Float64 logits [n, 2], one sample at a time, h_0 = c_0 = 0. */
function reference(p: Params, x: ArrayLike<number>, s: Shape): Float64Array {
  const { n, t, f, h, attention } = s;
  const logits = new Float64Array(n * 2);
  for (let b = 0; b < n; b++) {
    let hPrev = new Float64Array(h);
    let c = new Float64Array(h);
    const hs: Float64Array[] = [];
    for (let step = 0; step < t; step++) {
      const z = new Float64Array(4 * h);
      for (let r = 0; r < 4 * h; r++) {
        let v = p['lstm.bias_ih_l0'][r] + p['lstm.bias_hh_l0'][r];
        for (let k = 0; k < f; k++) v += p['lstm.weight_ih_l0'][r * f + k] * x[(b * t + step) * f + k];
        for (let k = 0; k < h; k++) v += p['lstm.weight_hh_l0'][r * h + k] * hPrev[k];
        z[r] = v;
      }
      const hNext = new Float64Array(h);
      const cNext = new Float64Array(h);
      for (let j = 0; j < h; j++) {
        const i = sigmoid(z[j]), fg = sigmoid(z[h + j]), g = Math.tanh(z[2 * h + j]), o = sigmoid(z[3 * h + j]);
        cNext[j] = fg * c[j] + i * g;
        hNext[j] = o * Math.tanh(cNext[j]);
      }
      hs.push(hNext);
      hPrev = hNext;
      c = cNext;
    }
    const last = hs[t - 1];
    let features = Array.from(last);
    if (attention) {
      const e = hs.map((ht) => ht.reduce((acc, v, j) => acc + v * last[j], 0));
      const max = Math.max(...e);
      const w = e.map((v) => Math.exp(v - max));
      const total = w.reduce((a, v) => a + v, 0);
      const context = Array.from({ length: h }, (_, j) => hs.reduce((acc, ht, k) => acc + (w[k] / total) * ht[j], 0));
      features = [...features, ...context];
    }
    for (let k = 0; k < 2; k++) {
      let v = p['fc.bias'][k];
      features.forEach((u, j) => { v += p['fc.weight'][k * features.length + j] * u; });
      logits[b * 2 + k] = v;
    }
  }
  return logits;
}

/** Cross-entropy of the reference logits, summed over the samples. */
function referenceLoss(p: Params, x: ArrayLike<number>, labels: number[], s: Shape): number {
  const z = reference(p, x, s);
  return labels.reduce((acc, y, b) => {
    const [a, c] = [z[2 * b], z[2 * b + 1]];
    const m = Math.max(a, c);
    return acc + m + Math.log(Math.exp(a - m) + Math.exp(c - m)) - z[2 * b + y];
  }, 0);
}

async function runLogits(model: ModelProto, x: Float32Array, s: Shape): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(encodeModel(model));
  const out = await session.run({ input: new ort.Tensor('float32', x, [s.n, s.t, s.f]) });
  await session.release();
  expect(out.logits.dims).toEqual([s.n, 2]);
  return out.logits.data as Float32Array;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

describe('buildAttentionLstm', () => {
  it('lists exactly the six PyTorch parameters, with their shapes and U(±1/√fan) ranges', async () => {
    const model = await buildAttentionLstm({ steps: 4, features: 5 });
    const layout = parameterLayout(model);
    expect(layout.parameters.map((p) => [p.name, p.dims])).toEqual([
      ['lstm.weight_ih_l0', [200, 5]], ['lstm.weight_hh_l0', [200, 50]], ['lstm.bias_ih_l0', [200]], ['lstm.bias_hh_l0', [200]], ['fc.weight', [2, 100]], ['fc.bias', [2]],
    ]);
    expect(layout.statistics).toEqual([]);
    const p = paramsOf(model);
    const range = (v: Float64Array) => [Math.min(...v), Math.max(...v)];
    // 10,000 draws of U(±0.1414) reach within 1e-3 of both ends; 200 of U(±0.1) within 5e-3.
    const [lo, hi] = range(p['lstm.weight_hh_l0']);
    expect(hi).toBeLessThan(1 / Math.sqrt(50));
    expect(hi).toBeGreaterThan(1 / Math.sqrt(50) - 1e-3);
    expect(lo).toBeGreaterThan(-1 / Math.sqrt(50));
    expect(lo).toBeLessThan(-1 / Math.sqrt(50) + 1e-3);
    const [flo, fhi] = range(p['fc.weight']);
    expect(Math.max(-flo, fhi)).toBeLessThan(0.1);
    expect(Math.max(-flo, fhi)).toBeGreaterThan(0.095);
    // Other seeds, other weights; the same seed, the same model.
    const again = paramsOf(await buildAttentionLstm({ steps: 4, features: 5 }));
    const other = paramsOf(await buildAttentionLstm({ steps: 4, features: 5, seed: 1 }));
    expect(again['lstm.weight_ih_l0']).toEqual(p['lstm.weight_ih_l0']);
    expect(other['lstm.weight_ih_l0']).not.toEqual(p['lstm.weight_ih_l0']);
  });

  it('refuses a non-integer shape', async () => {
    await expect(buildAttentionLstm({ steps: 0, features: 5 })).rejects.toThrow(/steps must be a positive integer/);
    await expect(buildAttentionLstm({ steps: 3, features: 2.5 })).rejects.toThrow(/features/);
  });

  it('computes a hand-checked 2-step example with H = F = 1', async () => {
    const model = await buildAttentionLstm({ steps: 2, features: 1, hidden: 1 });
    // Only the g gate reads x (weight 1); W_hh = 0; the f gate's two biases cancel (1 − 1), so a
    // missing bias would show as σ(±1) ≠ ½. The Linear layer is logits = [1 + h_T, −1 + context].
    const set: Record<string, number[]> = {
      'lstm.weight_ih_l0': [0, 0, 1, 0], 'lstm.weight_hh_l0': [0, 0, 0, 0],
      'lstm.bias_ih_l0': [0, 1, 0, 0], 'lstm.bias_hh_l0': [0, -1, 0, 0],
      'fc.weight': [1, 0, 0, 1], 'fc.bias': [1, -1],
    };
    const graph = model.graph!;
    graph.initializer = graph.initializer.map((t) => (t.name in set ? tensorFromArray(t.name, t.dims.map(Number), Float32Array.from(set[t.name])) : t));
    // x_1 = x_2 = ln3 / 2, so g = tanh(ln3 / 2) = (3 − 1)/(3 + 1) = ½ and i = f = o = σ(0) = ½.
    //   c_1 = ½·½ = 0.25            h_1 = ½·tanh(0.25)  = ½·0.2449186624 = 0.1224593312
    //   c_2 = ½·0.25 + ½·½ = 0.375  h_2 = ½·tanh(0.375) = ½·0.3583573984 = 0.1791786992
    //   e_1 = h_2·h_1 = 0.0219421037, e_2 = h_2² = 0.0321050062
    //   α_1 = 1 / (1 + e^{e_2 − e_1}) = 0.4974592962, α_2 = 0.5025407038
    //   context = α_1 h_1 + α_2 h_2 = 0.1509631223
    //   logits = [1 + 0.1791786992, −1 + 0.1509631223] = [1.1791786992, −0.8490368777]
    const x = Float32Array.of(Math.log(3) / 2, Math.log(3) / 2);
    const logits = await runLogits(model, x, { n: 1, t: 2, f: 1, h: 1, attention: true });
    expect(logits[0]).toBeCloseTo(1.1791786992, 6);
    expect(logits[1]).toBeCloseTo(-0.8490368777, 6);
  });

  for (const s of [
    { n: 3, t: 2, f: 5, h: 4, attention: true },
    { n: 4, t: 5, f: 5, h: 50, attention: true },
    { n: 3, t: 5, f: 1, h: 7, attention: false },
    { n: 2, t: 1, f: 3, h: 3, attention: true },
  ]) {
    it(`matches the float64 reference: T=${s.t}, F=${s.f}, H=${s.h}, ${s.attention ? 'attention' : 'lstm baseline'}`, async () => {
      const model = await buildAttentionLstm({ steps: s.t, features: s.f, hidden: s.h, attention: s.attention, seed: 3 });
      expect(parameterLayout(model).parameters.find((p) => p.name === 'fc.weight')!.dims).toEqual([2, s.attention ? 2 * s.h : s.h]);
      // Inputs of a few units, as SeqMIA's metrics: the gates leave their linear range.
      const x = (await randomNormal(s.n * s.t * s.f, { seed: 11 })).map((v) => 2 * v);
      const got = await runLogits(model, x, s);
      const want = reference(paramsOf(model), x, s);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-5);
      // Logits of order 0.1, so the bound above is not met by accident.
      expect(Math.max(...want.map(Math.abs))).toBeGreaterThan(0.05);
    });
  }
});

describe('attention LSTM gradients', () => {
  it('gives the input gradient of the cross-entropy (buildGradientModel) within 1e-3 of central differences', async () => {
    const s: Shape = { n: 3, t: 4, f: 5, h: 6, attention: true };
    const model = await buildAttentionLstm({ steps: s.t, features: s.f, hidden: s.h, seed: 5 });
    const x = await randomNormal(s.n * s.t * s.f, { seed: 21 });
    const labels = [1, 0, 1];
    const built = await buildGradientModel(model, { wrt: ['input'], head: { kind: 'cross-entropy' }, feeds: { input: new ort.Tensor('float32', x, [s.n, s.t, s.f]) } });
    const session = await ort.InferenceSession.create(encodeModel(built.model));
    const out = await session.run({ input: new ort.Tensor('float32', x, [s.n, s.t, s.f]), [built.labels!]: new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [s.n]) });
    await session.release();
    const analytic = out[built.gradients.input].data as Float32Array;

    // Float64 central differences of the summed loss, every coordinate; with ε = 1e-5 the
    // truncation error (~ε²) and the rounding error (~1e-16/ε) are both far below 1e-6.
    const p = paramsOf(model);
    const eps = 1e-5;
    const xs = Float64Array.from(x);
    const numeric = Array.from(xs, (v, i) => {
      xs[i] = v + eps;
      const up = referenceLoss(p, xs, labels, s);
      xs[i] = v - eps;
      const down = referenceLoss(p, xs, labels, s);
      xs[i] = v;
      return (up - down) / (2 * eps);
    });
    const norm = Math.hypot(...numeric);
    expect(norm).toBeGreaterThan(1e-3);
    expect(Math.hypot(...numeric.map((v, i) => v - analytic[i])) / norm).toBeLessThan(1e-3);
    numeric.forEach((v, i) => expect(Math.abs(v - analytic[i]), `x[${i}]`).toBeLessThan(1e-3 * Math.abs(v) + 1e-6));
  });

  for (const attention of [true, false]) {
    it(`gives the training graph's parameter gradients within 1e-3 of central differences (${attention ? 'attention' : 'lstm baseline'})`, async () => {
      const s: Shape = { n: 4, t: 3, f: 2, h: 5, attention };
      const model = await buildAttentionLstm({ steps: s.t, features: s.f, hidden: s.h, attention, seed: 7 });
      const layout = parameterLayout(model);
      expect(layout.parameters.map((q) => q.name)).toEqual([...NAMES]);
      const graph = await buildTrainingGraph(model, layout, 'input', [s.n, s.t, s.f], { kind: 'cross-entropy' });
      const x = (await randomNormal(s.n * s.t * s.f, { seed: 31 })).map((v) => 1.5 * v);
      const labels = [0, 1, 1, 0];
      const p = paramsOf(model);
      const feeds: Record<string, ort.Tensor> = {
        [graph.input]: new ort.Tensor('float32', x, [s.n, s.t, s.f]),
        [graph.labels!]: new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [s.n]),
      };
      for (const slot of layout.parameters) feeds[slot.name] = new ort.Tensor('float32', Float32Array.from(p[slot.name as keyof Params]), slot.dims);
      const session = await ort.InferenceSession.create(encodeModel(graph.model));
      const out = await session.run(feeds);
      await session.release();

      // The training graph's loss is the batch mean; 5 coordinates spread over each tensor.
      const eps = 1e-5;
      const meanLoss = () => referenceLoss(p, x, labels, s) / s.n;
      layout.parameters.forEach((slot, k) => {
        const analytic = out[graph.gradients[k]].data as Float32Array;
        const values = p[slot.name as keyof Params];
        const picks = [...new Set([0, 1, Math.floor(slot.size / 3), Math.floor((2 * slot.size) / 3), slot.size - 1])];
        let largest = 0;
        for (const j of picks) {
          const v = values[j];
          values[j] = v + eps;
          const up = meanLoss();
          values[j] = v - eps;
          const down = meanLoss();
          values[j] = v;
          const numeric = (up - down) / (2 * eps);
          largest = Math.max(largest, Math.abs(numeric));
          expect(Math.abs(numeric - analytic[j]), `${slot.name}[${j}]: analytic ${analytic[j]}, numeric ${numeric}`).toBeLessThan(1e-3 * Math.abs(numeric) + 1e-6);
        }
        // Every tensor's gradient is exercised, not a row of zeros agreeing with zeros.
        expect(largest, slot.name).toBeGreaterThan(1e-4);
      });
    });
  }
});
