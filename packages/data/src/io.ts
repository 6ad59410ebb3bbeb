import { constants } from 'node:buffer';
import { open, rename, unlink } from 'node:fs/promises';

import { DataError } from './errors.js';

/** The whole file. fs.readFile stops at 2 GiB; reading in chunks reaches the Buffer limit. */
export async function readWhole(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size > constants.MAX_LENGTH) {
      throw new DataError(path, `is ${size} bytes, more than one Node.js buffer holds (${constants.MAX_LENGTH}); split the arrays over several files`);
    }
    const out = Buffer.allocUnsafe(size);
    let at = 0;
    while (at < size) {
      const { bytesRead } = await handle.read(out, at, Math.min(size - at, 1 << 30), at);
      if (bytesRead === 0) break; // the file shrank while we read it; parsing reports the truncation
      at += bytesRead;
    }
    return out.subarray(0, at);
  } finally {
    await handle.close();
  }
}

/**
 * Writes `parts` to a temporary file beside `path`, flushes it and renames it over `path`, so a
 * reader never sees a half-written file and a crash leaves the old file in place.
 */
export async function writeAtomic(path: string, parts: Uint8Array[]): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    const handle = await open(tmp, 'w');
    try {
      for (const part of parts) {
        // write() may write less than asked and refuses more than 2 GiB at once.
        for (let done = 0; done < part.length; ) {
          done += (await handle.write(part, done, Math.min(part.length - done, 1 << 30))).bytesWritten;
        }
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
}

/** One standalone Uint8Array (Buffer.concat may hand back a slice of Node's shared pool). */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
