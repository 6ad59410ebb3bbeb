// The transfer attack on two linear models whose outcome is worked out by hand: FGSM on the
// surrogate moves only x₀ (the surrogate ignores x₁), and the target, which weighs both inputs,
// is fooled only when the sum x₀ + x₁ crosses its own boundary.
import { describe, expect, it } from 'vitest';

import { fgsm, onnxClassifier, onnxPredictor, transferAttack, type AttackTask } from '../src/index.js';
import { linearModel } from './models.js';

// surrogate: z = (x₀, 0.5), class 0 iff x₀ ≥ 0.5; target: z = (x₀ + x₁, 1), class 0 iff x₀ + x₁ ≥ 1
const SURROGATE = linearModel(Float32Array.from([1, 0, 0, 0]), Float32Array.from([0, 0.5]));
const TARGET = linearModel(Float32Array.from([1, 0, 1, 0]), Float32Array.from([0, 1]));
const EPS = 0.2;
// FGSM moves x₀ by −ε for label 0 and +ε for label 1. Per sample: surrogate clean/adversarial,
// target clean/adversarial class.
const SAMPLES: Array<[x: [number, number], label: number, note: string]> = [
  [[0.6, 0.9], 0, 'S 0→1, T 0→0: broken, does not transfer'],
  [[0.65, 0.4], 0, 'S 0→1, T 0→1: transfers'],
  [[0.8, 0.5], 0, 'S 0→0: not broken on the surrogate'],
  [[0.55, 0.2], 0, 'T wrong when clean: left out of the rate'],
  [[0.3, 0.9], 0, 'S wrong when clean: left as it is, left out of the rate'],
  [[0.2, 0.3], 1, 'S 1→1: not broken'],
  [[0.45, 0.5], 1, 'S 1→0, T 1→0: transfers'],
];

describe('transferAttack', () => {
  const task: AttackTask = {
    x: Float32Array.from(SAMPLES.flatMap(([x]) => x)),
    labels: Int32Array.from(SAMPLES, ([, label]) => label),
  };

  it('crafts on the surrogate only and measures how often its successes fool the target', async () => {
    const surrogate = await onnxClassifier(SURROGATE);
    const target = await onnxPredictor(TARGET);
    const result = await transferAttack(surrogate, target, task, (s, t) => fgsm(s, t, { eps: EPS }), { norm: 'linf', eps: EPS });

    expect(Array.from(result.surrogateSuccess)).toEqual([1, 1, 0, 1, 1, 0, 1]);
    expect(Array.from(result.success)).toEqual([0, 1, 0, 1, 0, 0, 1]);
    expect(result.transferRate).toBeCloseTo(2 / 3, 12);
    expect(result.summary.cleanAccuracy).toBeCloseTo(6 / 7, 12);
    expect(result.summary.robustAccuracy).toBeCloseTo(4 / 7, 12);
    const moved = SAMPLES.map(([x, label], i) => (i === 4 ? x[0] : x[0] + (label === 0 ? -EPS : EPS)));
    moved.forEach((x0, i) => expect(result.adversarial[2 * i]).toBeCloseTo(x0, 6));
    // the target was scored by the two evaluation passes and nothing else
    expect(target.usage).toEqual({ queries: 2 * SAMPLES.length, gradientCalls: 0 });
    expect(result.gradientCalls).toBe(surrogate.usage.gradientCalls);
    expect(result.queries).toBe(surrogate.usage.queries - 2 * SAMPLES.length);
    await Promise.all([surrogate.release(), target.release()]);
  });

  it('gives no rate when nothing the surrogate broke was correct on the target', async () => {
    const surrogate = await onnxClassifier(SURROGATE);
    const target = await onnxPredictor(TARGET);
    const only = (rows: number[]): AttackTask => ({ x: Float32Array.from(rows.flatMap((i) => SAMPLES[i][0])), labels: Int32Array.from(rows, (i) => SAMPLES[i][1]) });
    const result = await transferAttack(surrogate, target, only([2, 3, 4]), (s, t) => fgsm(s, t, { eps: EPS }));
    expect(result.transferRate).toBeNull();
    await Promise.all([surrogate.release(), target.release()]);
  });

  it('refuses classifiers that disagree on classes, sample shape or box, before crafting', async () => {
    const surrogate = await onnxClassifier(SURROGATE);
    const cases: Array<[Parameters<typeof onnxPredictor>, RegExp]> = [
      [[linearModel(new Float32Array(6), new Float32Array(3))], /the surrogate has 2 classes, the target 3$/],
      [[linearModel(new Float32Array(6), new Float32Array(2))], /the surrogate takes samples of shape \[2\], the target \[3\]$/],
      [[TARGET, { box: { lo: -1, hi: 1 } }], /the surrogate's input box \[0, 1\] differs from the target's \[-1, 1\]$/],
    ];
    for (const [args, message] of cases) {
      const target = await onnxPredictor(...args);
      let crafted = false;
      await expect(transferAttack(surrogate, target, task, async (s, t) => ((crafted = true), fgsm(s, t)))).rejects.toThrow(message);
      expect(crafted).toBe(false);
      await target.release();
    }
    await surrogate.release();
  });
});
