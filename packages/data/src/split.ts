// Seeded, stratified splits of a labelled dataset, and writing the parts as .npz files.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import type { Dataset } from './dataset.js';
import { writeNpz } from './npz.js';
import { SeededRandom } from './random.js';

/** Sample indices (into the labels) of each named part, in ascending order. */
export type Split<Name extends string = string> = Record<Name, Int32Array>;

/** Fractions summing to within this of 1 (0.7 + 0.2 + 0.1 is 0.9999999999999999) count as 1. */
const SUM_TOLERANCE = 1e-9;

export const TRAIN_VAL_TEST = { train: 0.8, val: 0.1, test: 0.1 } as const;

/**
 * SeqMIA's split (shared/specs/seqmia.md §2.1): each class is cut into target members, target
 * non-members, shadow members and shadow non-members of one block each, and a distillation set of
 * the remaining two blocks (CIFAR-10: 1000 + 1000 + 1000 + 1000 + 2000 of 6000 per class).
 */
export const MEMBERSHIP_SPLIT = { targetIn: 1 / 6, targetOut: 1 / 6, shadowIn: 1 / 6, shadowOut: 1 / 6, distillation: 1 / 3 } as const;

/**
 * Splits sample indices into parts holding the given fraction of every class. Each class's
 * indices are shuffled with `seed` (classes in ascending label order, one generator throughout)
 * and cut into consecutive blocks, in the order the parts are named. Block sizes are the exact
 * quotas `count * fraction` rounded by largest remainder, so every part's count of every class is
 * the quota rounded down or up. Fractions summing to less than 1 leave the rest of each class out.
 */
export function stratifiedSplit<Name extends string>(labels: ArrayLike<number> | BigInt64Array, fractions: Record<Name, number>, seed: number | bigint): Split<Name> {
  const names = Object.keys(fractions) as Name[];
  const shares = names.map((name) => fractions[name]);
  names.forEach((name, k) => {
    if (!(shares[k] >= 0 && shares[k] <= 1)) throw new RangeError(`fraction '${name}' must be in [0, 1], got ${shares[k]}`);
  });
  const total = shares.reduce((a, b) => a + b, 0);
  if (total > 1 + SUM_TOLERANCE) throw new RangeError(`fractions must sum to at most 1, got ${total} (${names.map((n, k) => `${n} ${shares[k]}`).join(', ')})`);
  // The left-out rest takes part in the rounding, so the blocks never overrun a class.
  shares.push(total >= 1 - SUM_TOLERANCE ? 0 : 1 - total);

  const random = new SeededRandom(seed);
  const parts: number[][] = names.map(() => []);
  const shortfall = shares.map(() => 0);
  for (const members of indicesByClass(labels)) {
    random.shuffle(members);
    let at = 0;
    largestRemainder(members.length, shares, shortfall).forEach((count, k) => {
      const block = members.subarray(at, (at += count));
      if (k < names.length) for (const index of block) parts[k].push(index);
    });
  }
  const split = {} as Split<Name>;
  names.forEach((name, k) => {
    split[name] = Int32Array.from(parts[k]).sort();
  });
  return split;
}

/** The indices of each class, classes in ascending label order, indices ascending. */
function indicesByClass(labels: ArrayLike<number> | BigInt64Array): Int32Array[] {
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const label = Number(labels[i]);
    if (!Number.isInteger(label)) throw new RangeError(`labels must be integers, got ${String(labels[i])} at index ${i}`);
    const members = byClass.get(label);
    if (members) members.push(i);
    else byClass.set(label, [i]);
  }
  return [...byClass.keys()].sort((a, b) => a - b).map((label) => Int32Array.from(byClass.get(label)!));
}

/**
 * `count * share` for each share, rounded down and then up by largest remainder to sum to
 * `count`. Equal remainders go first to the part furthest below its exact total over the classes
 * so far (`shortfall`, updated here), then to the part named first, so that with classes of equal
 * remainders the extra samples take turns instead of all going to one part.
 */
function largestRemainder(count: number, shares: number[], shortfall: number[]): number[] {
  const quotas = shares.map((share) => {
    const quota = count * share;
    // 0.29 * 100 is 28.999999999999996: an integer quota must not lose a sample to rounding.
    return Math.abs(quota - Math.round(quota)) < 1e-9 * Math.max(1, count) ? Math.round(quota) : quota;
  });
  const counts = quotas.map(Math.floor);
  const remainder = quotas.map((q, k) => q - counts[k]);
  const order = quotas.map((_, k) => k).sort((a, b) => remainder[b] - remainder[a] || shortfall[b] - shortfall[a] || a - b);
  for (let left = count - counts.reduce((a, b) => a + b, 0), i = 0; left > 0; left--, i++) counts[order[i]]++;
  counts.forEach((n, k) => (shortfall[k] += quotas[k] - n));
  return counts;
}

/** Train, validation and test parts; default fractions 0.8, 0.1, 0.1, each overridable. */
export function trainValTest(labels: ArrayLike<number> | BigInt64Array, seed: number | bigint, fractions: Partial<Record<'train' | 'val' | 'test', number>> = {}): Split<'train' | 'val' | 'test'> {
  return stratifiedSplit(labels, { ...TRAIN_VAL_TEST, ...fractions }, seed);
}

/**
 * The five disjoint parts membership inference (SeqMIA, TrajectoryMIA) needs: `targetIn` trains
 * the target model, `shadowIn` the shadow model, `targetOut` and `shadowOut` are their
 * non-members, `distillation` is shared by the distillations of both. Defaults are
 * MEMBERSHIP_SPLIT (1/6 each, distillation 1/3), each overridable.
 */
export function membershipSplit(
  labels: ArrayLike<number> | BigInt64Array,
  seed: number | bigint,
  fractions: Partial<Record<keyof typeof MEMBERSHIP_SPLIT, number>> = {},
): Split<keyof typeof MEMBERSHIP_SPLIT> {
  return stratifiedSplit(labels, { ...MEMBERSHIP_SPLIT, ...fractions }, seed);
}

/** The samples at `indices`, in that order. */
export function subset(dataset: Dataset, indices: ArrayLike<number>): Dataset {
  const n = dataset.y.length;
  const rowSize = n === 0 ? 0 : dataset.x.length / n;
  const x = new Float32Array(indices.length * rowSize);
  const y = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (!Number.isInteger(index) || index < 0 || index >= n) throw new RangeError(`index ${index} (at ${i}) is outside the dataset's ${n} samples`);
    x.set(dataset.x.subarray(index * rowSize, (index + 1) * rowSize), i * rowSize);
    y[i] = dataset.y[index];
  }
  return { ...dataset, x, y, shape: [indices.length, ...dataset.shape.slice(1)], classNames: [...dataset.classNames], source: `${dataset.source}, ${indices.length} selected samples` };
}

const PART_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Writes each part as `<dir>/<name>.npz` holding `x` (float32, the dataset's shape), `y` (int32
 * labels) and `index` (int32, the samples' indices in `dataset`, so the split can be traced back).
 * Each file is written to a temporary file and renamed into place; `dir` is created if missing.
 */
export async function writeSplit(dir: string, dataset: Dataset, parts: Split): Promise<string[]> {
  const names = Object.keys(parts);
  const bad = names.find((name) => !PART_NAME.test(name));
  if (bad !== undefined) throw new RangeError(`part name '${bad}' is not usable as a file name; use letters, digits, '_', '-' and '.'`);
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const name of names) {
    const part = subset(dataset, parts[name]);
    const path = join(dir, `${name}.npz`);
    await writeNpz(path, {
      x: { dtype: 'float32', shape: part.shape, data: part.x },
      y: { dtype: 'int32', shape: [part.y.length], data: part.y },
      index: { dtype: 'int32', shape: [parts[name].length], data: parts[name] },
    });
    paths.push(path);
  }
  return paths;
}
