import { describe, expect, it } from 'vitest';

import { learningRate } from '../../src/train/schedule.js';

describe('learning-rate schedules', () => {
  const at = (epoch: number, step = 0) => ({ epoch, step, stepsPerEpoch: 10, epochs: 4 });

  it('step: multiplies by γ every `every` epochs', () => {
    const s = { kind: 'step', every: 2, gamma: 0.1 } as const;
    expect([0, 1, 2, 3].map((e) => learningRate(1, s, at(e)))).toEqual([1, 1, 0.1, 0.1]);
    expect(learningRate(1, { kind: 'step', every: 1, gamma: 0.5 }, at(3))).toBe(0.125);
  });

  it('cosine: base at the start, the midpoint halfway, min at the end, per step', () => {
    const s = { kind: 'cosine', min: 0.1 } as const;
    expect(learningRate(1, s, at(0))).toBe(1);
    expect(learningRate(1, s, at(2))).toBeCloseTo(0.55, 12);
    expect(learningRate(1, s, at(1, 5))).toBeCloseTo(0.1 + 0.9 * (1 + Math.cos(Math.PI * 15 / 40)) / 2, 12);
    expect(learningRate(1, s, at(4))).toBeCloseTo(0.1, 12);
  });
});
