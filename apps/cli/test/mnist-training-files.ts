// The files the adversarial-training CLI tests run on: real MNIST digits split into a training
// and a held-out .npz, and a small untrained CNN with BatchNorm as the architecture.
import { join } from 'node:path';

import { loadBuiltin, writeNpz } from '@onnx-audit/data';
import { buildClassifier, writeModel } from '@onnx-audit/onnx';

export interface MnistTrainingFiles {
  files: { arch: string; train: string; heldOut: string };
  /** The held-out digits, for an independent evaluation of what the CLI wrote. */
  heldOut: { x: Float32Array; labels: Int32Array };
}

/** `perClass` digits of each class; every `every`-th digit is held out. */
export async function mnistTrainingFiles(dir: string, perClass: number, every: number): Promise<MnistTrainingFiles> {
  const files = { arch: join(dir, 'cnn.onnx'), train: join(dir, 'train.npz'), heldOut: join(dir, 'held-out.npz') };
  const digits = await loadBuiltin('mnist', { perClass });
  const rows = { train: [] as number[], heldOut: [] as number[] };
  digits.y.forEach((_, i) => (i % every === every - 1 ? rows.heldOut : rows.train).push(i));
  const write = async (path: string, which: number[]) => {
    const x = new Float32Array(which.length * 784);
    which.forEach((r, i) => x.set(digits.x.subarray(r * 784, (r + 1) * 784), i * 784));
    const labels = Int32Array.from(which, (r) => digits.y[r]);
    await writeNpz(path, { x: { dtype: 'float32', shape: [which.length, 1, 28, 28], data: x }, y: { dtype: 'int32', shape: [which.length], data: labels } });
    return { x, labels };
  };
  await write(files.train, rows.train);
  const heldOut = await write(files.heldOut, rows.heldOut);
  await writeModel(files.arch, await buildClassifier({
    input: [1, 28, 28],
    layers: [{ kind: 'conv', channels: 8, kernel: 5, stride: 2 }, { kind: 'batchNorm' }, { kind: 'relu' }, { kind: 'flatten' }, { kind: 'linear', units: 10 }],
    seed: 1,
  }));
  return { files, heldOut };
}

/**
 * The lines `train --adversarial` prints after training at ε = 0.1: per model, the clean, PGD-20
 * and suite robust accuracy as fractions (empty when the heading is missing).
 */
export function reportedRobustness(stdout: string): { model: string; clean: number; robust: number; suite: number }[] {
  if (!/^validation, L∞ ε = 0\.1: clean, PGD-20 robust, standard suite robust accuracy$/m.test(stdout)) return [];
  return [...stdout.matchAll(/^ {2}(.+): ([\d.]+)%, ([\d.]+)%, ([\d.]+)%$/gm)].map((r) => ({ model: r[1], clean: Number(r[2]) / 100, robust: Number(r[3]) / 100, suite: Number(r[4]) / 100 }));
}
