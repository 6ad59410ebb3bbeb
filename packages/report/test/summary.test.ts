import { describe, expect, it } from 'vitest';

import { formatEps, metric, percent } from '../src/html.js';
import type { AuditResults, CalibrationSection, MembershipSection, RobustnessSection } from '../src/schema.js';
import { summarize } from '../src/summary.js';
import { fixture, membershipAttack } from './fixture.js';

type Sections = Omit<AuditResults, 'summary'>;

const base = fixture();
const allSkipped: Sections = {
  ...base,
  calibration: { status: 'skipped', reason: 'pass --calibration-data' },
  robustness: { status: 'skipped', reason: 'pass --eps' },
  membership: { status: 'skipped', reason: 'pass --members' },
};
const calibration = base.calibration as CalibrationSection;
const robustness = base.robustness as RobustnessSection;
const membership = base.membership as MembershipSection;

describe('summarize', () => {
  it('makes no claim for skipped sections', () => {
    expect(summarize(allSkipped)).toEqual([]);
  });

  it('calls the model over- or under-confident by the sign of T − 1', () => {
    const over = { ...calibration, temperature: 2.3, before: { ...calibration.before, ece: 0.1234 }, after: { ...calibration.after, ece: 0.0189 } };
    expect(summarize({ ...allSkipped, calibration: over })).toEqual(['over-confident: ECE 0.12 → 0.02 with T = 2.30']);
    const under = { ...over, temperature: 0.8, before: { ...over.before, ece: 0.051 }, after: { ...over.after, ece: 0.0042 } };
    expect(summarize({ ...allSkipped, calibration: under })).toEqual(['under-confident: ECE 0.05 → 0.0042 with T = 0.80']);
    const neutral = { ...over, temperature: 1 };
    expect(summarize({ ...allSkipped, calibration: neutral })).toEqual(['well calibrated: ECE 0.12, temperature scaling left it unchanged (T = 1.00)']);
  });

  it('reports robust accuracy at the largest ε, as k/255, and the warnings', () => {
    const curve = [
      { eps: 8 / 255, robustAccuracy: 0, perAttack: [] },
      { eps: 2 / 255, robustAccuracy: 0.5, perAttack: [] },
    ];
    expect(summarize({ ...allSkipped, robustness: { ...robustness, curve, warnings: [] } })).toEqual([
      'robust accuracy 0% at L∞ ε = 8/255 (0.0314), clean 98.5% (standard suite)',
    ]);
    const l2 = { ...robustness, norm: 'l2' as const, curve: [{ eps: 0.5, robustAccuracy: 0.4125, perAttack: [] }], warnings: ['a', 'b'] };
    expect(summarize({ ...allSkipped, robustness: l2 })).toEqual([
      'robust accuracy 41.3% at L2 ε = 0.5, clean 98.5% (standard suite)',
      '2 robustness warnings (the robust accuracy may be overestimated): a',
    ]);
  });

  it('names the attack with the highest TPR at 0.1% FPR, with its AUC', () => {
    const attacks = [
      { ...membershipAttack('loss', 0.3, 1), auc: 0.91, tprAtFpr: { '0.001': 0.02, '0.01': 0.3 } },
      { ...membershipAttack('seqmia', 1.5, 2), auc: 0.74, tprAtFpr: { '0.001': 0.14, '0.01': 0.2 } },
      { ...membershipAttack('lira', 1.5, 3), auc: 0.8, tprAtFpr: { '0.001': 0.1, '0.01': 0.25 } },
    ];
    const m: MembershipSection = { status: 'done', attacks, skipped: [] };
    expect(summarize({ ...allSkipped, membership: m })).toEqual(['membership leakage: TPR 14% at 0.1% FPR (seqmia), AUC 0.74']);
    const weak = { ...m, attacks: [{ ...attacks[0]!, tprAtFpr: { '0.001': 0.0035 }, auc: 0.52 }] };
    expect(summarize({ ...allSkipped, membership: weak })).toEqual(['little membership leakage: best TPR 0.35% at 0.1% FPR (loss), AUC 0.52']);
    expect(summarize({ ...allSkipped, membership: { ...m, attacks: [] } })).toEqual([]);
  });

  it('orders the fixture findings robustness, membership, calibration', () => {
    const findings = summarize(base);
    expect(findings.map((f) => f.split(/[:(]/)[0]!.trim())).toEqual([
      'robust accuracy 1% at L∞ ε = 8/255',
      '1 robustness warning',
      'membership leakage',
      'after temperature scaling',
      'twin models/mnist-cnn-adv.onnx',
      'over-confident',
    ]);
    // the fixture's seqmia TPR@0.1%, recomputed from its ROC points
    const seqmia = membership.attacks.find((a) => a.attack === 'seqmia')!;
    const reference = Math.max(...seqmia.roc.tpr.filter((_, i) => seqmia.roc.fpr[i]! <= 0.001));
    expect(findings[2]).toBe(`membership leakage: TPR ${percent(reference)} at 0.1% FPR (seqmia), AUC ${seqmia.auc.toFixed(2)}`);
  });
});

describe('number formats', () => {
  it('percentages keep at most 2 decimals (1 from 1%) and drop trailing zeros', () => {
    expect([0, 1, 0.14, 0.125, 0.12345, 0.0035, 0.001, 0.00012].map(percent)).toEqual(['0%', '100%', '14%', '12.5%', '12.3%', '0.35%', '0.1%', '0.01%']);
  });

  it('ε shows k/255 only when ε·255 is within 1e-6 of an integer', () => {
    expect(formatEps(8 / 255)).toBe('8/255 (0.0314)');
    expect(formatEps(1 / 255)).toBe('1/255 (0.0039)');
    expect(formatEps(0.03)).toBe('0.03');
    expect(formatEps(0.5)).toBe('0.5');
    expect(formatEps(0)).toBe('0');
  });

  it('metrics read 2 decimals, or 2 significant digits below 0.01', () => {
    expect([0.1234, 0.0189, 0.0042, 0, 1.5].map(metric)).toEqual(['0.12', '0.02', '0.0042', '0.00', '1.50']);
  });
});
