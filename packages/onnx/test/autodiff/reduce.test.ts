// Reduce* ops against central finite differences: ReduceSum (axes input from opset 13) and the
// other Reduce ops with their axes attribute (opset 17) and axes input (opset 18), keepdims on and
// off, empty axes with and without noop_with_empty_axes, axes from initializers, Constant nodes
// and values computed at run time.
// Tolerance: relative 2e-3. ReduceSum and ReduceMean are linear (the central difference is exact
// up to float32 rounding) and take ε = 1e-2; ReduceMax/Min/L1 have kinks and take ε = 1e-3 on
// random inputs whose extremes and signs stay put under that step. Measured: 2e-8 to 3e-6 for the
// linear ops, up to 4e-4 for the others (ReduceL2, ReduceL1); a misrouted element gives errors of
// order 1. GRADIENT_ERRORS=1 prints each one.
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { buildGradientModel, GradientError } from '../../src/autodiff/gradient.js';
import { buildModel, checkGradients, type ModelSpec, type NodeSpec, randomTensor, type CheckOptions, expectGradientsWithin } from './harness.js';

const TOLERANCE = 2e-3;
const EPS = 1e-2;

const expectGradients = (spec: ModelSpec, options: CheckOptions = {}) => expectGradientsWithin(spec, { eps: EPS, tolerance: TOLERANCE, ...options });

const vec = (values: number[]) => ({ dims: [values.length], values });

/** x [dims] → op → y, with the axes as an int64 initializer input (undefined: no axes input). */
function withAxesInput(op: string, dims: number[], axes: number[] | undefined, attrs: NodeSpec['attrs'], opset: number): ModelSpec {
  return {
    inputs: { x: dims },
    int64: axes ? { axes: vec(axes) } : {},
    nodes: [{ op, inputs: axes ? ['x', 'axes'] : ['x'], outputs: ['y'], attrs }],
    output: 'y',
    opset,
  };
}

/** The same op in its pre-18 form, axes as an attribute (undefined: reduce over everything). */
function withAxesAttribute(op: string, dims: number[], axes: number[] | undefined, attrs: NodeSpec['attrs'], opset: number): ModelSpec {
  return { inputs: { x: dims }, nodes: [{ op, inputs: ['x'], outputs: ['y'], attrs: { ...attrs, ...(axes ? { axes } : {}) } }], output: 'y', opset };
}

/** The form each op takes at `opset`: ReduceSum has an axes input from 13, the others from 18. */
function reduceSpec(op: string, dims: number[], axes: number[] | undefined, attrs: NodeSpec['attrs'], opset: number): ModelSpec {
  return op === 'ReduceSum' || opset >= 18 ? withAxesInput(op, dims, axes, attrs, opset) : withAxesAttribute(op, dims, axes, attrs, opset);
}

const CASES: Array<{ axes: number[] | undefined; keepdims: number }> = [
  { axes: [1], keepdims: 1 },
  { axes: [1], keepdims: 0 },
  { axes: [-1, 0], keepdims: 0 },
  { axes: [0, 2], keepdims: 1 },
  { axes: undefined, keepdims: 0 },
  { axes: undefined, keepdims: 1 },
];

describe('ReduceSum and ReduceMean', () => {
  const forms: Array<[string, number]> = [['ReduceSum', 13], ['ReduceSum', 18], ['ReduceMean', 13], ['ReduceMean', 17], ['ReduceMean', 18]];
  for (const [op, opset] of forms) {
    for (const { axes, keepdims } of CASES) {
      it(`${op} at opset ${opset}, axes ${axes ? JSON.stringify(axes) : 'absent'}, keepdims ${keepdims}`, async () => {
        await expectGradients(reduceSpec(op, [2, 3, 4], axes, { keepdims }, opset));
      });
    }
  }
  for (const [op, opset] of [['ReduceSum', 13], ['ReduceMean', 18]] as const) {
    it(`${op} at opset ${opset} with noop_with_empty_axes: no axes input and an empty one are the identity`, async () => {
      for (const keepdims of [0, 1]) {
        await expectGradients(withAxesInput(op, [3, 4], undefined, { keepdims, noop_with_empty_axes: 1 }, opset));
        await expectGradients(withAxesInput(op, [3, 4], [], { keepdims, noop_with_empty_axes: 1 }, opset));
      }
    });
  }
  it('ReduceSum with an empty axes input and noop_with_empty_axes=0 reduces everything', async () => {
    await expectGradients(withAxesInput('ReduceSum', [3, 4], [], { keepdims: 0 }, 13));
  });
  it('ReduceMean at opset 18 with axes from a Constant node, keepdims 0', async () => {
    await expectGradients({
      inputs: { x: [2, 3, 4] },
      nodes: [
        { op: 'Constant', inputs: [], outputs: ['axes'], attrs: { value_ints: [2] } },
        { op: 'ReduceMean', inputs: ['x', 'axes'], outputs: ['y'], attrs: { keepdims: 0 } },
      ],
      output: 'y',
      opset: 18,
    });
  });
  it('ReduceSum as part of a chain (mean-centring: x − ReduceMean(x))', async () => {
    await expectGradients({
      inputs: { x: [4, 5] },
      int64: { axes: vec([1]) },
      nodes: [
        { op: 'ReduceMean', inputs: ['x', 'axes'], outputs: ['m'], attrs: { keepdims: 1 } },
        { op: 'Sub', inputs: ['x', 'm'], outputs: ['c'] },
        { op: 'Mul', inputs: ['c', 'c'], outputs: ['s'] },
        { op: 'ReduceSum', inputs: ['s', 'axes'], outputs: ['y'], attrs: { keepdims: 0 } },
      ],
      output: 'y',
      opset: 18,
    });
  });
});

describe('axes computed at run time', () => {
  // axes = one + zero: an int64 Add, which is no initializer or Constant the builder could read.
  const computed = (dims: number[], one: number, keepdims: number): ModelSpec => ({
    inputs: { x: dims },
    int64: { one: vec([one]), zero: vec([0]) },
    nodes: [
      { op: 'Add', inputs: ['one', 'zero'], outputs: ['axes'] },
      { op: 'ReduceSum', inputs: ['x', 'axes'], outputs: ['y'], attrs: { keepdims } },
    ],
    output: 'y',
    opset: 13,
  });
  it('keepdims=1 needs no axes: Y has the keepdims shape', async () => expectGradients(computed([3, 3, 4], 1, 1)));
  it('keepdims=0 where the dims leave one possibility ([2, 3, 4] → [2, 4])', async () => expectGradients(computed([2, 3, 4], 1, 0)));
  it('keepdims=0 where sizes of 1 make no difference ([2, 1, 1, 4] → [2, 1, 4])', async () => expectGradients(computed([2, 1, 1, 4], 1, 0)));
  it('keepdims=0 where the dims are ambiguous ([3, 3, 4] → [3, 4]) is refused', async () => {
    await expect(checkGradients(computed([3, 3, 4], 1, 0))).rejects.toThrow(GradientError);
    await expect(checkGradients(computed([3, 3, 4], 1, 0))).rejects.toThrow(/axes computed at run time/);
  });
});

describe('ReduceMax, ReduceMin, ReduceL1, ReduceL2, ReduceSumSquare, ReduceLogSumExp, ReduceLogSum', () => {
  const kinked = new Set(['ReduceMax', 'ReduceMin', 'ReduceL1']);
  for (const op of ['ReduceMax', 'ReduceMin', 'ReduceL1', 'ReduceL2', 'ReduceSumSquare', 'ReduceLogSumExp', 'ReduceLogSum']) {
    for (const opset of [17, 18]) {
      it(`${op} at opset ${opset}, axes [1] and [0, 2], keepdims 0 and 1`, async () => {
        // ReduceLogSum takes logs of sums: keep the inputs positive.
        const feeds = op === 'ReduceLogSum' ? { x: randomTensor([2, 3, 4], 11, 0.5, 2) } : undefined;
        const options = { ...(kinked.has(op) ? { eps: 1e-3 } : {}), ...(feeds ? { feeds } : {}) };
        for (const axes of [[1], [0, 2]]) {
          for (const keepdims of [0, 1]) await expectGradients(reduceSpec(op, [2, 3, 4], axes, { keepdims }, opset), options);
        }
        await expectGradients(reduceSpec(op, [2, 3, 4], undefined, { keepdims: 0 }, opset), options);
      });
    }
  }

  it('ReduceMax shares the gradient among tied maxima; ReduceL2 of a zero row gives zero, not NaN', async () => {
    const run = async (op: string, values: number[]) => {
      const spec = withAxesInput(op, [2, 3], [1], { keepdims: 0 }, 18);
      const feeds = { x: new ort.Tensor('float32', Float32Array.from(values), [2, 3]) };
      const built = await buildGradientModel(buildModel(spec), { wrt: ['x'], head: { kind: 'dot' }, feeds, logits: 'y' });
      const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, built.model));
      const out = await session.run({ ...feeds, [built.cotangent!]: new ort.Tensor('float32', Float32Array.from([2, 3]), [2]) });
      await session.release();
      return Array.from(out[built.gradients.x].data as Float32Array);
    };
    expect(await run('ReduceMax', [1, 3, 3, 2, 0, 1])).toEqual([0, 1, 1, 3, 0, 0]);
    expect(await run('ReduceMin', [5, 5, 5, 2, 0, 1])).toEqual([2 / 3, 2 / 3, 2 / 3, 0, 3, 0].map(Math.fround));
    const l2 = await run('ReduceL2', [0, 0, 0, 3, 0, 4]);
    [0, 0, 0, 3 * 3 / 5, 0, 3 * 4 / 5].forEach((v, i) => expect(l2[i]).toBeCloseTo(v, 6));
  });
});

