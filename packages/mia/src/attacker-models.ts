// The models the attacker trains from the target's architecture (its ONNX graph with fresh
// weights): shadow and reference models trained like the target, and distillation students whose
// per-epoch snapshots make the sequences. Each is a stage of the work folder.
import { readFile } from 'node:fs/promises';

import { decodeModel, type EpochSummary, type SessionOptions, train } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';

import type { LabelledSet } from './membership-data.js';
import type { TrainingRecipe } from './recipes.js';
import type { WorkFolder } from './work-folder.js';

export interface StageProgress {
  stage: string;
  epoch: number;
  epochs: number;
}

export interface TrainingStage {
  work: WorkFolder;
  session: SessionOptions;
  onProgress?: (progress: StageProgress) => void;
}

/** A model of `architecture` trained from fresh seeded weights on `data` with the recipe. */
export function trainFresh(context: TrainingStage, stage: string, key: string, architecture: ModelProto, data: LabelledSet, recipe: TrainingRecipe, seed: number): Promise<ModelProto> {
  return context.work.model(stage, key, async (checkpoint) => {
    const { model } = await train(architecture, { x: data.x, sampleDims: data.sampleDims, labels: data.labels }, {
      ...recipe,
      ...context.session,
      spinning: false,
      seed,
      reinit: true,
      checkpoint,
      resume: context.work.resume,
      onEpoch: epochReporter(context, stage, recipe.epochs),
    });
    return model;
  });
}

/**
 * Distils `teacher` into a fresh student of `architecture` on the distillation set against the
 * teacher's softmax (temperature 1), one continuing run of `snapshots` epochs with a snapshot after
 * each: returns the snapshots, oldest first.
 */
export async function distilledSnapshots(context: TrainingStage, stage: string, key: string, architecture: ModelProto, teacher: ModelProto, data: LabelledSet, recipe: TrainingRecipe, seed: number): Promise<ModelProto[]> {
  const files = await context.work.files(stage, key, async (dir, checkpoint) => {
    const { history } = await train(architecture, { x: data.x, sampleDims: data.sampleDims, labels: data.labels }, {
      ...recipe,
      ...context.session,
      spinning: false,
      seed,
      reinit: true,
      distill: { teacher, temperature: 1 },
      snapshots: dir,
      checkpoint,
      resume: context.work.resume,
      onEpoch: epochReporter(context, stage, recipe.epochs),
    });
    return history.map((epoch) => epoch.snapshot!);
  });
  return Promise.all(files.map(async (file) => decodeModel(await readFile(file))));
}

function epochReporter(context: TrainingStage, stage: string, epochs: number): (summary: EpochSummary) => void {
  return (summary) => context.onProgress?.({ stage, epoch: summary.epoch, epochs });
}
