// `onnx-audit defend` writes the model behind its input transforms as one ONNX file, which must
// score exactly as the same pipeline built in memory; a transform that does not fit is refused.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { onnxPredictor, parseTransforms, withInputTransforms } from '@onnx-audit/attacks';
import { writeNpz } from '@onnx-audit/data';
import { buildClassifier, encodeModel, readModel } from '@onnx-audit/onnx';

import { cli } from './run-cli.js';

describe('onnx-audit defend', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-defend-'));
  const model = await buildClassifier({ input: [2, 6, 7], layers: [{ kind: 'conv', channels: 3, kernel: 3 }, { kind: 'relu' }, { kind: 'flatten' }, { kind: 'linear', units: 4 }], seed: 5 });
  const source = join(dir, 'cnn.onnx');
  writeFileSync(source, encodeModel(model));
  const x = Float32Array.from({ length: 5 * 84 }, (_, e) => 0.5 + 0.49 * Math.sin(1.9 * e));

  it('writes a model that scores as the in-memory pipeline, and differs from the undefended one', async () => {
    const out = join(dir, 'defended.onnx');
    const r = cli('defend', '--model', source, '--transform', 'median:3,bits:3', '--out', out);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const written = await onnxPredictor(await readModel(out));
    const inMemory = await onnxPredictor(withInputTransforms(model, parseTransforms('median:3,bits:3')));
    const plain = await onnxPredictor(model);
    const defended = await written.scores(x);
    expect(defended).toEqual(await inMemory.scores(x));
    expect(defended).not.toEqual(await plain.scores(x));
  });

  it('with --data, reports naive, adaptive (BPDA), black-box and undefended robust accuracy', async () => {
    const data = join(dir, 'data.npz');
    const scores = await (await onnxPredictor(model)).scores(x);
    const labels = Int32Array.from({ length: 5 }, (_, i) => Array.from(scores.subarray(i * 4, i * 4 + 4)).reduce((b, v, k, z) => (v > z[b] ? k : b), 0));
    await writeNpz(data, { x: { dtype: 'float32', shape: [5, 2, 6, 7], data: x }, y: { dtype: 'int32', shape: [5], data: labels } });
    const r = cli('defend', '--model', source, '--transform', 'bits:2', '--out', join(dir, 'b2.onnx'), '--data', data, '--eps', '0.5', '--steps', '10', '--json');
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(Object.keys(result)).toEqual(expect.arrayContaining(['cleanAccuracy', 'naive', 'adaptive', 'blackBox', 'undefended', 'transfer']));
    // Round has a zero gradient: only the naive attack's random start moves it; BPDA follows the model
    expect(result.adaptive).toBeLessThanOrEqual(result.naive);
    expect(result.adaptive).toBeLessThan(result.cleanAccuracy);
  });

  it('refuses a transform that does not fit, in one line, writing nothing', () => {
    for (const [spec, message] of [['median:9', /a 9×9 median window does not fit 6×7 images/], ['bits:17', /bit depth must be 1–16/], ['blur:2', /unknown/i]] as const) {
      const r = cli('defend', '--model', source, '--transform', spec, '--out', join(dir, 'never.onnx'));
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(existsSync(join(dir, 'never.onnx'))).toBe(false);
  });
});
