// Labelled images laid out as root/<class>/<image>.png|jpg, as torchvision's ImageFolder reads
// them: one folder per class, classes numbered in sorted order.
import { availableParallelism } from 'node:os';
import { readdir, stat } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import type { Dirent } from 'node:fs';

import type { Dataset } from './dataset.js';
import { DataError } from './errors.js';
import { decodeImage, loadSharp, readHeader, type ImageHeader, type PixelLayout } from './image-decode.js';

export interface ImageFolderOptions {
  /** [height, width] to resize every image to (the CLI's `--resize HxW`). Default: none, and all images must share one size. */
  size?: [number, number];
  /** 1 (grey) or 3 (RGB). Default: 1 when every image is stored greyscale, else 3. */
  channels?: 1 | 3;
}

/** Compared lower-cased; files with any other extension are skipped. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

interface ImageFile {
  path: string;
  label: number;
}

/**
 * Every image under `root`, as `x` of shape [n, channels, height, width] (NCHW, channels in RGB
 * order) holding k/255 for the 8-bit value k. Samples are ordered by class, then by file name.
 */
export async function readImageFolder(root: string, options: ImageFolderOptions = {}): Promise<Dataset> {
  checkOptions(options);
  const sharp = await loadSharp();
  const { classNames, files } = await listImages(root);
  const headers = await mapConcurrently(files, (file) => readHeader(sharp, file.path));
  const [height, width] = options.size ?? commonSize(root, files, headers);
  const channels = options.channels ?? (headers.every((header) => header.greyscale) ? 1 : 3);
  const layout: PixelLayout = { height, width, channels };
  const sampleSize = channels * height * width;
  const x = allocate(root, files.length, layout);
  await mapConcurrently(files, async (file, n) => {
    toPlanarScaled(await decodeImage(sharp, file.path, headers[n], layout), x.subarray(n * sampleSize, (n + 1) * sampleSize), channels);
  });
  const resized = options.size === undefined ? '' : `, resized to ${height}x${width}`;
  return {
    x,
    shape: [files.length, channels, height, width],
    y: Int32Array.from(files, (file) => file.label),
    classes: classNames.length,
    classNames,
    source: `images:${root} (sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}${resized})`,
  };
}

function checkOptions({ size, channels }: ImageFolderOptions): void {
  if (size !== undefined && (size.length !== 2 || !size.every((side) => Number.isInteger(side) && side >= 1))) {
    throw new RangeError(`size must be [height, width], two positive integers, got ${JSON.stringify(size)}`);
  }
  if (channels !== undefined && channels !== 1 && channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${channels}`);
}

/** Class folders and their images, both in sorted (UTF-16 code unit) order. Names starting with '.' are skipped. */
async function listImages(root: string): Promise<{ classNames: string[]; files: ImageFile[] }> {
  const classNames: string[] = [];
  for (const entry of await visibleEntries(root)) if (await isKind(root, entry, 'directory')) classNames.push(entry.name);
  if (classNames.length === 0) throw new DataError(root, 'has no class folders; expected root/<class>/<image>.png or .jpg, one folder per class');
  const files: ImageFile[] = [];
  for (const [label, name] of classNames.entries()) {
    const folder = join(root, name);
    let found = 0;
    for (const entry of await visibleEntries(folder)) {
      if (!(IMAGE_EXTENSIONS as readonly string[]).includes(extname(entry.name).toLowerCase())) continue;
      if (!(await isKind(folder, entry, 'file'))) continue;
      files.push({ path: join(folder, entry.name), label });
      found++;
    }
    if (found === 0) throw new DataError(folder, `has no .png or .jpg images, so class '${name}' would have no samples; add images or remove the folder`);
  }
  return { classNames, files };
}

async function visibleEntries(folder: string): Promise<Dirent[]> {
  const entries = await readdir(folder, { withFileTypes: true });
  return entries.filter((entry) => !entry.name.startsWith('.')).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Follows symbolic links; a broken one is neither. */
async function isKind(folder: string, entry: Dirent, kind: 'file' | 'directory'): Promise<boolean> {
  const stats = entry.isSymbolicLink() ? await stat(join(folder, entry.name)).catch(() => undefined) : entry;
  return kind === 'file' ? stats?.isFile() === true : stats?.isDirectory() === true;
}

function commonSize(root: string, files: ImageFile[], headers: ImageHeader[]): [number, number] {
  const [first] = headers;
  const other = headers.findIndex((header) => header.height !== first.height || header.width !== first.width);
  if (other >= 0) {
    const name = (n: number): string => relative(root, files[n].path);
    throw new DataError(
      root,
      `${name(0)} is ${first.height}x${first.width} but ${name(other)} is ${headers[other].height}x${headers[other].width} (height x width); pass size: [height, width] (--resize HxW) to resize every image to one size`,
    );
  }
  return [first.height, first.width];
}

function allocate(root: string, count: number, { height, width, channels }: PixelLayout): Float32Array {
  try {
    return new Float32Array(count * channels * height * width);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    const gib = ((count * channels * height * width * 4) / 2 ** 30).toFixed(1);
    throw new DataError(root, `${count} images of ${channels}x${height}x${width} need ${gib} GiB as float32, more than can be allocated; pass a smaller size or split the folder`);
  }
}

/** HWC bytes k into CHW floats k/255. */
function toPlanarScaled(hwc: Uint8Array, chw: Float32Array, channels: number): void {
  const plane = hwc.length / channels;
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) chw[c * plane + i] = hwc[i * channels + c] / 255;
  }
}

/**
 * `work` on every item, a few at a time (sharp decodes on libuv's thread pool), results in order.
 * After a failure no new item starts, and the failure of the earliest item is thrown, so a folder
 * with several bad files always names the same one.
 */
async function mapConcurrently<T, R>(items: T[], work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  const failures = new Map<number, unknown>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && failures.size === 0) {
      const index = next++;
      try {
        results[index] = await work(items[index], index);
      } catch (error) {
        failures.set(index, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(items.length, availableParallelism() * 2) }, worker));
  if (failures.size > 0) throw failures.get(Math.min(...failures.keys()));
  return results;
}
