// Input transforms compiled into ONNX, checked on an identity model (output = Flatten(input), so
// the transformed image can be read back) against float64 re-computations in TS: a median filter
// with scipy's reflect padding and bit-depth reduction with round-half-to-even, both written here
// independently of the graph construction.
import { buildClassifier, decodeModel, encodeModel } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { type InputTransform, parseTransforms, withInputTransforms } from '../src/defences/transforms.js';
import { identityModel, uniform } from './models.js';

async function run(model: ModelProto, x: Float32Array, dims: number[], runs = 1): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(encodeModel(model));
  try {
    const input = model.graph!.input[0].name, output = model.graph!.output[0].name;
    const outs: Float32Array[] = [];
    for (let r = 0; r < runs; r++) outs.push((await session.run({ [input]: new ort.Tensor('float32', x, dims) }))[output].data as Float32Array);
    return outs;
  } finally {
    await session.release();
  }
}

/** scipy.ndimage.median_filter(mode='reflect') on each [H, W] plane of [N, C, H, W]. */
function medianReference(x: Float32Array, [n, c, h, w]: number[], k: number): Float64Array {
  const out = new Float64Array(x.length);
  const at = (p: number, len: number) => (p < 0 ? -p - 1 : p >= len ? 2 * len - 1 - p : p);
  const back = Math.floor(k / 2);
  for (let plane = 0; plane < n * c; plane++) {
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const window: number[] = [];
        for (let di = 0; di < k; di++) for (let dj = 0; dj < k; dj++) window.push(x[plane * h * w + at(i + di - back, h) * w + at(j + dj - back, w)]);
        window.sort((a, b) => a - b);
        out[plane * h * w + i * w + j] = window[Math.floor(window.length / 2)];
      }
    }
  }
  return out;
}

const halfToEven = (v: number) => {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** Round(x·m)/m with m = 2^b − 1, each float32 operation rounded as ORT rounds it. */
function bitsReference(x: ArrayLike<number>, depth: number): Float64Array {
  const m = 2 ** depth - 1;
  return Float64Array.from(x, (v) => Math.fround(halfToEven(Math.fround(v * m)) / m));
}

describe('withInputTransforms', () => {
  it.each([
    { dims: [2, 3, 6, 7], k: 3 },
    { dims: [1, 2, 7, 5], k: 5 },
    { dims: [1, 1, 5, 5], k: 5 },
    { dims: [2, 2, 6, 4], k: 2 },
    { dims: [1, 3, 5, 6], k: 4 },
  ])('median $k×$k on $dims matches scipy-style reflect-padded median filtering', async ({ dims, k }) => {
    const x = uniform(dims.reduce((a, b) => a * b), 11 * k + dims[2]);
    const [y] = await run(withInputTransforms(identityModel(dims.slice(1)), [{ kind: 'median', size: k }]), x, dims);
    expect(Array.from(y)).toEqual(Array.from(medianReference(x, dims, k)));
    expect(Array.from(y)).not.toEqual(Array.from(x));
  });

  it('bits matches Round(x·(2^b − 1))/(2^b − 1) with ties to even, at 0, 1 and rounding midpoints', async () => {
    for (const depth of [1, 3, 5, 8, 16]) {
      const m = 2 ** depth - 1;
      // Float32 inputs whose product with m is exactly a half-integer: ONNX Round sends them to the even neighbour.
      const ties = Array.from({ length: Math.min(m, 200) }, (_, j) => Math.fround((j + 0.5) / m)).filter((v, j) => Math.fround(v * m) === j + 0.5);
      const x = Float32Array.from([0, 1, 0.5, 0.25, 1 / 3, ...ties, ...uniform(60, depth)]);
      const [y] = await run(withInputTransforms(identityModel([x.length, 1, 1]), [{ kind: 'bits', depth }]), x, [1, x.length, 1, 1]);
      expect(Array.from(y)).toEqual(Array.from(bitsReference(x, depth)));
      expect([y[0], y[1]]).toEqual([0, 1]);
      for (const [t, v] of ties.entries()) {
        const j = Math.round(Math.fround(v * m) - 0.5);
        expect(y[5 + t]).toBe(Math.fround((j % 2 === 0 ? j : j + 1) / m));
      }
      if (depth === 1) expect(y[2]).toBe(0); // 0.5 → Round(0.5) = 0, not 1
      if (depth === 1 || depth === 3 || depth === 5) expect(ties.length).toBeGreaterThan(0);
    }
  });

  it('chains in order: median then bits equals the two references applied in turn', async () => {
    const dims = [2, 3, 7, 6];
    const x = uniform(dims.reduce((a, b) => a * b), 5);
    const [y] = await run(withInputTransforms(identityModel(dims.slice(1)), parseTransforms('median:3,bits:4')), x, dims);
    expect(Array.from(y)).toEqual(Array.from(bitsReference(Float32Array.from(medianReference(x, dims, 3)), 4)));
    const [swapped] = await run(withInputTransforms(identityModel(dims.slice(1)), parseTransforms('bits:4,median:3')), x, dims);
    expect(Array.from(swapped)).toEqual(Array.from(medianReference(Float32Array.from(bitsReference(x, 4)), dims, 3)));
    // A median commutes with any monotone map, so the swapped chain agrees here; noise and
    // quantisation do not commute, and show the order is kept: only bits-last lands on the grid.
    expect(Array.from(swapped)).toEqual(Array.from(y));
    const onGrid = (v: Float32Array) => Array.from(v).every((u) => Math.abs(u * 15 - Math.round(u * 15)) < 1e-4);
    const [noisyThenBits] = await run(withInputTransforms(identityModel(dims.slice(1)), parseTransforms('noise:0.1:1,bits:4')), x, dims);
    const [bitsThenNoisy] = await run(withInputTransforms(identityModel(dims.slice(1)), parseTransforms('bits:4,noise:0.1:1')), x, dims);
    expect([onGrid(noisyThenBits), onGrid(bitsThenNoisy)]).toEqual([true, false]);
  });

  it('keeps the logits of a classifier on inputs the transforms leave unchanged, as a valid standalone file', async () => {
    const model = await buildClassifier({ input: [3, 6, 7], layers: [{ kind: 'conv', channels: 4, kernel: 3 }, { kind: 'relu' }, { kind: 'flatten' }, { kind: 'linear', units: 5 }], seed: 2 });
    const defended = decodeModel(encodeModel(withInputTransforms(model, [{ kind: 'bits', depth: 8 }])), { source: 'defended' });
    expect(defended.graph!.input).toEqual(model.graph!.input);
    expect(defended.graph!.node.length).toBe(model.graph!.node.length + 3);
    const dims = [4, 3, 6, 7];
    const x = Float32Array.from(uniform(dims.reduce((a, b) => a * b), 9), (v) => Math.fround(Math.floor(v * 256) / 255));
    const [clean] = await run(model, x, dims), [defendedLogits] = await run(defended, x, dims);
    expect(Array.from(defendedLogits)).toEqual(Array.from(clean));
    // Off the 1/255 grid the defence does change what the classifier sees.
    const off = Float32Array.from(x, (v, i) => Math.min(1, v + (i % 7) * 0.0015));
    expect(Array.from((await run(defended, off, dims))[0])).not.toEqual(Array.from((await run(model, off, dims))[0]));
  });

  it('adds N(0, σ²) noise: fresh each run, replayed by a new session with the same seed', async () => {
    const dims = [1, 3, 32, 32];
    const x = uniform(3 * 32 * 32, 3);
    const model = withInputTransforms(identityModel(dims.slice(1)), [{ kind: 'noise', sigma: 0.05, seed: 7 }]);
    const [a1, a2] = await run(model, x, dims, 2);
    const [b1, b2] = await run(model, x, dims, 2);
    const [c1] = await run(withInputTransforms(identityModel(dims.slice(1)), [{ kind: 'noise', sigma: 0.05, seed: 8 }]), x, dims);
    expect(Array.from(b1)).toEqual(Array.from(a1));
    expect(Array.from(b2)).toEqual(Array.from(a2));
    expect(Array.from(a2)).not.toEqual(Array.from(a1));
    expect(Array.from(c1)).not.toEqual(Array.from(a1));
    const noise = Array.from(a1, (v, i) => v - x[i]);
    const mean = noise.reduce((s, v) => s + v, 0) / noise.length;
    const sd = Math.sqrt(noise.reduce((s, v) => s + (v - mean) ** 2, 0) / (noise.length - 1));
    // 3072 draws: the standard errors are 0.05/√3072 ≈ 0.0009 for the mean and ≈ 0.0006 for the sd.
    expect(Math.abs(mean)).toBeLessThan(0.004);
    expect(Math.abs(sd - 0.05)).toBeLessThan(0.003);
  });

  it('refuses what it cannot build with one-line RangeErrors', async () => {
    const refusals: Array<[() => unknown, RegExp]> = [
      [() => withInputTransforms(identityModel([1, 3, 3]), [{ kind: 'median', size: 5 }]), /^a 5×5 median window does not fit 3×3 images$/],
      [() => withInputTransforms(identityModel([1, 3, 8]), [{ kind: 'median', size: 4 }]), /^a 4×4 median window does not fit 3×8 images$/],
      [() => withInputTransforms(identityModel([10]), [{ kind: 'median', size: 3 }]), /needs \[N, C, H, W\] images; input 'image' has 2 dims/],
      [() => withInputTransforms(identityModel([1, 'H', 'W']), [{ kind: 'median', size: 3 }]), /fixed image size/],
      [() => withInputTransforms(identityModel([1, 4, 4]), [{ kind: 'median', size: 1 }]), /window size must be an integer ≥ 2/],
      [() => withInputTransforms(identityModel([10]), [{ kind: 'bits', depth: 0 }]), /^bit depth must be 1–16, got 0$/],
      [() => withInputTransforms(identityModel([10]), [{ kind: 'bits', depth: 17 }]), /^bit depth must be 1–16, got 17$/],
      [() => withInputTransforms(identityModel([10]), [{ kind: 'blur', size: 3 } as unknown as InputTransform]), /unknown input transform kind 'blur'/],
      [() => withInputTransforms(identityModel([10]), [{ kind: 'noise', sigma: -1 }]), /sigma must be a positive number/],
      [() => parseTransforms('blur:3'), /unknown input transform 'blur:3'/],
      [() => parseTransforms('median'), /malformed input transform 'median'/],
      [() => parseTransforms('median:3,,bits:4'), /unknown input transform ''/],
      [() => parseTransforms('bits:five'), /malformed input transform 'bits:five'/],
      [() => parseTransforms('bits:2.5'), /bit depth must be 1–16, got 2.5/],
      [() => parseTransforms('median:3:3'), /malformed input transform 'median:3:3'/],
      [() => parseTransforms('noise:0.1:1.5'), /noise seed must be an integer/],
    ];
    const old = identityModel([10]);
    old.opsetImport[0].version = 9n;
    refusals.push([() => withInputTransforms(old, [{ kind: 'bits', depth: 4 }]), /need opset ≥ 11; the model imports opset 9/]);
    for (const [fn, message] of refusals) {
      expect(fn).toThrow(RangeError);
      expect(fn).toThrow(message);
      try { fn(); } catch (e) { expect((e as Error).message).not.toContain('\n'); }
    }
    expect(parseTransforms(' median:3, bits:5 ,noise:0.05,noise:1e-2:7')).toEqual([
      { kind: 'median', size: 3 }, { kind: 'bits', depth: 5 }, { kind: 'noise', sigma: 0.05 }, { kind: 'noise', sigma: 0.01, seed: 7 },
    ]);
  });
});
