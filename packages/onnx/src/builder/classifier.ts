// Small classifiers built in code: MLPs and CNNs of Conv, BatchNormalization, ReLU, MaxPool,
// Dropout and Linear layers, written as the ONNX a PyTorch export of the same network would be
// (opset 17, symbolic batch, Gemm with transB). Fixtures, tests and the demo train these rather
// than ship binary models; weights start from the trainer's seeded He/Glorot initialisation.
import { create } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, type NodeProto, NodeProtoSchema, type TensorProto } from 'onnx-buf';

import { type AttrValue, attribute } from '../autodiff/graph.js';
import { tensorFromArray, tensorValueInfo } from '../model/tensor.js';
import { reinitialize } from '../train/init.js';
import { parameterLayout } from '../train/parameters.js';

export type Layer =
  | { kind: 'conv'; channels: number; kernel: number; stride?: number; padding?: number }
  | { kind: 'batchNorm' }
  | { kind: 'relu' }
  | { kind: 'maxPool'; kernel: number; stride?: number }
  | { kind: 'dropout'; ratio: number }
  | { kind: 'flatten' }
  | { kind: 'linear'; units: number };

export interface ClassifierSpec {
  /** Dims of one sample: [channels, height, width] for a CNN, [features] for an MLP. */
  input: number[];
  layers: Layer[];
  /** Seeds the initial weights (default 0). */
  seed?: number;
}

/**
 * A small CNN for 28×28 greyscale images (MNIST, Fashion-MNIST), 5,994 weights: the model the demo
 * audits and the tests and benchmarks train.
 */
export const SMALL_IMAGE_CNN: ClassifierSpec = {
  input: [1, 28, 28],
  layers: [
    { kind: 'conv', channels: 8, kernel: 5 }, { kind: 'relu' }, { kind: 'maxPool', kernel: 2 },
    { kind: 'conv', channels: 16, kernel: 5 }, { kind: 'relu' }, { kind: 'maxPool', kernel: 2 },
    { kind: 'flatten' }, { kind: 'linear', units: 10 },
  ],
  seed: 1,
};

export const INPUT_NAME = 'input';
export const LOGITS_NAME = 'logits';

/** The model: `input` [batch, ...spec.input] → `logits` [batch, units of the last linear layer]. */
export async function buildClassifier(spec: ClassifierSpec): Promise<ModelProto> {
  const nodes: NodeProto[] = [];
  const initializers: TensorProto[] = [];
  let dims = [...spec.input];
  let value = INPUT_NAME;
  const fail = (i: number, why: string) => new RangeError(`layer ${i} (${spec.layers[i].kind}): ${why}`);
  const param = (name: string, shape: number[], fill = 0) => {
    initializers.push(tensorFromArray(name, shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(fill)));
    return name;
  };
  const emit = (i: number, op: string, inputs: string[], attrs: Record<string, AttrValue> = {}) => {
    const output = i === spec.layers.length - 1 ? LOGITS_NAME : `${op.toLowerCase()}${i}`;
    nodes.push(create(NodeProtoSchema, { opType: op, name: `${op}_${i}`, input: inputs, output: [output], attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) }));
    value = output;
  };
  const window = (size: number, kernel: number, stride: number, padding: number) => Math.floor((size + 2 * padding - kernel) / stride) + 1;

  spec.layers.forEach((layer, i) => {
    switch (layer.kind) {
      case 'conv': {
        if (dims.length !== 3) throw fail(i, `needs [channels, height, width] input, got [${dims}]`);
        const { channels, kernel, stride = 1, padding = 0 } = layer;
        const [h, w] = [window(dims[1], kernel, stride, padding), window(dims[2], kernel, stride, padding)];
        if (h < 1 || w < 1) throw fail(i, `a ${kernel}×${kernel} kernel does not fit [${dims}]`);
        emit(i, 'Conv', [value, param(`conv${i}.weight`, [channels, dims[0], kernel, kernel]), param(`conv${i}.bias`, [channels])], {
          kernel_shape: [kernel, kernel], strides: [stride, stride], pads: [padding, padding, padding, padding],
        });
        dims = [channels, h, w];
        break;
      }
      case 'batchNorm': {
        const c = dims[0];
        emit(i, 'BatchNormalization', [value, param(`bn${i}.weight`, [c], 1), param(`bn${i}.bias`, [c]), param(`bn${i}.running_mean`, [c]), param(`bn${i}.running_var`, [c], 1)], {
          epsilon: { float: 1e-5 }, momentum: { float: 0.9 },
        });
        break;
      }
      case 'relu':
        emit(i, 'Relu', [value]);
        break;
      case 'maxPool': {
        if (dims.length !== 3) throw fail(i, `needs [channels, height, width] input, got [${dims}]`);
        const { kernel, stride = kernel } = layer;
        const [h, w] = [window(dims[1], kernel, stride, 0), window(dims[2], kernel, stride, 0)];
        if (h < 1 || w < 1) throw fail(i, `a ${kernel}×${kernel} window does not fit [${dims}]`);
        emit(i, 'MaxPool', [value], { kernel_shape: [kernel, kernel], strides: [stride, stride] });
        dims = [dims[0], h, w];
        break;
      }
      case 'dropout': {
        if (!(layer.ratio >= 0 && layer.ratio < 1)) throw fail(i, `ratio ${layer.ratio} is outside [0, 1)`);
        const ratio = `dropout${i}.ratio`;
        initializers.push(tensorFromArray(ratio, [], Float32Array.of(layer.ratio)));
        emit(i, 'Dropout', [value, ratio]);
        break;
      }
      case 'flatten':
        emit(i, 'Flatten', [value], { axis: 1 });
        dims = [dims.reduce((a, b) => a * b, 1)];
        break;
      case 'linear':
        if (dims.length !== 1) throw fail(i, `needs a flat input, got [${dims}]: add a flatten layer before it`);
        emit(i, 'Gemm', [value, param(`fc${i}.weight`, [layer.units, dims[0]]), param(`fc${i}.bias`, [layer.units])], { transB: 1 });
        dims = [layer.units];
        break;
    }
  });
  if (spec.layers.at(-1)?.kind !== 'linear') throw new RangeError('the last layer must be a linear layer: it gives the logits');

  const model = create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'onnx-audit',
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'classifier',
      node: nodes,
      initializer: initializers,
      input: [tensorValueInfo(INPUT_NAME, ['batch', ...spec.input])],
      output: [tensorValueInfo(LOGITS_NAME, ['batch', dims[0]])],
    },
  });
  return reinitialize(model, parameterLayout(model), spec.seed ?? 0);
}
