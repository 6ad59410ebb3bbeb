// Sequential readers over part of a file, for streaming arrays without reading the file whole: a
// plain byte range (a .npy, a stored .npz member) read at offsets through a file handle, and a
// deflated .npz member inflated as it is read. Each holds at most one read-ahead chunk.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInflateRaw } from 'node:zlib';

import { crc32 } from './crc32.js';
import { DataError } from './errors.js';
import { checkMember, type ZipEntry } from './zip.js';

export interface ByteSource {
  /** The next `length` bytes, in a fresh ArrayBuffer of exactly that length. */
  read(length: number): Promise<Uint8Array>;
  /** After the last read: checks that the bytes were whole and intact (a zip member's CRC-32). */
  finish(): Promise<void>;
  close(): Promise<void>;
}

/** Reads whole, positional, and at most 1 GiB per call (FileHandle.read refuses more than 2 GiB). */
const MAX_READ = 1 << 30;

/**
 * Bytes `start` .. `start + size` of `path`, read at offsets. A read past the end of the file
 * (it shrank since it was opened) throws a DataError naming the offset where the file ends.
 */
export async function fileRange(path: string, start: number, size: number, remedy: string): Promise<ByteSource> {
  const handle = await open(path, 'r');
  let position = start;
  return {
    async read(length) {
      const out = new Uint8Array(length);
      for (let done = 0; done < length; ) {
        const { bytesRead } = await handle.read(out, done, Math.min(length - done, MAX_READ), position);
        if (bytesRead === 0) {
          throw new DataError(path, `file is truncated at byte offset ${position}: the array needs bytes up to offset ${start + size}; ${remedy}`);
        }
        done += bytesRead;
        position += bytesRead;
      }
      return out;
    },
    finish: async () => undefined,
    close: () => handle.close(),
  };
}

/** A .npz member's uncompressed bytes; its data (stored or deflated) starts at `dataStart`. */
export async function memberSource(path: string, entry: ZipEntry, dataStart: number, remedy: string): Promise<ByteSource> {
  const raw = entry.method === 0 ? await fileRange(path, dataStart, entry.size, remedy) : inflating(path, entry, dataStart, remedy);
  let crc = 0;
  let length = 0;
  return {
    async read(n) {
      const bytes = await raw.read(n);
      crc = crc32(bytes, crc);
      length += bytes.length;
      return bytes;
    },
    async finish() {
      await raw.finish();
      checkMember(entry, length, crc, path);
    },
    close: () => raw.close(),
  };
}

/** Inflates a deflated member as it is read, 64 KiB of compressed data at a time. */
function inflating(path: string, entry: ZipEntry, dataStart: number, remedy: string): ByteSource {
  const member = `member '${entry.name}'`;
  const stop = dataStart + entry.compressedSize;
  const compressed = createReadStream(path, { start: dataStart, end: stop - 1 });
  const inflate = createInflateRaw();
  compressed.on('error', (error) => inflate.destroy(error));
  compressed.pipe(inflate);
  const chunks = inflate[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let pending: Uint8Array = new Uint8Array(0);

  const next = async (): Promise<Buffer | undefined> => {
    try {
      const { done, value } = await chunks.next();
      return done ? undefined : value;
    } catch (error) {
      if (compressed.bytesRead < entry.compressedSize) {
        throw new DataError(path, `file is truncated at byte offset ${dataStart + compressed.bytesRead}: ${member} needs bytes up to offset ${stop}; ${remedy}`);
      }
      throw new DataError(path, `${member} is corrupt: its deflate data does not decompress (${(error as Error).message}); re-download or ${remedy}`);
    }
  };

  return {
    async read(length) {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        if (pending.length === 0) {
          const chunk = await next();
          if (chunk === undefined) {
            throw new DataError(path, `${member} is corrupt: it inflates to fewer bytes than its .npy header needs (${done} of ${length} at the end); re-download or ${remedy}`);
          }
          pending = chunk;
        }
        const take = Math.min(length - done, pending.length);
        out.set(pending.subarray(0, take), done);
        pending = pending.subarray(take);
        done += take;
      }
      return out;
    },
    async finish() {
      // Whatever the member inflates to beyond its array is corrupt; checkMember reports the length.
      if (pending.length > 0 || (await next()) !== undefined) {
        throw new DataError(path, `${member} is corrupt: it inflates to more bytes than the zip directory's ${entry.size}; re-download or ${remedy}`);
      }
    },
    async close() {
      compressed.destroy();
      inflate.destroy();
    },
  };
}

/** Bytes `start` .. `start + length` of `path`, read through a handle opened for them. */
export async function readRange(path: string, start: number, length: number, remedy: string): Promise<Uint8Array> {
  const range = await fileRange(path, start, length, remedy);
  try {
    return await range.read(length);
  } finally {
    await range.close();
  }
}
