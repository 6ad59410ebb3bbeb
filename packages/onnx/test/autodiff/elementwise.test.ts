// Element-wise and linear ops: every input gradient against central finite differences.
// Tolerance: relative 2e-3 at ε = 1e-2 in float32, which covers O(ε²) truncation for these
// smooth ops; ops with kinks (Relu, Clip, HardSigmoid) use inputs away from the kink.
import { describe, expect, it } from 'vitest';

import { checkGradients, type ModelSpec } from './harness.js';

const TOLERANCE = 2e-3;

async function expectGradients(spec: ModelSpec, options = {}): Promise<void> {
  const results = await checkGradients(spec, options);
  for (const [name, r] of Object.entries(results)) {
    expect(r.relativeError, `${name}: analytic ${r.analytic}, numeric ${r.numeric}`).toBeLessThan(TOLERANCE);
  }
}

const binary = (op: string, a: number[], b: number[], out = 'y'): ModelSpec => ({ inputs: { a, b }, nodes: [{ op, inputs: ['a', 'b'], outputs: [out] }], output: out });
const unary = (op: string, dims: number[], attrs = {}): ModelSpec => ({ inputs: { x: dims }, nodes: [{ op, inputs: ['x'], outputs: ['y'], attrs }], output: 'y' });

describe('binary ops with broadcasting', () => {
  for (const op of ['Add', 'Sub', 'Mul']) {
    for (const [a, b] of [[[2, 3], [2, 3]], [[2, 3, 4], [4]], [[2, 1, 4], [3, 1]], [[1], [2, 3]]]) {
      it(`${op} ${JSON.stringify(a)} ⊙ ${JSON.stringify(b)}`, async () => expectGradients(binary(op, a, b)));
    }
  }
  it('Div with a broadcast denominator away from zero', async () => {
    const { randomTensor } = await import('./harness.js');
    const b = randomTensor([3, 1], 5, 0.5, 2);
    await expectGradients(binary('Div', [2, 3, 4], [3, 1]), { feeds: { b } });
  });
  it('Pow with a positive base', async () => {
    const { randomTensor } = await import('./harness.js');
    await expectGradients(binary('Pow', [2, 3], [3]), { feeds: { a: randomTensor([2, 3], 3, 0.5, 2) } });
  });
  it('sums the contributions of a value used twice (x · x)', async () => {
    await expectGradients({ inputs: { x: [4, 5] }, nodes: [{ op: 'Mul', inputs: ['x', 'x'], outputs: ['y'] }], output: 'y' });
  });
});

describe('unary ops', () => {
  for (const op of ['Neg', 'Identity', 'Sigmoid', 'Tanh', 'Exp', 'Erf', 'Softplus']) {
    it(op, async () => expectGradients(unary(op, [3, 7])));
  }
  it('Relu and LeakyRelu', async () => {
    await expectGradients(unary('Relu', [4, 9]), { eps: 1e-3 });
    await expectGradients(unary('LeakyRelu', [4, 9], { alpha: { float: 0.1 } }), { eps: 1e-3 });
  });
  it('Log and Sqrt on positive inputs', async () => {
    const { randomTensor } = await import('./harness.js');
    await expectGradients(unary('Log', [3, 4]), { feeds: { x: randomTensor([3, 4], 2, 0.5, 2) } });
    await expectGradients(unary('Sqrt', [3, 4]), { feeds: { x: randomTensor([3, 4], 2, 0.5, 2) } });
  });
  it('HardSigmoid and HardSwish', async () => {
    await expectGradients(unary('HardSigmoid', [5, 6]), { eps: 1e-3 });
    const { randomTensor } = await import('./harness.js');
    await expectGradients(unary('HardSwish', [5, 6]), { eps: 1e-3, feeds: { x: randomTensor([5, 6], 4, -5, 5) } });
  });
  it('Gelu, exact and tanh-approximated (opset 20)', async () => {
    for (const approximate of ['none', 'tanh']) {
      await expectGradients({ ...unary('Gelu', [3, 8], { approximate }), opset: 20 });
    }
  });
  it('Clip with min and max inputs', async () => {
    await expectGradients({ inputs: { x: [4, 6] }, floats: { lo: { dims: [], values: [-0.5] }, hi: { dims: [], values: [0.5] } }, nodes: [{ op: 'Clip', inputs: ['x', 'lo', 'hi'], outputs: ['y'] }], output: 'y' }, { eps: 1e-3 });
  });
  it('PRelu with a per-channel slope', async () => {
    await expectGradients({ inputs: { x: [2, 3, 4], s: [3, 1] }, nodes: [{ op: 'PRelu', inputs: ['x', 's'], outputs: ['y'] }], output: 'y' }, { eps: 1e-3 });
  });
  it('Where routes each branch', async () => {
    await expectGradients({
      inputs: { a: [3, 4], b: [4] },
      floats: { zero: { dims: [], values: [0] } },
      nodes: [{ op: 'Greater', inputs: ['a', 'zero'], outputs: ['c'] }, { op: 'Where', inputs: ['c', 'a', 'b'], outputs: ['y'] }],
      output: 'y',
    }, { eps: 1e-3 });
  });
});

describe('Gemm and MatMul', () => {
  for (const transA of [0, 1]) {
    for (const transB of [0, 1]) {
      it(`Gemm transA=${transA} transB=${transB} alpha=0.5 beta=2 with a broadcast bias`, async () => {
        const a = transA ? [4, 3] : [3, 4], b = transB ? [5, 4] : [4, 5];
        await expectGradients({ inputs: { a, b, c: [1, 5] }, nodes: [{ op: 'Gemm', inputs: ['a', 'b', 'c'], outputs: ['y'], attrs: { transA, transB, alpha: { float: 0.5 }, beta: { float: 2 } } }], output: 'y' });
      });
    }
  }
  for (const [a, b] of [[[3, 4], [4, 5]], [[2, 1, 3, 4], [3, 4, 5]], [[4], [4, 5]], [[2, 3, 4], [4]], [[4], [4]]]) {
    it(`MatMul ${JSON.stringify(a)} × ${JSON.stringify(b)}`, async () => expectGradients(binary('MatMul', a, b)));
  }
});
