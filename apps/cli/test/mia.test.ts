import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadBuiltin, readNpy, stratifiedSplit, subset, writeNpz } from '@onnx-audit/data';
import { buildClassifier, train, writeModel } from '@onnx-audit/onnx';

import { cli } from './run-cli.js';

// A tiny audit: settings small enough for seconds per run, not for meaningful leakage numbers
// (packages/mia's tests measure those).
const QUICK = ['--shadow-epochs', '3', '--optimizer', 'adam', '--lr', '0.002', '--batch-size', '32', '--snapshots', '2', '--attack-epochs', '3', '--reference-models', '2'];

describe('onnx-audit mia', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-mia-'));
    const digits = await loadBuiltin('mnist', { perClass: 60 });
    const parts = stratifiedSplit(digits.y, { members: 1 / 6, nonMembers: 1 / 6, aux: 2 / 3 }, 1);
    for (const [name, rows] of Object.entries(parts)) {
      const d = subset(digits, rows);
      await writeNpz(file(`${name}.npz`), { x: { dtype: 'float32', shape: d.shape, data: d.x }, y: { dtype: 'int32', shape: [d.y.length], data: d.y } });
    }
    const smallAux = subset(digits, parts.aux.subarray(0, 100));
    await writeNpz(file('small-aux.npz'), { x: { dtype: 'float32', shape: smallAux.shape, data: smallAux.x }, y: { dtype: 'int32', shape: [100], data: smallAux.y } });
    const badLabels = subset(digits, parts.nonMembers);
    badLabels.y[3] = 12;
    await writeNpz(file('bad-labels.npz'), { x: { dtype: 'float32', shape: badLabels.shape, data: badLabels.x }, y: { dtype: 'int32', shape: [badLabels.y.length], data: badLabels.y } });
    const members = subset(digits, parts.members);
    const cnn = await buildClassifier({ input: [1, 28, 28], layers: [{ kind: 'conv', channels: 4, kernel: 5, stride: 2 }, { kind: 'relu' }, { kind: 'flatten' }, { kind: 'linear', units: 10 }], seed: 2 });
    const { model } = await train(cnn, { x: members.x, sampleDims: [1, 28, 28], labels: members.y }, { epochs: 15, batchSize: 20, optimizer: 'adam', lr: 3e-3, seed: 1 });
    await writeModel(file('target.onnx'), model);
    // The same network ending in Cos, an op without a gradient rule: it cannot be retrained.
    model.graph!.node.push({ ...model.graph!.node[0], opType: 'Cos', name: 'cos', input: [model.graph!.output[0].name], output: ['cos_out'], attribute: [] });
    model.graph!.output[0] = { ...model.graph!.output[0], name: 'cos_out' };
    await writeModel(file('cos.onnx'), model);
  }, 120_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const base = () => ['mia', '--target', file('target.onnx'), '--members', file('members.npz'), '--nonmembers', file('nonMembers.npz'), '--work', file('work')];

  it('prints one JSON object for an attack and writes its scores, members first', async () => {
    const run = cli(...base(), '--aux', file('aux.npz'), '--attack', 'loss', '--json', '--scores-out', file('loss.npy'), ...QUICK);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ attack: 'loss', members: 100, nonMembers: 100 });
    for (const key of ['auc', 'balancedAccuracy', 'advantage', 'seconds']) expect(typeof result[key]).toBe('number');
    expect(Object.keys(result.tprAtFpr)).toEqual(['0.001', '0.01']);
    expect(result.thresholds.global.accuracy).toBeGreaterThan(0);
    // The AUC is the Mann–Whitney statistic of the scores written: recompute it by pair counting.
    const scores = (await readNpy(file('loss.npy'))).data as Float64Array;
    expect(scores.length).toBe(200);
    let wins = 0;
    for (let i = 0; i < 100; i++) for (let j = 100; j < 200; j++) wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    expect(result.auc).toBeCloseTo(wins / 10_000, 6);
  });

  it('compares every attack before and after temperature scaling', () => {
    const run = cli(...base(), '--aux', file('aux.npz'), '--compare', '--calibrate', 'temperature', '--json', ...QUICK);
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout);
    const names = ['seqmia', 'trajectory', 'lira', 'shokri', 'loss', 'max', 'sd', 'entropy', 'mentropy'];
    expect(result.attacks.map((a: { attack: string }) => a.attack)).toEqual(names);
    const { temperature, attackerUnaware, attackerAware } = result.calibrated;
    expect(temperature).toBeGreaterThan(0);
    for (const side of [attackerUnaware, attackerAware]) expect(side.attacks.map((a: { attack: string }) => a.attack)).toEqual(names);
    // The metric attacks' ROC reads the calibrated target alone, whatever the attacker knows; the
    // thresholds come from the attacker's shadow model, scaled by T only when it knows T.
    const byName = (side: { attacks: { attack: string; auc: number; thresholds?: { global: { accuracy: number } } }[] }) => new Map(side.attacks.map((a) => [a.attack, a]));
    const [unawareBy, awareBy] = [byName(attackerUnaware), byName(attackerAware)];
    for (const metric of ['loss', 'max', 'sd', 'entropy', 'mentropy']) expect(awareBy.get(metric)!.auc).toBe(unawareBy.get(metric)!.auc);
    expect(['loss', 'max', 'sd', 'entropy', 'mentropy'].some((m) => awareBy.get(m)!.thresholds!.global.accuracy !== unawareBy.get(m)!.thresholds!.global.accuracy)).toBe(true);
    // The calibrated audit reuses the attacker's own stages (shadow model, its distillation and
    // sequences): only the target side is recomputed.
    expect(result.settings.reusedStages).toEqual(expect.arrayContaining(['shadow', 'distill-shadow', 'sequences-shadow']));
  }, 120_000);

  it('refuses overlapping sets, missing auxiliary data and bad labels in one line', () => {
    const overlap = cli('mia', '--target', file('target.onnx'), '--members', file('members.npz'), '--nonmembers', file('members.npz'), '--attack', 'loss');
    expect(overlap.status).toBe(1);
    expect(overlap.stderr.trim()).toMatch(/^onnx-audit: 100 non-members are also among the members .*remove the repeated samples$/);
    const noAux = cli(...base(), '--attack', 'seqmia');
    expect(noAux.status).toBe(1);
    expect(noAux.stderr.trim()).toBe('onnx-audit: seqmia needs a shadow model trained on auxiliary data: pass some (aux; --aux on the command line)');
    const tooLittle = cli(...base(), '--aux', file('small-aux.npz'), '--attack', 'shokri');
    expect(tooLittle.status).toBe(1);
    expect(tooLittle.stderr.trim()).toMatch(/^onnx-audit: shokri needs at least 200 auxiliary samples .* got 100$/);
    const labels = cli('mia', '--target', file('target.onnx'), '--members', file('members.npz'), '--nonmembers', file('bad-labels.npz'), '--attack', 'loss');
    expect(labels.status).toBe(1);
    expect(labels.stderr.trim().split('\n')).toHaveLength(1);
    expect(labels.stderr).toMatch(/bad-labels.npz: label 12 at index 3 is outside \[0, 10\)/);
  });

  it('falls back to the score-only attacks for a target it cannot retrain, naming the op', () => {
    const single = cli('mia', '--target', file('cos.onnx'), '--members', file('members.npz'), '--nonmembers', file('nonMembers.npz'), '--aux', file('aux.npz'), '--attack', 'lira', '--work', file('work'));
    expect(single.status).toBe(1);
    expect(single.stderr.trim()).toMatch(/^onnx-audit: lira trains models of the target's architecture, but its op Cos \(node cos\) has no gradient rule.*need only its scores$/);
    const all = cli('mia', '--target', file('cos.onnx'), '--members', file('members.npz'), '--nonmembers', file('nonMembers.npz'), '--compare', '--json', '--work', file('work'));
    expect(all.status, all.stderr).toBe(0);
    const result = JSON.parse(all.stdout);
    expect(result.attacks.map((a: { attack: string }) => a.attack)).toEqual(['loss', 'max', 'sd', 'entropy', 'mentropy']);
    expect(result.skipped.map((s: { attack: string }) => s.attack)).toEqual(['seqmia', 'trajectory', 'lira', 'shokri']);
    expect(result.attacks[0].notes[0]).toMatch(/threshold-free/);
  });
});
