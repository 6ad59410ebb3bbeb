import { describe, expect, it } from 'vitest';

import { SeededRandom } from '@onnx-audit/data';
import { predictLogits } from '@onnx-audit/onnx';

import { shokriScores, trainShokri } from '../src/attacks/shokri.js';

const classes = 4;
const uniform = (r: SeededRandom) => (r.nextUint32() + 0.5) / 2 ** 32;
const normal = (r: SeededRandom) => Math.sqrt(-2 * Math.log(uniform(r))) * Math.cos(2 * Math.PI * uniform(r));

/**
 * Shadow-model logits: the true class gets +4.5 for members (peaked posteriors) and +1.5 for
 * non-members (flatter), on N(0, 1) noise. `perClass` samples of each class, half members.
 */
function draw(seed: number, perClass: number[]): { logits: Float32Array; labels: Int32Array; isMember: Uint8Array } {
  const r = new SeededRandom(seed);
  const labels = Int32Array.from(perClass.flatMap((count, c) => Array<number>(count).fill(c)));
  const isMember = Uint8Array.from(labels, (_, i) => i % 2);
  const logits = Float32Array.from({ length: labels.length * classes }, (_, j) => {
    const i = Math.floor(j / classes);
    return normal(r) + (j % classes === labels[i] ? (isMember[i] ? 4.5 : 1.5) : 0);
  });
  return { logits, labels, isMember };
}

/** Mann–Whitney AUC by counting every member/non-member pair (ties count ½). */
function pairAuc(scores: Float64Array, isMember: Uint8Array): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!isMember[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (isMember[j]) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}

describe('Shokri attack models', () => {
  // Class 3 has only 10 shadow samples: below minPerClass, it is scored by the all-class model.
  const shadow = draw(1, [80, 80, 80, 10]);
  const target = draw(2, [60, 60, 60, 60]);
  const options = { seed: 3, minPerClass: 20 };

  it('separates members from non-members on a fresh draw, with the all-class model as fallback', async () => {
    const model = await trainShokri(shadow.logits, shadow.labels, shadow.isMember, classes, options);
    expect(model.perClass.map((m) => m !== undefined)).toEqual([true, true, true, false]);
    const scores = await shokriScores(model, target.logits, target.labels);
    const auc = pairAuc(scores, target.isMember);
    expect(auc).toBeGreaterThan(0.9);

    // Class 3's scores are the shared model's z_member − z_nonmember on the sorted softmax,
    // recomputed here in float64; class 0's come from its own model, so they differ.
    const sharedScores = async (c: number) => {
      const rows = Array.from(target.labels.keys()).filter((i) => target.labels[i] === c);
      const features = new Float32Array(rows.length * classes);
      rows.forEach((r, i) => {
        const z = Array.from(target.logits.subarray(r * classes, (r + 1) * classes));
        const e = z.map((v) => Math.exp(v - Math.max(...z)));
        const sum = e.reduce((a, b) => a + b, 0);
        features.set(e.map((v) => v / sum).sort((a, b) => b - a), i * classes);
      });
      const { logits } = await predictLogits(model.shared, features, [classes]);
      return rows.map((r, i) => ({ got: scores[r], shared: logits[2 * i + 1] - logits[2 * i] }));
    };
    for (const { got, shared } of await sharedScores(3)) expect(got).toBeCloseTo(shared, 4);
    expect((await sharedScores(0)).filter(({ got, shared }) => Math.abs(got - shared) > 1e-2).length).toBeGreaterThan(50);
  });

  it('gives identical scores for the same seed and different ones for another seed', async () => {
    const small = { ...options, epochs: 3 };
    const score = async (seed: number) => shokriScores(await trainShokri(shadow.logits, shadow.labels, shadow.isMember, classes, { ...small, seed }), target.logits, target.labels);
    const first = await score(3);
    expect(await score(3)).toEqual(first);
    expect(await score(4)).not.toEqual(first);
  });

  it('refuses shadow data of one kind only', async () => {
    await expect(trainShokri(shadow.logits, shadow.labels, new Uint8Array(shadow.labels.length), classes)).rejects.toThrow(/member and one non-member/);
  });
});
