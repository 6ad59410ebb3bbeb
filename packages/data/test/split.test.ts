import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { MEMBERSHIP_SPLIT, membershipSplit, readNpz, SeededRandom, stratifiedSplit, subset, trainValTest, writeSplit, type Dataset, type Split } from '../src/index.js';
import { tempDir } from './helpers.js';

/** How many samples of each class (in ascending label order) each part holds. */
function classCounts(labels: ArrayLike<number>, split: Split): Record<string, number[]> {
  const classes = [...new Set(Array.from(labels))].sort((a, b) => a - b);
  return Object.fromEntries(Object.entries(split).map(([name, indices]) => [name, classes.map((c) => indices.filter((i) => labels[i] === c).length)]));
}

/** `counts` of class sizes, interleaved so that no class sits in one block. */
function interleavedLabels(counts: number[]): Int32Array {
  const labels: number[] = [];
  const left = [...counts];
  while (left.some((n) => n > 0)) left.forEach((n, c) => n > 0 && (labels.push(c), left[c]--));
  return Int32Array.from(labels);
}

describe('SeededRandom', () => {
  it('gives the xoshiro128** stream of the reference C code, seeded by SplitMix64', () => {
    // From https://prng.di.unimi.it/xoshiro128starstar.c and splitmix64.c, compiled with gcc.
    const first4 = (seed: number | bigint): number[] => {
      const random = new SeededRandom(seed);
      return [0, 1, 2, 3].map(() => random.nextUint32());
    };
    expect(first4(0)).toEqual([3737715805, 2584255861, 2876756834, 3286328325]);
    expect(first4(42)).toEqual([1776835114, 4165204688, 17111135, 2317295270]);
    expect(first4(2n ** 64n - 1n)).toEqual([477689756, 2493998634, 555695776, 607808419]);
  });

  it('refuses seeds that are not non-negative integers below 2^64', () => {
    for (const seed of [-1, 1.5, NaN, 2n ** 64n, -1n]) expect(() => new SeededRandom(seed)).toThrow(RangeError);
  });
});

describe('stratifiedSplit', () => {
  // Classes of 10, 7 and 3 samples.
  const labels = interleavedLabels([10, 7, 3]);

  it('gives each part its exact quota per class, rounded by largest remainder', () => {
    // Class 0: 8, 1, 1 exactly. Class 1: 5.6, 0.7, 0.7 floor to 5, 0, 0 and the 2 left go to the
    // larger remainders (val, test). Class 2: 2.4, 0.3, 0.3 floor to 2, 0, 0; the 1 left goes to train.
    expect(classCounts(labels, trainValTest(labels, 1))).toEqual({ train: [8, 5, 3], val: [1, 1, 0], test: [1, 1, 0] });
    // 12 per class: 2, 2, 2, 2, 4. 7 per class: 7/6 four times and 7/3 floor to 1, 1, 1, 1, 2; the one
    // left goes to the largest remainder, distillation's 1/3.
    const five = interleavedLabels([12, 7]);
    expect(classCounts(five, membershipSplit(five, 1))).toEqual({
      targetIn: [2, 1],
      targetOut: [2, 1],
      shadowIn: [2, 1],
      shadowOut: [2, 1],
      distillation: [4, 3],
    });
  });

  it('leaves out the rest when the fractions sum to less than 1, and breaks ties to the part named first', () => {
    // 5 * 0.5 = 2.5 for the part and 2.5 for the rest: the tie goes to the part.
    const split = stratifiedSplit(new Int32Array(5), { half: 0.5 }, 3);
    expect(split.half.length).toBe(3);
    expect(stratifiedSplit(labels, { a: 0, b: 0.25 }, 3).a).toEqual(new Int32Array(0));
  });

  it('keeps every class count within 1 of exact, parts disjoint and ascending, for uneven fractions', () => {
    const random = new SeededRandom(7);
    const many = Int32Array.from({ length: 5000 }, () => random.below(9));
    const fractions = { a: 0.37, b: 0.21, c: 0.3, d: 0.12 };
    const split = stratifiedSplit(many, fractions, 11);
    const sizes = classCounts(many, { all: Int32Array.from(many.keys()) }).all;
    for (const [name, counts] of Object.entries(classCounts(many, split))) {
      counts.forEach((count, c) => expect(Math.abs(count - sizes[c] * fractions[name as keyof typeof fractions])).toBeLessThan(1));
    }
    const all = Object.values(split).flatMap((indices) => Array.from(indices));
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBe(5000);
    for (const indices of Object.values(split)) expect(Array.from(indices)).toEqual(Array.from(indices).sort((x, y) => x - y));
  });

  it('keeps part totals within 1 of exact too, by taking turns on equal remainders', () => {
    // MNIST's class sizes: 1001 / 6 = 166.83 leaves equal remainders in the four 1/6 parts of every
    // class; ties to the part named first would give targetIn 1669 of an exact 1666.67.
    const mnistLike = interleavedLabels([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    const sizes = Object.values(membershipSplit(mnistLike, 0)).map((indices) => indices.length);
    expect(sizes).toEqual([1667, 1667, 1667, 1666, 3333]);
  });

  it('covers every sample exactly once when the fractions sum to 1', () => {
    const split = membershipSplit(labels, 5);
    const all = Object.values(split).flatMap((indices) => Array.from(indices));
    expect(all.sort((a, b) => a - b)).toEqual(Array.from(labels.keys()));
  });

  it('is the same split for the same seed and a different one for another seed', () => {
    const many = interleavedLabels([300, 200, 100]);
    expect(trainValTest(many, 42)).toEqual(trainValTest(many, 42n));
    expect(trainValTest(many, 42).test).not.toEqual(trainValTest(many, 43).test);
    // Pinned (and checked against a Python re-implementation of the generator and the cutting),
    // so any change that would give other machines or versions another split shows up here.
    expect(Array.from(trainValTest(labels, 2024).val)).toEqual([7, 15]);
    expect(Array.from(trainValTest(labels, 2024).test)).toEqual([1, 11]);
  });

  it('takes int64 labels and any integer class values', () => {
    const split = trainValTest(BigInt64Array.from(labels, (l) => BigInt(l * 10 - 5)), 1);
    expect(split).toEqual(trainValTest(labels, 1));
  });

  it('refuses fractions outside [0, 1] or summing past 1, and non-integer labels', () => {
    expect(() => stratifiedSplit(labels, { a: 0.6, b: 0.5 }, 1)).toThrow('fractions must sum to at most 1, got 1.1 (a 0.6, b 0.5)');
    expect(() => stratifiedSplit(labels, { a: -0.1 }, 1)).toThrow("fraction 'a' must be in [0, 1], got -0.1");
    expect(() => trainValTest(labels, 1, { val: 0.2 })).toThrow(RangeError);
    expect(() => stratifiedSplit([0, 1.5], { a: 1 }, 1)).toThrow('labels must be integers, got 1.5 at index 1');
  });

  it('defaults the membership split to SeqMIA’s 1000/1000/1000/1000/2000 of 6000 per class', () => {
    const cifarLike = interleavedLabels(Array(10).fill(6000));
    const split = membershipSplit(cifarLike, 0);
    expect(Object.fromEntries(Object.entries(split).map(([k, v]) => [k, v.length]))).toEqual({
      targetIn: 10000,
      targetOut: 10000,
      shadowIn: 10000,
      shadowOut: 10000,
      distillation: 20000,
    });
    expect(MEMBERSHIP_SPLIT.distillation).toBeCloseTo(1 / 3);
  });
});

function tinyDataset(): Dataset {
  const n = 10;
  return {
    x: Float32Array.from({ length: n * 4 }, (_, i) => i / 4),
    shape: [n, 1, 2, 2],
    y: interleavedLabels([5, 5]),
    classes: 2,
    classNames: ['a', 'b'],
    source: 'test',
  };
}

describe('subset and writeSplit', () => {
  it('subset gathers rows and labels in index order', () => {
    const part = subset(tinyDataset(), [3, 0]);
    expect(part.shape).toEqual([2, 1, 2, 2]);
    expect(Array.from(part.x)).toEqual([3, 3.25, 3.5, 3.75, 0, 0.25, 0.5, 0.75]);
    expect(Array.from(part.y)).toEqual([1, 0]);
    expect(part.source).toBe('test, 2 selected samples');
    expect(() => subset(tinyDataset(), [10])).toThrow("index 10 (at 0) is outside the dataset's 10 samples");
  });

  it('writes <dir>/<name>.npz with x, y and index, leaving no temporary files', async () => {
    const dir = join(tempDir(), 'split');
    const dataset = tinyDataset();
    const split = trainValTest(dataset.y, 9, { train: 0.6, val: 0.2, test: 0.2 });
    const paths = await writeSplit(dir, dataset, split);
    expect(readdirSync(dir).sort()).toEqual(['test.npz', 'train.npz', 'val.npz']);
    for (const [name, indices] of Object.entries(split)) {
      expect(paths).toContain(join(dir, `${name}.npz`));
      const { x, y, index } = await readNpz(join(dir, `${name}.npz`));
      const expected = subset(dataset, indices);
      expect(x).toEqual({ dtype: 'float32', shape: expected.shape, data: expected.x });
      expect(y).toEqual({ dtype: 'int32', shape: [indices.length], data: expected.y });
      expect(index.data).toEqual(indices);
    }
  });

  it('refuses part names that are not plain file names', async () => {
    await expect(writeSplit(tempDir(), tinyDataset(), { '../up': new Int32Array([0]) })).rejects.toThrow("part name '../up' is not usable as a file name");
  });
});
