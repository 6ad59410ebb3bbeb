// BatchNormalization (inference and training mode), LayerNormalization and Dropout against central
// finite differences. In training mode the forward of the difference is ORT's own training_mode=1
// kernel, whose batch statistics move with the input just as the analytic gradient assumes.
// Tolerance: relative 2e-3 at ε = 1e-2; the normalisations are smooth for variances well away from
// 0 (inputs uniform in [−1, 1], running variances in [0.5, 2]); measured errors are 6e-7 to 4e-4.
// GRADIENT_ERRORS=1 prints each one.
import { create, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, TensorProto_DataType, TensorProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { buildGradientModel, GradientError } from '../../src/autodiff/gradient.js';
import { buildModel, checkGradients, type ModelSpec, type NodeSpec, randomTensor, type CheckOptions, expectGradientsWithin } from './harness.js';

const TOLERANCE = 2e-3;
const EPS = 1e-2;

const expectGradients = (spec: ModelSpec, options: CheckOptions = {}) => expectGradientsWithin(spec, { eps: EPS, tolerance: TOLERANCE, ...options });

describe('BatchNormalization', () => {
  /** x → BatchNormalization(scale, bias, mean, var) → y, every operand a float graph input. */
  const batchNorm = (dims: number[], attrs: NodeSpec['attrs'], opset: number, outputs = ['y']): ModelSpec => {
    const c = [dims[1]];
    return {
      inputs: { x: dims, scale: c, bias: c, mean: c, var: c },
      nodes: [{ op: 'BatchNormalization', inputs: ['x', 'scale', 'bias', 'mean', 'var'], outputs, attrs }],
      output: 'y',
      opset,
    };
  };
  // The running variance must be positive; the running mean and variance get no gradient (they are
  // statistics, not parameters), so only x, scale and bias are differentiated.
  const feedsFor = (dims: number[]) => ({ var: randomTensor([dims[1]], 9, 0.5, 2) });
  const wrt = ['x', 'scale', 'bias'];

  for (const opset of [13, 15, 17]) {
    it(`inference mode on [2, 3, 4, 5] at opset ${opset}, epsilon 1e-3`, async () => {
      await expectGradients(batchNorm([2, 3, 4, 5], { epsilon: { float: 1e-3 } }, opset), { wrt, feeds: feedsFor([2, 3, 4, 5]) });
    });
  }
  it('inference mode on [4, 3] (no spatial axes) and with training_mode=0 spelled out', async () => {
    await expectGradients(batchNorm([4, 3], { training_mode: 0 }, 15), { wrt, feeds: feedsFor([4, 3]) });
  });
  it('inference mode, differentiating only x', async () => {
    await expectGradients(batchNorm([2, 3, 4, 5], {}, 15), { wrt: ['x'], feeds: feedsFor([2, 3, 4, 5]) });
  });

  // ONNX requires the three outputs in training mode.
  const training = ['y', 'running_mean', 'running_var'];
  it('training mode on [2, 3, 4, 5] at opset 15', async () => {
    await expectGradients(batchNorm([2, 3, 4, 5], { training_mode: 1, momentum: { float: 0.9 } }, 15, training), { wrt, feeds: feedsFor([2, 3, 4, 5]) });
  });
  it('training mode with the running statistics unnamed gives the same gradients', async () => {
    // ORT 1.29 crashes running such a node, so the forward of a finite difference cannot run it;
    // the builder names the outputs, and its gradients must equal those of the named model.
    const feeds = { ...Object.fromEntries(['x', 'scale', 'bias', 'mean'].map((n, i) => [n, randomTensor(n === 'x' ? [2, 3, 4] : [3], 20 + i)])), ...feedsFor([2, 3, 4]) };
    const cotangent = randomTensor([2, 3, 4], 30);
    const gradients = async (outputs: string[]) => {
      const built = await buildGradientModel(buildModel(batchNorm([2, 3, 4], { training_mode: 1 }, 15, outputs)), { wrt, head: { kind: 'dot' }, feeds, logits: 'y' });
      const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, built.model));
      const out = await session.run({ ...feeds, [built.cotangent!]: cotangent });
      await session.release();
      return wrt.map((w) => Array.from(out[built.gradients[w]].data as Float32Array));
    };
    expect(await gradients(['y', '', ''])).toEqual(await gradients(training));
  });
  it('training mode on [8, 3] at opset 14 and on [2, 3, 4, 5] at opset 17', async () => {
    await expectGradients(batchNorm([8, 3], { training_mode: 1 }, 14, training), { wrt, feeds: feedsFor([8, 3]) });
    await expectGradients(batchNorm([2, 3, 4, 5], { training_mode: 1, epsilon: { float: 1e-3 } }, 17, training), { wrt, feeds: feedsFor([2, 3, 4, 5]) });
  });
  it('training mode, differentiating only x, after a Mul so dY is not the cotangent itself', async () => {
    // x² has a small batch variance here, so the curvature is high: the error at ε = 1e-2 is
    // truncation (2.5e-3, falling to 2.8e-4 at 3e-3 and 6e-6 at 1e-3), hence ε = 1e-3.
    await expectGradients({
      inputs: { x: [4, 3, 2], scale: [3], bias: [3], mean: [3], var: [3] },
      nodes: [
        { op: 'Mul', inputs: ['x', 'x'], outputs: ['s'] },
        { op: 'BatchNormalization', inputs: ['s', 'scale', 'bias', 'mean', 'var'], outputs: ['t', 'running_mean', 'running_var'], attrs: { training_mode: 1 } },
        { op: 'Tanh', inputs: ['t'], outputs: ['y'] },
      ],
      output: 'y',
      opset: 15,
    }, { wrt: ['x'], feeds: feedsFor([4, 3, 2]), eps: 1e-3 });
  });

  it('refuses a gradient through the running statistics', async () => {
    const spec: ModelSpec = {
      ...batchNorm([4, 3], { training_mode: 1 }, 15, ['t', 'running_mean', 'running_var']),
      nodes: [
        { op: 'BatchNormalization', inputs: ['x', 'scale', 'bias', 'mean', 'var'], outputs: ['t', 'running_mean', 'running_var'], attrs: { training_mode: 1 } },
        { op: 'Add', inputs: ['t', 'running_mean'], outputs: ['y'] },
      ],
    };
    await expect(checkGradients(spec, { wrt: ['x'], feeds: feedsFor([4, 3]) })).rejects.toThrow(GradientError);
    await expect(checkGradients(spec, { wrt: ['x'], feeds: feedsFor([4, 3]) })).rejects.toThrow(/running mean\/variance/);
  });
});

describe('LayerNormalization', () => {
  const layerNorm = (dims: number[], axis: number | undefined, bias: boolean, opset = 17, outputs = ['y']): ModelSpec => {
    const rank = dims.length;
    const normalised = dims.slice(axis === undefined ? -1 : axis < 0 ? rank + axis : axis);
    return {
      inputs: { x: dims, scale: normalised, ...(bias ? { bias: normalised } : {}) },
      nodes: [{ op: 'LayerNormalization', inputs: bias ? ['x', 'scale', 'bias'] : ['x', 'scale'], outputs, attrs: axis === undefined ? {} : { axis } }],
      output: 'y',
      opset,
    };
  };
  for (const axis of [-1, 1, undefined]) {
    for (const bias of [true, false]) {
      it(`axis ${axis ?? 'default (−1)'} on [2, 3, 4] ${bias ? 'with' : 'without'} bias`, async () => {
        await expectGradients(layerNorm([2, 3, 4], axis, bias));
      });
    }
  }
  it('axis 0 (everything normalised) at opset 18, with epsilon 1e-3', async () => {
    const spec = layerNorm([3, 5], 0, true, 18);
    spec.nodes[0].attrs = { axis: 0, epsilon: { float: 1e-3 } };
    await expectGradients(spec);
  });
  it('a scale broadcast along the normalised axes ([1, 4] for axis 1 of [2, 3, 4])', async () => {
    await expectGradients({
      inputs: { x: [2, 3, 4], scale: [1, 4], bias: [4] },
      nodes: [{ op: 'LayerNormalization', inputs: ['x', 'scale', 'bias'], outputs: ['y'], attrs: { axis: 1 } }],
      output: 'y',
      opset: 17,
    });
  });
  it('a node that already lists its Mean output (unused downstream)', async () => {
    await expectGradients(layerNorm([2, 3, 4], -1, true, 17, ['y', 'mean']));
  });
  it('after a Mul, so dY and the input are not the plain cotangent and x', async () => {
    await expectGradients({
      inputs: { x: [2, 6], scale: [6] },
      nodes: [
        { op: 'Mul', inputs: ['x', 'x'], outputs: ['s'] },
        { op: 'LayerNormalization', inputs: ['s', 'scale'], outputs: ['t'] },
        { op: 'Tanh', inputs: ['t'], outputs: ['y'] },
      ],
      output: 'y',
      opset: 17,
    });
  });
  it('refuses a gradient through the Mean output', async () => {
    const spec: ModelSpec = {
      inputs: { x: [2, 4], scale: [4] },
      nodes: [
        { op: 'LayerNormalization', inputs: ['x', 'scale'], outputs: ['t', 'mean'] },
        { op: 'Add', inputs: ['t', 'mean'], outputs: ['y'] },
      ],
      output: 'y',
      opset: 17,
    };
    await expect(checkGradients(spec)).rejects.toThrow(/Mean\/InvStdDev/);
  });
});

describe('Dropout', () => {
  const bool = (value: boolean) => ({ tensor: create(TensorProtoSchema, { dataType: TensorProto_DataType.BOOL, dims: [], int32Data: [value ? 1 : 0] }) });
  /** x·x → Dropout(ratio 0.3, training_mode from `mode`) → y. */
  const dropout = (mode: NodeSpec[] | undefined, outputs = ['y']): ModelSpec => ({
    inputs: { x: [3, 4] },
    floats: { ratio: { dims: [], values: [0.3] }, zero: { dims: [], values: [0] } },
    nodes: [
      { op: 'Mul', inputs: ['x', 'x'], outputs: ['s'] },
      ...(mode ?? []),
      { op: 'Dropout', inputs: mode ? ['s', 'ratio', 'mode'] : ['s', 'ratio'], outputs },
    ],
    output: 'y',
    opset: 13,
  });
  it('inference mode (no training_mode input) is the identity, with and without the mask output', async () => {
    await expectGradients(dropout(undefined));
    await expectGradients(dropout(undefined, ['y', 'mask']));
  });
  it('training_mode a constant false is the identity', async () => {
    await expectGradients(dropout([{ op: 'Constant', inputs: [], outputs: ['mode'], attrs: { value: bool(false) } }]));
  });
  it('refuses training_mode a constant true: training feeds the mask as an input', async () => {
    const spec = dropout([{ op: 'Constant', inputs: [], outputs: ['mode'], attrs: { value: bool(true) } }]);
    await expect(checkGradients(spec)).rejects.toThrow(GradientError);
    await expect(checkGradients(spec)).rejects.toThrow(/training_mode=true.*mask as an input/);
  });
  it('refuses training_mode computed at run time', async () => {
    const spec = dropout([{ op: 'Greater', inputs: ['ratio', 'zero'], outputs: ['mode'] }]);
    await expect(checkGradients(spec)).rejects.toThrow(/training_mode computed at run time/);
  });
});
