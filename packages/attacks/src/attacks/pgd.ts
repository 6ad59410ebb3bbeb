// PGD (Madry et al. 2018) and BIM / I-FGSM (Kurakin et al. 2017): iterated gradient steps
// projected onto the ε-ball ∩ box. PGD starts at a uniform random point of the ball and may
// restart; BIM starts at the clean input. Defaults follow the strong settings (Madry's step of
// 2.5·ε/steps over 40 steps), not the weak ones some libraries ship (no random start, 10 steps).
import type { AttackContext, AttackOutput, AttackTask, Threat } from '../attack.js';
import type { DifferentiableClassifier } from '../classifier/classifier.js';
import { type IterativeOptions, iterativeAttack } from './iterative.js';
import { checkCount, checkStepSize, checkThreat } from './options.js';

export interface PgdOptions extends Partial<Threat>, AttackContext {
  /** Default 40 (BIM: 10). */
  steps?: number;
  /** Default 2.5·ε/steps (BIM: 0.2·ε). */
  stepSize?: number;
  /** Default true (BIM: false). */
  randomStart?: boolean;
  /** Runs from fresh random starts on the samples not yet broken (default 1). */
  restarts?: number;
  schedule?: IterativeOptions['schedule'];
  loss?: IterativeOptions['loss'];
  l1Sparsity?: number;
}

export async function pgd(classifier: DifferentiableClassifier, task: AttackTask, options: PgdOptions = {}): Promise<AttackOutput> {
  return iterativeAttack(classifier, task, resolve(options, { steps: 40, stepSize: (eps, steps) => (2.5 * eps) / steps, randomStart: true }));
}

export async function bim(classifier: DifferentiableClassifier, task: AttackTask, options: PgdOptions = {}): Promise<AttackOutput> {
  return iterativeAttack(classifier, task, resolve(options, { steps: 10, stepSize: (eps) => 0.2 * eps, randomStart: false }));
}

interface Defaults {
  steps: number;
  stepSize: (eps: number, steps: number) => number;
  randomStart: boolean;
}

export function resolve(o: PgdOptions, defaults: Defaults): IterativeOptions {
  const norm = o.norm ?? 'linf';
  const eps = o.eps ?? (norm === 'linf' ? 8 / 255 : norm === 'l2' ? 0.5 : 10);
  checkThreat({ norm, eps });
  const steps = checkCount('steps', o.steps ?? defaults.steps);
  if (o.l1Sparsity !== undefined && !(o.l1Sparsity > 0 && o.l1Sparsity <= 1)) throw new RangeError(`l1Sparsity must be in (0, 1], got ${o.l1Sparsity}`);
  return {
    ...o,
    norm,
    eps,
    steps,
    stepSize: checkStepSize(o.stepSize ?? defaults.stepSize(eps, steps), eps),
    randomStart: o.randomStart ?? defaults.randomStart,
    restarts: checkCount('restarts', o.restarts ?? 1),
  };
}
