// TopK against central differences. Its values are input elements, so L = ⟨R, TopK(x)⟩ is linear
// as long as no selection or order changes within ±ε: the inputs are a shuffled grid of distinct
// values 2/size apart and ε = 1e-3 moves two of them by at most 2e-3 relative to each other.
import { describe, expect, it } from 'vitest';

import { type AttrValue } from '../../src/autodiff/graph.js';
import { checkGradients, type ModelSpec, rng } from './harness.js';
import * as ort from 'onnxruntime-node';

function separated(dims: number[], seed: number): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const values = Array.from({ length: n }, (_, i) => -1 + (2 * i) / n);
  const r = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [values[i], values[j]] = [values[j], values[i]];
  }
  return new ort.Tensor('float32', Float32Array.from(values), dims);
}

const topK = (x: number[], k: number, attrs: Record<string, AttrValue>, outputs: string[], after: ModelSpec['nodes'] = [], output = 'y'): ModelSpec => ({
  inputs: { x },
  int64: { k: { dims: [1], values: [k] }, pick: { dims: [1], values: [k - 1] } },
  nodes: [{ op: 'Exp', inputs: ['x'], outputs: ['sq'] }, { op: 'TopK', inputs: ['sq', 'k'], outputs, attrs }, ...after],
  output,
});

describe('TopK', () => {
  const cases: Array<[string, ModelSpec, number[]]> = [
    ['largest along the last axis', topK([2, 3, 7], 4, {}, ['y', 'i']), [2, 3, 7]],
    ['smallest along axis 1, unsorted', topK([2, 6, 5], 3, { axis: 1, largest: 0, sorted: 0 }, ['y', 'i']), [2, 6, 5]],
    ['negative axis', topK([3, 5, 4], 2, { axis: -2 }, ['y', 'i']), [3, 5, 4]],
    ['a median: the last of the ⌈n/2⌉ largest, gathered', topK([2, 4, 9], 5, { axis: -1 }, ['top', 'i'], [{ op: 'Gather', inputs: ['top', 'pick'], outputs: ['y'], attrs: { axis: 2 } }]), [2, 4, 9]],
  ];
  for (const [label, spec, dims] of cases) {
    it(label, async () => {
      // Exp in front, so that the gradient reaching TopK is not all ones: e^x on the picked elements.
      const x = separated(dims, dims.length + dims[1]);
      const results = await checkGradients(spec, { eps: 1e-3, feeds: { x } });
      for (const [name, r] of Object.entries(results)) {
        expect(r.relativeError, `${name}: analytic ${r.analytic}, numeric ${r.numeric}`).toBeLessThan(1e-3);
        expect(Math.abs(r.analytic)).toBeGreaterThan(1e-3);
      }
    });
  }
});
