// CRC-32 (the zip/IEEE polynomial). zlib.crc32 arrived in Node 20.15; earlier 20.x releases lack
// it, so the namespace import is probed at run time (a named import would fail to link there).
import * as zlib from 'node:zlib';

let table: Uint32Array | undefined;

/** Table-driven CRC-32; `value` continues a previous call's result. */
export function crc32Portable(bytes: Uint8Array, value = 0): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = ~value;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

const native: ((bytes: Uint8Array, value?: number) => number) | undefined =
  typeof zlib.crc32 === 'function' ? zlib.crc32 : undefined;

/** CRC-32 of `bytes`, continuing from `value` (the CRC of the bytes before them). */
export function crc32(bytes: Uint8Array, value = 0): number {
  // An empty view of an empty ArrayBuffer reaches zlib as a NULL pointer, for which zlib's crc32
  // returns its initial value 0 rather than `value`.
  if (bytes.length === 0) return value >>> 0;
  return native ? native(bytes, value) >>> 0 : crc32Portable(bytes, value);
}
