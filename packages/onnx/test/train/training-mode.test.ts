// Training-mode inference against a float64 reference of the same MLP: each batch normalised with
// its own statistics (biased variance), dropout by the seeded masks, batches cut in order.
import { describe, expect, it } from 'vitest';

import { buildClassifier, predictLogits, tensorToArray, trainingModeLogits } from '../../src/index.js';
import { drawMask } from '../../src/train/step-feeds.js';
import { streamKey } from '../../src/train/streams.js';
import { rng } from '../autodiff/harness.js';

const [F, H, C] = [6, 5, 3];

async function mlp() {
  return buildClassifier({ input: [F], layers: [{ kind: 'linear', units: H }, { kind: 'batchNorm' }, { kind: 'relu' }, { kind: 'dropout', ratio: 0.25 }, { kind: 'linear', units: C }], seed: 4 });
}

describe('trainingModeLogits', () => {
  it('normalises each batch with its own statistics and applies the seeded dropout masks', async () => {
    const model = await mlp();
    const weights = Object.fromEntries(model.graph!.initializer.map((t) => [t.name, Array.from(tensorToArray(t) as Float32Array)]));
    const r = rng(2);
    const n = 10, batchSize = 4;
    const x = new Float32Array(n * F).map(() => 2 * r() - 1);
    const { logits, classes } = await trainingModeLogits(model, x, [F], { batchSize, seed: 7 });
    expect(classes).toBe(C);

    const key = streamKey(7, 'dropout');
    let offset = 0n;
    const [w0, b0, gamma, beta, w1, b1] = ['fc0.weight', 'fc0.bias', 'bn1.weight', 'bn1.bias', 'fc4.weight', 'fc4.bias'].map((name) => weights[name]);
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      const mask = new Float32Array(size * H);
      await drawMask(mask, 0.25, key, offset);
      offset += BigInt(mask.length);
      // Gemm with transB: h = x·Wᵀ + b, W [H, F].
      const h = Array.from({ length: size }, (_, i) => Array.from({ length: H }, (_, j) => b0[j] + Array.from({ length: F }, (_, f) => x[(start + i) * F + f] * w0[j * F + f]).reduce((a, v) => a + v, 0)));
      for (let j = 0; j < H; j++) {
        const mean = h.reduce((a, row) => a + row[j], 0) / size;
        const variance = h.reduce((a, row) => a + (row[j] - mean) ** 2, 0) / size;
        for (const row of h) row[j] = Math.max(0, (gamma[j] * (row[j] - mean)) / Math.sqrt(variance + 1e-5) + beta[j]);
      }
      h.forEach((row, i) => {
        for (let k = 0; k < C; k++) {
          const z = b1[k] + row.reduce((a, v, j) => a + v * mask[i * H + j] * w1[k * H + j], 0);
          expect(logits[(start + i) * C + k]).toBeCloseTo(z, 5);
        }
      });
    }
    // Inference mode uses the running statistics instead: the answers differ.
    const inference = await predictLogits(model, x, [F]);
    expect(Array.from(inference.logits)).not.toEqual(Array.from(logits));
    const again = await trainingModeLogits(model, x, [F], { batchSize, seed: 7 });
    expect(Array.from(again.logits)).toEqual(Array.from(logits));
    const otherSeed = await trainingModeLogits(model, x, [F], { batchSize, seed: 8 });
    expect(Array.from(otherSeed.logits)).not.toEqual(Array.from(logits));
  });
});
