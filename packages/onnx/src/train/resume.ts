// Resuming: what a checkpoint must match (the model, the data, every setting that shapes the
// trajectory) and what it records besides the tensors.
import { createHash } from 'node:crypto';
import { access } from 'node:fs/promises';

import type { ModelProto } from 'onnx-buf';

import { encodeModel } from '../model/io.js';
import { TrainingError } from './errors.js';
import type { Schedule } from './schedule.js';
import type { TrainOptions } from './trainer.js';

export interface CheckpointHeader<Summary> {
  epochsDone: number;
  optimizerSteps: number;
  settings: Record<string, unknown>;
  history: Summary[];
}

/** The settings that shape a run's trajectory, seed and schedule resolved. */
export type RunSettings = Pick<TrainOptions, 'epochs' | 'batchSize' | 'optimizer' | 'lr' | 'momentum' | 'nesterov' | 'weightDecay' | 'reinit' | 'distill' | 'perturbation' | 'trades'> & { seed: number; schedule: Schedule };

/** What a checkpoint must match to be resumed: the model, the data and every setting that shapes training. */
export function fingerprint(model: ModelProto, data: { x: Float32Array; labels: ArrayLike<number> }, o: RunSettings): Record<string, unknown> {
  const hash = (...parts: ArrayBufferView[]) => {
    const h = createHash('sha256');
    for (const p of parts) h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    return h.digest('hex').slice(0, 16);
  };
  return {
    model: hash(encodeModel(model)),
    data: hash(data.x, Float64Array.from(data.labels)),
    teacher: o.distill ? hash(encodeModel(o.distill.teacher)) : null,
    temperature: o.distill?.temperature ?? null,
    // More epochs extend a run, except under a cosine schedule, whose rates depend on the total.
    epochs: o.schedule.kind === 'cosine' ? o.epochs : null,
    batchSize: o.batchSize,
    optimizer: o.optimizer,
    lr: o.lr,
    momentum: o.momentum ?? 0,
    nesterov: o.nesterov ?? false,
    weightDecay: o.weightDecay ?? 0,
    schedule: o.schedule,
    seed: o.seed,
    reinit: o.reinit ?? false,
    // Only when set, so checkpoints written before the option existed still resume.
    ...(o.perturbation ? { perturbation: o.perturbation } : {}),
    ...(o.trades ? { trades: o.trades } : {}),
  };
}

export function assertSameSettings(path: string, saved: Record<string, unknown>, now: Record<string, unknown>): void {
  // Both sides' keys: a setting present in only one of them (a perturbation) differs too.
  const differing = [...new Set([...Object.keys(saved), ...Object.keys(now)])].filter((k) => JSON.stringify(saved[k]) !== JSON.stringify(now[k]));
  if (differing.length > 0) {
    const list = differing.map((k) => `${k} ${JSON.stringify(saved[k])} → ${JSON.stringify(now[k])}`).join(', ');
    throw new TrainingError(`${path} was written by a different run (${list}); use the same settings to resume, or delete it to start over`);
  }
}

export async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}
