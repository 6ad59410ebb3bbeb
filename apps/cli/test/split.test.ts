// `onnx-audit split`: parts hold the stated fraction of every class, cover the data once, and the
// same seed writes the same bytes.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { readNpz, writeNpz } from '@onnx-audit/data';

import { cli } from './run-cli.js';

describe('onnx-audit split', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-split-'));
  const data = join(dir, 'all.npz');
  // 60 samples of class 0, 30 of class 1, 12 of class 2; x records each sample's index
  const y = Int32Array.from([...Array<number>(60).fill(0), ...Array<number>(30).fill(1), ...Array<number>(12).fill(2)]);

  it('writes stratified parts: per class the fraction, rounded; all samples once; same seed, same bytes', async () => {
    await writeNpz(data, { x: { dtype: 'float32', shape: [y.length, 1], data: Float32Array.from(y, (_, i) => i) }, y: { dtype: 'int32', shape: [y.length], data: y } });
    const run = (out: string, seed: string) => cli('split', '--data', data, '--out', join(dir, out), '--parts', 'train=0.5,val=0.25,test=0.25', '--seed', seed);
    expect(run('a', '7').status).toBe(0);
    expect(run('b', '7').status).toBe(0);
    expect(run('c', '8').status).toBe(0);
    const seen = new Set<number>();
    const expected: Record<string, number[]> = { train: [30, 15, 6], val: [15, 7.5, 3], test: [15, 7.5, 3] };
    for (const part of ['train', 'val', 'test']) {
      const arrays = await readNpz(join(dir, 'a', `${part}.npz`));
      const labels = Array.from(arrays.y.data as Int32Array);
      [0, 1, 2].forEach((k) => expect(Math.abs(labels.filter((l) => l === k).length - expected[part][k])).toBeLessThanOrEqual(0.5));
      Array.from(arrays.x.data as Float32Array).forEach((i, j) => {
        expect(y[i]).toBe(labels[j]);
        seen.add(i);
      });
      expect(readFileSync(join(dir, 'b', `${part}.npz`))).toEqual(readFileSync(join(dir, 'a', `${part}.npz`)));
    }
    expect(seen.size).toBe(y.length);
    expect(readFileSync(join(dir, 'c', 'train.npz'))).not.toEqual(readFileSync(join(dir, 'a', 'train.npz')));
  });

  it('writes the five membership-inference parts', () => {
    const run = cli('split', '--data', data, '--out', join(dir, 'mia'), '--membership');
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n').map((line) => line.replace(/^.*\//, ''))).toEqual([
      'targetIn.npz: 17 samples', 'targetOut.npz: 17 samples', 'shadowIn.npz: 17 samples', 'shadowOut.npz: 17 samples', 'distillation.npz: 34 samples',
    ]);
  });
});
