// NumPy's .npy format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
// A magic string, a version, a little-endian header length, a Python dict literal header padded
// with spaces to a multiple of 64 bytes, then the array's bytes in C order.
import { DataError } from './errors.js';
import { concatBytes, readWhole, writeAtomic } from './io.js';
import { parsePyLiteral, PyLiteralError, type PyValue } from './pyliteral.js';

export type Dtype = 'float32' | 'float64' | 'uint8' | 'int32' | 'int64' | 'bool';
export type NdData = Float32Array | Float64Array | Uint8Array | Int32Array | BigInt64Array;

/** A C-order array. `bool` data is a Uint8Array of 0s and 1s; `int64` data is a BigInt64Array. */
export interface NdArray {
  dtype: Dtype;
  shape: number[];
  data: NdData;
}

interface DtypeInfo {
  /** The descr without its byte-order character, e.g. 'f4'. */
  code: string;
  size: number;
  /** The typed array's Symbol.toStringTag; compared instead of instanceof, which fails across realms. */
  tag: string;
  view(buffer: ArrayBuffer): NdData;
}

const DTYPES: Record<Dtype, DtypeInfo> = {
  float32: { code: 'f4', size: 4, tag: 'Float32Array', view: (b) => new Float32Array(b) },
  float64: { code: 'f8', size: 8, tag: 'Float64Array', view: (b) => new Float64Array(b) },
  uint8: { code: 'u1', size: 1, tag: 'Uint8Array', view: (b) => new Uint8Array(b) },
  int32: { code: 'i4', size: 4, tag: 'Int32Array', view: (b) => new Int32Array(b) },
  int64: { code: 'i8', size: 8, tag: 'BigInt64Array', view: (b) => new BigInt64Array(b) },
  bool: { code: 'b1', size: 1, tag: 'Uint8Array', view: (b) => new Uint8Array(b) },
};
const SUPPORTED = 'float32 <f4, float64 <f8, uint8 |u1, int32 <i4, int64 <i8, bool |b1';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const ALIGN = 64;
/** NumPy leaves room after the header for the first axis to grow to this many digits. */
const GROWTH_AXIS_MAX_DIGITS = 21;
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const RESAVE = 're-save the array with np.save';

/** What a .npy header says about the array, and where its data lies. */
export interface NpyHeader {
  dtype: Dtype;
  shape: number[];
  /** The data is big-endian on a little-endian host (or the reverse) and needs its bytes swapped. */
  swap: boolean;
  /** The offset of the first data byte. */
  dataStart: number;
  /** prod(shape) times the item size. */
  dataBytes: number;
}

/**
 * The offset of a .npy file's first data byte, from its first 12 bytes (`prefix`; fewer when the
 * file is shorter). Checks the magic string, version and preamble; `size` is the file's length.
 */
export function npyDataStart(prefix: Uint8Array, size: number, file?: string): number {
  if (size === 0) throw new DataError(file, `file is empty (0 bytes); ${RESAVE}`);
  const magicLength = Math.min(size, MAGIC.length);
  if (!MAGIC.slice(0, magicLength).every((b, i) => prefix[i] === b)) {
    const zip = prefix[0] === 0x50 && prefix[1] === 0x4b;
    throw new DataError(file, zip ? 'file is a zip archive (.npz), not a .npy file; read it with readNpz' : `not a .npy file (it does not start with the \\x93NUMPY magic string); ${RESAVE}`);
  }
  const major = prefix[6];
  const lengthBytes = major === 1 ? 2 : 4;
  if (size < 8 + lengthBytes) {
    throw new DataError(file, `file is truncated: ${size} bytes, fewer than the ${8 + lengthBytes} of a .npy preamble; ${RESAVE}`);
  }
  const minor = prefix[7];
  if ((major !== 1 && major !== 2 && major !== 3) || minor !== 0) {
    throw new DataError(file, `.npy format version ${major}.${minor} is not supported (1.0, 2.0 and 3.0 are); ${RESAVE}`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength);
  const headerLength = lengthBytes === 2 ? view.getUint16(8, true) : view.getUint32(8, true);
  const dataStart = 8 + lengthBytes + headerLength;
  if (dataStart > size) {
    throw new DataError(file, `file is truncated: its header needs ${dataStart} bytes but the file has ${size}; ${RESAVE}`);
  }
  return dataStart;
}

/** The header of a .npy file whose first bytes, through at least the end of the header, are `bytes`. */
export function parseNpyHeader(bytes: Uint8Array, file?: string): NpyHeader {
  const dataStart = npyDataStart(bytes, bytes.length, file);
  const major = bytes[6];
  const headerBytes = bytes.subarray(major === 1 ? 10 : 12, dataStart);
  const header = major === 3 ? decodeUtf8(headerBytes, file) : Buffer.from(headerBytes).toString('latin1');
  const { dtype, swap, shape } = readHeader(header, major < 3, file);
  const dataBytes = shape.reduce((a, b) => a * b, 1) * DTYPES[dtype].size;
  return { dtype, shape, swap, dataStart, dataBytes };
}

/** The size in bytes of one element of `dtype`. */
export function itemSize(dtype: Dtype): number {
  return DTYPES[dtype].size;
}

/** `buffer` (a whole number of elements of `dtype`, in the file's byte order) as a typed array in
 * the host's byte order; swaps the bytes in place when `swap` is set. */
export function npyView(buffer: ArrayBuffer, dtype: Dtype, swap: boolean): NdData {
  const info = DTYPES[dtype];
  if (swap) swapBytes(new Uint8Array(buffer), info.size);
  return info.view(buffer);
}

/** Parses a .npy file's bytes. `file` names it in error messages. The data is copied into a
 * fresh (hence aligned) buffer in the host's byte order. */
export function parseNpy(bytes: Uint8Array, file?: string): NdArray {
  const { dtype, swap, shape, dataStart, dataBytes: expected } = parseNpyHeader(bytes, file);
  const actual = bytes.length - dataStart;
  if (expected !== actual) {
    const problem = expected > actual ? 'file is truncated' : 'file has bytes after the array data';
    throw new DataError(file, `${problem}: shape ${shapeRepr(shape)} of ${dtype} needs ${expected} data bytes but the file has ${actual}; ${RESAVE}`);
  }
  // A fresh buffer: the file's bytes may sit at an offset no typed array can start at.
  const copy = new Uint8Array(expected);
  copy.set(bytes.subarray(dataStart, dataStart + expected));
  return { dtype, shape, data: npyView(copy.buffer, dtype, swap) };
}

function decodeUtf8(bytes: Uint8Array, file: string | undefined): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(file, `format 3.0 header is not valid UTF-8; ${RESAVE}`);
  }
}

function readHeader(header: string, python2: boolean, file: string | undefined): { dtype: Dtype; swap: boolean; shape: number[] } {
  const bad = (why: string): never => {
    const shown = header.trimEnd();
    throw new DataError(file, `bad .npy header (${why}): ${JSON.stringify(shown.length > 120 ? `${shown.slice(0, 120)}...` : shown)}; ${RESAVE}`);
  };
  let dict: PyValue;
  try {
    dict = parsePyLiteral(header, python2);
  } catch (error) {
    if (error instanceof PyLiteralError) return bad(error.message);
    throw error;
  }
  if (dict.type !== 'dict') return bad('it is not a dict');
  const keys = [...dict.entries.keys()].sort();
  if (keys.join() !== 'descr,fortran_order,shape') return bad(`its keys are ${keys.map((k) => `'${k}'`).join(', ') || 'none'}, not 'descr', 'fortran_order', 'shape'`);
  const descr = dict.entries.get('descr')!;
  const order = dict.entries.get('fortran_order')!;
  const shapeValue = dict.entries.get('shape')!;

  if (shapeValue.type !== 'tuple') return bad('shape is not a tuple');
  const shape = shapeValue.items.map((item) => {
    if (item.type !== 'int' || item.value < 0n || item.value > BigInt(Number.MAX_SAFE_INTEGER)) return bad('shape holds something other than a non-negative integer');
    return Number(item.value);
  });
  if (order.type !== 'bool') return bad('fortran_order is not True or False');

  if (descr.type === 'list') {
    throw new DataError(file, `array has a structured dtype, which is not supported (${SUPPORTED} are); save each field as its own array`);
  }
  if (descr.type !== 'str') return bad('descr is not a string');
  if (/^[|<>=]O\d*$/.test(descr.value)) {
    throw new DataError(file, `array holds Python objects (dtype ${descr.value}), which cannot be read without pickle; save a numeric array`);
  }
  const match = /^([|<>=])([a-zA-Z])(\d+)$/.exec(descr.value);
  const dtype = (Object.keys(DTYPES) as Dtype[]).find((d) => match && DTYPES[d].code === match[2] + match[3]);
  const byteOrder = match?.[1];
  if (!dtype || (DTYPES[dtype].size > 1 && byteOrder !== '<' && byteOrder !== '>')) {
    throw new DataError(file, `dtype '${descr.value}' is not supported (${SUPPORTED} are); convert it first, e.g. np.save(path, a.astype(np.float32))`);
  }
  if (order.value) {
    throw new DataError(file, 'array is in Fortran order; save it with np.ascontiguousarray(a) so it is in C order');
  }
  const swap = DTYPES[dtype].size > 1 && (byteOrder === '>') === LITTLE_ENDIAN_HOST;
  return { dtype, swap, shape };
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let at = 0; at < bytes.length; at += size) {
    for (let i = at, j = at + size - 1; i < j; i++, j--) {
      const t = bytes[i];
      bytes[i] = bytes[j];
      bytes[j] = t;
    }
  }
}

export function shapeRepr(shape: number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * The .npy file as a header and the data's bytes (a view of `array.data` where no conversion is
 * needed, so large arrays are not copied on their way to disk). The header is the one np.save
 * writes, so the output matches NumPy's byte for byte.
 */
export function npyParts(array: NdArray, file?: string): [Uint8Array, Uint8Array] {
  const info = checkArray(array, file);
  const littleEndian = info.size > 1 ? '<' : '|';
  let header = `{'descr': '${littleEndian}${info.code}', 'fortran_order': False, 'shape': ${shapeRepr(array.shape)}, }`;
  if (array.shape.length > 0) header += ' '.repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(array.shape[0]).length));

  // Version 1.0 unless the header does not fit its 16-bit length, as NumPy decides.
  let preamble = 10;
  let padded = header.length + 1 + ALIGN - ((preamble + header.length + 1) % ALIGN);
  if (padded > 0xffff) {
    preamble = 12;
    padded = header.length + 1 + ALIGN - ((preamble + header.length + 1) % ALIGN);
  }
  const head = Buffer.alloc(preamble + padded, 0x20);
  head.set(MAGIC);
  head[6] = preamble === 10 ? 1 : 2;
  head[7] = 0;
  if (preamble === 10) head.writeUInt16LE(padded, 8);
  else head.writeUInt32LE(padded, 8);
  head.write(header, preamble, 'latin1');
  head[head.length - 1] = 0x0a;

  const { data } = array;
  let body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (array.dtype === 'bool' && body.some((b) => b > 1)) body = body.map((b) => (b ? 1 : 0));
  else if (info.size > 1 && !LITTLE_ENDIAN_HOST) {
    body = body.slice();
    swapBytes(body, info.size);
  }
  return [head, body];
}

function checkArray(array: NdArray, file: string | undefined): DtypeInfo {
  const info = Object.hasOwn(DTYPES, array.dtype) ? DTYPES[array.dtype] : undefined;
  if (!info) throw new DataError(file, `dtype '${String(array.dtype)}' is not supported (${SUPPORTED} are); convert the data to one of them`);
  const tag = Object.prototype.toString.call(array.data).slice(8, -1);
  if (tag !== info.tag) {
    throw new DataError(file, `dtype ${array.dtype} needs its data in a ${info.tag}, not a ${tag}; convert it, e.g. ${info.tag}.from(data)`);
  }
  const { shape } = array;
  if (!Array.isArray(shape) || !shape.every((n) => Number.isSafeInteger(n) && n >= 0)) {
    throw new DataError(file, `shape ${JSON.stringify(shape)} is not a list of non-negative integers; fix the shape`);
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) {
    throw new DataError(file, `shape ${shapeRepr(shape)} holds ${count} elements but the data has ${array.data.length}; make the shape match the data`);
  }
  return info;
}

/** The bytes of a .npy file holding `array`, identical to what np.save writes for it. */
export function serializeNpy(array: NdArray, file?: string): Uint8Array {
  return concatBytes(npyParts(array, file));
}

export async function readNpy(path: string): Promise<NdArray> {
  return parseNpy(await readWhole(path), path);
}

/** Writes `array` to `path` atomically (through a temporary file renamed into place). */
export async function writeNpy(path: string, array: NdArray): Promise<void> {
  await writeAtomic(path, npyParts(array, path));
}
