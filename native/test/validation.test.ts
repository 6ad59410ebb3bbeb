// Wrong argument types, lengths and values end in a JS TypeError or RangeError naming the
// function and the argument; none reaches a kernel, none crashes the process.
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import type { NativeAddon } from '../lib/binding.js';
import { loadAddon } from '../lib/loader.js';
import * as native from '../lib/index.js';

const addon: NativeAddon = loadAddon();
const f32 = (n: number) => new Float32Array(n);

describe('argument validation', () => {
  it('refuses wrong typed-array types', () => {
    expect(() => addon.softmax('cpu', new Float64Array(4) as unknown as Float32Array, 2, 1, false, f32(4))).toThrow(TypeError);
    expect(() => addon.softmax('cpu', [1, 2] as unknown as Float32Array, 2, 1, false, f32(2))).toThrow(/argument 2 must be a Float32Array/);
    expect(() => addon.membershipMetrics('cpu', f32(4), new Uint32Array(2) as unknown as Int32Array, 2, new Float64Array(14))).toThrow(TypeError);
    expect(() => (addon.softmax as unknown as () => void)()).toThrow(TypeError);
  });

  it('refuses lengths that do not fit the shape', () => {
    expect(() => addon.softmax('cpu', f32(5), 2, 1, false, f32(5))).toThrow(/not a multiple of k = 2/);
    expect(() => addon.softmax('cpu', f32(4), 2, 1, false, f32(3))).toThrow(RangeError);
    expect(() => addon.membershipMetrics('cpu', f32(4), new Int32Array(3), 2, new Float64Array(14))).toThrow(/one label per row/);
    expect(() => addon.project('cpu', 'l2', f32(6), f32(6), 3, f32(3), 0, 1, f32(6))).toThrow(/one value per sample/);
    expect(() => addon.gradientEstimate('cpu', f32(4), f32(4), f32(7), 2, 0.1, f32(2))).toThrow(RangeError);
    expect(() => addon.roc('cpu', f32(2), new Uint8Array(2), new Float64Array(1), new Float64Array(1), new Float64Array(2), new Float64Array(3), new Float64Array(3))).toThrow(/n \+ 1 curve points/);
  });

  it('refuses out-of-range and non-finite parameters', () => {
    expect(() => addon.softmax('cpu', f32(4), 2, 0, false, f32(4))).toThrow(/must be > 0/);
    expect(() => addon.softmax('cpu', f32(4), 2, NaN, false, f32(4))).toThrow(/finite/);
    expect(() => addon.softmax('cpu', f32(4), 2.5, 1, false, f32(4))).toThrow(/integer/);
    expect(() => addon.membershipMetrics('cpu', f32(4), Int32Array.from([0, 2]), 2, new Float64Array(14))).toThrow(/label 2 at index 1, outside \[0, 2\)/);
    expect(() => addon.membershipMetrics('cpu', f32(2), new Int32Array(2), 1, new Float64Array(14))).toThrow(RangeError);
    expect(() => addon.nllTemperature('cpu', f32(0), new Int32Array(0), 3, 1)).toThrow(/empty/);
    expect(() => addon.calibrationBins('cpu', Float32Array.from([1.5]), Uint8Array.from([1]), 10, 'equal-width', new Float64Array(50))).toThrow(/outside \[0, 1\]/);
    expect(() => addon.calibrationBins('cpu', Float32Array.from([NaN]), Uint8Array.from([1]), 10, 'equal-width', new Float64Array(50))).toThrow(RangeError);
    expect(() => addon.calibrationBins('cpu', f32(1), Uint8Array.from([1]), 10, 'quantile' as 'equal-mass', new Float64Array(50))).toThrow(/must be one of 'equal-width', 'equal-mass'/);
    expect(() => addon.attackStep('cpu', 'l1', f32(4), f32(4), 4, Float32Array.from([1]), 5, f32(4))).toThrow(/in \[1, 4\]/);
    expect(() => addon.attackStep('cpu', 'sign', f32(4), f32(4), 4, Float32Array.from([-1]), 0, f32(4))).toThrow(/>= 0/);
    expect(() => addon.project('cpu', 'linf', f32(2), Float32Array.from([2, 0]), 2, f32(1), 0, 1, f32(2))).toThrow(/outside the box/);
    expect(() => addon.project('cpu', 'linf', f32(2), f32(2), 2, f32(1), 1, 0, f32(2))).toThrow(/exceeds the upper bound/);
    expect(() => addon.roc('cpu', Float32Array.from([NaN, 1]), Uint8Array.from([0, 1]), new Float64Array(0), new Float64Array(0), new Float64Array(3), new Float64Array(3), new Float64Array(3))).toThrow(/NaN/);
    expect(() => addon.roc('cpu', f32(2), Uint8Array.from([1, 1]), new Float64Array(0), new Float64Array(0), new Float64Array(3), new Float64Array(3), new Float64Array(3))).toThrow(/at least one positive and one negative/);
    expect(() => addon.adamStep('cpu', f32(2), f32(2), f32(2), f32(2), 1e-3, 1, 0.999, 1e-8, 0, false, 0)).toThrow(/\[0, 1\)/);
    expect(() => addon.sgdStep('cpu', f32(2), f32(2), f32(2), 0.1, 0, 0, 0, true, 0)).toThrow(/Nesterov/);
    expect(() => addon.randomFill('cpu', 'uniform', -1n, 0, f32(2))).toThrow(RangeError);
    expect(() => addon.randomFill('cpu', 'uniform', 1.5, 0, f32(2))).toThrow(/integer/);
    expect(() => addon.setThreads(0)).toThrow(RangeError);
  });

  it('refuses a device that is not there, and the wrapper falls back to the CPU with a notice', async () => {
    expect(() => addon.softmax('gpu' as 'cuda', f32(2), 2, 1, false, f32(2))).toThrow(/'cpu', 'cuda'/);
    if (addon.capabilities().cuda) return;
    expect(() => addon.softmax('cuda', f32(2), 2, 1, false, f32(2))).toThrow(/CUDA is not available/);
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (message: string) => warnings.push(message);
    try {
      const p = await native.softmax(Float32Array.from([0, 0]), 2, { device: 'cuda' });
      expect([...p]).toEqual([0.5, 0.5]);
    } finally {
      console.warn = warn;
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/CUDA is not available .*; using the CPU kernels/);
  });

  it('returns a Promise for calls over 1 MB and a plain result below', async () => {
    expect(addon.randomFill('cpu', 'normal', 1n, 0, f32(16))).toBeUndefined();
    const big = f32(1 << 20);
    const pending = addon.randomFill('cpu', 'normal', 1n, 0, big);
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).resolves.toBeUndefined();
    expect(big.some((v) => v !== 0)).toBe(true);
  });

  it('refuses a binary of another version', () => {
    const require = createRequire(import.meta.url);
    const { version } = require('../package.json') as { version: string };
    expect(addon.capabilities().version).toBe(version);
    const previous = process.env.ONNX_AUDIT_NATIVE;
    process.env.ONNX_AUDIT_NATIVE = join('/nonexistent', 'onnx_audit.node');
    try {
      // the override fails, the local build still loads
      expect(loadAddon().capabilities().version).toBe(version);
    } finally {
      if (previous === undefined) delete process.env.ONNX_AUDIT_NATIVE;
      else process.env.ONNX_AUDIT_NATIVE = previous;
    }
  });
});
