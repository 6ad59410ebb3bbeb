import { describe, expect, it } from 'vitest';

import { SeededRandom } from '@onnx-audit/data';

import { METRIC_SIGNALS, metricScores } from '../src/attacks/signals.js';
import { fitThresholds, thresholdedScores } from '../src/attacks/thresholds.js';

/** The five metric scores of one row, in float64 straight from the definitions (seqmia.md §4.2). */
function referenceScores(z: number[], y: number): Record<(typeof METRIC_SIGNALS)[number], number> {
  const e = z.map((v) => Math.exp(v - Math.max(...z)));
  const sum = e.reduce((a, b) => a + b, 0);
  const p = e.map((v) => v / sum);
  const c = z.length;
  const loss = Math.log(sum) + Math.max(...z) - z[y];
  const sd = Math.sqrt(p.reduce((a, v) => a + (v - 1 / c) ** 2, 0) / c);
  const entropy = -p.reduce((a, v) => a + (v > 0 ? v * Math.log(v) : 0), 0);
  const mentropy = -(1 - p[y]) * Math.log(p[y]) - p.reduce((a, v, k) => (k === y ? a : a + v * Math.log(1 - v)), 0);
  return { loss: -loss, max: Math.max(...p), sd, entropy: -entropy, mentropy: -mentropy };
}

describe('metricScores', () => {
  it('matches the seqmia.md §4.3 fixtures with larger = member', async () => {
    const logits = Float32Array.of(2, 1, 0.1, 2, 1, 0.1, 30, 0, 0, 0);
    const labels = Int32Array.of(0, 2, 1);
    const small = logits.subarray(0, 6);
    const s = async (m: (typeof METRIC_SIGNALS)[number]) => metricScores(small, labels.subarray(0, 2), 3, m);
    const close = (got: Float64Array, want: number[]) => want.forEach((w, i) => expect(got[i]).toBeCloseTo(w, 8));
    close(await s('loss'), [-0.417030016, -2.317030016]);
    close(await s('max'), [0.659001139, 0.659001139]);
    close(await s('sd'), [0.237653913, 0.237653913]);
    close(await s('entropy'), [-0.846738179, -0.846738179]);
    close(await s('mentropy'), [-0.219744658, -2.864963372]);

    const wrong = Float32Array.of(30, 0, 0, 0);
    const y1 = Int32Array.of(1);
    expect((await metricScores(wrong, y1, 4, 'loss'))[0]).toBeCloseTo(-30, 10);
    // Exact value (50-digit mpmath): 30·(1 − p_1) + 30 − log 3 + O(e^−60) = 58.9013877113215.
    // The spec's "58.9024" is a typo; float32's clamped 1 − p_0 would give 99.08.
    expect((await metricScores(wrong, y1, 4, 'mentropy'))[0]).toBeCloseTo(-58.9013877113215, 10);
  });

  it('agrees with a float64 reference on random logits for every metric', async () => {
    const random = new SeededRandom(11);
    const n = 40;
    const classes = 5;
    const logits = Float32Array.from({ length: n * classes }, () => (random.nextUint32() / 2 ** 32 - 0.5) * 12);
    const labels = Int32Array.from({ length: n }, () => random.below(classes));
    for (const metric of METRIC_SIGNALS) {
      const got = await metricScores(logits, labels, classes, metric);
      for (let i = 0; i < n; i++) {
        const want = referenceScores(Array.from(logits.subarray(i * classes, (i + 1) * classes)), labels[i])[metric];
        expect(Math.abs(got[i] - want)).toBeLessThan(1e-12 * Math.max(1, Math.abs(want)));
      }
    }
  });

  it('rejects an unknown metric and a label out of range', async () => {
    await expect(metricScores(Float32Array.of(1, 2), Int32Array.of(0), 2, 'margin' as never)).rejects.toThrow(RangeError);
    await expect(metricScores(Float32Array.of(1, 2), Int32Array.of(2), 2, 'loss')).rejects.toThrow(/outside/);
  });
});

/** O(n²) search: every observed v of the group, objective counted directly; ties keep the smaller v. */
function bruteForce(scores: Float64Array, isMember: Uint8Array, rows: number[]): { threshold: number; members: number; nonMembers: number; hits: number } {
  const members = rows.filter((r) => isMember[r]).length;
  const nonMembers = rows.length - members;
  let best = { threshold: NaN, hits: -1 };
  for (const r of rows) {
    const v = scores[r];
    let tp = 0;
    let tn = 0;
    for (const q of rows) {
      if (isMember[q] && scores[q] >= v) tp++;
      if (!isMember[q] && scores[q] < v) tn++;
    }
    // members·nonMembers × ½(tp/members + tn/nonMembers), in integers so that ties are exact.
    const hits = tp * nonMembers + tn * members;
    if (hits > best.hits || (hits === best.hits && v < best.threshold)) best = { threshold: v, hits };
  }
  return { ...best, members, nonMembers };
}

function balancedAccuracy(decisions: boolean[], isMember: boolean[]): number {
  let tp = 0;
  let tn = 0;
  let m = 0;
  decisions.forEach((d, i) => {
    if (isMember[i]) {
      m++;
      if (d) tp++;
    } else if (!d) tn++;
  });
  return 0.5 * (tp / m + tn / (decisions.length - m));
}

describe('fitThresholds', () => {
  // Seeded shadow data with many ties (scores on a 0.25 grid); class 3 absent, class 4 members only.
  const random = new SeededRandom(5);
  const n = 600;
  const classes = 5;
  const labels = Int32Array.from({ length: n }, () => [0, 1, 2, 4][random.below(4)]);
  const isMember = Uint8Array.from(labels, (c) => (c === 4 ? 1 : random.below(2)));
  const scores = Float64Array.from({ length: n }, (_, i) => Math.round(4 * ((random.below(1000) / 1000) * 3 + isMember[i] * (0.5 + labels[i] * 0.4))) / 4);
  const t = fitThresholds(scores, labels, isMember, classes);
  const all = Array.from({ length: n }, (_, i) => i);

  it('picks the brute-force threshold globally and per class', () => {
    expect(new Set(scores).size).toBeLessThan(n / 10); // ties are the point
    expect(t.global).toBe(bruteForce(scores, isMember, all).threshold);
    for (const c of [0, 1, 2]) expect(t.perClass[c]).toBe(bruteForce(scores, isMember, all.filter((i) => labels[i] === c)).threshold);
    expect(t.perClass[3]).toBeNaN(); // no sample
    expect(t.perClass[4]).toBeNaN(); // no non-member
    // The classes' thresholds really differ, so 'class' mode is not 'global' in disguise.
    expect(new Set([t.perClass[0], t.perClass[1], t.perClass[2]]).size).toBeGreaterThan(1);
  });

  it('breaks ties towards the smallest value', () => {
    // Members {1, 3}, non-members {0, 2}: v = 1 and v = 3 both score ¾.
    const s = Float64Array.of(1, 3, 0, 2);
    const fit = fitThresholds(s, new Int32Array(4), Uint8Array.of(1, 1, 0, 0), 1);
    expect(fit.global).toBe(1);
    expect(bruteForce(s, Uint8Array.of(1, 1, 0, 0), [0, 1, 2, 3]).threshold).toBe(1);
  });

  it('thresholdedScores decides with the fitted thresholds at their balanced accuracy', () => {
    const members = Array.from(isMember, (m) => m === 1);
    const global = thresholdedScores(scores, labels, t, 'global');
    const brute = bruteForce(scores, isMember, all);
    expect(balancedAccuracy(Array.from(global, (s) => s >= 0), members)).toBeCloseTo(brute.hits / (2 * brute.members * brute.nonMembers), 14);

    const perClass = thresholdedScores(scores, labels, t, 'class');
    for (const c of [0, 1, 2]) {
      const rows = all.filter((i) => labels[i] === c);
      const b = bruteForce(scores, isMember, rows);
      const acc = balancedAccuracy(rows.map((i) => perClass[i] >= 0), rows.map((i) => members[i]));
      expect(acc).toBeCloseTo(b.hits / (2 * b.members * b.nonMembers), 14);
      expect(acc).toBeGreaterThanOrEqual(balancedAccuracy(rows.map((i) => global[i] >= 0), rows.map((i) => members[i])));
    }
    // Class 4 has no class threshold: it falls back to the global one, and so would an unseen class 3.
    for (const i of all.filter((j) => labels[j] === 4)) expect(perClass[i]).toBe(scores[i] - t.global);
    expect(thresholdedScores(Float64Array.of(2.5), Int32Array.of(3), t, 'class')[0]).toBe(2.5 - t.global);
  });

  it('rejects shadow data without both members and non-members, and non-finite scores', () => {
    expect(() => fitThresholds(Float64Array.of(1, 2), Int32Array.of(0, 0), Uint8Array.of(1, 1), 1)).toThrow(/member and one non-member/);
    expect(() => fitThresholds(Float64Array.of(1, NaN), Int32Array.of(0, 0), Uint8Array.of(1, 0), 1)).toThrow(/not finite/);
  });
});
