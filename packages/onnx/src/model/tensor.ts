// TensorProto ↔ typed arrays. Exporters store values either in raw_data (little-endian bytes,
// usually at an unaligned offset inside the file buffer) or in the typed repeated fields, and
// small-integer and FLOAT16 types share int32_data; readers must accept every form.
import { create } from '@bufbuild/protobuf';
import { TensorProto_DataLocation, TensorProto_DataType as DT, type TensorProto, TensorProtoSchema, type ValueInfoProto, ValueInfoProtoSchema } from 'onnx-buf';

import { ModelError } from './errors.js';

export type TensorArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Int8Array | Uint8Array;

// ONNX Runtime's names for element types, so reports read like session metadata.
const TYPE_NAMES: Record<number, string> = {
  [DT.FLOAT]: 'float32', [DT.UINT8]: 'uint8', [DT.INT8]: 'int8', [DT.UINT16]: 'uint16', [DT.INT16]: 'int16',
  [DT.INT32]: 'int32', [DT.INT64]: 'int64', [DT.STRING]: 'string', [DT.BOOL]: 'bool', [DT.FLOAT16]: 'float16',
  [DT.DOUBLE]: 'float64', [DT.UINT32]: 'uint32', [DT.UINT64]: 'uint64', [DT.BFLOAT16]: 'bfloat16',
};

/** The TensorProto data type of an ONNX Runtime type name ('float32' → FLOAT), or undefined. */
export function dataTypeCode(name: string): number | undefined {
  const entry = Object.entries(TYPE_NAMES).find(([, n]) => n === name);
  return entry ? Number(entry[0]) : undefined;
}

export function dataTypeName(dataType: number): string {
  return TYPE_NAMES[dataType] ?? DT[dataType]?.toLowerCase() ?? `onnx-type-${dataType}`;
}

/** Bytes per element for the fixed-width types; undefined for strings and sub-byte types. */
export function elementSize(dataType: number): number | undefined {
  switch (dataType) {
    case DT.BOOL: case DT.UINT8: case DT.INT8: return 1;
    case DT.FLOAT16: case DT.BFLOAT16: case DT.INT16: case DT.UINT16: return 2;
    case DT.FLOAT: case DT.INT32: case DT.UINT32: return 4;
    case DT.DOUBLE: case DT.INT64: case DT.UINT64: case DT.COMPLEX64: return 8;
    case DT.COMPLEX128: return 16;
    default: return undefined;
  }
}

export function tensorDims(tensor: TensorProto): number[] {
  return tensor.dims.map(Number);
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((n, d) => n * d, 1);
}

function fail(tensor: TensorProto, problem: string): never {
  throw new ModelError(`tensor '${tensor.name}' ${problem}`);
}

/**
 * The values of a tensor: FLOAT and FLOAT16 as Float32Array, DOUBLE as Float64Array, INT64 as
 * BigInt64Array, INT32 as Int32Array, INT8 as Int8Array, UINT8 and BOOL as Uint8Array. The array
 * never aliases the proto's buffer.
 */
export function tensorToArray(tensor: TensorProto): TensorArray {
  if (tensor.dataLocation === TensorProto_DataLocation.EXTERNAL) {
    fail(tensor, 'keeps its data in an external file; load the model with readModel() or call resolveExternalData()');
  }
  const count = elementCount(tensorDims(tensor));
  const size = elementSize(tensor.dataType);
  if (size === undefined || !READERS[tensor.dataType]) fail(tensor, `has element type ${dataTypeName(tensor.dataType)}, which cannot be read as a typed array`);
  const read = READERS[tensor.dataType];
  if (tensor.rawData.length > 0 || count === 0) {
    if (tensor.rawData.length !== count * size) {
      fail(tensor, `holds ${tensor.rawData.length} bytes of raw_data but dims [${tensorDims(tensor).join(',')}] of ${dataTypeName(tensor.dataType)} need ${count * size}; the file is truncated or corrupt`);
    }
    // Copy into a fresh, aligned buffer (raw_data may be an unaligned view, or a Node Buffer whose
    // slice() does not copy); every Node platform is little-endian like ONNX.
    const copy = new Uint8Array(tensor.rawData.length);
    copy.set(tensor.rawData);
    return read.raw(copy.buffer);
  }
  const typed = read.typed(tensor);
  if (typed.length !== count) fail(tensor, `holds ${typed.length} values but dims [${tensorDims(tensor).join(',')}] need ${count}`);
  return typed;
}

interface Reader {
  raw(buffer: ArrayBuffer): TensorArray;
  typed(tensor: TensorProto): TensorArray;
}

const READERS: Record<number, Reader> = {
  [DT.FLOAT]: { raw: (b) => new Float32Array(b), typed: (t) => Float32Array.from(t.floatData) },
  [DT.DOUBLE]: { raw: (b) => new Float64Array(b), typed: (t) => Float64Array.from(t.doubleData) },
  [DT.INT64]: { raw: (b) => new BigInt64Array(b), typed: (t) => BigInt64Array.from(t.int64Data) },
  [DT.INT32]: { raw: (b) => new Int32Array(b), typed: (t) => Int32Array.from(t.int32Data) },
  [DT.INT8]: { raw: (b) => new Int8Array(b), typed: (t) => Int8Array.from(t.int32Data) },
  [DT.UINT8]: { raw: (b) => new Uint8Array(b), typed: (t) => Uint8Array.from(t.int32Data) },
  [DT.BOOL]: { raw: (b) => new Uint8Array(b), typed: (t) => Uint8Array.from(t.int32Data, (v) => (v ? 1 : 0)) },
  // FLOAT16 in int32_data holds the 16 bit patterns, one per int32.
  [DT.FLOAT16]: { raw: (b) => float16ToFloat32(new Uint16Array(b)), typed: (t) => float16ToFloat32(Uint16Array.from(t.int32Data)) },
};

export function float16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24; // zero and subnormals
    else if (exp === 31) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1024 + frac) * 2 ** (exp - 25);
  }
  return out;
}

/** Rounds to nearest, ties to even, as numpy's astype(float16) does. */
export function float32ToFloat16(values: Float32Array): Uint16Array {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i];
    const x = u[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 : 0);
      continue;
    }
    let e = exp - 127 + 15;
    if (e >= 31) {
      out[i] = sign | 0x7c00;
      continue;
    }
    let shift = 13;
    if (e <= 0) {
      // Subnormal half: make the implicit bit explicit and shift it into the 10-bit field.
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      mant |= 0x800000;
      shift = 14 - e;
      e = 0;
    }
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = (e << 10) + (mant >>> shift);
    if (rest > half || (rest === half && h & 1)) h += 1; // a carry into the exponent is still right
    out[i] = sign | h;
  }
  return out;
}

const TYPE_OF: [new (...args: never[]) => TensorArray, DT][] = [
  [Float32Array, DT.FLOAT], [Float64Array, DT.DOUBLE], [BigInt64Array, DT.INT64],
  [Int32Array, DT.INT32], [Int8Array, DT.INT8], [Uint8Array, DT.UINT8],
];

/**
 * A tensor holding `data` in raw_data. The element type follows the array (Uint8Array → UINT8);
 * pass `dataType` BOOL for a Uint8Array of 0/1, or FLOAT16 to round a Float32Array to half.
 */
export function tensorFromArray(name: string, dims: readonly number[], data: TensorArray, dataType?: DT): TensorProto {
  if (elementCount(dims) !== data.length) {
    throw new ModelError(`tensorFromArray('${name}'): dims [${dims.join(',')}] hold ${elementCount(dims)} values but the array has ${data.length}`);
  }
  const natural = TYPE_OF.find(([ctor]) => data instanceof ctor)?.[1];
  const type = dataType ?? natural;
  let bytes: Uint8Array;
  if (type === DT.FLOAT16 && data instanceof Float32Array) {
    bytes = new Uint8Array(float32ToFloat16(data).buffer);
  } else if (type === natural || (type === DT.BOOL && data instanceof Uint8Array)) {
    bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  } else {
    throw new ModelError(`tensorFromArray('${name}'): cannot store ${data.constructor.name} values as ${dataTypeName(type ?? 0)}`);
  }
  return create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: type, rawData: bytes as Uint8Array<ArrayBuffer> });
}

/** A graph input or output declaration: a tensor of `elemType` whose dims are numbers or symbolic names. */
export function tensorValueInfo(name: string, dims: ReadonlyArray<number | string>, elemType: DT = DT.FLOAT): ValueInfoProto {
  const dim = dims.map((d) => ({ value: typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d } }));
  return create(ValueInfoProtoSchema, { name, type: { value: { case: 'tensorType', value: { elemType, shape: { dim } } } } });
}
