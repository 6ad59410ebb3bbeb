// A model given its normalisation in the graph, run on raw inputs, equals the original on
// normalised inputs; its input gradient is the original's divided by std (chain rule).
import { describe, expect, it } from 'vitest';

import { buildClassifier, inputGradients, predictLogits, withInputNormalisation } from '../src/index.js';

describe('withInputNormalisation', () => {
  const mean = [0.5, -1, 2];
  const std = [0.25, 2, 4];
  const n = 5;
  const x = Float32Array.from({ length: n * 3 * 4 * 4 }, (_, i) => Math.sin(0.37 * i) * 3);
  const normalised = x.map((v, i) => (v - mean[Math.floor(i / 16) % 3]) / std[Math.floor(i / 16) % 3]);
  const labels = [0, 1, 2, 0, 1];

  it('applies (x − mean) / std per channel before the model, for logits and input gradients', async () => {
    const model = await buildClassifier({ input: [3, 4, 4], layers: [{ kind: 'conv', channels: 2, kernel: 3 }, { kind: 'relu' }, { kind: 'flatten' }, { kind: 'linear', units: 3 }], seed: 4 });
    const wrapped = withInputNormalisation(model, 'input', { mean, std });
    const expected = await predictLogits(model, normalised, [3, 4, 4]);
    const got = await predictLogits(wrapped, x, [3, 4, 4]);
    got.logits.forEach((v, i) => expect(v).toBeCloseTo(expected.logits[i], 5));

    const inner = await inputGradients(model, normalised, [3, 4, 4], labels);
    const outer = await inputGradients(wrapped, x, [3, 4, 4], labels);
    outer.gradients.forEach((g, i) => expect(g).toBeCloseTo(inner.gradients[i] / std[Math.floor(i / 16) % 3], 5));
  });

  it('refuses values that do not fit the input, or a non-positive std', async () => {
    const model = await buildClassifier({ input: [3, 4, 4], layers: [{ kind: 'flatten' }, { kind: 'linear', units: 2 }] });
    expect(() => withInputNormalisation(model, 'input', { mean: [0, 0], std: [1] })).toThrow('2 mean values for an input with 3 channels (axis 1 of [?,3,4,4]); give one value or one per channel');
    expect(() => withInputNormalisation(model, 'input', { mean: [0], std: [0] })).toThrow('every std must be positive, got [0]');
    expect(() => withInputNormalisation(model, 'pixels', { mean: [0], std: [1] })).toThrow("the model has no tensor input 'pixels'");
  });
});
