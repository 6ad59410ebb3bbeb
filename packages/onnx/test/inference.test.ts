// Batched logits against a float64 reference: z = x Wᵀ + b for the fixture MLP's first layer is
// not enough, so the reference is the whole fixture MLP (Gemm → Relu → Gemm) computed here.
import { clone } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { predictLogits, tensorToArray } from '../src/index.js';
import { mlp } from './fixtures/models.js';

function referenceLogits(x: Float32Array, n: number): Float64Array {
  const model = mlp();
  const t = (name: string) => tensorToArray(model.graph!.initializer.find((i) => i.name === name)!) as Float32Array;
  const [W1, b1, W2, b2] = [t('W1'), t('b1'), t('W2'), t('b2')];
  const out = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    const h = Array.from({ length: 8 }, (_, j) => Math.max(0, b1[j] + [0, 1, 2, 3].reduce((s, d) => s + W1[j * 4 + d] * x[i * 4 + d], 0)));
    for (let k = 0; k < 3; k++) out[i * 3 + k] = b2[k] + h.reduce((s, v, j) => s + W2[k * 8 + j] * v, 0);
  }
  return out;
}

describe('predictLogits', () => {
  const n = 23;
  const x = Float32Array.from({ length: n * 4 }, (_, i) => Math.cos(0.7 * i));
  const expected = referenceLogits(x, n);

  it('returns the logits before a trailing Softmax, batch by batch, whatever the batch size', async () => {
    for (const batchSize of [1, 5, 64]) {
      const result = await predictLogits(mlp(), x, [4], { batchSize });
      expect(result.classes).toBe(3);
      expect(result.strippedSoftmax).toBe('softmax');
      result.logits.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
    }
  });

  it('runs a model exported with a fixed batch size at that size, padding the last batch', async () => {
    const fixed = clone(ModelProtoSchema, mlp());
    const type = fixed.graph!.input[0].type!.value;
    if (type.case !== 'tensorType') throw new Error('the fixture\'s input is a tensor');
    type.value.shape!.dim[0].value = { case: 'dimValue', value: 4n };
    const progress: number[] = [];
    const result = await predictLogits(fixed, x, [4], { batchSize: 100, progress: (done) => progress.push(done) });
    expect(progress).toEqual([4, 8, 12, 16, 20, 23]);
    result.logits.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  });

  it('takes the samples as a stream of chunks, holding one chunk at a time', async () => {
    async function* chunks() {
      for (let start = 0; start < n; start += 7) yield x.slice(start * 4, Math.min(n, start + 7) * 4);
    }
    const progress: Array<number | undefined> = [];
    const result = await predictLogits(mlp(), chunks(), [4], { batchSize: 5, progress: (done, total) => progress.push(done, total) });
    expect(progress.filter((_, i) => i % 2 === 0)).toEqual([5, 7, 12, 14, 19, 21, 23]);
    expect(progress.filter((_, i) => i % 2 === 1).every((t) => t === undefined)).toBe(true);
    result.logits.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 5));
  });
});
