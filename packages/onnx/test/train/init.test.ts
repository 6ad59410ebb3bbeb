// Re-initialisation draws by op kind; the moments of large tensors are checked against the
// distributions the table in init.ts promises (He normal, Glorot uniform, constants).
import { describe, expect, it } from 'vitest';

import { buildClassifier, parameterLayout, reinitialize, tensorToArray } from '../../src/index.js';

describe('reinitialize', () => {
  it('draws conv weights He-normal, linear weights Glorot-uniform, biases 0, BatchNorm scale 1 and statistics 0/1', async () => {
    const model = await buildClassifier({
      input: [16, 12, 12],
      layers: [{ kind: 'conv', channels: 64, kernel: 5 }, { kind: 'batchNorm' }, { kind: 'relu' }, { kind: 'flatten' }, { kind: 'linear', units: 100 }],
      seed: 1,
    });
    const fresh = await reinitialize(model, parameterLayout(model), 9);
    const values = (name: string) => Array.from(tensorToArray(fresh.graph!.initializer.find((t) => t.name === name)!) as Float32Array);
    const moments = (v: number[]) => {
      const mean = v.reduce((a, b) => a + b) / v.length;
      return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length), max: v.reduce((m, b) => Math.max(m, Math.abs(b)), 0) };
    };
    const conv = moments(values('conv0.weight')); // 64·16·25 = 25 600 draws
    expect(conv.mean).toBeCloseTo(0, 2);
    expect(conv.std / Math.sqrt(2 / (16 * 25))).toBeGreaterThan(0.98);
    expect(conv.std / Math.sqrt(2 / (16 * 25))).toBeLessThan(1.02);
    const fanIn = 64 * 8 * 8;
    const limit = Math.sqrt(6 / (fanIn + 100));
    const linear = moments(values('fc4.weight')); // 409 600 draws
    expect(linear.max).toBeLessThanOrEqual(limit);
    expect(linear.max).toBeGreaterThan(0.999 * limit);
    expect(linear.std / (limit / Math.sqrt(3))).toBeCloseTo(1, 2);
    expect(values('conv0.bias').every((v) => v === 0)).toBe(true);
    expect(values('fc4.bias').every((v) => v === 0)).toBe(true);
    expect(values('bn1.weight').every((v) => v === 1)).toBe(true);
    expect(values('bn1.running_mean').every((v) => v === 0)).toBe(true);
    expect(values('bn1.running_var').every((v) => v === 1)).toBe(true);
  });

  it('gives the same weights for a seed and others for another', async () => {
    const spec = { input: [8], layers: [{ kind: 'linear' as const, units: 4 }] };
    const w = async (seed: number) => tensorToArray((await buildClassifier({ ...spec, seed })).graph!.initializer[0]);
    expect(await w(3)).toEqual(await w(3));
    expect(await w(3)).not.toEqual(await w(4));
  });
});
