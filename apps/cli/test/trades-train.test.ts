// `onnx-audit train --adversarial trades`: a short TRADES run on real digits whose written model
// matches the reported clean and PGD robust accuracy, and the one-line errors of its flags.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { evaluateAttack, onnxClassifier, pgd } from '@onnx-audit/attacks';
import { readModel } from '@onnx-audit/onnx';

import { mnistTrainingFiles, reportedRobustness } from './mnist-training-files.js';
import { cli } from './run-cli.js';

describe('onnx-audit train --adversarial trades', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-trades-train-'));
  const { files, heldOut } = await mnistTrainingFiles(dir, 40, 5);
  const out = join(dir, 'trades.onnx');

  it('trains with TRADES and reports the PGD robust accuracy of the trained model', async () => {
    const run = cli('train', '--model', files.arch, '--data', files.train, '--val-data', files.heldOut, '--epochs', '2', '--batch-size', '32',
      '--lr', '2e-3', '--seed', '3', '--adversarial', 'trades', '--trades-beta', '3', '--eps', '0.1', '--attack-steps', '3', '--out', out);
    expect(run.status, run.stderr).toBe(0);
    const reported = reportedRobustness(run.stdout);
    expect(reported.map((r) => r.model)).toEqual([out]);
    const { clean, robust } = reported[0];

    const classifier = await onnxClassifier(await readModel(out), { sampleDims: [1, 28, 28] });
    const { summary } = await evaluateAttack(classifier, heldOut, { norm: 'linf', eps: 0.1 }, () => pgd(classifier, heldOut, { eps: 0.1, steps: 20, seed: 3 }));
    await classifier.release();
    expect(clean).toBeCloseTo(summary.cleanAccuracy, 4);
    expect(robust).toBeCloseTo(summary.robustAccuracy, 4);
    expect(clean).toBeGreaterThan(0.5);
  }, 60_000);

  it('refuses bad TRADES flags with one line, before training', () => {
    const base = ['train', '--model', files.arch, '--data', files.train, '--out', join(dir, 'never.onnx')];
    const cases: Array<[string[], RegExp]> = [
      [['--trades-beta', '6'], /^onnx-audit: --trades-beta needs --adversarial trades$/],
      [['--adversarial', 'pgd', '--eps', '0.3', '--trades-beta', '6'], /^onnx-audit: --trades-beta needs --adversarial trades$/],
      [['--adversarial', 'trades', '--eps', '0.3', '--trades-beta', '-1'], /^onnx-audit: --trades-beta must be a number ≥ 0, got -1$/],
      [['--adversarial', 'trades', '--eps', '0.3', '--mix', '0.5'], /^onnx-audit: --mix does not apply to --adversarial trades/],
    ];
    for (const [flags, message] of cases) {
      const run = cli(...base, ...flags);
      expect(run.status, run.stderr).toBe(1);
      expect(run.stderr.trim().split('\n'), run.stderr).toHaveLength(1);
      expect(run.stderr.trim()).toMatch(message);
    }
  }, 60_000);
});
