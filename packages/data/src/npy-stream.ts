// Arrays larger than memory, read in batches of rows (along the first axis): a .npy through a file
// handle at offsets, a .npz member through the offset in its zip local header (inflated as it is
// read when deflated). At most one batch, plus 64 KiB of read-ahead when inflating, is held at once.
import { stat } from 'node:fs/promises';

import { fileRange, memberSource, readRange, type ByteSource } from './byte-source.js';
import { DataError } from './errors.js';
import { concatBytes } from './io.js';
import { itemSize, npyDataStart, npyView, parseNpyHeader, shapeRepr, type Dtype, type NdArray, type NpyHeader } from './npy.js';
import { listZip, memberDataStart, readZipEnd } from './zip.js';

/** The batches of one array: iterate with `for await`; each pass reads the file again. */
export interface NpyBatches extends AsyncIterable<NdArray> {
  /** The file (and member), as error messages name it. */
  readonly file: string;
  readonly dtype: Dtype;
  /** The whole array's shape; a batch has `batchSize` rows of it, the last one the rest. */
  readonly shape: number[];
  readonly batchSize: number;
}

const RESAVE = 're-save the array with np.save';
const RECREATE = 're-create the file with np.savez';
/** An end record with the longest comment, a ZIP64 locator and a ZIP64 end record. */
const ZIP_TAIL = 22 + 0xffff + 20 + 56;

/** Batches of `batchSize` rows of the array in the .npy file at `path`. */
export async function openNpyBatches(path: string, batchSize: number): Promise<NpyBatches> {
  const { size } = await stat(path);
  return openBatches(path, size, batchSize, 'file', () => fileRange(path, 0, size, RESAVE));
}

/** Batches of `batchSize` rows of array `name` (member `<name>.npy`) of the .npz file at `path`. */
export async function openNpzBatches(path: string, name: string, batchSize: number): Promise<NpyBatches> {
  const { size } = await stat(path);
  if (size === 0) throw new DataError(path, `file is empty (0 bytes); ${RECREATE}`);
  const tailStart = Math.max(0, size - ZIP_TAIL);
  const directory = readZipEnd(await readRange(path, tailStart, size - tailStart, RECREATE), tailStart, path);
  const entries = listZip(await readRange(path, directory.offset, size - directory.offset, RECREATE), path, directory.offset);
  const entry = entries.find((e) => e.name === `${name}.npy`);
  if (!entry) {
    const names = entries.filter((e) => e.name.endsWith('.npy')).map((e) => `'${e.name.slice(0, -4)}'`);
    throw new DataError(path, `has no array '${name}' (it holds ${names.join(', ') || 'none'}); pass one of those names`);
  }
  const local = await readRange(path, entry.localOffset, Math.max(0, Math.min(30 + entry.rawName.length, size - entry.localOffset)), RECREATE);
  const dataStart = memberDataStart(local, entry, size, path);
  if (entry.method === 0 && entry.compressedSize !== entry.size) {
    throw new DataError(path, `member '${entry.name}' is corrupt: it is stored, yet the zip directory gives it ${entry.compressedSize} stored and ${entry.size} uncompressed bytes; ${RECREATE}`);
  }
  const label = `${path}: member '${entry.name}'`;
  return openBatches(label, entry.size, batchSize, 'member', () => memberSource(path, entry, dataStart, RECREATE));
}

async function openBatches(label: string, size: number, batchSize: number, noun: string, open: () => Promise<ByteSource>): Promise<NpyBatches> {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  const source = await open();
  const header = await readHeader(source, size, label, noun).finally(() => source.close());
  if (header.shape.length === 0) throw new DataError(label, 'array is 0-dimensional, so it has no rows to read in batches; read it with readNpy or readNpz');
  return {
    file: label,
    dtype: header.dtype,
    shape: header.shape,
    batchSize,
    [Symbol.asyncIterator]: () => readBatches(label, header, size, batchSize, noun, open),
  };
}

async function* readBatches(label: string, header: NpyHeader, size: number, batchSize: number, noun: string, open: () => Promise<ByteSource>): AsyncGenerator<NdArray> {
  const source = await open();
  try {
    const again = await readHeader(source, size, label, noun);
    if (again.dataStart !== header.dataStart || again.dtype !== header.dtype || shapeRepr(again.shape) !== shapeRepr(header.shape)) {
      throw new DataError(label, `${noun} changed since it was opened (its header now says shape ${shapeRepr(again.shape)} of ${again.dtype}); open it again`);
    }
    const [rows, ...rest] = header.shape;
    const rowBytes = rest.reduce((a, b) => a * b, 1) * itemSize(header.dtype);
    for (let start = 0; start < rows; start += batchSize) {
      const count = Math.min(batchSize, rows - start);
      const bytes = await source.read(count * rowBytes);
      yield { dtype: header.dtype, shape: [count, ...rest], data: npyView(bytes.buffer as ArrayBuffer, header.dtype, header.swap) };
    }
    await source.finish();
  } finally {
    await source.close();
  }
}

/** The .npy header at the start of `source`, whose whole length is `size`; checks the data fits it exactly. */
async function readHeader(source: ByteSource, size: number, label: string, noun: string): Promise<NpyHeader> {
  const prefix = await source.read(Math.min(12, size));
  const dataStart = npyDataStart(prefix, size, label);
  // A header ending before byte 12 cannot hold its three keys, so parsing refuses it before the
  // data bytes read with the prefix would matter.
  const header = parseNpyHeader(dataStart <= prefix.length ? prefix.subarray(0, dataStart) : concatBytes([prefix, await source.read(dataStart - prefix.length)]), label);
  const end = header.dataStart + header.dataBytes;
  if (end !== size) {
    const array = `shape ${shapeRepr(header.shape)} of ${header.dtype}`;
    const remedy = noun === 'file' ? RESAVE : RECREATE;
    throw new DataError(
      label,
      end > size ? `${noun} is truncated: it ends at byte offset ${size}, but ${array} needs data up to offset ${end}; ${remedy}` : `${noun} has ${size - end} bytes after the array data, which ends at offset ${end}; ${remedy}`,
    );
  }
  return header;
}
