// Models the attack tests run on: a linear softmax classifier with chosen weights (its gradients
// and decision boundaries are known in closed form), and a small CNN trained by our trainer on
// real MNIST digits, kept in the OS temp folder so that test files share one training run.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { create } from '@bufbuild/protobuf';
import { loadBuiltin } from '@onnx-audit/data';
import { buildClassifier, type ClassifierSpec, decodeModel, encodeModel, tensorFromArray, tensorValueInfo, train, writeFileAtomic } from '@onnx-audit/onnx';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema } from 'onnx-buf';

/** z = xW + b [→ Softmax]; weights [inputs, classes] row-major. */
export function linearModel(weights: Float32Array, bias: Float32Array, softmax = false): ModelProto {
  const classes = bias.length, inputs = weights.length / classes;
  const node = [create(NodeProtoSchema, { opType: 'Gemm', name: 'fc', input: ['x', 'W', 'b'], output: ['z'] })];
  if (softmax) node.push(create(NodeProtoSchema, { opType: 'Softmax', name: 'sm', input: ['z'], output: ['p'] }));
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'linear',
      input: [tensorValueInfo('x', ['N', inputs])],
      output: [tensorValueInfo(softmax ? 'p' : 'z', ['N', classes])],
      initializer: [tensorFromArray('W', [inputs, classes], weights), tensorFromArray('b', [classes], bias)],
      node,
    },
  });
}

export interface Digits {
  x: Float32Array;
  labels: Int32Array;
  sampleDims: number[];
}

const CNN: ClassifierSpec = {
  input: [1, 28, 28],
  layers: [
    { kind: 'conv', channels: 8, kernel: 5 }, { kind: 'relu' }, { kind: 'maxPool', kernel: 2 },
    { kind: 'conv', channels: 16, kernel: 5 }, { kind: 'relu' }, { kind: 'maxPool', kernel: 2 },
    { kind: 'flatten' }, { kind: 'linear', units: 10 },
  ],
  seed: 1,
};

/** A CNN trained on 400 MNIST digits per class (~96% held out), and `testCount` held-out digits. */
export async function mnistCnn(testCount = 200): Promise<{ model: ModelProto; test: Digits }> {
  const digits = await loadBuiltin('mnist', { perClass: 420 });
  const d = 784;
  const trainRows: number[] = [], testRows: number[] = [];
  digits.y.forEach((_, i) => ((i % 21 === 20 ? testRows : trainRows).push(i)));
  const pick = (rows: number[]): Digits => ({
    x: Float32Array.from({ length: rows.length * d }, (_, e) => digits.x[rows[Math.floor(e / d)] * d + (e % d)]),
    labels: Int32Array.from(rows, (i) => digits.y[i]),
    sampleDims: [1, 28, 28],
  });
  const test = pick(testRows.slice(0, testCount));
  const options = { epochs: 4, batchSize: 64, optimizer: 'adam' as const, lr: 2e-3, seed: 3 };
  const key = createHash('sha256').update(JSON.stringify({ CNN, options, source: digits.source, v: 1 })).digest('hex').slice(0, 16);
  const file = join(tmpdir(), 'onnx-audit-test', `mnist-cnn-${key}.onnx`);
  try {
    return { model: decodeModel(await readFile(file)), test };
  } catch {
    const { model } = await train(await buildClassifier(CNN), pick(trainRows), options);
    await mkdir(join(tmpdir(), 'onnx-audit-test'), { recursive: true });
    await writeFileAtomic(file, encodeModel(model));
    return { model, test };
  }
}
