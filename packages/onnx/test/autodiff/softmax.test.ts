// Softmax and LogSoftmax against central finite differences, on rank 3 along a middle and the
// last axis, at opsets 13 (raised to 16 by the builder), 17 and 18.
// Tolerance: relative 2e-3 at ε = 1e-2. Both ops are smooth, so the O(ε²) truncation stays near
// 1e-5 on inputs in [−1, 1]; measured errors are 2e-7 to 5e-5. GRADIENT_ERRORS=1 prints each one.
import { describe, it } from 'vitest';

import { type ModelSpec, type CheckOptions, expectGradientsWithin } from './harness.js';

const TOLERANCE = 2e-3;
const EPS = 1e-2;

const expectGradients = (spec: ModelSpec, options: CheckOptions = {}) => expectGradientsWithin(spec, { eps: EPS, tolerance: TOLERANCE, ...options });

const single = (op: string, dims: number[], attrs: Record<string, number>, opset: number): ModelSpec => ({
  inputs: { x: dims }, nodes: [{ op, inputs: ['x'], outputs: ['y'], attrs }], output: 'y', opset,
});

describe('Softmax and LogSoftmax', () => {
  for (const op of ['Softmax', 'LogSoftmax']) {
    for (const opset of [13, 17, 18]) {
      for (const axis of [1, -1]) {
        it(`${op} axis ${axis} on [2, 5, 4] at opset ${opset}`, async () => expectGradients(single(op, [2, 5, 4], { axis }, opset)));
      }
      it(`${op} with the default axis (−1) at opset ${opset}`, async () => expectGradients(single(op, [3, 6], {}, opset)));
    }
    it(`${op} inside a chain (x·x → ${op} → ·w)`, async () => {
      // A non-uniform dY into the op and a gradient that also flows out through Mul.
      await expectGradients({
        inputs: { x: [2, 3, 4], w: [4] },
        nodes: [
          { op: 'Mul', inputs: ['x', 'x'], outputs: ['s'] },
          { op, inputs: ['s'], outputs: ['t'], attrs: { axis: 0 } },
          { op: 'Mul', inputs: ['t', 'w'], outputs: ['y'] },
        ],
        output: 'y',
        opset: 17,
      });
    });
  }
});
