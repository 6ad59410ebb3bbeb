// A minimal PNG encoder for the adversarial-example grid: 8-bit grayscale or RGB, no filtering,
// one IDAT chunk. Images here are tiny (28×28, 32×32), so compression quality does not matter;
// what matters is that the page needs no image library and no network to show them.
import { deflateSync } from 'node:zlib';

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
/** IHDR colour types for 8-bit grayscale and truecolour. */
const COLOR_TYPE = { 1: 0, 3: 2 } as const;

/**
 * Minimal PNG encoder: 8-bit grayscale (channels 1) or RGB (3), values in [0,1] → PNG bytes
 * (node:zlib deflate, CRC32 computed here). `values` is row-major with channels interleaved
 * (height × width × channels); values outside [0,1] are clamped, NaN is written as 0.
 */
export function encodePng(values: ArrayLike<number>, width: number, height: number, channels: 1 | 3): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodePng: width and height must be positive integers, got ${width}×${height}`);
  }
  if (channels !== 1 && channels !== 3) throw new RangeError(`encodePng: channels must be 1 (gray) or 3 (RGB), got ${channels}`);
  const rowBytes = width * channels;
  if (values.length !== rowBytes * height) {
    throw new RangeError(`encodePng: expected ${rowBytes * height} values for ${width}×${height}×${channels}, got ${values.length}`);
  }
  // Each scanline is prefixed by its filter type; 0 (None) keeps the encoder trivial.
  const raw = new Uint8Array((rowBytes + 1) * height);
  for (let y = 0; y < height; y++) {
    const out = y * (rowBytes + 1) + 1;
    for (let i = 0; i < rowBytes; i++) raw[out + i] = toByte(values[y * rowBytes + i]!);
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8; // bit depth
  header[9] = COLOR_TYPE[channels];
  // Bytes 10–12: compression 0 (deflate), filter method 0, interlace 0 (none).
  return concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

function toByte(value: number): number {
  if (!(value > 0)) return 0;
  return value >= 1 ? 255 : Math.round(value * 255);
}

/** length, type, data, CRC32 over type and data. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309, polynomial 0xEDB88320 reflected), as PNG specifies. */
function crc32(bytes: Uint8Array): number {
  crcTable ??= makeCrcTable();
  let crc = 0xffffffff;
  for (const b of bytes) crc = crcTable[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function makeCrcTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
