// FGSM (Goodfellow et al. 2015) and its L2/L1 form FGM: one step of length ε along the sign (L∞)
// or the direction (L2) of the loss gradient, from the clean input.
import type { AttackContext, AttackOutput, AttackTask, Threat } from '../attack.js';
import type { DifferentiableClassifier } from '../classifier/classifier.js';
import { iterativeAttack } from './iterative.js';
import { checkThreat } from './options.js';

export type FgsmOptions = Partial<Threat> & AttackContext;

/** L∞ by default (ε = 8/255); `norm: 'l2'` gives FGM. */
export async function fgsm(classifier: DifferentiableClassifier, task: AttackTask, options: FgsmOptions = {}): Promise<AttackOutput> {
  const threat = { norm: options.norm ?? 'linf', eps: options.eps ?? 8 / 255 };
  checkThreat(threat);
  return iterativeAttack(classifier, task, { ...options, ...threat, steps: 1, stepSize: threat.eps, randomStart: false, restarts: 1 });
}

/** FGM: FGSM's single step in L2 (ε = 1 by default). */
export async function fgm(classifier: DifferentiableClassifier, task: AttackTask, options: FgsmOptions = {}): Promise<AttackOutput> {
  return fgsm(classifier, task, { eps: 1, ...options, norm: options.norm ?? 'l2' });
}
