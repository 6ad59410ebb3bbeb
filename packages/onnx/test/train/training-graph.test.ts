// The training step's gradients against central finite differences of its own loss, for a CNN in
// training mode: BatchNormalization normalising with batch statistics, an overlapping MaxPool,
// and Dropout replaced by a fed mask (fixed across the runs, so the loss is a function of θ).
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { encodeModel } from '../../src/index.js';
import { dataInput } from '../../src/input-gradients.js';
import { gatherValues, parameterLayout } from '../../src/train/parameters.js';
import { buildTrainingGraph } from '../../src/train/training-graph.js';
import { randomTensor, rng } from '../autodiff/harness.js';
import { bandImages, smallCnn } from './fixtures.js';

describe('training graph', () => {
  it('gives the gradient of the mean loss of a CNN with batch-statistics BatchNorm, MaxPool and a dropout mask', async () => {
    const model = await smallCnn(3);
    const layout = parameterLayout(model);
    expect(layout.parameters.map((p) => p.name)).toEqual(['conv0.weight', 'conv0.bias', 'bn1.weight', 'bn1.bias', 'fc6.weight', 'fc6.bias']);
    expect(layout.statistics.map((s) => s.name)).toEqual(['bn1.running_mean', 'bn1.running_var']);
    const n = 6;
    const graph = await buildTrainingGraph(model, layout, dataInput(model), [n, 1, 8, 8], { kind: 'cross-entropy' });
    expect(graph.masks).toEqual([{ name: expect.stringContaining('dropout_mask'), dims: [n, 4, 3, 3], ratio: 0.25 }]);
    expect(graph.classes).toBe(3);

    const session = await ort.InferenceSession.create(encodeModel(graph.model));
    const data = bandImages(n, 5);
    const r = rng(9);
    const mask = new Float32Array(n * 36).map(() => (r() < 0.25 ? 0 : 1 / 0.75));
    const theta = gatherValues(model, layout.parameters, layout.parameterCount);
    const feedsAt = (values: Float32Array) => {
      const feeds: Record<string, ort.Tensor> = {
        [graph.input]: new ort.Tensor('float32', data.x, [n, 1, 8, 8]),
        [graph.labels!]: new ort.Tensor('int64', BigInt64Array.from(data.labels as number[], BigInt), [n]),
        [graph.masks[0].name]: new ort.Tensor('float32', mask, graph.masks[0].dims),
      };
      for (const s of layout.parameters) feeds[s.name] = new ort.Tensor('float32', values.slice(s.offset, s.offset + s.size), s.dims);
      for (const s of layout.statistics) feeds[s.name] = new ort.Tensor('float32', new Float32Array(s.size).fill(0.5), s.dims);
      return feeds;
    };
    const meanLoss = async (values: Float32Array) => {
      const losses = (await session.run(feedsAt(values)))[graph.loss].data as Float32Array;
      return losses.reduce((a, b) => a + b, 0) / n;
    };
    const out = await session.run(feedsAt(theta));
    const gradient = new Float32Array(layout.parameterCount);
    layout.parameters.forEach((s, i) => gradient.set(out[graph.gradients[i]].data as Float32Array, s.offset));

    // Per parameter tensor, along a random direction, with ε = 1e-3. The float32 forward rounds the
    // loss (≈1) by ≈1e-7, so the central difference carries ≈1e-4 of absolute noise: that is the
    // floor, and 2e-3 the relative tolerance above it. The conv bias feeds a batch-statistics
    // BatchNorm, which subtracts it again: its true gradient is 0, and the graph's is ~1e-7.
    const eps = 1e-3;
    for (const [i, slot] of layout.parameters.entries()) {
      const v = new Float32Array(layout.parameterCount);
      v.set(randomTensor([slot.size], 40 + i).data as Float32Array, slot.offset);
      let analytic = 0;
      for (let j = 0; j < v.length; j++) analytic += gradient[j] * v[j];
      const numeric = ((await meanLoss(theta.map((t, j) => t + eps * v[j]))) - (await meanLoss(theta.map((t, j) => t - eps * v[j])))) / (2 * eps);
      if (process.env.GRADIENT_ERRORS) console.log(`${slot.name}: analytic ${analytic}, numeric ${numeric}`);
      expect(Math.abs(analytic - numeric), `${slot.name}: analytic ${analytic}, numeric ${numeric}`).toBeLessThan(1e-4 + 2e-3 * Math.abs(numeric));
    }
    await session.release();
  });
});
