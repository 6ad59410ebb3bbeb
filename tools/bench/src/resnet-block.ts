// A ResNet basic block classifier for the training benchmark, written out node by node because
// `buildClassifier` has no residual connection: Conv-BN-ReLU-Conv-BN, plus the identity, ReLU,
// GlobalAveragePool, Flatten and a Gemm to the classes. It is the ONNX a PyTorch export of
// torchvision's BasicBlock (convolutions without bias) with a linear head would be: opset 17,
// symbolic batch. Weights come from the trainer's seeded He/Glorot initialisation.
import { create } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema, type NodeProto } from 'onnx-buf';

import { attribute, type AttrValue, parameterLayout, reinitialize, tensorFromArray, tensorValueInfo } from '@onnx-audit/onnx';

export interface ResidualBlockSpec {
  /** Channels of the input and of both convolutions (the identity needs them equal). */
  channels: number;
  /** Height and width of the input. */
  size: number;
  classes: number;
  seed?: number;
}

/** `input` [batch, channels, size, size] → `logits` [batch, classes]. */
export async function buildResidualBlock(spec: ResidualBlockSpec): Promise<ModelProto> {
  const { channels: c, size, classes } = spec;
  const nodes: NodeProto[] = [];
  const initializers = new Map<string, { dims: number[]; fill: number }>();
  const param = (name: string, dims: number[], fill = 0) => {
    initializers.set(name, { dims, fill });
    return name;
  };
  const node = (op: string, input: string[], output: string, attrs: Record<string, AttrValue> = {}) => {
    nodes.push(create(NodeProtoSchema, { opType: op, name: `${op}_${nodes.length}`, input, output: [output], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) }));
    return output;
  };
  const conv = (x: string, name: string) => node('Conv', [x, param(`${name}.weight`, [c, c, 3, 3])], name, { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
  const batchNorm = (x: string, name: string) =>
    node('BatchNormalization', [x, param(`${name}.weight`, [c], 1), param(`${name}.bias`, [c]), param(`${name}.running_mean`, [c]), param(`${name}.running_var`, [c], 1)], name, { epsilon: { float: 1e-5 }, momentum: { float: 0.9 } });

  const b1 = batchNorm(conv('input', 'block.conv1'), 'block.bn1');
  const r1 = node('Relu', [b1], 'block.relu1');
  const b2 = batchNorm(conv(r1, 'block.conv2'), 'block.bn2');
  const sum = node('Add', [b2, 'input'], 'block.add');
  const r2 = node('Relu', [sum], 'block.relu2');
  const pooled = node('GlobalAveragePool', [r2], 'pool');
  const features = node('Flatten', [pooled], 'flatten', { axis: 1 });
  node('Gemm', [features, param('fc.weight', [classes, c]), param('fc.bias', [classes])], 'logits', { transB: 1 });

  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'onnx-audit-bench',
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'resnet_basic_block',
      node: nodes,
      initializer: [...initializers].map(([name, { dims, fill }]) => tensorFromArray(name, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(fill))),
      input: [tensorValueInfo('input', ['batch', c, size, size])],
      output: [tensorValueInfo('logits', ['batch', classes])],
    },
  });
  return reinitialize(model, parameterLayout(model), spec.seed ?? 0);
}
