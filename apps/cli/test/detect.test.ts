// `onnx-audit detect` end to end: adversarial examples from `onnx-audit attack --out`, and every
// figure of the JSON report recomputed here from the squeezed models' logits in float64, with the
// same seeded split of the clean data.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { onnxPredictor, parseTransforms, withInputTransforms } from '@onnx-audit/attacks';
import { readNpz, SeededRandom, writeNpz } from '@onnx-audit/data';
import { buildClassifier, encodeModel } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';

import { cli } from './run-cli.js';

const N = 40, DIMS = [1, 8, 8], D = 64;

async function logits(model: ModelProto, x: Float32Array): Promise<Float32Array> {
  const predictor = await onnxPredictor(model);
  try {
    return await predictor.scores(x);
  } finally {
    await predictor.release();
  }
}

function softmax(z: Float32Array, k: number): Float64Array {
  const out = new Float64Array(z.length);
  for (let i = 0; i < z.length / k; i++) {
    const row = Array.from(z.subarray(i * k, (i + 1) * k));
    const e = row.map((v) => Math.exp(v - Math.max(...row)));
    e.forEach((v, j) => (out[i * k + j] = v / e.reduce((a, b) => a + b)));
  }
  return out;
}

/** Per squeezer, the L1 distance of each sample's squeezed softmax from its own. */
async function distances(model: ModelProto, squeezers: string[], x: Float32Array, k: number): Promise<number[][]> {
  const p = softmax(await logits(model, x), k);
  const out: number[][] = [];
  for (const spec of squeezers) {
    const q = softmax(await logits(withInputTransforms(model, parseTransforms(spec)), x), k);
    out.push(Array.from({ length: x.length / D }, (_, i) => Array.from({ length: k }, (_, j) => Math.abs(p[i * k + j] - q[i * k + j])).reduce((a, b) => a + b)));
  }
  return out;
}

describe('onnx-audit detect', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-detect-'));
  const model = await buildClassifier({ input: DIMS, layers: [{ kind: 'conv', channels: 4, kernel: 3 }, { kind: 'relu' }, { kind: 'flatten' }, { kind: 'linear', units: 3 }], seed: 2 });
  const modelPath = join(dir, 'cnn.onnx');
  writeFileSync(modelPath, encodeModel(model));
  // smooth blobs, labelled by the model itself so that every sample is clean-correct
  const x = Float32Array.from({ length: N * D }, (_, e) => 0.5 + 0.45 * Math.sin(0.3 * (e % D) + 1.7 * Math.floor(e / D)) * Math.cos(0.11 * e));
  const z = await logits(model, x);
  const y = Int32Array.from({ length: N }, (_, i) => [0, 1, 2].reduce((best, j) => (z[i * 3 + j] > z[i * 3 + best] ? j : best), 0));
  const clean = join(dir, 'clean.npz');
  await writeNpz(clean, { x: { dtype: 'float32', shape: [N, ...DIMS], data: x }, y: { dtype: 'int32', shape: [N], data: y } });
  const adv = join(dir, 'adv.npz');
  const attack = cli('attack', '--model', modelPath, '--data', clean, '--attack', 'pgd', '--eps', '0.05', '--steps', '10', '--out', adv, '--quiet');

  it('reports the threshold, false-positive and detection rates that a float64 recomputation gives', async () => {
    expect(attack.status, attack.stderr).toBe(0);
    const r = cli('detect', '--model', modelPath, '--data', clean, '--adversarial', adv, '--fpr', '0.1', '--seed', '3', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(r.stdout);

    const squeezers = ['bits:1', 'median:2', 'median:3'];
    const { x_adv: xAdv, success } = await readNpz(adv);
    const cleanD = await distances(model, squeezers, x, 3);
    const advD = await distances(model, squeezers, xAdv.data as Float32Array, 3);
    const score = (ds: number[][], i: number) => Math.max(...ds.map((d) => d[i]));
    const order = Int32Array.from({ length: N }, (_, i) => i);
    new SeededRandom(3).shuffle(order);
    const [calibration, heldOut] = [Array.from(order.subarray(0, 20)), Array.from(order.subarray(20))];
    // 10% of 20: the threshold is the 18th smallest calibration score, two above it
    const threshold = calibration.map((i) => score(cleanD, i)).sort((a, b) => a - b)[17];
    const rate = (rows: number[], f: (i: number) => number) => rows.filter((i) => f(i) > threshold).length / rows.length;
    const successful = Array.from({ length: N }, (_, i) => i).filter((i) => (success.data as Uint8Array)[i]);
    expect(successful.length).toBeGreaterThan(5);

    expect(report.squeezers).toEqual(squeezers);
    expect(report.threshold).toBeCloseTo(threshold, 6);
    expect([report.calibrationSamples, report.heldOutSamples, report.adversarialSamples, report.successfulAdversarial]).toEqual([20, 20, N, successful.length]);
    expect(report.calibrationFpr).toBeLessThanOrEqual(0.1);
    expect(report.heldOutFpr).toBeCloseTo(rate(heldOut, (i) => score(cleanD, i)), 12);
    expect(report.detectionRate).toBeCloseTo(rate(successful, (i) => score(advD, i)), 12);
    expect(report.detectionRateAll).toBeCloseTo(rate(Array.from({ length: N }, (_, i) => i), (i) => score(advD, i)), 12);
    const detected = successful.filter((i) => score(advD, i) > threshold);
    report.perSqueezer.forEach((p: { squeezer: string; heldOutFpr: number; detectionRate: number; decisive: number }, s: number) => {
      expect(p.squeezer).toBe(squeezers[s]);
      expect(p.heldOutFpr).toBeCloseTo(rate(heldOut, (i) => cleanD[s][i]), 12);
      expect(p.detectionRate).toBeCloseTo(rate(successful, (i) => advD[s][i]), 12);
      expect(p.decisive).toBeCloseTo(detected.filter((i) => advD[s][i] > score(advD, i) - 1e-12).length / detected.length, 12);
    });

    const text = cli('detect', '--model', modelPath, '--data', clean, '--adversarial', adv, '--squeezers', 'bits:2;median:2,bits:3');
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/feature squeezing \(bits:2; median:2,bits:3\), target false-positive rate 5\.00%, seed 0/);
    expect(text.stdout).toMatch(/detection rate: .* of the \d+ successful adversarial examples/);
  });

  it('refuses a bad rate, mismatched adversarial examples and squeezers that do not fit, in one line with exit code 1', async () => {
    const narrow = join(dir, 'narrow.npz');
    await writeNpz(narrow, { x_adv: { dtype: 'float32', shape: [N, 1, 8, 7], data: x.subarray(0, N * 56) }, success: { dtype: 'bool', shape: [N], data: new Uint8Array(N) } });
    const cases: Array<[string[], RegExp]> = [
      [['--adversarial', adv, '--fpr', '0'], /--fpr must be a rate in \(0, 1\), got '0'/],
      [['--adversarial', adv, '--fpr', '1'], /--fpr must be a rate in \(0, 1\)/],
      [['--adversarial', narrow], /narrow\.npz: x_adv has shape \[40,1,8,7\], the clean data's samples are \[1,8,8\]/],
      [['--adversarial', clean], /needs arrays 'x_adv' and 'success'/],
      [['--adversarial', adv, '--squeezers', 'bits:1;median:9'], /--squeezers: squeezer 'median:9': a 9×9 median window does not fit 8×8 images/],
      [['--adversarial', adv, '--squeezers', 'blur:2'], /--squeezers: unknown input transform 'blur:2'/],
    ];
    for (const [args, message] of cases) {
      const r = cli('detect', '--model', modelPath, '--data', clean, ...args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });
});
