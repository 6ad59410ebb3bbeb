import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { buildClassifier, encodeModel, inspectModel } from '../src/index.js';

describe('buildClassifier', () => {
  it('builds a CNN whose shapes follow the layers, differentiable end to end', async () => {
    const model = await buildClassifier({
      input: [1, 28, 28],
      layers: [
        { kind: 'conv', channels: 8, kernel: 5, stride: 1, padding: 2 }, { kind: 'batchNorm' }, { kind: 'relu' }, { kind: 'maxPool', kernel: 2 },
        { kind: 'conv', channels: 16, kernel: 3 }, { kind: 'relu' }, { kind: 'maxPool', kernel: 2 },
        { kind: 'dropout', ratio: 0.3 }, { kind: 'flatten' }, { kind: 'linear', units: 10 },
      ],
    });
    const report = inspectModel(model);
    expect(report.inputs[0].shape).toEqual(['batch', 1, 28, 28]);
    expect(report.classes).toBe(10);
    // Every float initializer: conv 8·1·25 + 8, BN 2·8 and its 2·8 statistics, conv 16·8·9 + 16,
    // the dropout ratio, linear 10·(16·6·6) + 10.
    expect(report.parameterCount).toBe(208 + 32 + 1168 + 1 + 5770);
    expect(report.unsupportedForGradients).toEqual([]);
    const session = await ort.InferenceSession.create(encodeModel(model));
    const out = await session.run({ input: new ort.Tensor('float32', new Float32Array(2 * 784).fill(0.5), [2, 1, 28, 28]) });
    expect(out.logits.dims).toEqual([2, 10]);
    await session.release();
  });

  it('refuses layers that do not fit, saying which', async () => {
    await expect(buildClassifier({ input: [1, 4, 4], layers: [{ kind: 'conv', channels: 2, kernel: 5 }, { kind: 'flatten' }, { kind: 'linear', units: 2 }] }))
      .rejects.toThrow('layer 0 (conv): a 5×5 kernel does not fit [1,4,4]');
    await expect(buildClassifier({ input: [1, 4, 4], layers: [{ kind: 'linear', units: 2 }] }))
      .rejects.toThrow('layer 0 (linear): needs a flat input, got [1,4,4]: add a flatten layer before it');
    await expect(buildClassifier({ input: [4], layers: [{ kind: 'linear', units: 2 }, { kind: 'relu' }] }))
      .rejects.toThrow('the last layer must be a linear layer');
  });
});
