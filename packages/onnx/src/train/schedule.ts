// Learning-rate schedules, as functions of where training is, so that a resumed run recomputes
// exactly the rate an uninterrupted one would use.
export type Schedule =
  | { kind: 'constant' }
  /** Multiply by `gamma` every `every` epochs (PyTorch's StepLR). */
  | { kind: 'step'; every: number; gamma: number }
  /** Half a cosine from the base rate down to `min` over all steps (CosineAnnealingLR, per step). */
  | { kind: 'cosine'; min?: number };

export interface Progress {
  epoch: number;
  /** Step within the epoch. */
  step: number;
  stepsPerEpoch: number;
  epochs: number;
}

export function learningRate(base: number, schedule: Schedule, at: Progress): number {
  switch (schedule.kind) {
    case 'constant':
      return base;
    case 'step':
      return base * schedule.gamma ** Math.floor(at.epoch / schedule.every);
    case 'cosine': {
      const min = schedule.min ?? 0;
      const t = (at.epoch * at.stepsPerEpoch + at.step) / (at.epochs * at.stepsPerEpoch);
      return min + ((base - min) * (1 + Math.cos(Math.PI * t))) / 2;
    }
  }
}
