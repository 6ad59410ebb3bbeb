// Training and scoring the attack models (the attention LSTM, TrajectoryMIA's MLP) with the
// shared trainer: membership is a two-class label, 1 member and 0 non-member, and the model's own
// weights are the start, since their PyTorch-default initialisation is part of the recipe.
import type { ModelProto } from 'onnx-buf';

import { type EpochSummary, predictLogits, type Schedule, train } from '@onnx-audit/onnx';

export interface AttackModelTraining {
  epochs: number;
  batchSize: number;
  optimizer: 'adam' | 'sgd';
  lr: number;
  momentum?: number;
  /** Coupled L2 (added to the gradient), on every parameter. */
  weightDecay?: number;
  schedule?: Schedule;
}

/**
 * seqmia.md §6.2: Adam lr 0.01, coupled L2 1e-4, StepLR(10, 0.9), 150 epochs, batch 100. The
 * official code exempts `fc.bias` from the decay; our trainer decays every parameter alike, which
 * on one 2-vector at 1e-4 is a negligible departure.
 */
export const SEQMIA_ATTACK_TRAINING: AttackModelTraining = Object.freeze({
  epochs: 150,
  batchSize: 100,
  optimizer: 'adam',
  lr: 0.01,
  weightDecay: 1e-4,
  schedule: Object.freeze({ kind: 'step', every: 10, gamma: 0.9 }),
});

/** seqmia.md §9.6: SGD lr 0.01, momentum 0.9, weight decay 1e-4, 100 epochs, batch 128. */
export const TRAJECTORY_ATTACK_TRAINING: AttackModelTraining = Object.freeze({
  epochs: 100,
  batchSize: 128,
  optimizer: 'sgd',
  lr: 0.01,
  momentum: 0.9,
  weightDecay: 1e-4,
});

export interface TrainAttackOptions extends AttackModelTraining {
  /** Seeds the shuffling (default 0); the initial weights are the model's. */
  seed?: number;
  /** Checkpoint file, rewritten after every epoch. */
  checkpoint?: string;
  /** Continue from `checkpoint` when it exists. */
  resume?: boolean;
  onEpoch?: (summary: EpochSummary) => void;
}

/** Trains on features [n, ...sampleDims] with membership labels 1 member / 0 non-member (the model's own weights as the start: no reinit). */
export async function trainAttackModel(model: ModelProto, features: Float32Array, sampleDims: number[], isMember: Uint8Array, options: TrainAttackOptions): Promise<ModelProto> {
  const bad = isMember.findIndex((v) => v > 1);
  if (bad >= 0) throw new RangeError(`isMember[${bad}] is ${isMember[bad]}: use 1 for a member and 0 for a non-member`);
  const { model: trained } = await train(model, { x: features, sampleDims, labels: isMember }, { ...options, reinit: false });
  return trained;
}

/** The attack model's two logits per sample [n, 2] (inference). */
export async function attackLogits(model: ModelProto, features: Float32Array, sampleDims: number[]): Promise<Float32Array> {
  const { logits, classes } = await predictLogits(model, features, sampleDims, { batchSize: 1024 });
  if (classes !== 2) throw new RangeError(`the attack model gives ${classes} logits per sample; it needs 2 (non-member, member)`);
  return logits;
}
