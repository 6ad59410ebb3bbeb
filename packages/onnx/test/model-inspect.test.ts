import { create } from '@bufbuild/protobuf';
import { OperatorSetIdProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { formatInspection, GRADIENT_OPS, inspectModel } from '@onnx-audit/onnx';

import { cnn, mlp, node } from './fixtures/models.js';

describe('inspectModel', () => {
  it('describes the MLP: symbolic batch, Softmax at the end, every op differentiable', () => {
    const report = inspectModel(mlp());
    expect(report).toEqual({
      irVersion: 8,
      producer: 'onnx-audit-test 0.1',
      opsets: [{ domain: 'ai.onnx', version: 13 }],
      inputs: [{ name: 'X', dtype: 'float32', shape: ['N', 4] }],
      outputs: [{ name: 'probs', dtype: 'float32', shape: ['N', 3] }],
      ops: { Gemm: 2, Relu: 1, Softmax: 1 },
      parameterCount: 67,
      classes: 3,
      endsInSoftmax: { node: 'softmax', axis: -1 },
      endsInLogSoftmax: null,
      unsupportedForGradients: [],
    });
    expect(formatInspection(report)).toBe(
      [
        'ONNX IR 8, producer onnx-audit-test 0.1; opsets ai.onnx 13',
        'inputs:  X float32 [N,4]',
        'outputs: probs float32 [N,3] (3 classes)',
        'parameters: 67',
        'ops: 4 nodes: Gemm 2, Relu 1, Softmax 1',
        "ends in Softmax (node 'softmax'): attacks and metrics use its input logits",
        'gradients: every op is differentiable',
      ].join('\n'),
    );
  });

  it('describes the CNN: logits output, no Softmax', () => {
    const report = inspectModel(cnn());
    expect(report.inputs).toEqual([{ name: 'X', dtype: 'float32', shape: ['batch', 1, 8, 8] }]);
    expect(report.ops).toEqual({ Conv: 1, Relu: 1, MaxPool: 1, Flatten: 1, Gemm: 1 });
    expect(report.parameterCount).toBe(350);
    expect(report.classes).toBe(10);
    expect(report.endsInSoftmax).toBeNull();
    expect(report.unsupportedForGradients).toEqual([]);
    expect(formatInspection(report)).toContain('inputs:  X float32 [batch,1,8,8]');
  });

  it('lists ops without gradients by node, domain-qualified outside ai.onnx', () => {
    const m = mlp();
    m.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: 'com.microsoft', version: 1n }));
    m.graph!.node.push(node('LpNormalization', 'lpnorm', ['probs'], ['label'], { axis: 1 }));
    m.graph!.node.push(node('FusedConv', '', ['probs'], ['z'], {}, 'com.microsoft'));
    const report = inspectModel(m);
    expect(report.ops['com.microsoft.FusedConv']).toBe(1);
    expect(report.unsupportedForGradients).toEqual([
      { op: 'LpNormalization', node: 'lpnorm' },
      { op: 'com.microsoft.FusedConv', node: '#5' },
    ]);
    expect(formatInspection(report)).toContain("gradients: not differentiable: LpNormalization (node 'lpnorm'); com.microsoft.FusedConv (node '#5')");
    expect(inspectModel(m, new Set([...GRADIENT_OPS, 'LpNormalization', 'com.microsoft.FusedConv'])).unsupportedForGradients).toEqual([]);
  });

  it('reports LogSoftmax separately, with the axis default of old opsets', () => {
    const m = mlp();
    m.opsetImport[0].version = 11n;
    m.graph!.node[3] = node('LogSoftmax', 'logsm', ['logits'], ['probs']);
    const report = inspectModel(m);
    expect(report.endsInSoftmax).toBeNull();
    expect(report.endsInLogSoftmax).toEqual({ node: 'logsm', axis: 1 });
  });

  it('formats large parameter counts and unknown dims', () => {
    const report = { ...inspectModel(cnn()), parameterCount: 25_557_032 };
    report.outputs = [{ name: 'y', dtype: 'float32', shape: [null, 1000] }];
    const text = formatInspection(report);
    expect(text).toContain('parameters: 25,557,032');
    expect(text).toContain('outputs: y float32 [?,1000]');
  });
});

describe('GRADIENT_OPS', () => {
  it('holds every op with a gradient rule and the non-differentiable plumbing, and nothing else', () => {
    const required = 'Conv ConvTranspose Gemm MatMul Add Sub Mul Div Neg Pow Sqrt Exp Log Relu LeakyRelu PRelu Sigmoid Tanh HardSigmoid HardSwish Gelu Erf Softmax LogSoftmax MaxPool AveragePool GlobalAveragePool GlobalMaxPool BatchNormalization LayerNormalization Dropout Flatten Reshape Transpose Concat Split Slice Squeeze Unsqueeze Pad Clip ReduceMean ReduceSum Identity Cast Where Expand Tile Gather GatherElements Shape Constant ConstantOfShape Equal Range Less Greater Not And Or Size Floor Ceil Round';
    for (const op of required.split(' ')) expect(GRADIENT_OPS.has(op), op).toBe(true);
    for (const op of ['LSTM', 'Loop', 'If', 'Resize', 'GridSample', 'LpNormalization']) expect(GRADIENT_OPS.has(op), op).toBe(false);
  });
});
