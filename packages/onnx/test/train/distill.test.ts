// Distillation: a student of another architecture, trained only on a teacher's softmax at
// temperature T, comes to match it. KL(teacher_T ‖ student_T) is computed here in float64 from
// both models' logits, independently of the trainer's loss head.
import { describe, expect, it } from 'vitest';

import { buildClassifier, predictLogits, train, type TrainingData } from '../../src/index.js';
import { bandImages, smallCnn } from './fixtures.js';

function meanKl(teacher: Float32Array, student: Float32Array, k: number, t: number): number {
  const softmax = (z: Float32Array, i: number) => {
    const row = Array.from(z.subarray(i * k, (i + 1) * k), (v) => v / t);
    const m = Math.max(...row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b);
    return e.map((v) => v / s);
  };
  const n = teacher.length / k;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const [p, q] = [softmax(teacher, i), softmax(student, i)];
    total += p.reduce((sum, pj, j) => sum + (pj > 0 ? pj * Math.log(pj / q[j]) : 0), 0);
  }
  return total / n;
}

describe('distillation', () => {
  it('brings a student\'s softmax at T to its teacher\'s: KL falls below 0.01 nats and a twentieth of its start', async () => {
    const data: TrainingData = bandImages(240, 11);
    const { model: teacher } = await train(await smallCnn(), data, { epochs: 4, batchSize: 24, optimizer: 'adam', lr: 0.01, seed: 1 });
    const student = await buildClassifier({ input: [1, 8, 8], layers: [{ kind: 'flatten' }, { kind: 'linear', units: 16 }, { kind: 'relu' }, { kind: 'linear', units: 3 }], seed: 5 });
    const T = 2;
    const logitsOf = async (m: typeof student) => (await predictLogits(m, data.x, data.sampleDims)).logits;
    const teacherLogits = await logitsOf(teacher);
    const before = meanKl(teacherLogits, await logitsOf(student), 3, T);
    const { model: distilled, history } = await train(student, data, { epochs: 60, batchSize: 24, optimizer: 'adam', lr: 0.01, seed: 2, distill: { teacher, temperature: T } });
    const after = meanKl(teacherLogits, await logitsOf(distilled), 3, T);
    if (process.env.TRAIN_FIGURES) console.log({ before, after, lossFirst: history[0].loss, lossLast: history.at(-1)!.loss });
    // The head's loss is τ²·KL on the same data, so the last epoch's loss tracks it.
    expect(history.at(-1)!.loss / (T * T)).toBeCloseTo(after, 1);
    expect(after).toBeLessThan(0.01);
    expect(after).toBeLessThan(before / 20);
  });
});
