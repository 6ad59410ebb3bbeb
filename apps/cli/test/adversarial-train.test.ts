// `onnx-audit train --adversarial`: one FGSM-RS run on real digits that reports the clean and PGD
// robust accuracy of the written model (checked against an independent evaluation), and the
// one-line errors for bad adversarial flags.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { evaluateAttack, onnxClassifier, pgd } from '@onnx-audit/attacks';
import { loadBuiltin, writeNpz } from '@onnx-audit/data';
import { buildClassifier, readModel, writeModel } from '@onnx-audit/onnx';

import { cli } from './run-cli.js';

describe('onnx-audit train --adversarial', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-adv-train-'));
  const files = { arch: join(dir, 'cnn.onnx'), train: join(dir, 'train.npz'), heldOut: join(dir, 'held-out.npz'), out: join(dir, 'robust.onnx') };

  it('trains with FGSM-RS and reports the PGD robust accuracy of the trained model', async () => {
    const digits = await loadBuiltin('mnist', { perClass: 60 });
    const rows = { train: [] as number[], heldOut: [] as number[] };
    digits.y.forEach((_, i) => (i % 6 === 5 ? rows.heldOut : rows.train).push(i)); // 500 to train on, 100 held out
    const write = async (path: string, which: number[]) => {
      const x = new Float32Array(which.length * 784);
      which.forEach((r, i) => x.set(digits.x.subarray(r * 784, (r + 1) * 784), i * 784));
      await writeNpz(path, { x: { dtype: 'float32', shape: [which.length, 1, 28, 28], data: x }, y: { dtype: 'int32', shape: [which.length], data: Int32Array.from(which, (r) => digits.y[r]) } });
      return { x, labels: Int32Array.from(which, (r) => digits.y[r]) };
    };
    await write(files.train, rows.train);
    const heldOut = await write(files.heldOut, rows.heldOut);
    await writeModel(files.arch, await buildClassifier({
      input: [1, 28, 28],
      layers: [{ kind: 'conv', channels: 8, kernel: 5, stride: 2 }, { kind: 'batchNorm' }, { kind: 'relu' }, { kind: 'flatten' }, { kind: 'linear', units: 10 }],
      seed: 1,
    }));

    const run = cli('train', '--model', files.arch, '--data', files.train, '--val-data', files.heldOut, '--epochs', '2', '--batch-size', '32',
      '--lr', '2e-3', '--seed', '3', '--adversarial', 'fgsm-rs', '--eps', '0.1', '--mix', '0.5', '--out', files.out, '--compare-to', files.arch);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^validation, L∞ ε = 0\.1: clean, PGD-20 robust, standard suite robust accuracy$/m);
    const reported = [...run.stdout.matchAll(/^  (.+): ([\d.]+)%, ([\d.]+)%, ([\d.]+)%$/gm)];
    expect(reported.map((r) => r[1])).toEqual([files.out, files.arch]);
    const [clean, robust, suite] = [2, 3, 4].map((c) => Number(reported[0][c]) / 100);
    expect(robust).toBeLessThanOrEqual(clean);
    expect(suite).toBeLessThanOrEqual(clean);

    // The same evaluation, run here on the written model: PGD's seed is the training seed.
    const classifier = await onnxClassifier(await readModel(files.out), { sampleDims: [1, 28, 28] });
    const { summary } = await evaluateAttack(classifier, heldOut, { norm: 'linf', eps: 0.1 }, () => pgd(classifier, heldOut, { eps: 0.1, steps: 20, seed: 3 }));
    await classifier.release();
    expect(clean).toBeCloseTo(summary.cleanAccuracy, 4);
    expect(robust).toBeCloseTo(summary.robustAccuracy, 4);
  }, 60_000);

  it('refuses bad adversarial flags with one line, before training', () => {
    const base = ['train', '--model', files.arch, '--data', files.train, '--out', join(dir, 'never.onnx')];
    const cases: Array<[string[], RegExp]> = [
      [['--adversarial', 'pgd', '--eps', '0'], /^onnx-audit: --eps must be a number > 0 or a fraction such as 8\/255, got '0'$/],
      [['--adversarial', 'pgd', '--eps', '0.3', '--mix', '1.5'], /^onnx-audit: --mix must be in \(0, 1\], got 1.5$/],
      [['--adversarial', 'pgd', '--eps', '0.3', '--attack-steps', '0'], /^onnx-audit: --attack-steps must be an integer ≥ 1, got '0'$/],
      [['--adversarial', 'pgd'], /^onnx-audit: --adversarial needs --eps/],
      [['--eps', '0.3'], /^onnx-audit: --eps needs --adversarial pgd\|fgsm-rs\|trades$/],
      [['--adversarial', 'fgsm-rs', '--eps', '0.3', '--attack-steps', '3'], /^onnx-audit: --adversarial fgsm-rs: fgsm-rs takes exactly one step, got steps 3$/],
    ];
    for (const [flags, message] of cases) {
      const run = cli(...base, ...flags);
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
      expect(run.stderr.trim()).toMatch(message);
    }
  }, 60_000);
});
