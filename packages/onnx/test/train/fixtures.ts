// Data and models the trainer tests share: a seeded three-class image task (the class says which
// vertical band of the image is bright) and the networks trained on it.
import { buildClassifier, type TrainingData } from '../../src/index.js';
import { rng } from '../autodiff/harness.js';

export function bandImages(n: number, seed: number, size = 8): TrainingData {
  const r = rng(seed);
  const x = new Float32Array(n * size * size);
  const labels = Array.from({ length: n }, (_, i) => i % 3);
  const band = size / 4;
  for (let i = 0; i < n; i++) {
    const start = labels[i] * band + band / 2;
    for (let p = 0; p < size * size; p++) {
      const column = p % size;
      x[i * size * size + p] = 0.6 * r() + (column >= start && column < start + band ? 0.4 : 0);
    }
  }
  return { x, sampleDims: [1, size, size], labels };
}

/** Conv → BN → ReLU → overlapping MaxPool → Dropout → Linear: 3 classes from [1, 8, 8]. */
export function smallCnn(seed = 1) {
  return buildClassifier({
    input: [1, 8, 8],
    layers: [
      { kind: 'conv', channels: 4, kernel: 3, padding: 1 },
      { kind: 'batchNorm' },
      { kind: 'relu' },
      { kind: 'maxPool', kernel: 3, stride: 2 },
      { kind: 'dropout', ratio: 0.25 },
      { kind: 'flatten' },
      { kind: 'linear', units: 3 },
    ],
    seed,
  });
}
