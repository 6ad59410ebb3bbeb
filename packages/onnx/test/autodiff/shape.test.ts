// Data movement and shape ops: every input gradient against central finite differences. Each
// model squares the op's output (Mul by itself), so the gradient checked also depends on the
// forward values. The loss is then quadratic in the step, for which the central difference is
// exact: what remains is float32 rounding of the forward, measured at 2e-8 to 5e-5 relative.
// Tolerance: relative 2e-3 at ε = 1e-2, as for the element-wise ops; a misrouted element gives
// errors of order 1.
import { describe, expect, it } from 'vitest';

import { GradientError } from '../../src/autodiff/gradient.js';
import { checkGradients, type ModelSpec, type NodeSpec, type CheckOptions, expectGradientsWithin } from './harness.js';

const TOLERANCE = 2e-3;
const EPS = 1e-2;

const expectGradients = (spec: ModelSpec, options: CheckOptions = {}) => expectGradientsWithin(spec, { eps: EPS, tolerance: TOLERANCE, ...options });

type Int64s = NonNullable<ModelSpec['int64']>;

/** x → op → square; `extra` int64 initializers feed the op's non-data inputs. */
function squared(op: string, dims: number[], inputs: string[], attrs: NodeSpec['attrs'] = {}, int64: Int64s = {}, opset?: number): ModelSpec {
  return {
    inputs: { x: dims },
    int64,
    nodes: [
      { op, inputs: ['x', ...inputs], outputs: ['t'], attrs },
      { op: 'Mul', inputs: ['t', 't'], outputs: ['y'] },
    ],
    output: 'y',
    ...(opset ? { opset } : {}),
  };
}

const vec = (values: number[]) => ({ dims: [values.length], values });

describe('reshaping ops', () => {
  it('Reshape with a -1 and a 0 (copy) in the shape', async () => {
    await expectGradients(squared('Reshape', [2, 3, 4], ['shape'], {}, { shape: vec([0, -1, 2]) }));
  });
  it('Flatten at axis 2', async () => expectGradients(squared('Flatten', [2, 3, 4, 5], [], { axis: 2 })));
  for (const opset of [13, 17]) {
    it(`Squeeze and Unsqueeze with axes inputs at opset ${opset}`, async () => {
      await expectGradients(squared('Squeeze', [3, 1, 4, 1], ['axes'], {}, { axes: vec([1, -1]) }, opset));
      await expectGradients(squared('Unsqueeze', [3, 4], ['axes'], {}, { axes: vec([0, -1]) }, opset));
    });
  }
  it('Squeeze without axes removes every 1', async () => expectGradients(squared('Squeeze', [1, 3, 1, 2], [], {}, {}, 13)));
});

describe('Transpose', () => {
  it('with a perm', async () => expectGradients(squared('Transpose', [2, 3, 4, 5], [], { perm: [2, 0, 3, 1] })));
  it('default (reversed axes)', async () => expectGradients(squared('Transpose', [2, 3, 4], [])));
});

describe('Concat and Split', () => {
  it('Concat of three inputs, one of them twice, on a negative axis', async () => {
    await expectGradients({
      inputs: { a: [2, 3, 4], b: [2, 3, 1] },
      nodes: [
        { op: 'Concat', inputs: ['a', 'b', 'a'], outputs: ['t'], attrs: { axis: -1 } },
        { op: 'Mul', inputs: ['t', 't'], outputs: ['y'] },
      ],
      output: 'y',
    });
  });
  it('Concat where only one input is differentiated', async () => {
    await expectGradients({
      inputs: { a: [3, 2], b: [4, 2] },
      nodes: [{ op: 'Concat', inputs: ['a', 'b'], outputs: ['t'], attrs: { axis: 0 } }, { op: 'Mul', inputs: ['t', 't'], outputs: ['y'] }],
      output: 'y',
    }, { wrt: ['b'] });
  });
  it('Split with a sizes input, one output downstream', async () => {
    await expectGradients({
      inputs: { x: [2, 7, 3] },
      int64: { sizes: vec([2, 4, 1]) },
      nodes: [
        { op: 'Split', inputs: ['x', 'sizes'], outputs: ['s0', 's1', 's2'], attrs: { axis: 1 } },
        { op: 'Mul', inputs: ['s1', 's1'], outputs: ['y'] },
      ],
      output: 'y',
    });
  });
  it('Split with num_outputs at opset 18, two of three outputs used', async () => {
    await expectGradients({
      inputs: { x: [4, 9] },
      nodes: [
        { op: 'Split', inputs: ['x'], outputs: ['s0', 's1', 's2'], attrs: { axis: -1, num_outputs: 3 } },
        { op: 'Mul', inputs: ['s0', 's2'], outputs: ['y'] },
      ],
      output: 'y',
      opset: 18,
    });
  });
  it('Split into equal parts (no sizes) at opset 13', async () => {
    await expectGradients({
      inputs: { x: [6, 2] },
      nodes: [
        { op: 'Split', inputs: ['x'], outputs: ['s0', 's1'] },
        { op: 'Mul', inputs: ['s0', 's1'], outputs: ['y'] },
      ],
      output: 'y',
      opset: 13,
    });
  });
});

describe('Slice', () => {
  const slice = (dims: number[], starts: number[], ends: number[], axes?: number[], steps?: number[], opset?: number): ModelSpec => {
    const int64: Int64s = { starts: vec(starts), ends: vec(ends) };
    if (axes) int64.axes = vec(axes);
    if (steps) int64.steps = vec(steps);
    const inputs = ['starts', 'ends', ...(axes ? ['axes'] : steps ? [''] : []), ...(steps ? ['steps'] : [])];
    return squared('Slice', dims, inputs, {}, int64, opset);
  };
  it('negative starts and clamped ends, no axes (step 1: a Pad)', async () => {
    await expectGradients(slice([5, 6], [-4, 1], [100, -1]));
  });
  it('step 2 on an axis subset', async () => expectGradients(slice([3, 7, 5], [1, 0], [7, 5], [1, -1], [2, 1])));
  it('step −1 (reversal) with the INT64_MIN-style end', async () => {
    await expectGradients(slice([4, 6], [-1], [-1e15], [1], [-1], 13));
  });
  it('step −2 from a clamped start, and step 3', async () => {
    await expectGradients(slice([4, 9, 3], [100, 1], [0, 9], [1, 0], [-2, 3]));
  });
  it('starts and ends from Constant nodes', async () => {
    await expectGradients({
      inputs: { x: [4, 5] },
      nodes: [
        { op: 'Constant', inputs: [], outputs: ['s'], attrs: { value_ints: [1] } },
        { op: 'Constant', inputs: [], outputs: ['e'], attrs: { value_ints: [4] } },
        { op: 'Constant', inputs: [], outputs: ['a'], attrs: { value_ints: [1] } },
        { op: 'Slice', inputs: ['x', 's', 'e', 'a'], outputs: ['t'] },
        { op: 'Mul', inputs: ['t', 't'], outputs: ['y'] },
      ],
      output: 'y',
    });
  });
  it('refuses starts computed in the graph', async () => {
    const spec: ModelSpec = {
      inputs: { x: [4, 5] },
      int64: { s: vec([1]), e: vec([3]), zero: vec([0]) },
      nodes: [
        { op: 'Add', inputs: ['s', 'zero'], outputs: ['s2'] },
        { op: 'Slice', inputs: ['x', 's2', 'e'], outputs: ['y'] },
      ],
      output: 'y',
    };
    await expect(checkGradients(spec)).rejects.toThrow(GradientError);
    await expect(checkGradients(spec)).rejects.toThrow(/computed in the graph/);
  });
});

describe('Pad', () => {
  const pad = (dims: number[], pads: number[], mode: string, opset?: number, axes?: number[]): ModelSpec => {
    const int64: Int64s = { pads: vec(pads) };
    if (axes) int64.axes = vec(axes);
    return squared('Pad', dims, axes ? ['pads', '', 'axes'] : ['pads'], { mode }, int64, opset);
  };
  it('constant, asymmetric pads', async () => expectGradients(pad([2, 3, 4], [0, 1, 2, 0, 3, 1], 'constant')));
  it('constant with a constant_value input', async () => {
    await expectGradients({
      inputs: { x: [3, 4] },
      int64: { pads: vec([1, 0, 2, 3]) },
      floats: { v: { dims: [], values: [0.5] } },
      nodes: [{ op: 'Pad', inputs: ['x', 'pads', 'v'], outputs: ['t'] }, { op: 'Mul', inputs: ['t', 't'], outputs: ['y'] }],
      output: 'y',
    });
  });
  it('constant with negative pads (cropping) mixed with padding', async () => {
    await expectGradients(pad([4, 5], [-1, 2, 1, -2], 'constant'));
  });
  it('constant with pads computed in the graph', async () => {
    await expectGradients({
      inputs: { x: [3, 4] },
      int64: { p: vec([1, 0, 2, 3]), zero: vec([0]) },
      nodes: [
        { op: 'Add', inputs: ['p', 'zero'], outputs: ['pads'] },
        { op: 'Pad', inputs: ['x', 'pads'], outputs: ['t'] },
        { op: 'Mul', inputs: ['t', 't'], outputs: ['y'] },
      ],
      output: 'y',
    });
  });
  it('reflect', async () => expectGradients(pad([2, 4, 5], [0, 2, 3, 0, 3, 1], 'reflect')));
  it('edge', async () => expectGradients(pad([2, 3, 4], [0, 2, 1, 1, 0, 3], 'edge')));
  it('wrap with an axes input at opset 19', async () => expectGradients(pad([2, 3, 4], [2, 1, 3, 0], 'wrap', 19, [-1, 1])));
  it('reflect with an axes input at opset 18', async () => expectGradients(pad([2, 3, 4], [1, 2], 'reflect', 18, [2])));
});

describe('Expand and Tile', () => {
  it('Expand with a broadcast and a new leading axis', async () => {
    await expectGradients(squared('Expand', [3, 1, 4], ['shape'], {}, { shape: vec([2, 1, 5, 4]) }));
  });
  it('Tile', async () => expectGradients(squared('Tile', [2, 3, 1], ['repeats'], {}, { repeats: vec([3, 1, 4]) })));
});

describe('Gather and GatherElements', () => {
  const gather = (dims: number[], indices: { dims: number[]; values: number[] }, axis: number): ModelSpec =>
    squared('Gather', dims, ['i'], { axis }, { i: indices });
  it('axis 0 with repeated indices (accumulation)', async () => {
    await expectGradients(gather([5, 3], { dims: [2, 3], values: [1, 4, 1, 0, 1, 4] }, 0));
  });
  it('axis 1 with negative indices', async () => expectGradients(gather([2, 6, 3], vec([-1, 2, -6, -1]), 1)));
  it('a scalar index (a class token, x[:, 0])', async () => expectGradients(gather([2, 5, 4], { dims: [], values: [0] }, 1)));
  it('contiguous indices (a shift: one Pad)', async () => expectGradients(gather([2, 6], vec([2, 3, 4]), -1)));
  it('indices computed in the graph, negative and repeated', async () => {
    await expectGradients({
      inputs: { x: [3, 5] },
      int64: { i: { dims: [2, 2], values: [1, 4, 1, 0] } },
      nodes: [
        { op: 'Neg', inputs: ['i'], outputs: ['ni'] },
        { op: 'Gather', inputs: ['x', 'ni'], outputs: ['t'], attrs: { axis: 1 } },
        { op: 'Mul', inputs: ['t', 't'], outputs: ['y'] },
      ],
      output: 'y',
    });
  });
  it('a computed scalar index', async () => {
    await expectGradients({
      inputs: { x: [4, 3] },
      int64: { i: { dims: [], values: [2] } },
      nodes: [
        { op: 'Neg', inputs: ['i'], outputs: ['ni'] },
        { op: 'Gather', inputs: ['x', 'ni'], outputs: ['t'] },
        { op: 'Mul', inputs: ['t', 't'], outputs: ['y'] },
      ],
      output: 'y',
    });
  });
  it('GatherElements with negative and repeated indices', async () => {
    await expectGradients(squared('GatherElements', [3, 4], ['i'], { axis: 1 }, { i: { dims: [3, 5], values: [0, 3, -1, 3, 1, 2, 2, 2, -4, 0, 1, 1, 0, 0, 3] } }));
  });
  it('GatherElements on axis 0 with int32 indices computed in the graph', async () => {
    await expectGradients({
      inputs: { x: [3, 2] },
      int64: { i: { dims: [4, 2], values: [0, 2, 1, 1, 2, 0, 0, 0] } },
      nodes: [
        { op: 'Cast', inputs: ['i'], outputs: ['i32'], attrs: { to: 6 } },
        { op: 'GatherElements', inputs: ['x', 'i32'], outputs: ['t'], attrs: { axis: 0 } },
        { op: 'Mul', inputs: ['t', 't'], outputs: ['y'] },
      ],
      output: 'y',
    });
  });
});

describe('a ViT-style head through several rules', () => {
  it('Concat(class token) → Transpose → Gather(scalar) and Slice → Unsqueeze → Mul', async () => {
    await expectGradients({
      inputs: { x: [2, 4, 6], cls: [2, 4, 1] },
      int64: { idx: { dims: [], values: [0] }, s: vec([1]), e: vec([4]), a: vec([1]) },
      nodes: [
        { op: 'Concat', inputs: ['cls', 'x'], outputs: ['tokens'], attrs: { axis: 2 } },
        { op: 'Transpose', inputs: ['tokens'], outputs: ['tt'], attrs: { perm: [0, 2, 1] } },
        { op: 'Gather', inputs: ['tt', 'idx'], outputs: ['first'], attrs: { axis: 1 } },
        { op: 'Slice', inputs: ['tt', 's', 'e', 'a'], outputs: ['rest'] },
        { op: 'Unsqueeze', inputs: ['first', 'a'], outputs: ['first3'] },
        { op: 'Mul', inputs: ['rest', 'first3'], outputs: ['y'] },
      ],
      output: 'y',
    }, { wrt: ['x', 'cls'] });
  });
});
