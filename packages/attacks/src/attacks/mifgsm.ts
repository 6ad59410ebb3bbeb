// MI-FGSM (Dong et al. 2018): BIM whose step follows an accumulated, L1-normalised gradient,
// which steadies the direction and transfers better to other models. Defaults from the paper:
// μ = 1, 10 steps of ε/10, from the clean input.
import type { AttackOutput, AttackTask } from '../attack.js';
import type { DifferentiableClassifier } from '../classifier/classifier.js';
import { iterativeAttack } from './iterative.js';
import { type PgdOptions, resolve } from './pgd.js';

export interface MifgsmOptions extends PgdOptions {
  /** Decay of the accumulated gradient (default 1). */
  momentum?: number;
}

export async function mifgsm(classifier: DifferentiableClassifier, task: AttackTask, options: MifgsmOptions = {}): Promise<AttackOutput> {
  const momentum = options.momentum ?? 1;
  if (!(Number.isFinite(momentum) && momentum >= 0)) throw new RangeError(`momentum must be a finite number ≥ 0, got ${momentum}`);
  const resolved = resolve(options, { steps: 10, stepSize: (eps, steps) => eps / steps, randomStart: false });
  return iterativeAttack(classifier, task, { ...resolved, momentum });
}
