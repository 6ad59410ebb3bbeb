// How well membership scores separate members from non-members, reported as the leading tools do
// (shared/specs/mia_calibration.md §2.3): AUC, TPR at low FPR first, balanced accuracy and
// advantage, and the ROC itself on a log grid for log-log plots.
import { roc } from '@onnx-audit/native';

/** The FPRs the TPR is read at by default: 0.1% and 1%. */
export const FPR_TARGETS = [0.001, 0.01] as const;

export interface RocPoints {
  fpr: number[];
  tpr: number[];
}

export interface MembershipEvaluation {
  /** Area under the ROC: P(member scores above non-member), ties ½. */
  auc: number;
  /**
   * The highest TPR among thresholds whose FPR is at most α (the LiRA convention, also Privacy
   * Meter's and LeakPro's): no interpolation. Keyed by α as written ('0.001').
   */
  tprAtFpr: Record<string, number>;
  /** The same read by linear interpolation along the ROC, as SeqMIA's code does (for comparison with it). */
  tprAtFprInterpolated: Record<string, number>;
  /** ⌊α·non-members⌋: how many false positives each α allows; 0 means the value is really TPR at 0% FPR. */
  falsePositivesAllowed: Record<string, number>;
  /** max over thresholds of ½(TPR + 1 − FPR), chosen on the evaluated data itself (an oracle threshold, as in LiRA's tables). */
  balancedAccuracy: number;
  /** max over thresholds of TPR − FPR (= 2·balancedAccuracy − 1). */
  advantage: number;
  members: number;
  nonMembers: number;
  /** The ROC, thinned to the best TPR at each point of a log-spaced FPR grid (from 1/non-members to 1). */
  roc: RocPoints;
}

const ROC_GRID_POINTS = 120;

/** Evaluates scores (larger = member) of `members` members followed by the non-members. */
export async function evaluateScores(scores: ArrayLike<number>, members: number, fprTargets: readonly number[] = FPR_TARGETS): Promise<MembershipEvaluation> {
  const n = scores.length;
  const nonMembers = n - members;
  if (members < 1 || nonMembers < 1) throw new RangeError(`membership needs at least one member and one non-member, got ${members} and ${nonMembers}`);
  const values = Float32Array.from(scores);
  const bad = values.findIndex((v) => Number.isNaN(v));
  if (bad >= 0) throw new RangeError(`membership score ${bad} is NaN`);
  const labels = new Uint8Array(n).fill(1, 0, members);
  const curve = await roc(values, labels, { fprTargets });

  let balanced = 0.5;
  for (let i = 0; i < curve.fpr.length; i++) balanced = Math.max(balanced, (curve.tpr[i] + 1 - curve.fpr[i]) / 2);
  const key = (alpha: number) => String(alpha);
  return {
    auc: curve.auc,
    tprAtFpr: Object.fromEntries(fprTargets.map((alpha) => [key(alpha), bestTprWithin(curve.fpr, curve.tpr, alpha)])),
    tprAtFprInterpolated: Object.fromEntries(fprTargets.map((alpha, i) => [key(alpha), curve.tprAt[i]])),
    falsePositivesAllowed: Object.fromEntries(fprTargets.map((alpha) => [key(alpha), Math.floor(alpha * nonMembers + 1e-9)])),
    balancedAccuracy: balanced,
    advantage: 2 * balanced - 1,
    members,
    nonMembers,
    roc: logGrid(curve.fpr, curve.tpr, nonMembers),
  };
}

/** The ROC's FPRs rise with the index: the best TPR at FPR ≤ α is that of the last point within α. */
function bestTprWithin(fpr: Float64Array, tpr: Float64Array, alpha: number): number {
  let best = 0;
  for (let i = 0; i < fpr.length && fpr[i] <= alpha + 1e-12; i++) best = Math.max(best, tpr[i]);
  return best;
}

/** One sweep along the ROC: at 0 and at each grid FPR, the best TPR of the points within it. */
function logGrid(fpr: Float64Array, tpr: Float64Array, nonMembers: number): RocPoints {
  const lowest = Math.log10(1 / nonMembers);
  const grid = [0, ...Array.from({ length: ROC_GRID_POINTS }, (_, i) => 10 ** (lowest + (-lowest * i) / (ROC_GRID_POINTS - 1)))];
  const points: RocPoints = { fpr: [], tpr: [] };
  let best = 0, i = 0;
  for (const alpha of grid) {
    for (; i < fpr.length && fpr[i] <= alpha + 1e-12; i++) best = Math.max(best, tpr[i]);
    points.fpr.push(alpha);
    points.tpr.push(best);
  }
  return points;
}
