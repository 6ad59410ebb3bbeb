// What the adversarial-training tests share: seeded numbers, MNIST digits by row, and the PGD
// robust accuracy that judges a trained model.
import type { ModelProto } from 'onnx-buf';

import { evaluateAttack } from '../src/attack.js';
import { pgd } from '../src/attacks/pgd.js';
import { onnxClassifier } from '../src/classifier/onnx.js';
import type { Digits } from './models.js';

// A seeded LCG: deterministic numbers in [0, 1).
export function uniform(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32));
}

export function digitsOf(all: { x: Float32Array; y: ArrayLike<number> }, rows: number[]): Digits {
  const d = 784;
  const x = new Float32Array(rows.length * d);
  rows.forEach((r, i) => x.set(all.x.subarray(r * d, (r + 1) * d), i * d));
  return { x, labels: Int32Array.from(rows, (r) => all.y[r]), sampleDims: [1, 28, 28] };
}

/** Clean and PGD-20 (L∞) robust accuracy at ε. */
export async function robustAccuracy(model: ModelProto, test: Digits, eps: number): Promise<{ clean: number; robust: number }> {
  const classifier = await onnxClassifier(model, { sampleDims: test.sampleDims });
  try {
    const task = { x: test.x, labels: test.labels };
    const result = await evaluateAttack(classifier, task, { norm: 'linf', eps }, () => pgd(classifier, task, { eps, steps: 20, seed: 7 }));
    return { clean: result.summary.cleanAccuracy, robust: result.summary.robustAccuracy };
  } finally {
    await classifier.release();
  }
}
