// Helpers shared by the attacks: working on a subset of samples (the ones still to break), reading
// success from logits, and starting points inside the ball.
import { type Norm, randomBall, randomUniform } from '@onnx-audit/native';

import type { AttackTask } from '../attack.js';
import { argmaxRows, type Box, type Classifier } from '../classifier/classifier.js';

/** Rows `rows` of a row-major [n, width] array, as a new array. */
export function gather<T extends Float32Array | Int32Array>(values: T, width: number, rows: ArrayLike<number>): T {
  const out = new (values.constructor as new (length: number) => T)(rows.length * width);
  for (let r = 0; r < rows.length; r++) out.set(values.subarray(rows[r] * width, (rows[r] + 1) * width), r * width);
  return out;
}

/** Writes row r of `source` into row rows[r] of `target`, for each r where `keep` (if given) holds. */
export function scatter(target: Float32Array, source: Float32Array, width: number, rows: ArrayLike<number>, keep?: (r: number) => boolean): void {
  for (let r = 0; r < rows.length; r++) {
    if (keep && !keep(r)) continue;
    target.set(source.subarray(r * width, (r + 1) * width), rows[r] * width);
  }
}

export function range(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** Per row of scores [m, k] for samples rows[…] of the task: is it adversarial? */
export function adversarialRows(scores: Float32Array, classes: number, rows: ArrayLike<number>, task: AttackTask): Uint8Array {
  return Uint8Array.from(argmaxRows(scores, classes), (best, r) => ((task.targets ? best === task.targets[rows[r]] : best !== task.labels[rows[r]]) ? 1 : 0));
}

/**
 * Where a score-based attack starts: the clean inputs as the answer so far, the one query each
 * sample spends on them, which samples they already fool, and no loss seen yet.
 */
export async function scoreBasedStart(classifier: Classifier, task: AttackTask): Promise<{ adversarial: Float32Array; queriesPerSample: Float64Array; fooled: Uint8Array; bestLoss: Float64Array }> {
  const n = task.labels.length;
  return {
    adversarial: task.x.slice(),
    queriesPerSample: new Float64Array(n).fill(1),
    fooled: adversarialRows(await classifier.scores(task.x), classifier.classes, range(n), task),
    bestLoss: new Float64Array(n).fill(Infinity),
  };
}

/** Natural-log cross-entropy of each row of logits with its class, in float64. */
export function crossEntropy(logits: Float32Array, classes: number, labelOf: (r: number) => number): Float64Array {
  const m = logits.length / classes;
  const out = new Float64Array(m);
  for (let r = 0; r < m; r++) {
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, logits[r * classes + k]);
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += Math.exp(logits[r * classes + k] - max);
    out[r] = Math.log(sum) + max - logits[r * classes + labelOf(r)];
  }
  return out;
}

export function negate(values: Float32Array): Float32Array {
  for (let e = 0; e < values.length; e++) values[e] = -values[e];
  return values;
}

/**
 * A random point of the ε-ball around each row of x0, inside the box: uniform in the ball for L∞
 * and L2 (native kernel); for L1, uniform in the ball by the exponential-spacings construction
 * (|δ| = ε·E_{1..d}/ΣE_{0..d} with random signs), then clipped, which only shrinks |δ|.
 */
export async function randomStart(norm: Norm, x0: Float32Array, d: number, eps: number, box: Box, seed: number, offset: number): Promise<Float32Array> {
  if (norm !== 'l1') return randomBall(norm, x0, d, eps, { box, seed, offset });
  const m = x0.length / d;
  const u = await randomUniform(m * (2 * d + 1), { seed, offset });
  const out = new Float32Array(x0.length);
  for (let i = 0; i < m; i++) {
    const base = i * (2 * d + 1);
    let total = -Math.log1p(-u[base]);
    for (let j = 0; j < d; j++) total += -Math.log1p(-u[base + 1 + j]);
    for (let j = 0; j < d; j++) {
      const size = (eps * -Math.log1p(-u[base + 1 + j])) / total;
      const v = x0[i * d + j] + (u[base + 1 + d + j] < 0.5 ? -size : size);
      out[i * d + j] = Math.min(box.hi, Math.max(box.lo, v));
    }
  }
  return out;
}
