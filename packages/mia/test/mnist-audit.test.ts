// End to end on real data: a small CNN overfitted to 1000 MNIST digits, audited by every attack
// with 1000 held-out digits as non-members and 4000 auxiliary digits for the attacker.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { type AttackName, type AttackResult, ATTACKS, MembershipAudit } from '../src/audit.js';
import { METRIC_SIGNALS } from '../src/attacks/signals.js';
import { mnistSetup, TARGET_RECIPE } from './mnist-target.js';

const SETTINGS = { seed: 3, training: TARGET_RECIPE, snapshots: 10, referenceModels: 8 };

describe('membership audit of an overfitted MNIST CNN', () => {
  let work: string;
  const results = new Map<AttackName, AttackResult>();

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'mia-audit-'));
    const setup = await mnistSetup(600);
    const audit = new MembershipAudit({ ...setup, ...SETTINGS, work });
    await audit.check();
    for (const attack of ATTACKS) results.set(attack, await audit.run(attack));
  }, 300_000);
  afterAll(() => rm(work, { recursive: true, force: true }));

  it('every attack beats chance', () => {
    for (const [attack, result] of results) {
      expect(result.members, attack).toBe(1000);
      expect(result.nonMembers, attack).toBe(1000);
      // The AUC's standard error at chance with 1000 + 1000 samples is 0.013.
      expect(result.auc, attack).toBeGreaterThan(0.53);
      expect(result.balancedAccuracy, attack).toBeGreaterThan(0.54);
    }
  });

  it('LiRA and SeqMIA find several times more members than any single-metric threshold at 1% FPR', () => {
    const best = Math.max(...METRIC_SIGNALS.map((m) => results.get(m)!.tprAtFpr['0.01']));
    for (const attack of ['lira', 'seqmia'] as const) expect(results.get(attack)!.tprAtFpr['0.01'], attack).toBeGreaterThan(3 * best);
    expect(results.get('lira')!.variants!.offline.auc).toBeGreaterThan(0.53);
  });

  it('chooses thresholds on the shadow model that transfer to the target', () => {
    for (const metric of METRIC_SIGNALS) {
      const { thresholds, balancedAccuracy } = results.get(metric)!;
      expect(thresholds!.global.accuracy, metric).toBeGreaterThan(0.53);
      // A threshold chosen elsewhere cannot beat the oracle threshold chosen on the target itself.
      expect(thresholds!.global.accuracy, metric).toBeLessThanOrEqual(balancedAccuracy + 1e-12);
      expect(thresholds!.classDependent.accuracy, metric).toBeGreaterThan(0.53);
    }
  });
});
