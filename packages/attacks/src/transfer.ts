// The transfer attack: adversarial inputs crafted on a surrogate the attacker holds, then shown to
// the target, which the attack never queries. Any attack crafts them; what is measured is how
// often what fools the surrogate also fools the target.
import { type AttackOutput, type AttackResult, type AttackTask, evaluateAttack, type Threat } from './attack.js';
import type { Classifier } from './classifier/classifier.js';

export interface TransferResult extends AttackResult {
  /** 1 where the adversarial input fools the surrogate (same criterion as `success`). */
  surrogateSuccess: Uint8Array;
  /**
   * Among the samples the attack broke on the surrogate (correct there when clean, fooled after)
   * and the target classifies correctly when clean, the fraction that fool the target too; null
   * when there are none. Targeted: "correct" reads "not already of the target class".
   */
  transferRate: number | null;
}

/** Two classifiers an input can be carried between: same sample shape, classes and box. */
export function checkTransferable(surrogate: Classifier, target: Classifier): void {
  if (surrogate.sampleDims.join() !== target.sampleDims.join()) {
    throw new RangeError(`the surrogate takes samples of shape [${surrogate.sampleDims}], the target [${target.sampleDims}]`);
  }
  if (surrogate.classes !== target.classes) throw new RangeError(`the surrogate has ${surrogate.classes} classes, the target ${target.classes}`);
  const [s, t] = [surrogate.box, target.box];
  if (s.lo !== t.lo || s.hi !== t.hi) throw new RangeError(`the surrogate's input box [${s.lo}, ${s.hi}] differs from the target's [${t.lo}, ${t.hi}]`);
}

/**
 * Crafts on `surrogate` with `craft` and evaluates on `target`. The result is the target's
 * evaluation, except its cost (queries, gradient calls, seconds), which is the crafting's on the
 * surrogate: the target is only scored by the evaluation. `threat`, when given, is checked as in
 * evaluateAttack.
 */
export async function transferAttack<S extends Classifier>(
  surrogate: S,
  target: Classifier,
  task: AttackTask,
  craft: (surrogate: S, task: AttackTask) => Promise<AttackOutput>,
  threat?: Threat,
): Promise<TransferResult> {
  checkTransferable(surrogate, target);
  const crafted = await evaluateAttack(surrogate, task, threat, () => craft(surrogate, task));
  const output: AttackOutput = { adversarial: crafted.adversarial, ...(crafted.queriesPerSample ? { queriesPerSample: crafted.queriesPerSample } : {}) };
  const result = await evaluateAttack(target, task, threat, async () => output);

  let broken = 0, transferred = 0;
  for (let i = 0; i < task.labels.length; i++) {
    const attackable = (predicted: number) => (task.targets ? predicted !== task.targets[i] : predicted === task.labels[i]);
    if (!(crafted.success[i] && attackable(crafted.cleanPredictions[i]) && attackable(result.cleanPredictions[i]))) continue;
    broken++;
    transferred += result.success[i];
  }
  return {
    ...result,
    queries: crafted.queries,
    gradientCalls: crafted.gradientCalls,
    seconds: crafted.seconds,
    surrogateSuccess: crafted.success,
    transferRate: broken ? transferred / broken : null,
  };
}
