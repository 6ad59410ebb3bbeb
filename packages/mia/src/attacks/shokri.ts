// Shokri et al. (S&P 2017): attack models trained on a shadow model's posteriors over its own
// members and non-members, one per class. Each sees the softmax sorted in descending order (the
// class identity is already given by the choice of model, so sorting makes the input depend only
// on the shape of the posterior, as in ML-Leaks and the LiRA paper's re-implementation).
import { softmax } from '@onnx-audit/native';
import { buildClassifier, predictLogits, train } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';

import { checkLogits } from './signals.js';

export interface ShokriOptions {
  /** Seeds the attack models' initial weights and shuffling (default 0). */
  seed?: number;
  /** Default 50. */
  epochs?: number;
  /** Width of the hidden ReLU layer (default 64). */
  hidden?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Default 64. */
  batchSize?: number;
  /**
   * A class with fewer shadow samples than this (default 20), or without both members and
   * non-members, is scored by the model trained on all classes.
   */
  minPerClass?: number;
}

export interface ShokriModel {
  classes: number;
  /** undefined where the class falls back to `shared`. */
  perClass: (ModelProto | undefined)[];
  shared: ModelProto;
}

/** Softmax rows [n, classes] sorted in descending order: the attack models' input. */
async function sortedPosteriors(logits: Float32Array, classes: number): Promise<Float32Array> {
  const p = await softmax(logits, classes);
  for (let row = 0; row < p.length; row += classes) p.subarray(row, row + classes).sort().reverse();
  return p;
}

/** The rows of `features` [n, classes] at `rows`. */
function gather(features: Float32Array, classes: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * classes);
  rows.forEach((r, i) => out.set(features.subarray(r * classes, (r + 1) * classes), i * classes));
  return out;
}

/**
 * Trains on the shadow model's logits over its members (isMember 1) and non-members (0): softmax,
 * sorted descending, → MLP (hidden, ReLU) → 2 logits [non-member, member], cross-entropy with
 * Adam. One model per class with at least `minPerClass` samples of both kinds, and one on all.
 */
export async function trainShokri(logits: Float32Array, labels: Int32Array, isMember: Uint8Array, classes: number, options: ShokriOptions = {}): Promise<ShokriModel> {
  const n = checkLogits(logits, labels, classes);
  if (isMember.length !== n) throw new RangeError(`isMember holds ${isMember.length} entries, expected one per sample (${n})`);
  const { seed = 0, epochs = 50, hidden = 64, lr = 1e-3, batchSize = 64, minPerClass = 20 } = options;
  if (!Number.isInteger(hidden) || hidden < 1) throw new RangeError(`hidden must be a positive integer, got ${hidden}`);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);
  const features = await sortedPosteriors(logits, classes);

  const fit = async (rows: number[], modelSeed: number): Promise<ModelProto> => {
    const model = await buildClassifier({ input: [classes], layers: [{ kind: 'linear', units: hidden }, { kind: 'relu' }, { kind: 'linear', units: 2 }], seed: modelSeed });
    const data = { x: gather(features, classes, rows), sampleDims: [classes], labels: rows.map((r) => isMember[r] ? 1 : 0) };
    return (await train(model, data, { epochs, batchSize, optimizer: 'adam', lr, seed: modelSeed })).model;
  };
  const all = Array.from({ length: n }, (_, i) => i);
  const both = (rows: number[]) => rows.some((r) => isMember[r]) && rows.some((r) => !isMember[r]);
  if (!both(all)) throw new RangeError('the shadow data needs at least one member and one non-member');
  // Distinct seeds per attack model, derived from the one seed.
  const seedOf = (c: number) => seed * (classes + 1) + c + 1;
  const shared = await fit(all, seedOf(-1));
  const perClass: (ModelProto | undefined)[] = [];
  for (let c = 0; c < classes; c++) {
    const rows = all.filter((r) => labels[r] === c);
    perClass.push(rows.length >= minPerClass && both(rows) ? await fit(rows, seedOf(c)) : undefined);
  }
  return { classes, perClass, shared };
}

/** Member score per sample: z_member − z_nonmember of the attack model for the sample's class. */
export async function shokriScores(model: ShokriModel, logits: Float32Array, labels: Int32Array): Promise<Float64Array> {
  const { classes } = model;
  const n = checkLogits(logits, labels, classes);
  const features = await sortedPosteriors(logits, classes);
  const scores = new Float64Array(n);
  // Score each attack model's samples in one batch run.
  const groups = new Map<ModelProto, number[]>();
  for (let i = 0; i < n; i++) {
    const attack = model.perClass[labels[i]] ?? model.shared;
    const rows = groups.get(attack) ?? [];
    rows.push(i);
    groups.set(attack, rows);
  }
  for (const [attack, rows] of groups) {
    const { logits: z } = await predictLogits(attack, gather(features, classes, rows), [classes]);
    rows.forEach((r, i) => (scores[r] = z[2 * i + 1] - z[2 * i]));
  }
  return scores;
}
