// Pooling gradients against central finite differences.
// AveragePool and GlobalAveragePool are linear, so the difference is exact at any step but for the
// float32 rounding of the forward runs, which ε = 1 keeps small. MaxPool and GlobalMaxPool are
// piecewise linear: exact as long as no window's argmax changes within ±ε. Their inputs are a
// shuffled grid of distinct values in [−1, 1], spaced ≥ 2/size apart, and ε = 1e-3 with direction
// entries in [−1, 1] moves two values by at most 2e-3 relative to each other, so no argmax
// switches for sizes up to 1000 (uniform random inputs at ε = 1e-3 did switch one: 5% error; the
// spec measured 3% at ε = 1e-2). Tolerance: relative 1e-3 for both; run with GRADIENT_ERRORS=1
// to print the measured errors.
import { toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { buildGradientModel, GradientError } from '../../src/autodiff/gradient.js';
import { type AttrValue } from '../../src/autodiff/graph.js';
import { buildModel, checkGradients, type ModelSpec, randomTensor, rng } from './harness.js';

const TOLERANCE = 1e-3;
const LINEAR_EPS = 1;
const MAX_EPS = 1e-3;

async function expectGradients(label: string, spec: ModelSpec, eps: number, options: Parameters<typeof checkGradients>[1] = {}): Promise<void> {
  const results = await checkGradients(spec, { eps, ...options });
  for (const [name, r] of Object.entries(results)) {
    if (process.env.GRADIENT_ERRORS) console.log(`${label} ${name}: ${r.relativeError.toExponential(1)}`);
    expect(r.relativeError, `${name}: analytic ${r.analytic}, numeric ${r.numeric}`).toBeLessThan(TOLERANCE);
  }
}

/** Distinct values 2/size apart in [−1, 1], shuffled (at most 1000 of them; see above). */
function separated(dims: number[], seed: number): ort.Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n > 1000) throw new Error('too many values to keep them 2e-3 apart');
  const values = Array.from({ length: n }, (_, i) => -1 + (2 * i) / n);
  const r = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [values[i], values[j]] = [values[j], values[i]];
  }
  return new ort.Tensor('float32', Float32Array.from(values), dims);
}

const pool = (op: string, x: number[], attrs: Record<string, AttrValue> = {}, outputs = ['y'], opset?: number): ModelSpec =>
  ({ inputs: { x }, nodes: [{ op, inputs: ['x'], outputs, attrs }], output: 'y', ...(opset ? { opset } : {}) });

describe('MaxPool', () => {
  const cases: Array<[string, number[], Record<string, AttrValue>]> = [
    ['k3 s2 p1 (overlapping windows), ceil_mode 0', [2, 3, 10, 9], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }],
    ['k3 s2 p1, ceil_mode 1 (an extra partial window per axis)', [2, 3, 10, 9], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }],
    ['k3 s2, dilations [1,2], ceil_mode 1', [2, 3, 10, 11], { kernel_shape: [3, 3], strides: [2, 2], dilations: [1, 2], ceil_mode: 1 }],
    ['k2 s2 (non-overlapping)', [2, 3, 8, 6], { kernel_shape: [2, 2], strides: [2, 2] }],
    ['k3 s1, asymmetric pads [0,1,2,0]', [1, 2, 6, 7], { kernel_shape: [3, 3], pads: [0, 1, 2, 0] }],
    ['auto_pad SAME_UPPER, k3 s2', [1, 2, 7, 8], { kernel_shape: [3, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }],
  ];
  for (const [label, x, attrs] of cases) {
    it(label, async () => expectGradients(`MaxPool ${label}`, pool('MaxPool', x, attrs), MAX_EPS, { feeds: { x: separated(x, 1) } }));
  }
  it('1-D: k3 s2 p1, ceil_mode 1', async () => {
    await expectGradients('MaxPool 1-D', pool('MaxPool', [2, 3, 12], { kernel_shape: [3], strides: [2], pads: [1, 1], ceil_mode: 1 }), MAX_EPS, { feeds: { x: separated([2, 3, 12], 2) } });
  });
  it('when the model already asks for Indices', async () => {
    await expectGradients('MaxPool with Indices', pool('MaxPool', [2, 2, 6, 6], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, ['y', 'indices']), MAX_EPS, { feeds: { x: separated([2, 2, 6, 6], 3) } });
  });

  it("ORT's Indices count from the start of the whole tensor (batch and channel offsets included)", async () => {
    const x = randomTensor([2, 3, 4, 4], 5);
    const model = buildModel(pool('MaxPool', [2, 3, 4, 4], { kernel_shape: [4, 4] }, ['y', 'indices']));
    model.graph!.output.push({ ...model.graph!.output[0], name: 'indices' });
    const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, model));
    const { y, indices } = await session.run({ x });
    const data = x.data as Float32Array;
    Array.from(indices.data as BigInt64Array).forEach((index, plane) => {
      expect(Number(index)).toBeGreaterThanOrEqual(plane * 16);
      expect(Number(index)).toBeLessThan((plane + 1) * 16);
      expect(data[Number(index)]).toBe((y.data as Float32Array)[plane]);
    });
    await session.release();
  });

  it('refuses storage_order=1', async () => {
    const spec = pool('MaxPool', [1, 1, 4, 4], { kernel_shape: [2, 2], storage_order: 1 });
    await expect(checkGradients(spec)).rejects.toThrow(GradientError);
    await expect(checkGradients(spec)).rejects.toThrow(/storage_order=1/);
  });
});

describe('AveragePool', () => {
  for (const ceilMode of [0, 1]) {
    for (const countIncludePad of [0, 1]) {
      it(`k3 s2 p1, ceil_mode ${ceilMode}, count_include_pad ${countIncludePad}`, async () => {
        // 10 and 9: ceil_mode adds a window that runs past the end pad on the first axis only.
        const attrs = { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: ceilMode, count_include_pad: countIncludePad };
        await expectGradients(`AveragePool ceil ${ceilMode} cip ${countIncludePad}`, pool('AveragePool', [2, 3, 10, 9], attrs), LINEAR_EPS);
      });
    }
  }
  // The last window of each axis runs past the end pad (by 2 rows, by 1 column). (With 9 columns
  // a fourth window would start inside the end pad, which ORT drops: see 'ceil_mode windows that
  // ORT drops' below.)
  for (const countIncludePad of [0, 1]) {
    it(`k3 s3, asymmetric pads [2,0,0,1], ceil_mode 1, count_include_pad ${countIncludePad}`, async () => {
      const attrs = { kernel_shape: [3, 3], strides: [3, 3], pads: [2, 0, 0, 1], ceil_mode: 1, count_include_pad: countIncludePad };
      await expectGradients(`AveragePool asymmetric cip ${countIncludePad}`, pool('AveragePool', [1, 2, 8, 10], attrs), LINEAR_EPS);
    });
  }
  it('k2 s2 without padding (uniform divisor)', async () => {
    await expectGradients('AveragePool k2 s2', pool('AveragePool', [2, 3, 8, 6], { kernel_shape: [2, 2], strides: [2, 2] }), LINEAR_EPS);
  });
  it('stride 3 over a 2×2 window (the last input rows fall in no window)', async () => {
    await expectGradients('AveragePool k2 s3', pool('AveragePool', [1, 2, 10, 11], { kernel_shape: [2, 2], strides: [3, 3] }), LINEAR_EPS);
  });
  for (const countIncludePad of [0, 1]) {
    it(`auto_pad SAME_UPPER and SAME_LOWER, k4 s2 on odd sizes, count_include_pad ${countIncludePad}`, async () => {
      for (const autoPad of ['SAME_UPPER', 'SAME_LOWER']) {
        const attrs = { kernel_shape: [4, 4], strides: [2, 2], auto_pad: autoPad, count_include_pad: countIncludePad };
        await expectGradients(`AveragePool ${autoPad} cip ${countIncludePad}`, pool('AveragePool', [1, 2, 7, 9], attrs), LINEAR_EPS);
      }
    });
  }
  it('dilations [2,1] at opset 19, pads 1, ceil_mode 1, both count_include_pad', async () => {
    for (const countIncludePad of [0, 1]) {
      const attrs = { kernel_shape: [3, 2], strides: [2, 2], dilations: [2, 1], pads: [1, 1, 1, 1], ceil_mode: 1, count_include_pad: countIncludePad };
      await expectGradients(`AveragePool dilated cip ${countIncludePad}`, pool('AveragePool', [1, 2, 11, 8], attrs, ['y'], 19), LINEAR_EPS);
    }
  });
  it('1-D: k3 s2 p1, ceil_mode 1, count_include_pad 0', async () => {
    const attrs = { kernel_shape: [3], strides: [2], pads: [1, 1], ceil_mode: 1 };
    await expectGradients('AveragePool 1-D', pool('AveragePool', [2, 3, 10], attrs), LINEAR_EPS);
  });
});

// Under ceil_mode ORT's kernels drop a last window that would start in the end pad or past the
// input (k2 s2 p1 on 5 gives 3 windows, not the formula's 4), but the ONNX shape inference ORT
// runs when it loads a model counts it. The gradient model then declared values one element longer
// than they are next to the backward's exact shapes, and failed to load ("Incompatible
// dimensions"): at the loss head's cotangent, and at a Tanh's backward reading its (misdeclared)
// output. k3 s2 on 6 and 7, whose windows ORT and the formula agree on, guard the ordinary case.
describe('ceil_mode windows that ORT drops', () => {
  const geometries: Array<[string, number[], Record<string, AttrValue>]> = [
    ['k2 s2 p1 on 5×6 (dropped on the first axis only)', [2, 2, 5, 6], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }],
    ['k3 s3 p1 on 8×5', [2, 2, 8, 5], { kernel_shape: [3, 3], strides: [3, 3], pads: [1, 1, 1, 1], ceil_mode: 1 }],
    ['k2 s3 without pads on 6×9 (windows past the input)', [2, 2, 6, 9], { kernel_shape: [2, 2], strides: [3, 3], ceil_mode: 1 }],
    ['k3 s2 on 7×7 (no window dropped)', [2, 2, 7, 7], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }],
    ['k3 s2 p1 on 6×6 (no window dropped)', [2, 2, 6, 6], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 }],
  ];
  /** pool → Tanh → mean over the spatial axes → Gemm: the logits' shape no longer depends on the pool's. */
  const pooledClassifier = (op: string, x: number[], attrs: Record<string, AttrValue>): ModelSpec => ({
    inputs: { x },
    floats: { w: { dims: [3, x[1]], values: Array.from({ length: 3 * x[1] }, (_, i) => Math.sin(i + 1)) } },
    nodes: [
      { op, inputs: ['x'], outputs: ['p'], attrs },
      { op: 'Tanh', inputs: ['p'], outputs: ['t'] },
      { op: 'ReduceMean', inputs: ['t'], outputs: ['m'], attrs: { axes: [2, 3], keepdims: 0 } },
      { op: 'Gemm', inputs: ['m', 'w'], outputs: ['y'], attrs: { transB: 1 } },
    ],
    output: 'y',
  });
  for (const [label, x, attrs] of geometries) {
    it(`MaxPool ${label}`, async () => {
      const options = { feeds: { x: separated(x, 6) } };
      await expectGradients(`MaxPool ceil ${label}`, pool('MaxPool', x, attrs), MAX_EPS, options);
      await expectGradients(`MaxPool ceil ${label} classifier`, pooledClassifier('MaxPool', x, attrs), MAX_EPS, options);
    });
    it(`AveragePool ${label}, count_include_pad 0 and 1`, async () => {
      for (const countIncludePad of [0, 1]) {
        const averaged = { ...attrs, count_include_pad: countIncludePad };
        await expectGradients(`AveragePool ceil ${label} cip ${countIncludePad}`, pool('AveragePool', x, averaged), LINEAR_EPS);
        // Tanh makes the chain non-linear: ε = 1e-2 keeps its truncation error near 1e-5.
        await expectGradients(`AveragePool ceil ${label} cip ${countIncludePad} classifier`, pooledClassifier('AveragePool', x, averaged), 1e-2);
      }
    });
  }
  it('the pooled values are unchanged in the gradient model', async () => {
    for (const op of ['MaxPool', 'AveragePool']) {
      const attrs = { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1, ...(op === 'AveragePool' ? { count_include_pad: 1 } : {}) };
      const model = buildModel(pool(op, [2, 2, 5, 6], attrs));
      const x = randomTensor([2, 2, 5, 6], 7);
      const forward = await ort.InferenceSession.create(toBinary(ModelProtoSchema, model));
      const { y } = await forward.run({ x });
      const built = await buildGradientModel(model, { wrt: ['x'], head: { kind: 'dot' }, feeds: { x }, logits: 'y' });
      const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, built.model));
      const outputs = await session.run({ x, [built.cotangent!]: randomTensor([...y.dims], 8) });
      expect(outputs[built.logits].dims).toEqual(y.dims);
      // Within rounding: ORT's floor- and ceil-mode AveragePool kernels differ in the last bit.
      const pooled = outputs[built.logits].data as Float32Array;
      (y.data as Float32Array).forEach((v, i) => expect(pooled[i]).toBeCloseTo(v, 6));
      await forward.release();
      await session.release();
    }
  });
  it('a pool before the values differentiated (no backward through it) still loads', async () => {
    // Only the loss head meets the pool's misdeclared output here: w scales the pooled channels.
    const x = [2, 2, 5, 6];
    const spec: ModelSpec = {
      inputs: { x, w: [1, 2, 1, 1] },
      nodes: [
        { op: 'MaxPool', inputs: ['x'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], ceil_mode: 1 } },
        { op: 'Mul', inputs: ['p', 'w'], outputs: ['y'] },
      ],
      output: 'y',
    };
    await expectGradients('MaxPool ceil before the weight', spec, LINEAR_EPS, { wrt: ['w'] });
  });
});

describe('global pools', () => {
  it('GlobalAveragePool on [2, 3, 5, 4] and [2, 3, 7]', async () => {
    await expectGradients('GlobalAveragePool 2-D', pool('GlobalAveragePool', [2, 3, 5, 4]), LINEAR_EPS);
    await expectGradients('GlobalAveragePool 1-D', pool('GlobalAveragePool', [2, 3, 7]), LINEAR_EPS);
  });
  it('GlobalMaxPool on [2, 3, 5, 4] (distinct inputs: no ties)', async () => {
    await expectGradients('GlobalMaxPool', pool('GlobalMaxPool', [2, 3, 5, 4]), MAX_EPS, { feeds: { x: separated([2, 3, 5, 4], 4) } });
  });
  it('GlobalMaxPool splits the gradient evenly among tied maxima', async () => {
    const spec = pool('GlobalMaxPool', [1, 2, 2, 2]);
    const x = new ort.Tensor('float32', Float32Array.from([1, 3, 3, 0, /* channel 1: all tied */ 2, 2, 2, 2]), [1, 2, 2, 2]);
    const built = await buildGradientModel(buildModel(spec), { wrt: ['x'], head: { kind: 'dot' }, feeds: { x }, logits: 'y' });
    const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, built.model));
    const cotangent = new ort.Tensor('float32', Float32Array.from([4, 8]), [1, 2, 1, 1]);
    const outputs = await session.run({ x, [built.cotangent!]: cotangent });
    expect(Array.from(outputs[built.gradients.x].data as Float32Array)).toEqual([0, 2, 2, 0, 2, 2, 2, 2]);
    await session.release();
  });
});
