import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { ModelProtoSchema, NodeProtoSchema, StringStringEntryProtoSchema, TensorProto_DataLocation, TensorProto_DataType as DT } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { decodeModel, encodeModel, ModelError, readModel, tensorFromArray, tensorToArray, tensorValueInfo, validateModel, writeModel } from '@onnx-audit/onnx';

import { cnn, mlp, model, node, weights } from './fixtures/models.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'onnx-model-io-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function runOnce(bytes: Uint8Array, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.OnnxValueMapType> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}

/** A length-delimited field with a number no ONNX schema uses. */
function unknownField(field: number, payload: number[]): Uint8Array {
  return Uint8Array.from([...varint((field << 3) | 2), ...varint(payload.length), ...payload]);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(haystack).indexOf(Buffer.from(needle));
}

describe('ONNX Runtime accepts the encoded fixtures', () => {
  it('runs the MLP with a symbolic batch and matches a JS forward pass', async () => {
    const m = mlp();
    const x = weights(2 * 4, 9, 2);
    const out = await runOnce(encodeModel(m), { X: new ort.Tensor('float32', x, [2, 4]) });
    const probs = out.probs;
    expect(probs.dims).toEqual([2, 3]);
    const init = Object.fromEntries(m.graph!.initializer.map((t) => [t.name, tensorToArray(t) as Float32Array]));
    for (let n = 0; n < 2; n++) {
      const h = Array.from({ length: 8 }, (_, j) => Math.max(0, init.b1[j] + [0, 1, 2, 3].reduce((s, k) => s + x[n * 4 + k] * init.W1[j * 4 + k], 0)));
      const z = Array.from({ length: 3 }, (_, c) => init.b2[c] + h.reduce((s, v, j) => s + v * init.W2[c * 8 + j], 0));
      const e = z.map((v) => Math.exp(v - Math.max(...z)));
      const sum = e.reduce((s, v) => s + v, 0);
      for (let c = 0; c < 3; c++) expect((probs.data as Float32Array)[n * 3 + c]).toBeCloseTo(e[c] / sum, 5);
    }
  });

  it('runs the CNN', async () => {
    const out = await runOnce(encodeModel(cnn()), { X: new ort.Tensor('float32', weights(3 * 64, 10, 1), [3, 1, 8, 8]) });
    expect(out.logits.dims).toEqual([3, 10]);
    expect(Array.from(out.logits.data as Float32Array).every(Number.isFinite)).toBe(true);
  });
});

describe('round trip', () => {
  it('keeps unknown fields on ModelProto and NodeProto byte for byte', async () => {
    const m = mlp();
    const nodeExtra = Uint8Array.from([...varint((999 << 3) | 0), ...varint(42)]);
    const original = m.graph!.node[0];
    m.graph!.node[0] = fromBinary(NodeProtoSchema, concat(toBinary(NodeProtoSchema, original), nodeExtra));
    const modelExtra = unknownField(5000, [1, 2, 3, 4, 5]);
    const bytes = concat(toBinary(ModelProtoSchema, m), modelExtra);

    const decoded = decodeModel(bytes);
    expect(decoded.graph!.node[0].$unknown?.map((u) => u.no)).toEqual([999]);
    expect(decoded.$unknown?.map((u) => u.no)).toEqual([5000]);
    const again = encodeModel(decoded);
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
    expect(indexOf(again, nodeExtra)).toBeGreaterThan(0);
    expect(indexOf(again, modelExtra)).toBe(again.length - modelExtra.length);

    // ONNX Runtime's protobuf skips what it does not know, too.
    const out = await runOnce(again, { X: new ort.Tensor('float32', weights(4, 11), [1, 4]) });
    expect(out.probs.dims).toEqual([1, 3]);
  });

  it('writes atomically and reads back the same bytes', async () => {
    const path = join(dir, 'cnn.onnx');
    await writeModel(path, cnn());
    await writeModel(path, cnn()); // replacing an existing file
    const back = await readModel(path);
    expect(Buffer.from(encodeModel(back)).equals(Buffer.from(encodeModel(cnn())))).toBe(true);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('decodes raw_data from a file read into a Node Buffer as independent, exact arrays', async () => {
    const path = join(dir, 'mlp.onnx');
    await writeModel(path, mlp());
    const back = await readModel(path);
    expect(Buffer.isBuffer(back.graph!.initializer[0].rawData)).toBe(false);
    const expected = mlp().graph!.initializer.map(tensorToArray);
    expect(back.graph!.initializer.map(tensorToArray)).toEqual(expected);
    const fromBuffer = decodeModel(await readFile(path)); // a pooled Buffer's .buffer is larger than the file
    expect(fromBuffer.graph!.initializer.map(tensorToArray)).toEqual(expected);
  });

  it('leaves no temporary file behind when the write fails', async () => {
    await expect(writeModel(join(dir, 'missing-dir', 'm.onnx'), mlp())).rejects.toThrow(/^cannot write .*missing-dir\/m\.onnx: ENOENT/);
  });
});

describe('external data', () => {
  async function withExternalW1(sub: string, location: string, offset: number): Promise<{ path: string; w1: Float32Array }> {
    const m = mlp();
    const w1 = m.graph!.initializer[0];
    const values = tensorToArray(w1) as Float32Array;
    await rm(join(dir, sub), { recursive: true, force: true });
    await mkdir(join(dir, sub), { recursive: true });
    await writeFile(join(dir, sub, 'weights.bin'), concat(new Uint8Array(offset).fill(7), w1.rawData));
    w1.rawData = new Uint8Array(0);
    w1.dataLocation = TensorProto_DataLocation.EXTERNAL;
    w1.externalData = [
      { key: 'location', value: location },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(values.byteLength) },
    ].map((e) => create(StringStringEntryProtoSchema, e));
    const path = join(dir, sub, 'mlp.onnx');
    await writeFile(path, encodeModel(m));
    return { path, w1: values };
  }

  it('reads an initializer from a side file into raw_data, as ONNX Runtime does', async () => {
    const { path, w1 } = await withExternalW1('ext', 'weights.bin', 13); // odd offset: unaligned on purpose
    const m = await readModel(path);
    const t = m.graph!.initializer[0];
    expect(t.dataLocation).toBe(TensorProto_DataLocation.DEFAULT);
    expect(t.externalData).toEqual([]);
    expect(tensorToArray(t)).toEqual(w1);

    const x = new ort.Tensor('float32', weights(4, 12), [1, 4]);
    const ours = await runOnce(encodeModel(m), { X: x });
    const session = await ort.InferenceSession.create(path); // ORT resolving the same file itself
    const theirs = await session.run({ X: x });
    await session.release();
    expect(ours.probs.data).toEqual(theirs.probs.data);
  });

  it('refuses locations outside the model directory', async () => {
    for (const location of ['../weights.bin', 'sub/../../weights.bin', '/etc/passwd']) {
      const { path } = await withExternalW1('escape', location, 0);
      await expect(readModel(path)).rejects.toThrow(/tensor 'W1' refers to external data at '.*', outside the model's directory/);
    }
  });

  it('names the missing data file', async () => {
    const { path } = await withExternalW1('missing', 'gone.bin', 0);
    await expect(readModel(path)).rejects.toThrow(/mlp\.onnx: tensor 'W1' keeps its data in 'gone\.bin', which cannot be read \(ENOENT\); put the data file beside the model$/);
  });

  it('refuses to write a model whose tensors still point at external data', async () => {
    const { path } = await withExternalW1('unresolved', 'weights.bin', 0);
    const m = decodeModel(await readFile(path));
    expect(() => tensorToArray(m.graph!.initializer[0])).toThrow(/keeps its data in an external file; load the model with readModel\(\)/);
    await expect(writeModel(join(dir, 'copy.onnx'), m)).rejects.toThrow(/tensor 'W1' still refers to external data/);
  });
});

describe('bad models give one clear error each', () => {
  const oneLine = (e: unknown): string => {
    expect(e).toBeInstanceOf(ModelError);
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  };
  const errorOf = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      return oneLine(e);
    }
    throw new Error('expected a ModelError');
  };

  it('empty file', async () => {
    const path = join(dir, 'empty.onnx');
    await writeFile(path, new Uint8Array(0));
    const message = await readModel(path).then(() => '', oneLine);
    expect(message).toBe(`${path} is empty (0 bytes); check the file was exported completely`);
  });

  it('truncated file', async () => {
    const bytes = encodeModel(mlp());
    const path = join(dir, 'truncated.onnx');
    await writeFile(path, bytes.subarray(0, bytes.length >> 1));
    const message = await readModel(path).then(() => '', oneLine);
    expect(message).toMatch(new RegExp(`^${path} is not an ONNX model \\(protobuf decoding failed: .+\\); check the file was exported completely$`));
  });

  it('not protobuf, or protobuf without a graph', () => {
    expect(errorOf(() => decodeModel(new TextEncoder().encode('{"not": "onnx"}'), { source: 'a.json' }))).toMatch(/^a\.json is not an ONNX model/);
    const noGraph = encodeModel(create(ModelProtoSchema, { irVersion: 8n }));
    expect(errorOf(() => decodeModel(noGraph, { source: 'm.onnx' }))).toBe('m.onnx is not an ONNX model (it decodes but has no graph); check it is a .onnx file and was exported completely');
  });

  it('missing initializer names the node and the value', () => {
    const m = mlp();
    m.graph!.initializer = m.graph!.initializer.filter((t) => t.name !== 'W2');
    expect(errorOf(() => validateModel(m, 'mlp.onnx'))).toBe(
      "mlp.onnx: node 'fc2' (Gemm) reads 'W2', which no earlier node, initializer or graph input provides; add the missing initializer or input, or re-export the model",
    );
  });

  it('nodes out of topological order', () => {
    const m = mlp();
    const [fc1, relu] = m.graph!.node;
    m.graph!.node[0] = relu;
    m.graph!.node[1] = fc1;
    expect(errorOf(() => validateModel(m, 'm.onnx'))).toMatch(/^m\.onnx: node 'relu' \(Relu\) reads 'h' before node 'fc1' \(Gemm\) produces it; nodes must be in topological order/);
  });

  it('duplicate names', () => {
    const m = mlp();
    m.graph!.node.push(node('Relu', 'again', ['a'], ['h']));
    expect(errorOf(() => validateModel(m, 'm.onnx'))).toMatch(/^m\.onnx: value 'h' of node 'again' \(Relu\) is already defined/);
    const twice = mlp();
    twice.graph!.initializer.push(tensorFromArray('b1', [8], weights(8, 2)));
    expect(errorOf(() => validateModel(twice, 'm.onnx'))).toBe("m.onnx: initializer 'b1' is declared twice; remove the duplicate");
  });

  it('raw_data that does not match the dims', () => {
    const m = mlp();
    m.graph!.initializer[1].rawData = m.graph!.initializer[1].rawData.subarray(0, 12);
    expect(errorOf(() => validateModel(m, 'm.onnx'))).toMatch(/^m\.onnx: initializer 'b1' holds 12 bytes but dims \[8\] of float32 need 32/);
  });

  it('node in a domain the model does not import', () => {
    const m = mlp();
    m.graph!.node.push(node('Mystery', 'mystery', ['probs'], ['z'], {}, 'com.example'));
    expect(errorOf(() => validateModel(m, 'm.onnx'))).toMatch(/node 'mystery' \(Mystery\) uses domain 'com\.example', for which the model imports no opset/);
  });

  it('subgraphs may read outer values but are checked too', () => {
    const inner = model({ node: [node('Identity', 'inner', ['nowhere'], ['y'])], initializer: [], input: [], output: [tensorValueInfo('y', [1])] }).graph!;
    const m = mlp();
    m.graph!.node.push(create(NodeProtoSchema, { opType: 'If', name: 'branch', input: ['cond'], output: ['z'], attribute: [{ name: 'then_branch', type: 5, g: inner }] }));
    m.graph!.input.push(tensorValueInfo('cond', [], DT.BOOL));
    expect(errorOf(() => validateModel(m, 'm.onnx'))).toMatch(/^m\.onnx: subgraph 'then_branch' of node 'branch' \(If\): node 'inner' \(Identity\) reads 'nowhere'/);
    inner.node[0].input[0] = 'logits';
    expect(() => validateModel(m, 'm.onnx')).not.toThrow();
  });
});
