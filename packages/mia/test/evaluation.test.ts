import { describe, expect, it } from 'vitest';

import { SeededRandom } from '@onnx-audit/data';

import { evaluateScores } from '../src/evaluation.js';

/** Brute force: every threshold at every distinct score, and the Mann–Whitney pair count. */
function bruteForce(scores: number[], members: number, alpha: number) {
  const thresholds = [Infinity, ...new Set(scores)].sort((a, b) => b - a);
  let bestTpr = 0, balanced = 0;
  for (const t of thresholds) {
    const tp = scores.slice(0, members).filter((s) => s >= t).length / members;
    const fp = scores.slice(members).filter((s) => s >= t).length / (scores.length - members);
    if (fp <= alpha) bestTpr = Math.max(bestTpr, tp);
    balanced = Math.max(balanced, (tp + 1 - fp) / 2);
  }
  let wins = 0;
  for (let i = 0; i < members; i++) for (let j = members; j < scores.length; j++) wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
  return { auc: wins / (members * (scores.length - members)), bestTpr, balanced };
}

describe('evaluateScores', () => {
  it('matches a brute-force ROC: AUC, TPR at FPR ≤ α without interpolation, balanced accuracy', async () => {
    const random = new SeededRandom(5);
    // Small integers, so that ties between members and non-members occur.
    const scores = Array.from({ length: 700 }, (_, i) => random.below(9) + (i < 300 ? random.below(4) : 0));
    const result = await evaluateScores(scores, 300);
    for (const alpha of [0.001, 0.01]) {
      const reference = bruteForce(scores, 300, alpha);
      expect(result.tprAtFpr[String(alpha)]).toBeCloseTo(reference.bestTpr, 12);
      expect(result.auc).toBeCloseTo(reference.auc, 6);
      expect(result.balancedAccuracy).toBeCloseTo(reference.balanced, 12);
    }
    expect(result.advantage).toBeCloseTo(2 * result.balancedAccuracy - 1, 12);
    expect(result.falsePositivesAllowed).toEqual({ '0.001': 0, '0.01': 4 });
    expect(result.members).toBe(300);
    expect(result.nonMembers).toBe(400);
  });

  it('separates the conventions: the interpolated TPR reads between ROC points, ours takes the last point within α', async () => {
    // 10 non-members: FPR moves in steps of 0.1. Members 0.95, 0.9, then a member and a non-member
    // tied at 0.85: the ROC goes diagonally from (0, 0.4) to (0.1, 0.6).
    const scores = [0.95, 0.9, 0.85, 0.7, 0.1, 0.85, 0.05, 0.04, 0.03, 0.02, 0.01, 0.009, 0.008, 0.007, 0.006];
    const result = await evaluateScores(scores, 5, [0.05]);
    expect(result.tprAtFpr['0.05']).toBeCloseTo(0.4, 12);
    expect(result.tprAtFprInterpolated['0.05']).toBeCloseTo(0.5, 6);
  });

  it('gives AUC 1 and 0.5 in the extreme cases and thins the ROC to a log grid', async () => {
    const perfect = await evaluateScores([3, 2, 1, 0], 2);
    expect(perfect.auc).toBe(1);
    expect(perfect.tprAtFpr['0.001']).toBe(1);
    const constant = await evaluateScores(new Array(100).fill(0.5), 50);
    expect(constant.auc).toBeCloseTo(0.5, 12);
    expect(constant.balancedAccuracy).toBeCloseTo(0.5, 12);
    const roc = constant.roc;
    expect(roc.fpr.length).toBe(roc.tpr.length);
    expect(roc.fpr[1]).toBeCloseTo(1 / 50, 12);
    expect(roc.fpr.at(-1)).toBeCloseTo(1, 12);
    for (let i = 1; i < roc.tpr.length; i++) expect(roc.tpr[i]).toBeGreaterThanOrEqual(roc.tpr[i - 1]);
  });

  it('refuses NaN scores and a side with no samples', async () => {
    await expect(evaluateScores([1, Number.NaN, 0], 1)).rejects.toThrow(/score 1 is NaN/);
    await expect(evaluateScores([1, 2], 2)).rejects.toThrow(/at least one member and one non-member/);
  });
});
