// The zip container of .npz files (PKWARE APPNOTE.TXT): local headers each followed by a member's
// bytes, a central directory listing the members, and an end record pointing at the directory.
// Reading trusts the central directory, as NumPy (through Python's zipfile) does; it is the only
// place that holds sizes and CRCs for members written with a data descriptor.
import { deflateRawSync, inflateRawSync } from 'node:zlib';

import { crc32 } from './crc32.js';
import { DataError } from './errors.js';

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
const END64 = 0x06064b50;
const LOCATOR64 = 0x07064b50;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;
const RECREATE = 're-create the file with np.savez';

/** Names without the UTF-8 flag are IBM code page 437, as in Python's zipfile. */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

export interface ZipEntry {
  name: string;
  rawName: Uint8Array;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function findEnd(bytes: Uint8Array, view: DataView, file: string | undefined): number {
  // The end record is 22 bytes plus a comment of up to 65535; its comment length must reach the
  // end of the file exactly, which tells a real record from those bytes inside member data.
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - MAX16); at--) {
    if (view.getUint32(at, true) === END && at + 22 + view.getUint16(at + 20, true) === bytes.length) return at;
  }
  if (bytes[0] === 0x93 && bytes[1] === 0x4e) throw new DataError(file, 'file is a .npy file, not a .npz; read it with readNpy');
  if (view.byteLength >= 4 && view.getUint32(0, true) === LOCAL) {
    throw new DataError(file, `file is truncated: it starts like a zip but has no end-of-central-directory record; ${RECREATE}`);
  }
  throw new DataError(file, `not a .npz file (no zip end-of-central-directory record found); save the arrays with np.savez`);
}

/** Where the central directory lies, as absolute file offsets. */
export interface ZipDirectory {
  count: number;
  offset: number;
  size: number;
}

/**
 * The end records of a zip whose last bytes are `tail`, `base` being the offset of `tail[0]` in
 * the file (0 when `tail` is the whole file): where the central directory lies.
 */
export function readZipEnd(tail: Uint8Array, base: number, file?: string): ZipDirectory {
  const view = viewOf(tail);
  const end = findEnd(tail, view, file);
  let disk = view.getUint16(end + 4, true);
  let directoryDisk = view.getUint16(end + 6, true);
  let count = view.getUint16(end + 10, true);
  let diskCount = view.getUint16(end + 8, true);
  let directorySize = view.getUint32(end + 12, true);
  let directoryOffset = view.getUint32(end + 16, true);
  let directoryLimit = base + end;

  const locator = end - 20;
  if (locator >= 0 && view.getUint32(locator, true) === LOCATOR64) {
    const end64 = Number(view.getBigUint64(locator + 8, true)) - base;
    if (end64 < 0 || end64 + 56 > locator || view.getUint32(end64, true) !== END64) {
      throw new DataError(file, `file is truncated or damaged: its ZIP64 end record is missing; ${RECREATE}`);
    }
    disk = view.getUint32(end64 + 16, true);
    directoryDisk = view.getUint32(end64 + 20, true);
    diskCount = Number(view.getBigUint64(end64 + 24, true));
    count = Number(view.getBigUint64(end64 + 32, true));
    directorySize = Number(view.getBigUint64(end64 + 40, true));
    directoryOffset = Number(view.getBigUint64(end64 + 48, true));
    directoryLimit = base + end64;
  } else if (count === MAX16 || directorySize === MAX32 || directoryOffset === MAX32) {
    throw new DataError(file, `file is damaged: its end record calls for a ZIP64 end record that is not there; ${RECREATE}`);
  }
  if (disk !== 0 || directoryDisk !== 0 || diskCount !== count) {
    throw new DataError(file, 'file is one part of a split (multi-disk) zip; join the parts into one file first');
  }
  if (directoryOffset + directorySize > directoryLimit) {
    throw new DataError(file, `file is truncated or damaged: its central directory (${directorySize} bytes at offset ${directoryOffset}) lies beyond the ${directoryLimit} bytes before the end record; ${RECREATE}`);
  }
  return { count, offset: directoryOffset, size: directorySize };
}

/**
 * The members listed in the central directory, in order. `bytes` is the file from offset `base`
 * to its end, and must hold the whole central directory.
 */
export function listZip(bytes: Uint8Array, file?: string, base = 0): ZipEntry[] {
  const view = viewOf(bytes);
  const { count, offset: directoryOffset, size: directorySize } = readZipEnd(bytes, base, file);
  const entries: ZipEntry[] = [];
  const directoryEnd = directoryOffset + directorySize - base;
  let at = directoryOffset - base;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directoryEnd || view.getUint32(at, true) !== CENTRAL) {
      throw new DataError(file, `file is damaged: central directory entry ${i + 1} of ${count} is missing or malformed; ${RECREATE}`);
    }
    const nameLength = view.getUint16(at + 28, true);
    const extraLength = view.getUint16(at + 30, true);
    const next = at + 46 + nameLength + extraLength + view.getUint16(at + 32, true);
    if (next > directoryEnd) throw new DataError(file, `file is damaged: central directory entry ${i + 1} runs past the directory's end; ${RECREATE}`);
    const rawName = bytes.subarray(at + 46, at + 46 + nameLength);
    const flags = view.getUint16(at + 8, true);
    const entry: ZipEntry = {
      name: decodeName(rawName, flags, file),
      rawName,
      flags,
      method: view.getUint16(at + 10, true),
      crc: view.getUint32(at + 16, true),
      compressedSize: view.getUint32(at + 20, true),
      size: view.getUint32(at + 24, true),
      localOffset: view.getUint32(at + 42, true),
    };
    readZip64Extra(view, at + 46 + nameLength, extraLength, entry, file);
    entries.push(entry);
    at = next;
  }
  return entries;
}

function decodeName(raw: Uint8Array, flags: number, file: string | undefined): string {
  if (flags & 0x800) {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new DataError(file, `file has a member name flagged UTF-8 that is not valid UTF-8; ${RECREATE}`);
    }
  }
  return Array.from(raw, (b) => (b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80])).join('');
}

/** ZIP64 extra field (id 1): 64-bit values for those of the 32-bit fields set to 0xFFFFFFFF. */
function readZip64Extra(view: DataView, start: number, length: number, entry: ZipEntry, file: string | undefined): void {
  for (let at = start; at + 4 <= start + length; ) {
    const id = view.getUint16(at, true);
    const size = view.getUint16(at + 2, true);
    const fieldEnd = at + 4 + size;
    if (id === 1) {
      let p = at + 4;
      const next = (): number => {
        if (p + 8 > fieldEnd) throw new DataError(file, `member '${entry.name}' has a ZIP64 extra field too short for its sizes; ${RECREATE}`);
        p += 8;
        return Number(view.getBigUint64(p - 8, true));
      };
      if (entry.size === MAX32) entry.size = next();
      if (entry.compressedSize === MAX32) entry.compressedSize = next();
      if (entry.localOffset === MAX32) entry.localOffset = next();
    }
    at = fieldEnd;
  }
}

/**
 * The file offset where a member's stored or deflated bytes start, from the bytes at its local
 * header (`local`: 30 plus the name's length, or up to the end of a file of `fileSize` bytes).
 * Checks that the member is there whole and that it can be read.
 */
export function memberDataStart(local: Uint8Array, entry: ZipEntry, fileSize: number, file?: string): number {
  const view = viewOf(local);
  const member = `member '${entry.name}'`;
  if (entry.flags & 1) throw new DataError(file, `${member} is encrypted; re-create the file without a password`);
  const at = entry.localOffset;
  if (local.length < 30 || view.getUint32(0, true) !== LOCAL) {
    throw new DataError(file, `file is truncated or damaged: ${member} has no local header at offset ${at}; ${RECREATE}`);
  }
  const nameLength = view.getUint16(26, true);
  const localName = local.subarray(30, 30 + nameLength);
  if (Buffer.compare(localName, entry.rawName) !== 0) {
    throw new DataError(file, `file is damaged: ${member}'s local header names '${Buffer.from(localName).toString('latin1')}'; ${RECREATE}`);
  }
  const start = at + 30 + nameLength + view.getUint16(28, true);
  const stop = start + entry.compressedSize;
  if (stop > fileSize) {
    throw new DataError(file, `file is truncated: ${member} needs bytes up to offset ${stop} but the file has ${fileSize}; ${RECREATE}`);
  }
  if (entry.method !== 0 && entry.method !== 8) {
    throw new DataError(file, `${member} uses zip compression method ${entry.method}; only stored (0) and deflated (8) are supported, so ${RECREATE} or np.savez_compressed`);
  }
  return start;
}

/** Checks a member's uncompressed length and CRC-32 against the zip directory. */
export function checkMember(entry: ZipEntry, length: number, crc: number, file?: string): void {
  const member = `member '${entry.name}'`;
  if (length !== entry.size) {
    throw new DataError(file, `${member} is corrupt: it holds ${length} bytes but the zip directory says ${entry.size}; re-download or ${RECREATE}`);
  }
  if (crc !== entry.crc) {
    throw new DataError(file, `${member} is corrupt: its CRC-32 is ${hex(crc)} but the zip directory records ${hex(entry.crc)}; re-download or ${RECREATE}`);
  }
}

/** A member's uncompressed bytes, checked against its CRC-32. */
export function extractZip(bytes: Uint8Array, entry: ZipEntry, file?: string): Uint8Array {
  const start = memberDataStart(bytes.subarray(entry.localOffset), entry, bytes.length, file);
  const stored = bytes.subarray(start, start + entry.compressedSize);
  let data = stored;
  if (entry.method === 8) {
    try {
      // The bound stops a forged size from inflating into gigabytes.
      data = inflateRawSync(stored, { maxOutputLength: Math.max(1, entry.size) });
    } catch (error) {
      throw new DataError(file, `member '${entry.name}' is corrupt: its deflate data does not decompress to ${entry.size} bytes (${(error as Error).message}); re-download or ${RECREATE}`);
    }
  }
  checkMember(entry, data.length, crc32(data), file);
  return data;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

export interface ZipInput {
  name: string;
  /** The member's bytes, in pieces so that stored members need not be concatenated. */
  parts: Uint8Array[];
}

/**
 * A zip of `members`, as pieces to concatenate or write in order. Timestamps are fixed at
 * 1980-01-01 00:00, as NumPy writes them, so equal arrays give equal files. Without ZIP64 the
 * archive is limited to 65535 members and 4 GiB, which Node 20's 4 GiB Buffers nearly reach.
 */
export function buildZip(members: ZipInput[], compress: boolean, file?: string): Uint8Array[] {
  if (members.length > MAX16) throw new DataError(file, `${members.length} arrays exceed the 65535 a zip without ZIP64 holds; split them over several files`);
  const out: Uint8Array[] = [];
  const directory: Uint8Array[] = [];
  let offset = 0;
  for (const { name, parts } of members) {
    const rawName = Buffer.from(name, 'utf8');
    const flags = /^[\x00-\x7f]*$/.test(name) ? 0 : 0x800;
    const raw = compress ? [Buffer.concat(parts)] : parts;
    const body = compress ? [deflateRawSync(raw[0])] : parts;
    const size = raw.reduce((n, p) => n + p.length, 0);
    const compressedSize = body.reduce((n, p) => n + p.length, 0);
    const crc = raw.reduce((c, p) => crc32(p, c), 0);
    if (size >= MAX32 || compressedSize >= MAX32 || offset >= MAX32) {
      throw new DataError(file, `member '${name}' would lie past the 4 GiB a zip without ZIP64 reaches; split the arrays over several files`);
    }

    const local = Buffer.alloc(30 + rawName.length);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    writeCommon(local, 6, flags, compress, crc, compressedSize, size);
    local.writeUInt16LE(rawName.length, 26);
    rawName.copy(local, 30);

    const central = Buffer.alloc(46 + rawName.length);
    central.writeUInt32LE(CENTRAL, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, so unzip honours the mode below
    central.writeUInt16LE(20, 6);
    writeCommon(central, 8, flags, compress, crc, compressedSize, size);
    central.writeUInt16LE(rawName.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38); // a regular file, rw-r--r--
    central.writeUInt32LE(offset, 42);
    rawName.copy(central, 46);

    out.push(local, ...body);
    directory.push(central);
    offset += local.length + compressedSize;
  }
  const directorySize = directory.reduce((n, p) => n + p.length, 0);
  if (offset + directorySize >= MAX32) throw new DataError(file, 'arrays exceed the 4 GiB a zip without ZIP64 reaches; split them over several files');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(directorySize, 12);
  end.writeUInt32LE(offset, 16);
  return [...out, ...directory, end];
}

/** Flags, method, time, date, CRC and sizes: laid out alike in local and central headers. */
function writeCommon(header: Buffer, at: number, flags: number, compress: boolean, crc: number, compressedSize: number, size: number): void {
  header.writeUInt16LE(flags, at);
  header.writeUInt16LE(compress ? 8 : 0, at + 2);
  header.writeUInt16LE(0, at + 4); // 00:00:00
  header.writeUInt16LE((0 << 9) | (1 << 5) | 1, at + 6); // 1980-01-01
  header.writeUInt32LE(crc, at + 8);
  header.writeUInt32LE(compressedSize, at + 12);
  header.writeUInt32LE(size, at + 16);
}
