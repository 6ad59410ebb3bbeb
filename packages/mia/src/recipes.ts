// How the attacker's own models are trained: shadow and reference models "like the target", and
// the distillation students whose snapshots make the sequences. Defaults are SeqMIA's official
// choices (shared/specs/seqmia.md §3.2–3.3); every one is overridable.
import type { OptimizerName, Schedule } from '@onnx-audit/onnx';

export interface TrainingRecipe {
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  lr: number;
  momentum?: number;
  /** L2 penalty added to the gradient (AdamW: decoupled decay). */
  weightDecay?: number;
  schedule?: Schedule;
}

/** SGD lr 0.1, momentum 0.9, weight decay 5e-4, StepLR(5, 0.9), batch 100, 100 epochs. */
export const SEQMIA_TRAINING: TrainingRecipe = {
  epochs: 100,
  batchSize: 100,
  optimizer: 'sgd',
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  schedule: { kind: 'step', every: 5, gamma: 0.9 },
};

/** Distilled snapshots per distillation (one per epoch): SeqMIA's n = 50, so sequences have 51 steps. */
export const SEQMIA_SNAPSHOTS = 50;

/** LiRA reference models; the paper's cheap reproduction uses 16 (shared/specs/mia_calibration.md §4.1). */
export const LIRA_REFERENCE_MODELS = 16;
