// `onnx-audit train --adversarial`: one FGSM-RS run on real digits that reports the clean and PGD
// robust accuracy of the written model (checked against an independent evaluation), and the
// one-line errors for bad adversarial flags.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { evaluateAttack, onnxClassifier, pgd } from '@onnx-audit/attacks';
import { readModel } from '@onnx-audit/onnx';

import { mnistTrainingFiles, reportedRobustness } from './mnist-training-files.js';
import { cli } from './run-cli.js';

describe('onnx-audit train --adversarial', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-adv-train-'));
  const { files, heldOut } = await mnistTrainingFiles(dir, 60, 6);
  const out = join(dir, 'robust.onnx');

  it('trains with FGSM-RS and reports the PGD robust accuracy of the trained model', async () => {
    const run = cli('train', '--model', files.arch, '--data', files.train, '--val-data', files.heldOut, '--epochs', '2', '--batch-size', '32',
      '--lr', '2e-3', '--seed', '3', '--adversarial', 'fgsm-rs', '--eps', '0.1', '--mix', '0.5', '--out', out, '--compare-to', files.arch);
    expect(run.status, run.stderr).toBe(0);
    const reported = reportedRobustness(run.stdout);
    expect(reported.map((r) => r.model)).toEqual([out, files.arch]);
    const { clean, robust, suite } = reported[0];
    expect(robust).toBeLessThanOrEqual(clean);
    expect(suite).toBeLessThanOrEqual(clean);

    // The same evaluation, run here on the written model: PGD's seed is the training seed.
    const classifier = await onnxClassifier(await readModel(out), { sampleDims: [1, 28, 28] });
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
