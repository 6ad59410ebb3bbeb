// Every attack the CLI offers, run by name through the registry on real MNIST digits with small
// budgets: each lowers the accuracy of a trained CNN, stays in its ball and the box (evaluateAttack
// checks both), and a targeted run hits its targets where the attack has a targeted form.
import { describe, expect, it } from 'vitest';

import { ATTACKS, type AttackName, type AttackSettings, type AttackTask, evaluateAttack, onnxClassifier } from '../src/index.js';
import { mnistCnn } from './models.js';

// small budgets, so that the whole table runs in seconds; the attacks' own tests use full ones
const BUDGET: Partial<Record<AttackName, AttackSettings>> = {
  pgd: { steps: 10 },
  'apgd-ce': { steps: 20 },
  'apgd-dlr': { steps: 20 },
  cw: { steps: 100, stepSize: 0.1 },
  lbfgs: { steps: 20 },
  square: { queries: 300 },
  nes: { queries: 1500 },
  spsa: { queries: 1500 },
};

describe('the registry on an MNIST CNN', async () => {
  const { model, test } = await mnistCnn(40);
  const classifier = await onnxClassifier(model);
  const task: AttackTask = { x: test.x, labels: test.labels };
  // the minimum-norm searches (many runs per sample) get the first 15 digits
  const fewer = (t: AttackTask): AttackTask => ({ x: t.x.subarray(0, 15 * 784), labels: t.labels.subarray(0, 15), ...(t.targets ? { targets: t.targets.subarray(0, 15) } : {}) });

  it.each(Object.keys(ATTACKS) as AttackName[])('%s lowers the accuracy', async (name) => {
    const attack = ATTACKS[name];
    const norm = attack.norms[0];
    const eps = norm === 'linf' ? 0.2 : 3;
    const run = attack.minimumNorm ? fewer(task) : task;
    const settings: AttackSettings = { norm, seed: 1, ...(attack.minimumNorm ? {} : { eps }), ...BUDGET[name] };
    const result = await evaluateAttack(classifier, run, attack.minimumNorm ? undefined : { norm, eps }, () => attack.run(classifier, run, settings));
    expect(result.summary.cleanAccuracy).toBeGreaterThan(0.9);
    expect(result.summary.robustAccuracy).toBeLessThan(result.summary.cleanAccuracy - 0.3);
    if (attack.access === 'black-box') expect(result.gradientCalls).toBe(0);
  });

  it.each((Object.keys(ATTACKS) as AttackName[]).filter((name) => ATTACKS[name].targeted))('%s, targeted, reaches its targets', async (name) => {
    const attack = ATTACKS[name];
    const norm = attack.norms[0];
    const all: AttackTask = { ...task, targets: Int32Array.from(test.labels, (y) => (y + 3) % 10) };
    const targeted = attack.minimumNorm ? fewer(all) : all;
    const settings: AttackSettings = { norm, seed: 2, ...(attack.minimumNorm ? {} : { eps: norm === 'linf' ? 0.3 : 5 }), ...BUDGET[name] };
    const result = await evaluateAttack(classifier, targeted, undefined, () => attack.run(classifier, targeted, settings));
    expect(result.summary.successRate).toBeGreaterThan(0.5);
    result.success.forEach((s, i) => s && expect(result.predictions[i]).toBe(targeted.targets![i]));
  });
});
