// Models the attack tests run on: a linear softmax classifier with chosen weights (its gradients
// and decision boundaries are known in closed form), and a small CNN trained by our trainer on
// real MNIST digits, kept in the OS temp folder so that test files share one training run.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { create } from '@bufbuild/protobuf';
import { loadBuiltin } from '@onnx-audit/data';
import { buildClassifier, decodeModel, encodeModel, SMALL_IMAGE_CNN, tensorFromArray, tensorValueInfo, train, writeFileAtomic } from '@onnx-audit/onnx';
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
  const key = createHash('sha256').update(JSON.stringify({ CNN: SMALL_IMAGE_CNN, options, source: digits.source, v: 1 })).digest('hex').slice(0, 16);
  const file = join(tmpdir(), 'onnx-audit-test', `mnist-cnn-${key}.onnx`);
  try {
    return { model: decodeModel(await readFile(file)), test };
  } catch {
    const { model } = await train(await buildClassifier(SMALL_IMAGE_CNN), pick(trainRows), options);
    await mkdir(join(tmpdir(), 'onnx-audit-test'), { recursive: true });
    await writeFileAtomic(file, encodeModel(model));
    return { model, test };
  }
}

export interface TinyModel {
  /**
   * Rounds the input to multiples of 1/4 and adds a dead ReLU path relu(x − 2)·W (x ≤ 1): the
   * logits still depend on x through differentiable ops, but every input gradient is zero.
   */
  masked?: boolean;
  /** Samples as [1, 2, 3] images rather than 6-vectors. */
  image?: boolean;
  /** Ends in softmax(z)·1, which a loader looking for a trailing Softmax does not strip. */
  probabilities?: boolean;
}

/** z = x W + b on 6 inputs, dressed as `options` say. */
export function tinyModel(weights: Float32Array, bias: Float32Array, options: TinyModel): ModelProto {
  const classes = bias.length;
  const nodes: ReturnType<typeof create<typeof NodeProtoSchema>>[] = [];
  const add = (opType: string, input: string[], attribute: { name: string; i: bigint; type: number }[] = []) => {
    const output = `${opType.toLowerCase()}${nodes.length}`;
    nodes.push(create(NodeProtoSchema, { opType, name: output, input, output: [output], attribute }));
    return output;
  };
  // attribute type 2: INT
  const flat = options.image ? add('Flatten', ['x'], [{ name: 'axis', i: 1n, type: 2 }]) : 'x';
  let z: string;
  if (options.masked) {
    const quantized = add('Mul', [add('Round', [add('Mul', [flat, 'four'])]), 'quarter']);
    const dead = add('MatMul', [add('Relu', [add('Sub', [flat, 'two'])]), 'W']);
    z = add('Add', [add('Gemm', [quantized, 'W', 'b']), dead]);
  } else {
    z = add('Gemm', [flat, 'W', 'b']);
  }
  if (options.probabilities) z = add('Mul', [add('Softmax', [z]), 'one']);
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'tiny',
      input: [tensorValueInfo('x', options.image ? ['N', 1, 2, 3] : ['N', 6])],
      output: [tensorValueInfo(z, ['N', classes])],
      initializer: [
        ...(options.masked ? [tensorFromArray('four', [], Float32Array.of(4)), tensorFromArray('quarter', [], Float32Array.of(0.25)), tensorFromArray('two', [], Float32Array.of(2))] : []),
        ...(options.probabilities ? [tensorFromArray('one', [], Float32Array.of(1))] : []),
        tensorFromArray('W', [6, classes], weights),
        tensorFromArray('b', [classes], bias),
      ],
      node: nodes,
    },
  });
}

/** A model whose output is Flatten(input): a transform prepended to it can be read back. */
export function identityModel(sampleDims: Array<number | string>): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'identity',
      input: [tensorValueInfo('image', ['N', ...sampleDims])],
      output: [tensorValueInfo('flat', ['N', 'D'])],
      node: [create(NodeProtoSchema, { opType: 'Flatten', name: 'flatten', input: ['image'], output: ['flat'] })],
    },
  });
}

/** `count` numbers in [0, 1) from a seeded LCG: test inputs that need no generator of ours. */
export function uniform(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32));
}
