// JPEG quantisation compiled into ONNX, read back through an identity model (output =
// Flatten(input)) and compared with a float64 re-computation written here with plain loops: the
// DCT from its defining sum, the IJG table from libjpeg's scaling rule, edge replication by index
// clamping.
import { encodeModel } from '@onnx-audit/onnx';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { type InputTransform, parseTransforms, withInputTransforms } from '../src/defences/transforms.js';
import { identityModel, uniform } from './models.js';

async function jpegOnnx(x: Float32Array, dims: number[], quality: number): Promise<Float32Array> {
  const model = withInputTransforms(identityModel(dims.slice(1)), [{ kind: 'jpeg', quality }]);
  const session = await ort.InferenceSession.create(encodeModel(model));
  try {
    return (await session.run({ image: new ort.Tensor('float32', x, dims) })).flat.data as Float32Array;
  } finally {
    await session.release();
  }
}

const K1 = [
  [16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
  [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92], [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99],
];

/** libjpeg jpeg_quality_scaling + jpeg_add_quant_table (C integer arithmetic, force_baseline). */
function table(quality: number): number[][] {
  const scale = quality < 50 ? Math.trunc(5000 / quality) : 200 - quality * 2;
  return K1.map((row) => row.map((t) => Math.min(255, Math.max(1, Math.trunc((t * scale + 50) / 100)))));
}

const halfToEven = (v: number) => {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/**
 * Float64 JPEG round trip of [N, C, H, W]; `closestTie` is the smallest distance of any
 * coefficient/step ratio from a rounding midpoint, where float32 may legitimately round the
 * other way.
 */
function jpegReference(x: Float32Array, [n, c, h, w]: number[], quality: number): { y: Float64Array; closestTie: number } {
  const q = table(quality);
  const alpha = (u: number) => (u === 0 ? Math.sqrt(1 / 8) : Math.sqrt(2 / 8));
  const y = new Float64Array(x.length);
  let closestTie = Infinity;
  for (let plane = 0; plane < n * c; plane++) {
    const at = (i: number, j: number) => x[plane * h * w + Math.min(i, h - 1) * w + Math.min(j, w - 1)] * 255 - 128;
    for (let bi = 0; bi < h; bi += 8) {
      for (let bj = 0; bj < w; bj += 8) {
        const f: number[][] = [];
        for (let u = 0; u < 8; u++) {
          f.push([]);
          for (let v = 0; v < 8; v++) {
            let s = 0;
            for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) s += at(bi + i, bj + j) * Math.cos(((2 * i + 1) * u * Math.PI) / 16) * Math.cos(((2 * j + 1) * v * Math.PI) / 16);
            const ratio = (alpha(u) * alpha(v) * s) / q[u][v];
            closestTie = Math.min(closestTie, Math.abs(Math.abs(ratio - Math.floor(ratio)) - 0.5));
            f[u].push(halfToEven(ratio) * q[u][v]);
          }
        }
        for (let i = bi; i < Math.min(bi + 8, h); i++) {
          for (let j = bj; j < Math.min(bj + 8, w); j++) {
            let s = 0;
            for (let u = 0; u < 8; u++) for (let v = 0; v < 8; v++) s += alpha(u) * alpha(v) * f[u][v] * Math.cos(((2 * (i - bi) + 1) * u * Math.PI) / 16) * Math.cos(((2 * (j - bj) + 1) * v * Math.PI) / 16);
            y[plane * h * w + i * w + j] = Math.min(1, Math.max(0, (s + 128) / 255));
          }
        }
      }
    }
  }
  return { y, closestTie };
}

/**
 * Float32 computes the coefficients to ~1e-4 (inputs of 255 with 2^-24 relative error through
 * two 8-term products), so a ratio within 1e-3 of a midpoint may round differently from float64
 * and move pixels by ~q/2040. The first seed whose image has no such coefficient is used; the
 * search is deterministic.
 */
function untiedImage(dims: number[], quality: number): { x: Float32Array; reference: Float64Array; seed: number } {
  for (let seed = 1; ; seed++) {
    const x = uniform(dims.reduce((a, b) => a * b), seed);
    const { y, closestTie } = jpegReference(x, dims, quality);
    if (closestTie > 1e-3) return { x, reference: y, seed };
  }
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const meanAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length;

describe('jpeg input transform', () => {
  it('scales K.1 as libjpeg does: Q50 is K.1, Q100 all ones, Q10 five times K.1 capped at 255, Q30 with 5000/30 truncated to 166', () => {
    expect(table(50)).toEqual(K1);
    expect(table(100).flat()).toEqual(Array(64).fill(1));
    expect(table(10)[0].slice(0, 3)).toEqual([80, 55, 50]);
    expect(table(10)[7][4]).toEqual(255);
    expect(table(30)[4][5]).toEqual(181); // (109·166 + 50)/100 = 181.44; with 166.67 it would be 182.17 → 182
  });

  describe.each([
    { dims: [2, 1, 28, 28] },
    { dims: [1, 3, 10, 13] },
    { dims: [1, 2, 16, 8] },
  ])('on $dims', ({ dims }) => {
    it.each([10, 30, 50, 90, 100])('quality %i matches the float64 reference to 1e-5', async (quality) => {
      const { x, reference } = untiedImage(dims, quality);
      const y = await jpegOnnx(x, dims, quality);
      expect(y.length).toBe(x.length);
      expect(maxAbs(y, reference)).toBeLessThan(1e-5);
    });
  });

  it('is nearly the identity at quality 100 and loses more as quality falls', async () => {
    const dims = [2, 1, 28, 28];
    const x = uniform(2 * 28 * 28, 11);
    const errors: Record<number, { max: number; mean: number }> = {};
    for (const quality of [10, 50, 90, 100]) {
      const y = await jpegOnnx(x, dims, quality);
      errors[quality] = { max: maxAbs(y, x), mean: meanAbs(y, x) };
    }
    // Unit steps leave each coefficient within 0.5 of itself: a pixel error of σ = √(1/12)/255 ≈ 0.0011.
    expect(errors[100].max).toBeLessThan(0.01);
    expect(errors[10].mean).toBeGreaterThan(errors[50].mean);
    expect(errors[50].mean).toBeGreaterThan(errors[90].mean);
    expect(errors[90].mean).toBeGreaterThan(errors[100].mean);
  });

  it('refuses what it cannot build with one-line RangeErrors', () => {
    const refusals: Array<[() => unknown, RegExp]> = [
      [() => parseTransforms('jpeg:0'), /^JPEG quality must be 1–100, got 0$/],
      [() => parseTransforms('jpeg:101'), /^JPEG quality must be 1–100, got 101$/],
      [() => parseTransforms('jpeg:75.5'), /^JPEG quality must be 1–100, got 75.5$/],
      [() => parseTransforms('jpeg'), /^malformed input transform 'jpeg': use jpeg:QUALITY$/],
      [() => parseTransforms('jpeg:high'), /^malformed input transform 'jpeg:high': use jpeg:QUALITY$/],
      [() => parseTransforms('jpeg:50:1'), /^malformed input transform 'jpeg:50:1': use jpeg:QUALITY$/],
      [() => withInputTransforms(identityModel([8, 8]), [{ kind: 'jpeg', quality: 0 } as InputTransform]), /^JPEG quality must be 1–100, got 0$/],
      [() => withInputTransforms(identityModel([64]), [{ kind: 'jpeg', quality: 50 }]), /^JPEG compression needs \[N, C, H, W\] images; input 'image' has 2 dims$/],
      [() => withInputTransforms(identityModel([1, 'H', 'W']), [{ kind: 'jpeg', quality: 50 }]), /^JPEG compression needs a fixed image size; input 'image' has a symbolic height or width$/],
    ];
    for (const [fn, message] of refusals) {
      expect(fn).toThrow(RangeError);
      expect(fn).toThrow(message);
    }
    expect(parseTransforms('bits:5, jpeg:75')).toEqual([{ kind: 'bits', depth: 5 }, { kind: 'jpeg', quality: 75 }]);
  });
});
