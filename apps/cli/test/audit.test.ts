import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadBuiltin, readNpz, stratifiedSplit, subset, writeNpz } from '@onnx-audit/data';
import { buildClassifier, train, writeModel } from '@onnx-audit/onnx';

import { cli } from './run-cli.js';

const SECTIONS = ['summary', 'model', 'calibration', 'robustness', 'membership', 'provenance'];

describe('onnx-audit audit and report', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-audit-'));
    const digits = await loadBuiltin('mnist', { perClass: 80 });
    const parts = stratifiedSplit(digits.y, { members: 1 / 8, nonMembers: 1 / 8, val: 1 / 8, test: 1 / 8, aux: 1 / 2 }, 3);
    for (const [name, rows] of Object.entries(parts)) {
      const d = subset(digits, rows);
      await writeNpz(file(`${name}.npz`), { x: { dtype: 'float32', shape: d.shape, data: d.x }, y: { dtype: 'int32', shape: [d.y.length], data: d.y } });
    }
    const members = subset(digits, parts.members);
    const cnn = await buildClassifier({ input: [1, 28, 28], layers: [{ kind: 'conv', channels: 4, kernel: 5, stride: 2 }, { kind: 'relu' }, { kind: 'flatten' }, { kind: 'linear', units: 10 }], seed: 2 });
    const { model } = await train(cnn, { x: members.x, sampleDims: [1, 28, 28], labels: members.y }, { epochs: 15, batchSize: 20, optimizer: 'adam', lr: 3e-3, seed: 1 });
    await writeModel(file('model.onnx'), model);
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('audits every section, writes results.json, the report and the artifacts, and re-renders the report from the results alone', async () => {
    const out = file('full');
    const run = cli('audit', '--model', file('model.onnx'), '--data', file('test.npz'), '--val', file('val.npz'), '--members', file('members.npz'), '--nonmembers', file('nonMembers.npz'), '--aux', file('aux.npz'),
      '--quick', '--eps', '0.05,0.1', '--samples', '40', '--shadow-epochs', '3', '--optimizer', 'adam', '--lr', '0.003', '--batch-size', '20', '--work', file('work'), '--out', out);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`wrote ${join(out, 'report.html')}`);
    const results = JSON.parse(await readFile(join(out, 'results.json'), 'utf8'));
    expect(results.schema).toBe('onnx-audit/results@1');
    expect([results.calibration.status, results.robustness.status, results.membership.status]).toEqual(['done', 'done', 'done']);
    expect(results.calibration.temperature).toBeGreaterThan(0);
    expect(results.calibration.samples).toBe(100);
    expect(results.robustness.curve.map((p: { eps: number }) => p.eps)).toEqual([0.05, 0.1]);
    expect(results.robustness.samples).toBe(40);
    expect(results.membership.attacks.map((a: { attack: string }) => a.attack)).toEqual(['loss', 'max', 'sd', 'entropy', 'mentropy']);
    expect(results.membership.calibrated.temperature).toBe(results.calibration.temperature);
    expect(results.summary.length).toBeGreaterThanOrEqual(3);
    expect(results.provenance.data.members).toEqual({ source: file('members.npz'), samples: 100 });

    // The adversarial examples stay within ε = 0.1 of the clean test digits, inside [0, 1], and
    // break as many digits as the robust accuracy says.
    const adversarial = await readNpz(join(out, 'adversarial.npz'));
    const clean = await readNpz(file('test.npz'));
    const advX = adversarial.x.data as Float32Array, cleanX = clean.x.data as Float32Array;
    expect(adversarial.x.shape).toEqual([40, 1, 28, 28]);
    for (let i = 0; i < advX.length; i++) {
      expect(Math.abs(advX[i] - cleanX[i])).toBeLessThanOrEqual(0.1 + 1e-6);
      expect(advX[i] >= 0 && advX[i] <= 1).toBe(true);
    }
    const html = await readFile(join(out, 'report.html'), 'utf8');
    for (const id of SECTIONS) expect(html).toContain(`id="${id}"`);
    const again = cli('report', join(out, 'results.json'), '--out', file('again.html'));
    expect(again.status, again.stderr).toBe(0);
    expect(await readFile(file('again.html'), 'utf8')).toBe(html);
  }, 180_000);

  it('skips the sections whose inputs are missing, saying what to pass', async () => {
    const out = file('bare');
    const run = cli('audit', '--model', file('model.onnx'), '--data', file('test.npz'), '--quick', '--eps', '0.1', '--samples', '20', '--out', out, '--json');
    expect(run.status, run.stderr).toBe(0);
    const results = JSON.parse(run.stdout);
    expect(results.calibration).toEqual({ status: 'skipped', reason: expect.stringMatching(/^pass --val/) });
    expect(results.membership).toEqual({ status: 'skipped', reason: expect.stringMatching(/^pass --members IN.npz and --nonmembers OUT.npz/) });
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('pass --val VAL.npz');
  }, 120_000);

  it('refuses half a membership setup and results that are not an audit\'s, in one line', async () => {
    const half = cli('audit', '--model', file('model.onnx'), '--data', file('test.npz'), '--members', file('members.npz'), '--out', file('half'));
    expect(half.status).toBe(1);
    expect(half.stderr.trim()).toBe('onnx-audit: --members and --nonmembers go together: give both, or neither to skip membership inference');
    const notResults = cli('report', file('model.onnx'), '--out', file('x.html'));
    expect(notResults.status).toBe(1);
    expect(notResults.stderr.trim().split('\n')).toHaveLength(1);
    expect(notResults.stderr).toMatch(/model.onnx: not JSON; pass the results.json an audit wrote/);
  });
});
