// Determinism and resumption of the staged pipeline, at a small scale: the same seed gives the
// same scores bit for bit, and a run killed in the middle of a distillation and resumed gives
// exactly the scores of an uninterrupted run.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type AttackName, type AuditOptions, MembershipAudit } from '../src/audit.js';
import { type MnistSetup, mnistSetup } from './mnist-target.js';

const SMALL = { seed: 5, training: { epochs: 6, batchSize: 32, optimizer: 'adam' as const, lr: 2e-3 }, snapshots: 4, referenceModels: 2, seqmiaTraining: { epochs: 8 }, trajectoryTraining: { epochs: 8 } };
const ATTACKS: AttackName[] = ['seqmia', 'trajectory', 'shokri', 'lira', 'loss'];

describe('membership audit stages', () => {
  let root: string;
  let setup: MnistSetup;
  let reference: Map<AttackName, Float64Array>;
  const folder = async (name: string) => join(root, name);
  const scores = async (options: Partial<AuditOptions>, attacks = ATTACKS) => {
    const audit = new MembershipAudit({ ...setup, ...SMALL, ...options });
    const out = new Map<AttackName, Float64Array>();
    for (const attack of attacks) out.set(attack, (await audit.run(attack)).scores);
    return { out, audit };
  };

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mia-resume-'));
    setup = await mnistSetup(120);
    reference = (await scores({ work: await folder('first') })).out;
  }, 120_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('repeats every score bit for bit under the same seed, and changes with the seed', async () => {
    const again = (await scores({ work: await folder('second') })).out;
    for (const attack of ATTACKS) expect(Array.from(again.get(attack)!), attack).toEqual(Array.from(reference.get(attack)!));
    const other = (await scores({ work: await folder('other-seed'), seed: 6 }, ['seqmia'])).out;
    expect(Array.from(other.get('seqmia')!)).not.toEqual(Array.from(reference.get('seqmia')!));
  }, 120_000);

  it('resumes a run killed during the target\'s distillation and ends where an uninterrupted run does', async () => {
    const work = await folder('killed');
    const kill = new Error('killed');
    await expect(
      scores({
        work,
        onProgress: ({ stage, epoch }) => {
          if (stage === 'distill-target' && epoch === 2) throw kill;
        },
      }, ['seqmia']),
    ).rejects.toBe(kill);
    // The shadow model, the shadow's distillation and the target's checkpoint survive the kill.
    const files = await readdir(work);
    expect(files.some((f) => f.startsWith('shadow-') && f.endsWith('.onnx'))).toBe(true);
    expect(files.some((f) => f.startsWith('distill-target-') && f.endsWith('.checkpoint'))).toBe(true);
    expect(files.some((f) => f.startsWith('distill-target-') && f.endsWith('.json'))).toBe(false);

    const epochs: number[] = [];
    const resumed = await scores({ work, resume: true, onProgress: ({ stage, epoch }) => stage === 'distill-target' && epochs.push(epoch) }, ['seqmia']);
    expect(resumed.audit.work.reused).toEqual(expect.arrayContaining(['shadow', 'distill-shadow']));
    // Restarting the distillation from scratch would give the same scores too: it must continue at epoch 3.
    expect(epochs).toEqual([3, 4]);
    expect(Array.from(resumed.out.get('seqmia')!)).toEqual(Array.from(reference.get('seqmia')!));
  }, 120_000);

  it('runs the official code\'s choices under parity, which change the sequences and the score', async () => {
    const parity = (await scores({ work: await folder('parity'), parity: true }, ['seqmia'])).out.get('seqmia')!;
    expect(parity.every(Number.isFinite)).toBe(true);
    expect(Array.from(parity)).not.toEqual(Array.from(reference.get('seqmia')!));
  }, 60_000);
});
