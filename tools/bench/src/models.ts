// The models the benchmarks time, built in code: a small MNIST CNN and a ResNet basic block.
import { buildClassifier } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';

import { buildResidualBlock } from './resnet-block.js';

export interface BenchModel {
  name: string;
  description: string;
  sampleDims: number[];
  build: (seed: number) => Promise<ModelProto>;
}

export const SMALL_CNN: BenchModel = {
  name: 'small CNN',
  description: 'MNIST [1,28,28]: conv 16 3×3 pad 1, BN, ReLU, max pool 2, conv 32 3×3 pad 1, BN, ReLU, max pool 2, flatten, linear 10',
  sampleDims: [1, 28, 28],
  build: (seed) => buildClassifier({
    input: [1, 28, 28],
    layers: [
      { kind: 'conv', channels: 16, kernel: 3, padding: 1 }, { kind: 'batchNorm' }, { kind: 'relu' }, { kind: 'maxPool', kernel: 2 },
      { kind: 'conv', channels: 32, kernel: 3, padding: 1 }, { kind: 'batchNorm' }, { kind: 'relu' }, { kind: 'maxPool', kernel: 2 },
      { kind: 'flatten' }, { kind: 'linear', units: 10 },
    ],
    seed,
  }),
};

export const RESNET_BLOCK: BenchModel = {
  name: 'ResNet basic block',
  description: '[16,16,16]: conv 16 3×3, BN, ReLU, conv 16 3×3, BN, + identity, ReLU, global average pool, flatten, linear 10',
  sampleDims: [16, 16, 16],
  build: (seed) => buildResidualBlock({ channels: 16, size: 16, classes: 10, seed }),
};

