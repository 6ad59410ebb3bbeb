// Training the attack models on seeded synthetic membership tasks whose label lies in the shape
// of the sequence, not its level: the LSTM must read a trend across steps, the MLP a trajectory's
// decay. Then the trainer's promises as the attack sees them: the same seed gives the same bits,
// and a run resumed from its checkpoint ends where the uninterrupted one does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { randomNormal, randomUniform } from '@onnx-audit/native';
import type { EpochSummary } from '@onnx-audit/onnx';

import { buildAttentionLstm } from '../src/attack-models/attention-lstm.js';
import { attackLogits, type TrainAttackOptions, trainAttackModel } from '../src/attack-models/training.js';
import { buildTrajectoryMlp } from '../src/attack-models/trajectory-mlp.js';

interface Task {
  x: Float32Array;
  isMember: Uint8Array;
}

/**
 * SeqMIA-shaped sequences [n, 5 steps, 5 features]: feature 0 is a per-sample level drawn from
 * U(−1, 1) plus, for members, a fall of 0.3 per step (centred, so the mean level carries no
 * signal); every feature has N(0, 0.05²) noise and features 1–4 are noise only.
 */
async function trendTask(n: number, seed: number): Promise<Task> {
  const [t, f] = [5, 5];
  const level = await randomUniform(n, { seed, offset: 0 });
  const noise = await randomNormal(n * t * f, { seed, offset: n });
  const isMember = Uint8Array.from({ length: n }, (_, i) => i % 2);
  const x = noise.map((v) => 0.05 * v);
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < t; s++) x[(i * t + s) * f] += 2 * level[i] - 1 - (isMember[i] ? 0.3 * (s - 2) : 0);
  }
  return { x, isMember };
}

/**
 * Loss trajectories [n, 10]: a per-sample start loss in [0.5, 2.5]; members' losses decay to a
 * tenth of it along the trajectory, non-members' stay at it; N(0, 0.05²) noise on every point.
 */
async function trajectoryTask(n: number, seed: number): Promise<Task> {
  const steps = 10;
  const start = await randomUniform(n, { seed, offset: 0 });
  const noise = await randomNormal(n * steps, { seed, offset: n });
  const isMember = Uint8Array.from({ length: n }, (_, i) => i % 2);
  const x = noise.map((v, k) => {
    const i = Math.floor(k / steps), s = k % steps;
    const l0 = 0.5 + 2 * start[i];
    return 0.05 * v + (isMember[i] ? l0 * 0.1 ** (s / (steps - 1)) : l0);
  });
  return { x, isMember };
}

function accuracy(logits: Float32Array, isMember: Uint8Array): number {
  let correct = 0;
  isMember.forEach((y, i) => { if (Number(logits[2 * i + 1] > logits[2 * i]) === y) correct++; });
  return correct / isMember.length;
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('the attention LSTM trained as an attack model', () => {
  const dims = [5, 5];
  const recipe: TrainAttackOptions = { epochs: 6, batchSize: 50, optimizer: 'adam', lr: 0.01, weightDecay: 1e-4, schedule: { kind: 'step', every: 2, gamma: 0.9 }, seed: 4 };
  let dir = '';
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'attack-lstm-')); });
  afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

  it('learns a trend-shaped membership signal to ≥ 95% held-out accuracy', async () => {
    const train = await trendTask(400, 1);
    const test = await trendTask(400, 2);
    const model = await buildAttentionLstm({ steps: 5, features: 5, hidden: 16, seed: 1 });
    const before = accuracy(await attackLogits(model, test.x, dims), test.isMember);
    const trained = await trainAttackModel(model, train.x, dims, train.isMember, { ...recipe, epochs: 20 });
    const logits = await attackLogits(trained, test.x, dims);
    expect(logits.length).toBe(2 * 400);
    // The untrained model is at chance; the trained one reads the trend.
    expect(before).toBeLessThan(0.65);
    expect(accuracy(logits, test.isMember)).toBeGreaterThanOrEqual(0.95);
  });

  it('gives bit-identical logits for the same seed, and a resumed run equals the uninterrupted one', async () => {
    const train = await trendTask(200, 3);
    const probe = await trendTask(64, 5);
    const model = await buildAttentionLstm({ steps: 5, features: 5, hidden: 16, seed: 2 });

    const once = await attackLogits(await trainAttackModel(model, train.x, dims, train.isMember, recipe), probe.x, dims);
    const twice = await attackLogits(await trainAttackModel(model, train.x, dims, train.isMember, recipe), probe.x, dims);
    expect(bits(twice).equals(bits(once))).toBe(true);
    const reseeded = await attackLogits(await trainAttackModel(model, train.x, dims, train.isMember, { ...recipe, seed: 5 }), probe.x, dims);
    expect(bits(reseeded).equals(bits(once))).toBe(false);

    const checkpoint = join(dir, 'lstm.ckpt');
    await trainAttackModel(model, train.x, dims, train.isMember, { ...recipe, epochs: 3, checkpoint });
    const epochs: number[] = [];
    const onEpoch = (s: EpochSummary) => epochs.push(s.epoch);
    const resumed = await trainAttackModel(model, train.x, dims, train.isMember, { ...recipe, checkpoint, resume: true, onEpoch });
    expect(epochs).toEqual([4, 5, 6]);
    expect(bits(await attackLogits(resumed, probe.x, dims)).equals(bits(once))).toBe(true);
  });

  it('refuses labels other than 0 and 1', async () => {
    const model = await buildAttentionLstm({ steps: 5, features: 5, hidden: 4 });
    const task = await trendTask(4, 1);
    await expect(trainAttackModel(model, task.x, dims, Uint8Array.of(0, 1, 2, 1), recipe)).rejects.toThrow(/isMember\[2\] is 2/);
  });
});

describe("TrajectoryMIA's MLP trained as an attack model", () => {
  const recipe: TrainAttackOptions = { epochs: 15, batchSize: 32, optimizer: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 1e-4, seed: 6 };

  it('has the 512 → 128 → 32 → 2 shape and learns a decaying trajectory to ≥ 95% held-out accuracy, bit-identically twice', async () => {
    const model = await buildTrajectoryMlp(10, 3);
    const weights = model.graph!.initializer.filter((t) => t.name.endsWith('.weight')).map((t) => t.dims.map(Number));
    expect(weights).toEqual([[512, 10], [128, 512], [32, 128], [2, 32]]);

    const train = await trajectoryTask(400, 7);
    const test = await trajectoryTask(400, 8);
    const first = await attackLogits(await trainAttackModel(model, train.x, [10], train.isMember, recipe), test.x, [10]);
    expect(accuracy(first, test.isMember)).toBeGreaterThanOrEqual(0.95);
    const second = await attackLogits(await trainAttackModel(model, train.x, [10], train.isMember, recipe), test.x, [10]);
    expect(bits(second).equals(bits(first))).toBe(true);
  });
});
