// The loss a score-based attack drives down, read from scores alone. Untargeted it is the margin
// Z_y − max_{j≠y} Z_j (or −CE of the true class); targeted, max_{j≠t} Z_j − Z_t (or CE of the
// target). Both margins are negative exactly when the sample is fooled (ties aside), and neither
// needs probabilities: the cross-entropy treats the scores as logits, which is wrong for a model
// whose scores are already probabilities, so the margin is the default.
import type { AttackTask } from '../attack.js';
import { crossEntropy } from './rows.js';

export type ScoreLoss = 'margin' | 'cross-entropy';

export const SCORE_LOSSES: readonly ScoreLoss[] = ['margin', 'cross-entropy'];

/** Per row of scores [m, k] belonging to samples rows[…] of the task, in float64. */
export function attackerLoss(scores: Float32Array, classes: number, rows: ArrayLike<number>, task: AttackTask, kind: ScoreLoss): Float64Array {
  const reference = (r: number) => (task.targets ?? task.labels)[rows[r]];
  const sign = task.targets ? 1 : -1;
  if (kind === 'cross-entropy') {
    const ce = crossEntropy(scores, classes, reference);
    for (let r = 0; r < ce.length; r++) ce[r] *= sign;
    return ce;
  }
  const out = new Float64Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const c = reference(r);
    let other = -Infinity;
    for (let j = 0; j < classes; j++) if (j !== c) other = Math.max(other, scores[r * classes + j]);
    out[r] = sign * (other - scores[r * classes + c]);
  }
  return out;
}

export function checkScoreLoss(kind: string): ScoreLoss {
  if (!(SCORE_LOSSES as readonly string[]).includes(kind)) throw new RangeError(`loss must be 'margin' or 'cross-entropy', got '${kind}'`);
  return kind as ScoreLoss;
}
