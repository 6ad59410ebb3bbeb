// The exported model, written to disk, read back and run by ONNX Runtime, gives the calibrated
// outputs the calibrator computes in memory: on the logits output of a plain classifier and on
// the probabilities of one that ends in Softmax, whose output names must not change.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { clone, create } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema, ValueInfoProtoSchema } from 'onnx-buf';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { randomUniform } from '@onnx-audit/native';
import { buildClassifier, predictLogits, readModel, validateModel, writeModel } from '@onnx-audit/onnx';

import { CALIBRATION_METADATA_KEY, type Calibrator, fitHistogramBinning, fitIsotonic, fitMatrixScaling, fitTemperature, fitVectorScaling } from '../src/index.js';

const features = 6, classes = 4, n = 300;

/** The same classifier with a Softmax appended, its only output renamed 'probabilities'. */
function withSoftmax(model: ModelProto): ModelProto {
  const copy = clone(ModelProtoSchema, model);
  const graph = copy.graph!;
  graph.node.push(create(NodeProtoSchema, { opType: 'Softmax', name: 'softmax', input: [graph.output[0].name], output: ['probabilities'], attribute: [] }));
  graph.output.splice(0, 1, create(ValueInfoProtoSchema, { name: 'probabilities', type: graph.output[0].type }));
  return copy;
}

/**
 * The model's first output, run by ONNX Runtime. predictLogits reads logits before a trailing
 * Softmax, so an Identity after it makes the Softmax's output the one read.
 */
async function run(model: ModelProto, x: Float32Array): Promise<Float32Array> {
  const copy = clone(ModelProtoSchema, model);
  const graph = copy.graph!;
  graph.node.push(create(NodeProtoSchema, { opType: 'Identity', name: 'read', input: [graph.output[0].name], output: ['read'] }));
  graph.output.splice(0, 1, create(ValueInfoProtoSchema, { name: 'read' }));
  return (await predictLogits(copy, x, [features])).logits;
}

function softmaxRows(logits: Float32Array): Float32Array {
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i += classes) {
    const row = logits.subarray(i, i + classes);
    const max = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - max), 0);
    row.forEach((v, j) => (out[i + j] = Math.exp(v - max) / sum));
  }
  return out;
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(expected[i]))));
}

describe('exporting calibrators as ONNX', () => {
  let dir: string;
  let model: ModelProto;
  let x: Float32Array;
  let logits: Float32Array;
  let labels: Int32Array;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'calibration-export-'));
    model = await buildClassifier({ input: [features], layers: [{ kind: 'linear', units: 16 }, { kind: 'relu' }, { kind: 'linear', units: classes }], seed: 3 });
    x = await randomUniform(n * features, { seed: 4 });
    logits = (await predictLogits(model, x, [features])).logits;
    // Labels that agree with the model three times in four, so the fits have something to correct.
    const noise = await randomUniform(n, { seed: 5 });
    labels = Int32Array.from({ length: n }, (_, i) => {
      const row = Array.from(logits.subarray(i * classes, (i + 1) * classes));
      return noise[i] < 0.75 ? row.indexOf(Math.max(...row)) : Math.floor(noise[i] * 16) % classes;
    });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const exportable: Array<[string, () => Promise<Calibrator>]> = [
    ['temperature', () => fitTemperature(logits, labels, classes)],
    ['vector', () => fitVectorScaling(logits, labels, classes)],
    ['matrix', () => fitMatrixScaling(logits, labels, classes)],
  ];

  it.each(exportable)('%s scaling: the written model outputs the in-memory calibrated logits', async (method, fit) => {
    const calibrator = await fit();
    const path = join(dir, `${method}.onnx`);
    await writeModel(path, calibrator.toOnnx(model));
    const written = await readModel(path);
    validateModel(written);
    expect(written.graph!.output.map((o) => o.name)).toEqual(model.graph!.output.map((o) => o.name));
    expect(JSON.parse(written.metadataProps.find((p) => p.key === CALIBRATION_METADATA_KEY)!.value).method).toBe(method);
    expectClose(await run(written, x), calibrator.apply(logits));
  });

  it.each(exportable)('%s scaling: a trailing Softmax is kept and outputs the calibrated probabilities', async (method, fit) => {
    const calibrator = await fit();
    const path = join(dir, `${method}-softmax.onnx`);
    await writeModel(path, calibrator.toOnnx(withSoftmax(model)));
    const written = await readModel(path);
    validateModel(written);
    expect(written.graph!.output.map((o) => o.name)).toEqual(['probabilities']);
    expect(written.graph!.node.at(-1)!.opType).toBe('Softmax');
    expectClose(await run(written, x), softmaxRows(calibrator.apply(logits)));
    // The original model is left as it was.
    expect(model.graph!.node.some((node) => node.name.startsWith('calibration/'))).toBe(false);
  });

  it('histogram binning and isotonic regression refuse to export, saying so', async () => {
    await expect(fitHistogramBinning(logits, labels, classes).then((c) => c.toOnnx(model))).rejects.toThrow('histogram binning is not exportable as ONNX ops in this version');
    await expect(fitIsotonic(logits, labels, classes).then((c) => c.toOnnx(model))).rejects.toThrow('isotonic regression is not exportable as ONNX ops in this version');
  });
});
