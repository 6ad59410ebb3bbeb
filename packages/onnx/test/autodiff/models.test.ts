// Whole models, written node for node the way the PyTorch exporters write them, against central
// finite differences of ⟨R, logits⟩ (harness.ts): the input gradient and several weight gradients
// of each. Weights are initializers, as exported, except where a test says otherwise.
//
// Steps and tolerances, with the worst relative error measured over seeds 1–10 (GRADIENT_ERRORS=1
// prints those of seed 1, the one the tests run):
// - Conv, Gemm, MatMul, inference-mode BatchNormalization, Relu and MaxPool make a piecewise-linear
//   network. With hundreds of Relu and MaxPool units, a random direction often passes a kink
//   within 1e-4 (one at 2.5e-5 was seen), where float32 differences are mostly rounding: plain
//   differences erred by up to 1e-1 at ε = 1e-3 and 3e-2 at ε = 1e-4. These models are
//   differenced on the linear piece x lies on (the harness's freezeKinks), which is exact at any
//   step: ε = 1, tolerance 1e-4 (measured ≤ 7e-6).
// - The attention block (GELU, Softmax, LayerNormalization) and training-mode BatchNormalization
//   (batch statistics) are curved: ε = 3e-3 and 2e-3 balance truncation against float32
//   rounding; tolerance 5e-3 (measured ≤ 2.6e-3 and 1.0e-3).
import { create } from '@bufbuild/protobuf';
import { TensorProto_DataType, TensorProtoSchema } from 'onnx-buf';
import { describe, it } from 'vitest';

import { type CheckOptions, expectGradientsWithin, type ModelSpec, type NodeSpec, randomTensor, rng } from './harness.js';

const PIECEWISE = { eps: 1, tolerance: 1e-4 };
const ATTENTION = { eps: 3e-3, tolerance: 5e-3 };
const TRAINING_BATCH_NORM = { eps: 2e-3, tolerance: 5e-3 };

type Floats = NonNullable<ModelSpec['floats']>;

/** Weights uniform in ±1/√fanIn, as PyTorch initializes them, so activations stay of order 1. */
function weight(dims: number[], seed: number, fanIn = dims.slice(1).reduce((a, b) => a * b, 1)): Floats[string] {
  const r = rng(seed), bound = 1 / Math.sqrt(fanIn);
  return { dims, values: Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => bound * (2 * r() - 1)) };
}

const filled = (dims: number[], value: number): Floats[string] => ({ dims, values: Array(dims.reduce((a, b) => a * b, 1)).fill(value) });

/** A Constant node holding an int64 tensor (TorchScript writes shape arithmetic this way). */
function int64Constant(output: string, values: number[], dims: number[] = [values.length]): NodeSpec {
  const tensor = create(TensorProtoSchema, { dataType: TensorProto_DataType.INT64, dims: dims.map(BigInt), int64Data: values.map(BigInt) });
  return { op: 'Constant', inputs: [], outputs: [output], attrs: { value: { tensor } } };
}

function floatConstant(output: string, value: number): NodeSpec {
  const tensor = create(TensorProtoSchema, { dataType: TensorProto_DataType.FLOAT, dims: [], floatData: [value] });
  return { op: 'Constant', inputs: [], outputs: [output], attrs: { value: { tensor } } };
}

const expectGradients = (spec: ModelSpec, wrt: string[], step: { eps: number; tolerance: number }, feeds: CheckOptions['feeds'] = {}) =>
  expectGradientsWithin(spec, { wrt, feeds, ...step, freezeKinks: true });

/** A CNN as the TorchScript exporter writes it at opset 17. */
function torchScriptCnn(): ModelSpec {
  return {
    inputs: { input: [2, 3, 6, 6] },
    floats: {
      'conv1.weight': weight([4, 3, 3, 3], 1), 'conv1.bias': weight([4], 2, 27),
      'fc1.weight': weight([16, 36], 3), 'fc1.bias': weight([16], 4, 36),
      'fc2.weight': weight([5, 16], 5), 'fc2.bias': weight([5], 6, 16),
    },
    nodes: [
      // A parameter read through Identity, as TorchScript writes shared or renamed weights.
      { op: 'Identity', inputs: ['conv1.weight'], outputs: ['onnx::Conv_20'] },
      { op: 'Conv', inputs: ['input', 'onnx::Conv_20', 'conv1.bias'], outputs: ['/conv1/Conv_output_0'], attrs: { dilations: [1, 1], group: 1, kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] } },
      { op: 'Relu', inputs: ['/conv1/Conv_output_0'], outputs: ['/relu/Relu_output_0'] },
      { op: 'MaxPool', inputs: ['/relu/Relu_output_0'], outputs: ['/pool/MaxPool_output_0'], attrs: { ceil_mode: 0, kernel_shape: [2, 2], pads: [0, 0, 0, 0], strides: [2, 2] } },
      // x.view(x.size(0), -1)
      { op: 'Shape', inputs: ['/pool/MaxPool_output_0'], outputs: ['/Shape_output_0'] },
      int64Constant('/Constant_output_0', [0], []),
      { op: 'Gather', inputs: ['/Shape_output_0', '/Constant_output_0'], outputs: ['/Gather_output_0'], attrs: { axis: 0 } },
      int64Constant('/Constant_1_output_0', [0]),
      { op: 'Unsqueeze', inputs: ['/Gather_output_0', '/Constant_1_output_0'], outputs: ['/Unsqueeze_output_0'] },
      int64Constant('/Constant_2_output_0', [-1]),
      { op: 'Concat', inputs: ['/Unsqueeze_output_0', '/Constant_2_output_0'], outputs: ['/Concat_output_0'], attrs: { axis: 0 } },
      { op: 'Reshape', inputs: ['/pool/MaxPool_output_0', '/Concat_output_0'], outputs: ['/Reshape_output_0'] },
      { op: 'Gemm', inputs: ['/Reshape_output_0', 'fc1.weight', 'fc1.bias'], outputs: ['/fc1/Gemm_output_0'], attrs: { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 } },
      { op: 'Relu', inputs: ['/fc1/Gemm_output_0'], outputs: ['/relu_1/Relu_output_0'] },
      { op: 'Gemm', inputs: ['/relu_1/Relu_output_0', 'fc2.weight', 'fc2.bias'], outputs: ['output'], attrs: { alpha: { float: 1 }, beta: { float: 1 }, transB: 1 } },
    ],
    output: 'output',
    opset: 17,
  };
}

/** A CNN as the dynamo exporter writes it at opset 18. */
function dynamoCnn(): ModelSpec {
  return {
    inputs: { x: [2, 3, 4, 4] },
    int64: { val_0: { dims: [2], values: [2, 3] }, val_1: { dims: [2], values: [-1, 6] } },
    floats: {
      'conv.weight': weight([6, 3, 3, 3], 11), 'conv.bias': weight([6], 12, 27),
      // The first linear layer's weight stored already transposed ([in, out]), the second
      // transposed in the graph.
      t: weight([6, 16], 13, 6), 'fc1.bias': weight([16], 14, 6),
      'fc2.weight': weight([5, 16], 15), 'fc2.bias': weight([5], 16, 16),
    },
    nodes: [
      { op: 'Conv', inputs: ['x', 'conv.weight', 'conv.bias'], outputs: ['conv2d'], attrs: { pads: [1, 1, 1, 1], strides: [1, 1], dilations: [1, 1], group: 1 } },
      { op: 'Relu', inputs: ['conv2d'], outputs: ['relu'] },
      { op: 'ReduceMean', inputs: ['relu', 'val_0'], outputs: ['mean'], attrs: { keepdims: 1 } },
      { op: 'Reshape', inputs: ['mean', 'val_1'], outputs: ['view'] },
      { op: 'MatMul', inputs: ['view', 't'], outputs: ['matmul'] },
      { op: 'Add', inputs: ['matmul', 'fc1.bias'], outputs: ['linear'] },
      { op: 'Relu', inputs: ['linear'], outputs: ['relu_1'] },
      { op: 'Transpose', inputs: ['fc2.weight'], outputs: ['t_1'], attrs: { perm: [1, 0] } },
      { op: 'MatMul', inputs: ['relu_1', 't_1'], outputs: ['matmul_1'] },
      { op: 'Add', inputs: ['matmul_1', 'fc2.bias'], outputs: ['linear_1'] },
    ],
    output: 'linear_1',
    opset: 18,
  };
}

describe('exported CNN classifiers', () => {
  it('TorchScript exporter, opset 17: Conv, Relu, MaxPool, Shape/Gather/Unsqueeze/Concat → Reshape, Gemm transB', async () => {
    await expectGradients(torchScriptCnn(), ['input', 'conv1.weight', 'conv1.bias', 'fc1.weight', 'fc2.bias'], PIECEWISE);
  });
  it('dynamo exporter, opset 18: ReduceMean with axes as an input, Reshape to [-1, k], MatMul + Add with transposed weights', async () => {
    await expectGradients(dynamoCnn(), ['x', 'conv.weight', 't', 'fc1.bias', 'fc2.weight'], PIECEWISE);
  });
});

/**
 * A one-block vision transformer on [2, 3, 8, 8]: 4×4 patches embedded by a strided Conv into 4
 * tokens of width 8, a class token, 2 heads of width 4, an MLP of width 16 and a 5-class head on
 * the class token. GELU is the Gelu op from opset 20, before that the Erf form PyTorch exports.
 */
function visionTransformer(opset: number): ModelSpec {
  const d = 8, hidden = 16, heads = 2, classes = 5;
  const gelu: NodeSpec[] = opset >= 20
    ? [{ op: 'Gelu', inputs: ['fc1'], outputs: ['gelu'] }]
    : [ // x * 0.5 * (1 + erf(x / √2))
      floatConstant('sqrt2', Math.SQRT2), floatConstant('one', 1), floatConstant('half', 0.5),
      { op: 'Div', inputs: ['fc1', 'sqrt2'], outputs: ['gelu_div'] },
      { op: 'Erf', inputs: ['gelu_div'], outputs: ['gelu_erf'] },
      { op: 'Add', inputs: ['gelu_erf', 'one'], outputs: ['gelu_add'] },
      { op: 'Mul', inputs: ['fc1', 'gelu_add'], outputs: ['gelu_mul'] },
      { op: 'Mul', inputs: ['gelu_mul', 'half'], outputs: ['gelu'] },
    ];
  /** x · W + b, with W stored [in, out]. */
  const linear = (x: string, w: string, out: string): NodeSpec[] => [
    { op: 'MatMul', inputs: [x, `${w}.weight`], outputs: [`${out}_mm`] },
    { op: 'Add', inputs: [`${out}_mm`, `${w}.bias`], outputs: [out] },
  ];
  /** [B, T, D] → [B, heads, T, D/heads], or with `transposed` [B, heads, D/heads, T] (keys). */
  const splitHeads = (x: string, out: string, transposed = false): NodeSpec[] => [
    { op: 'Reshape', inputs: [x, 'heads_shape'], outputs: [`${out}_4d`] },
    { op: 'Transpose', inputs: [`${out}_4d`], outputs: [out], attrs: { perm: transposed ? [0, 2, 3, 1] : [0, 2, 1, 3] } },
  ];
  let seed = 20;
  const params = (name: string, dims: number[], fanIn: number): Floats => ({ [`${name}.weight`]: weight(dims, seed++, fanIn), [`${name}.bias`]: weight([dims[dims.length - 1]], seed++, fanIn) });
  return {
    inputs: { image: [2, 3, 8, 8] },
    int64: {
      tokens_shape: { dims: [3], values: [0, d, -1] },
      heads_shape: { dims: [4], values: [0, 0, heads, d / heads] },
      merged_shape: { dims: [3], values: [0, 0, d] },
      ones_2: { dims: [2], values: [1, 1] },
      zero: { dims: [], values: [0] },
      axis_0: { dims: [1], values: [0] },
    },
    floats: {
      'patch.weight': weight([d, 3, 4, 4], seed++), 'patch.bias': weight([d], seed++, 48),
      cls_token: weight([1, 1, d], seed++, 1), pos_embed: weight([1, 5, d], seed++, 1),
      'norm1.weight': filled([d], 1), 'norm1.bias': filled([d], 0), 'norm2.weight': filled([d], 1), 'norm2.bias': filled([d], 0),
      ...params('q', [d, d], d), ...params('k', [d, d], d), ...params('v', [d, d], d), ...params('proj', [d, d], d),
      ...params('fc1', [d, hidden], d), ...params('fc2', [hidden, d], hidden),
      'head.weight': weight([classes, d], seed++), 'head.bias': weight([classes], seed++, d),
    },
    nodes: [
      { op: 'Conv', inputs: ['image', 'patch.weight', 'patch.bias'], outputs: ['patches'], attrs: { kernel_shape: [4, 4], strides: [4, 4] } },
      { op: 'Reshape', inputs: ['patches', 'tokens_shape'], outputs: ['patches_flat'] },
      { op: 'Transpose', inputs: ['patches_flat'], outputs: ['tokens'], attrs: { perm: [0, 2, 1] } },
      // cls_token.expand(B, -1, -1): Expand to [B, 1, 1] broadcasts the [1, 1, D] token.
      { op: 'Shape', inputs: ['image'], outputs: ['image_shape'] },
      { op: 'Gather', inputs: ['image_shape', 'zero'], outputs: ['batch'], attrs: { axis: 0 } },
      { op: 'Unsqueeze', inputs: ['batch', 'axis_0'], outputs: ['batch_1d'] },
      { op: 'Concat', inputs: ['batch_1d', 'ones_2'], outputs: ['cls_shape'], attrs: { axis: 0 } },
      { op: 'Expand', inputs: ['cls_token', 'cls_shape'], outputs: ['cls'] },
      { op: 'Concat', inputs: ['cls', 'tokens'], outputs: ['sequence'], attrs: { axis: 1 } },
      { op: 'Add', inputs: ['sequence', 'pos_embed'], outputs: ['h0'] },
      { op: 'LayerNormalization', inputs: ['h0', 'norm1.weight', 'norm1.bias'], outputs: ['n1'], attrs: { axis: -1, epsilon: { float: 1e-6 } } },
      ...linear('n1', 'q', 'q'), ...linear('n1', 'k', 'k'), ...linear('n1', 'v', 'v'),
      ...splitHeads('q', 'qh'), ...splitHeads('k', 'kht', true), ...splitHeads('v', 'vh'),
      { op: 'MatMul', inputs: ['qh', 'kht'], outputs: ['scores'] },
      floatConstant('sqrt_dh', Math.sqrt(d / heads)),
      { op: 'Div', inputs: ['scores', 'sqrt_dh'], outputs: ['scaled'] },
      { op: 'Softmax', inputs: ['scaled'], outputs: ['attention'], attrs: { axis: -1 } },
      { op: 'MatMul', inputs: ['attention', 'vh'], outputs: ['context_heads'] },
      { op: 'Transpose', inputs: ['context_heads'], outputs: ['context_4d'], attrs: { perm: [0, 2, 1, 3] } },
      { op: 'Reshape', inputs: ['context_4d', 'merged_shape'], outputs: ['context'] },
      ...linear('context', 'proj', 'attended'),
      { op: 'Add', inputs: ['h0', 'attended'], outputs: ['h1'] },
      { op: 'LayerNormalization', inputs: ['h1', 'norm2.weight', 'norm2.bias'], outputs: ['n2'], attrs: { axis: -1, epsilon: { float: 1e-6 } } },
      ...linear('n2', 'fc1', 'fc1'),
      ...gelu,
      ...linear('gelu', 'fc2', 'mlp'),
      { op: 'Add', inputs: ['h1', 'mlp'], outputs: ['h2'] },
      { op: 'Gather', inputs: ['h2', 'zero'], outputs: ['class_token'], attrs: { axis: 1 } },
      { op: 'Gemm', inputs: ['class_token', 'head.weight', 'head.bias'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
    output: 'logits',
    opset,
  };
}

describe('attention', () => {
  const wrt = ['image', 'patch.weight', 'cls_token', 'pos_embed', 'norm1.weight', 'q.weight', 'k.weight', 'v.bias', 'proj.weight', 'fc1.weight', 'fc2.bias', 'head.weight'];
  it('ViT block at opset 17 (Erf GELU)', async () => {
    await expectGradients(visionTransformer(17), wrt, ATTENTION);
  });
  it('ViT block at opset 20 (Gelu op)', async () => {
    await expectGradients(visionTransformer(20), wrt, ATTENTION);
  });
});

/**
 * A ResNet stem and basic block on [2, 3, 6, 6]: Conv-BN-Relu, an overlapping MaxPool (k3 s2 p1),
 * then Conv-BN-Relu-Conv-BN plus the identity, Relu, GlobalAveragePool and a 5-class Gemm. The
 * convolution and Gemm weights are graph inputs, as the trainer feeds them; the BatchNormalization
 * parameters stay initializers.
 */
function resnet(training: boolean): ModelSpec {
  const batchNorm = (x: string, name: string, out: string): NodeSpec => ({
    op: 'BatchNormalization',
    inputs: [x, `${name}.weight`, `${name}.bias`, `${name}.running_mean`, `${name}.running_var`],
    // ONNX requires the running statistics as outputs in training mode.
    outputs: training ? [out, `${name}.mean_out`, `${name}.var_out`] : [out],
    attrs: { epsilon: { float: 1e-5 }, momentum: { float: 0.9 }, training_mode: training ? 1 : 0 },
  });
  let seed = 50;
  const batchNormParams = (name: string, c: number): Floats => ({
    [`${name}.weight`]: { dims: [c], values: Array.from({ length: c }, (_, i) => 0.8 + 0.1 * i) },
    [`${name}.bias`]: weight([c], seed++, 1),
    [`${name}.running_mean`]: weight([c], seed++, 4),
    [`${name}.running_var`]: { dims: [c], values: Array.from({ length: c }, (_, i) => 0.5 + 0.25 * i) },
  });
  const conv = (x: string, w: string, out: string): NodeSpec => ({ op: 'Conv', inputs: [x, w], outputs: [out], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } });
  return {
    inputs: { x: [2, 3, 6, 6], 'conv1.weight': [4, 3, 3, 3], 'block.conv1.weight': [4, 4, 3, 3], 'block.conv2.weight': [4, 4, 3, 3], 'fc.weight': [5, 4] },
    floats: { ...batchNormParams('bn1', 4), ...batchNormParams('block.bn1', 4), ...batchNormParams('block.bn2', 4), 'fc.bias': weight([5], seed++, 4) },
    nodes: [
      conv('x', 'conv1.weight', 'c1'), batchNorm('c1', 'bn1', 'b1'),
      { op: 'Relu', inputs: ['b1'], outputs: ['r1'] },
      { op: 'MaxPool', inputs: ['r1'], outputs: ['stem'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
      conv('stem', 'block.conv1.weight', 'c2'), batchNorm('c2', 'block.bn1', 'b2'),
      { op: 'Relu', inputs: ['b2'], outputs: ['r2'] },
      conv('r2', 'block.conv2.weight', 'c3'), batchNorm('c3', 'block.bn2', 'b3'),
      { op: 'Add', inputs: ['b3', 'stem'], outputs: ['sum'] },
      { op: 'Relu', inputs: ['sum'], outputs: ['r3'] },
      { op: 'GlobalAveragePool', inputs: ['r3'], outputs: ['pooled'] },
      { op: 'Flatten', inputs: ['pooled'], outputs: ['features'] },
      { op: 'Gemm', inputs: ['features', 'fc.weight', 'fc.bias'], outputs: ['logits'], attrs: { transB: 1 } },
    ],
    output: 'logits',
    opset: 15,
  };
}

describe('ResNet basic block with BatchNormalization', () => {
  const wrt = ['x', 'conv1.weight', 'block.conv1.weight', 'block.conv2.weight', 'bn1.weight', 'block.bn2.bias', 'fc.weight'];
  const feeds = {
    'conv1.weight': randomTensor([4, 3, 3, 3], 61, -0.4, 0.4),
    'block.conv1.weight': randomTensor([4, 4, 3, 3], 62, -0.3, 0.3),
    'block.conv2.weight': randomTensor([4, 4, 3, 3], 63, -0.3, 0.3),
    'fc.weight': randomTensor([5, 4], 64, -0.5, 0.5),
  };
  it('inference mode (running statistics)', async () => {
    await expectGradients(resnet(false), wrt, PIECEWISE, feeds);
  });
  it('training mode (batch statistics, training_mode=1)', async () => {
    await expectGradients(resnet(true), wrt, TRAINING_BATCH_NORM, feeds);
  });
});
