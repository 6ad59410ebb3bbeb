import { create } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';

import { buildClassifier, tensorFromArray, tensorValueInfo } from '@onnx-audit/onnx';
import { type ModelProto, ModelProtoSchema } from 'onnx-buf';

import { featureColumn, metricSequences, sequenceFeatures } from '../src/sequences.js';

// shared/specs/seqmia.md §4.3: [loss, max, sd, entropy, m-entropy].
const FIXTURE_Y0 = [0.417030016, 0.659001139, 0.237653913, 0.846738179, 0.219744658];

describe('sequenceFeatures', () => {
  it('reproduces the spec fixtures in float64 and in the official float32 arithmetic', async () => {
    const logits = Float32Array.from([2, 1, 0.1, 2, 1, 0.1, 30, 0, 0, 0].slice(0, 9));
    const features = await sequenceFeatures(logits, Int32Array.from([0, 2, 0]), 3, 'float64');
    FIXTURE_Y0.forEach((v, f) => expect(features[f]).toBeCloseTo(v, 6));
    expect(features[5]).toBeCloseTo(2.317030016, 6);
    expect(features[9]).toBeCloseTo(2.864963372, 6);
    for (const precision of ['float32', 'float64'] as const) {
      const wrong = await sequenceFeatures(Float32Array.from([30, 0, 0, 0]), Int32Array.from([1]), 4, precision);
      expect(wrong[0]).toBeCloseTo(30, 4);
      // The confidently wrong sample: 1 − p_0 rounds to 0 in float32 and is clamped to 1e−30
      // (30 + ln 1e30); exactly it is 3e−30, giving 30 + (30 − ln 3). The spec's 58.9024 is a slip
      // for 58.9014.
      expect(wrong[4]).toBeCloseTo(precision === 'float32' ? 30 + 30 * Math.LN10 : 60 - Math.log(3), 3);
    }
    const official = await sequenceFeatures(logits.subarray(0, 3), Int32Array.from([0]), 3, 'float32');
    FIXTURE_Y0.forEach((v, f) => expect(official[f]).toBeCloseTo(v, 5));
  });
});

/** A model whose logits are its input times a constant: [x, 0] · scale. */
function scaled(scale: number): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'scaled',
      input: [tensorValueInfo('x', ['N', 2])],
      output: [tensorValueInfo('z', ['N', 2])],
      initializer: [tensorFromArray('s', [], Float32Array.of(scale))],
      node: [{ opType: 'Mul', name: 'mul', input: ['x', 's'], output: ['z'] }] as never,
    },
  });
}

describe('metricSequences', () => {
  it('lays out [samples, models, 5] with the models in the order given (the original model last)', async () => {
    const set = { x: Float32Array.from([1, 0, 0, 2]), sampleDims: [2], labels: Int32Array.from([0, 1]) };
    const models = [scaled(1), scaled(2), scaled(5)];
    const sequences = await metricSequences(models, set, { precision: 'float64' });
    expect(sequences.length).toBe(2 * 3 * 5);
    models.forEach((_, t) => {
      const scale = [1, 2, 5][t];
      // Sample 0: logits [scale, 0], label 0 → loss log(1 + e^−scale); sample 1: [0, 2·scale], label 1.
      expect(sequences[(0 * 3 + t) * 5]).toBeCloseTo(Math.log1p(Math.exp(-scale)), 6);
      expect(sequences[(1 * 3 + t) * 5]).toBeCloseTo(Math.log1p(Math.exp(-2 * scale)), 6);
    });
    const losses = featureColumn(sequences, 3, 0);
    expect(Array.from(losses)).toEqual([0, 1, 2, 3, 4, 5].map((e) => sequences[e * 5]));
  });
});

describe('metricSequences under --parity', () => {
  it('queries the snapshots in training mode, batch by membership part, and the original model in inference mode', async () => {
    const bn = await buildClassifier({ input: [3], layers: [{ kind: 'linear', units: 4 }, { kind: 'batchNorm' }, { kind: 'relu' }, { kind: 'linear', units: 2 }], seed: 3 });
    const x = Float32Array.from({ length: 6 * 3 }, (_, i) => Math.sin(i + 1));
    const set = { x, sampleDims: [3], labels: Int32Array.from([0, 1, 0, 1, 1, 0]) };
    const trainingMode = { batchSize: 100, seed: 1, parts: [3, 3] };
    const parity = await metricSequences([bn, bn], set, { precision: 'float64', trainingMode });
    const inference = await metricSequences([bn, bn], set, { precision: 'float64' });
    const step = (s: Float32Array, i: number, t: number) => Array.from(s.subarray((i * 2 + t) * 5, (i * 2 + t + 1) * 5));
    for (let i = 0; i < 6; i++) {
      expect(step(parity, i, 1)).toEqual(step(inference, i, 1));
      expect(step(parity, i, 0)).not.toEqual(step(inference, i, 0));
    }
    // Batch statistics come from each part alone: changing a non-member leaves the members' steps as they were.
    const changed = x.slice();
    changed[5 * 3] += 3;
    const after = await metricSequences([bn, bn], { ...set, x: changed }, { precision: 'float64', trainingMode });
    for (let i = 0; i < 3; i++) expect(step(after, i, 0)).toEqual(step(parity, i, 0));
    expect(step(after, 3, 0)).not.toEqual(step(parity, 3, 0));
  });
});
