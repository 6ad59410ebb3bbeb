// The classifier the CLI tests run on: z = xW + b followed by Softmax (nodes 'fc' and 'sm'), with a
// symbolic batch 'N', built in code so a reader sees the whole model.
import { create } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema } from 'onnx-buf';

import { tensorFromArray, tensorValueInfo } from '@onnx-audit/onnx';

/** weights [inputs, classes] row-major, bias [classes]. */
export function linearSoftmax(weights: Float32Array, bias: Float32Array): ModelProto {
  const classes = bias.length, inputs = weights.length / classes;
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'linear',
      input: [tensorValueInfo('x', ['N', inputs])],
      output: [tensorValueInfo('p', ['N', classes])],
      initializer: [tensorFromArray('W', [inputs, classes], weights), tensorFromArray('b', [classes], bias)],
      node: [
        create(NodeProtoSchema, { opType: 'Gemm', name: 'fc', input: ['x', 'W', 'b'], output: ['z'] }),
        create(NodeProtoSchema, { opType: 'Softmax', name: 'sm', input: ['z'], output: ['p'] }),
      ],
    },
  });
}
