// The overfitted target the end-to-end tests audit: a small CNN trained by our trainer on real
// MNIST digits (its members), with as many held-out digits as non-members and auxiliary digits for
// the attacker. Trained models are kept in the OS temp folder, keyed by everything that made them.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { loadBuiltin, stratifiedSplit, subset } from '@onnx-audit/data';
import { buildClassifier, decodeModel, encodeModel, SMALL_IMAGE_CNN, train, writeFileAtomic } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';

import type { LabelledSet } from '../src/membership-data.js';
import type { TrainingRecipe } from '../src/recipes.js';

/** How the target is trained; the attacker's shadow and reference models are trained the same way. */
export const TARGET_RECIPE: TrainingRecipe = { epochs: 30, batchSize: 32, optimizer: 'adam', lr: 2e-3 };

export interface MnistSetup {
  target: ModelProto;
  members: LabelledSet;
  nonMembers: LabelledSet;
  aux: LabelledSet;
}

/** `perClass` digits of each class: a sixth members, a sixth non-members, the rest auxiliary. */
export async function mnistSetup(perClass: number): Promise<MnistSetup> {
  const digits = await loadBuiltin('mnist', { perClass });
  const parts = stratifiedSplit(digits.y, { members: 1 / 6, nonMembers: 1 / 6, aux: 2 / 3 }, 7);
  const set = (rows: Int32Array): LabelledSet => {
    const d = subset(digits, rows);
    return { x: d.x, sampleDims: [1, 28, 28], labels: d.y };
  };
  const members = set(parts.members);
  const key = createHash('sha256').update(JSON.stringify({ CNN: SMALL_IMAGE_CNN, TARGET_RECIPE, source: digits.source, perClass, v: 1 })).digest('hex').slice(0, 16);
  const file = join(tmpdir(), 'onnx-audit-test', `mia-target-${key}.onnx`);
  let target: ModelProto;
  try {
    target = decodeModel(await readFile(file));
  } catch {
    ({ model: target } = await train(await buildClassifier(SMALL_IMAGE_CNN), members, { ...TARGET_RECIPE, seed: 11, reinit: true }));
    await mkdir(join(tmpdir(), 'onnx-audit-test'), { recursive: true });
    await writeFileAtomic(file, encodeModel(target));
  }
  return { target, members, nonMembers: set(parts.nonMembers), aux: set(parts.aux) };
}
