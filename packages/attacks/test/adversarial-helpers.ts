// What the adversarial-training tests share: MNIST digits by row, a resumable training run, and the PGD
// robust accuracy that judges a trained model.
import { loadBuiltin } from '@onnx-audit/data';
import { buildClassifier, SMALL_IMAGE_CNN, train, type TrainResult } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';

import { evaluateAttack } from '../src/attack.js';
import { pgd } from '../src/attacks/pgd.js';
import { onnxClassifier } from '../src/classifier/onnx.js';
import { adversarialPerturbation, type AdversarialTrainingOptions } from '../src/defences/adversarial-training.js';
import { type Digits } from './models.js';

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

/**
 * A run for the resumption tests: 200 MNIST digits, a small CNN with BatchNorm (whose running
 * statistics a resumed run must restore too), `epochs` epochs of adversarial training, resumed
 * from `checkpoint` when given.
 */
export async function resumableRun(attack: AdversarialTrainingOptions): Promise<{
  run: (epochs: number, checkpoint?: string, changed?: Partial<AdversarialTrainingOptions>) => Promise<TrainResult>;
  /** The same run without the hook. */
  plain: (epochs: number, checkpoint: string) => Promise<TrainResult>;
}> {
  const all = await loadBuiltin('mnist', { perClass: 20 });
  const data = digitsOf(all, Array.from({ length: all.y.length }, (_, i) => i));
  const arch = await buildClassifier({ ...SMALL_IMAGE_CNN, layers: [{ kind: 'conv', channels: 4, kernel: 5, stride: 2 }, { kind: 'batchNorm' }, { kind: 'relu' }, { kind: 'flatten' }, { kind: 'linear', units: 10 }] });
  const settings = { batchSize: 32, optimizer: 'adam', lr: 2e-3, seed: 2 } as const;
  return {
    async run(epochs, checkpoint, changed = {}) {
      const hook = await adversarialPerturbation(arch, data.sampleDims, { ...attack, ...changed });
      try {
        return await train(arch, data, {
          ...settings, epochs, perturb: hook.perturb, perturbation: hook.describe,
          ...(hook.trades ? { trades: hook.trades } : {}), ...(checkpoint ? { checkpoint, resume: true } : {}),
        });
      } finally {
        await hook.release();
      }
    },
    plain: (epochs, checkpoint) => train(arch, data, { ...settings, epochs, checkpoint, resume: true }),
  };
}

/** Every initializer's bytes, by name: equal only for bit-identical weights. */
export function initializerBytes(model: ModelProto): string[][] {
  return model.graph!.initializer.map((t) => [t.name, Buffer.from(t.rawData).toString('hex')]);
}
