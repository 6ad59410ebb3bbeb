// The classifier the CLI tests run on: z = xW + b followed by Softmax (nodes 'fc' and 'sm'), with a
// symbolic batch 'N', built in code so a reader sees the whole model.
import { create } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema, TensorProto_DataType, ValueInfoProtoSchema } from 'onnx-buf';

import { tensorFromArray } from '@onnx-audit/onnx';

function io(name: string, dims: Array<number | string>) {
  return create(ValueInfoProtoSchema, {
    name,
    type: { value: { case: 'tensorType', value: { elemType: TensorProto_DataType.FLOAT, shape: { dim: dims.map((d) => ({ value: typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d } })) } } } },
  });
}

/** weights [inputs, classes] row-major, bias [classes]. */
export function linearSoftmax(weights: Float32Array, bias: Float32Array): ModelProto {
  const classes = bias.length, inputs = weights.length / classes;
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'linear',
      input: [io('x', ['N', inputs])],
      output: [io('p', ['N', classes])],
      initializer: [tensorFromArray('W', [inputs, classes], weights), tensorFromArray('b', [classes], bias)],
      node: [
        create(NodeProtoSchema, { opType: 'Gemm', name: 'fc', input: ['x', 'W', 'b'], output: ['z'] }),
        create(NodeProtoSchema, { opType: 'Softmax', name: 'sm', input: ['z'], output: ['p'] }),
      ],
    },
  });
}
