import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as zlib from 'node:zlib';

import { describe, expect, it } from 'vitest';

import { crc32Portable } from '../src/crc32.js';
import { crc32, parseNpz, readNpz, serializeNpz, writeNpz, type NdArray } from '../src/index.js';
import { bytesOf, dataErrorMessage as errorOf, everyDtype, fixture, hasCommand, hasNumpy, hasPython, python, tempDir } from './helpers.js';

/** Replaces every occurrence of `from` by `to` (same length): names appear in local and central headers. */
function rename(bytes: Uint8Array, from: string, to: string): Uint8Array {
  expect(to.length).toBe(from.length);
  const out = Buffer.from(bytes);
  for (let at = out.indexOf(from); at >= 0; at = out.indexOf(from, at + 1)) out.write(to, at, 'latin1');
  return new Uint8Array(out);
}

const savezArrays = {
  x: { dtype: 'float32', shape: [2, 3], data: new Float32Array([-1, -0.5, 0, 0.5, 1, 1.5]) },
  y: { dtype: 'int64', shape: [5], data: new BigInt64Array([-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n]) },
  flag: { dtype: 'bool', shape: [], data: new Uint8Array([1]) },
  empty: { dtype: 'float64', shape: [0], data: new Float64Array(0) },
} satisfies Record<string, NdArray>;

describe('parseNpz on files NumPy wrote', () => {
  it.each(['savez.npz', 'savez_compressed.npz', 'zip64.npz'])('reads %s', (name) => {
    const arrays = parseNpz(fixture(name), name);
    expect(Object.keys(arrays)).toEqual(['x', 'y', 'flag', 'empty']);
    expect({ ...arrays }).toEqual(savezArrays);
  });

  it('takes sizes and offsets from the ZIP64 records when the 32-bit fields are saturated', () => {
    // As in an archive past 4 GiB or 65535 members: the end record holds only the sentinels.
    const bytes = fixture('zip64.npz').slice();
    const view = new DataView(bytes.buffer);
    const end = bytes.length - 22;
    view.setUint16(end + 8, 0xffff, true);
    view.setUint16(end + 10, 0xffff, true);
    view.setUint32(end + 12, 0xffffffff, true);
    view.setUint32(end + 16, 0xffffffff, true);
    expect({ ...parseNpz(bytes) }).toEqual(savezArrays);
    view.setUint32(end - 20, 0, true); // no ZIP64 locator
    expect(errorOf(() => parseNpz(bytes, 'd.npz'))).toBe(
      'd.npz: file is damaged: its end record calls for a ZIP64 end record that is not there; re-create the file with np.savez',
    );
  });

  it('reads positional arrays as arr_0, arr_1', () => {
    const arrays = parseNpz(fixture('positional.npz'));
    expect(Object.keys(arrays)).toEqual(['arr_0', 'arr_1']);
    expect(Array.from(arrays.arr_0.data as Uint8Array)).toEqual([0, 1, 2]);
    expect(arrays.arr_1.dtype).toBe('int32');
  });
});

describe('serializeNpz and parseNpz round trips', () => {
  it.each([false, true])('round-trips every dtype (compress: %s)', (compress) => {
    const arrays = everyDtype();
    const bytes = serializeNpz(arrays, { compress });
    const back = parseNpz(bytes);
    expect(Object.keys(back)).toEqual(Object.keys(arrays));
    for (const [name, array] of Object.entries(arrays)) {
      expect(back[name].dtype).toBe(array.dtype);
      expect(back[name].shape).toEqual(array.shape);
      expect(Buffer.from(bytesOf(back[name]))).toEqual(Buffer.from(bytesOf(array)));
    }
  });

  it('compresses, and writes the same bytes for the same arrays', () => {
    const big = { z: { dtype: 'float64', shape: [1000], data: new Float64Array(1000) } } satisfies Record<string, NdArray>;
    const stored = serializeNpz(big);
    const compressed = serializeNpz(big, { compress: true });
    expect(compressed.length).toBeLessThan(stored.length / 10);
    expect(serializeNpz(big, { compress: true })).toEqual(compressed);
  });

  it('keeps names that are Object methods, sub-paths and non-ASCII as plain keys', () => {
    const one: NdArray = { dtype: 'uint8', shape: [1], data: new Uint8Array([7]) };
    const names = ['__proto__', 'constructor', 'train/x', 'température'];
    const arrays = Object.fromEntries(names.map((n) => [n, one]));
    const back = parseNpz(serializeNpz(arrays));
    expect(Object.keys(back)).toEqual(names);
    expect(Object.getPrototypeOf(back)).toBeNull();
  });

  it('rejects array names that would escape the archive', () => {
    const one: NdArray = { dtype: 'uint8', shape: [1], data: new Uint8Array([7]) };
    expect(errorOf(() => serializeNpz({ '../x': one }, {}, 'out.npz'))).toBe("out.npz: array name '../x' has a '..' component that escapes the archive; use a plain name such as 'x' or 'train/x'");
    expect(errorOf(() => serializeNpz({ '/x': one }))).toMatch(/^array name '\/x' is an absolute path;/);
    expect(errorOf(() => serializeNpz({ '': one }))).toMatch(/^array name '' is empty/);
    expect(errorOf(() => serializeNpz({ a: { ...one, shape: [2] } }, {}, 'out.npz'))).toBe("out.npz: array 'a': shape (2,) holds 2 elements but the data has 1; make the shape match the data");
  });
});

describe('parseNpz errors', () => {
  const one: NdArray = { dtype: 'uint8', shape: [3], data: new Uint8Array([1, 2, 3]) };
  const twoMembers = serializeNpz({ aa: one, ab: one });

  it('rejects an empty file', () => {
    expect(errorOf(() => parseNpz(new Uint8Array(0), 'd.npz'))).toBe('d.npz: file is empty (0 bytes); re-create the file with np.savez');
  });

  it('rejects zip-slip and absolute member names', () => {
    expect(errorOf(() => parseNpz(rename(serializeNpz({ 'aa/x': one }), 'aa/x.npy', '../x.npy'), 'd.npz'))).toBe(
      "d.npz: member name '../x.npy' has a '..' component that escapes the archive; refusing to read the file — re-create the file with np.savez",
    );
    expect(errorOf(() => parseNpz(rename(serializeNpz({ ax: one }), 'ax.npy', '/x.npy'), 'd.npz'))).toMatch(/^d\.npz: member name '\/x\.npy' is an absolute path; refusing/);
    expect(errorOf(() => parseNpz(rename(serializeNpz({ aaaa: one }), 'aaaa.npy', 'C:\\x.npy')))).toMatch(/is an absolute path/);
  });

  it('rejects duplicate member names', () => {
    expect(errorOf(() => parseNpz(rename(twoMembers, 'ab.npy', 'aa.npy'), 'd.npz'))).toBe(
      "d.npz: member 'aa.npy' appears twice; re-create the file with np.savez so every array name is unique",
    );
  });

  it('rejects members that are not .npy files', () => {
    expect(errorOf(() => parseNpz(rename(twoMembers, 'ab.npy', 'ab.txt'), 'd.npz'))).toBe(
      "d.npz: member 'ab.txt' is not a .npy file; a .npz holds only .npy members — re-create the file with np.savez",
    );
  });

  it('rejects a member whose CRC-32 does not match', () => {
    const bytes = fixture('savez.npz').slice();
    bytes[0xc0] ^= 0xff; // inside x.npy's 152 bytes, which start at 55
    expect(errorOf(() => parseNpz(bytes, 'd.npz'))).toMatch(
      /^d\.npz: member 'x\.npy' is corrupt: its CRC-32 is 0x[0-9a-f]{8} but the zip directory records 0x01684a4b; re-download or re-create the file with np\.savez$/,
    );
  });

  it('rejects corrupt deflate data', () => {
    const bytes = fixture('savez_compressed.npz').slice();
    bytes.fill(0xff, 60, 90);
    expect(errorOf(() => parseNpz(bytes, 'd.npz'))).toMatch(/^d\.npz: member 'x\.npy' is corrupt: /);
  });

  it('rejects truncated files', () => {
    const bytes = fixture('savez.npz');
    expect(errorOf(() => parseNpz(bytes.subarray(0, bytes.length - 10), 'd.npz'))).toBe(
      'd.npz: file is truncated: it starts like a zip but has no end-of-central-directory record; re-create the file with np.savez',
    );
    // An end record whose directory points past what is left of the file.
    const end = bytes.subarray(bytes.length - 22);
    expect(errorOf(() => parseNpz(new Uint8Array([...bytes.subarray(0, 300), ...end]), 'd.npz'))).toMatch(/^d\.npz: file is truncated or damaged: its central directory \(\d+ bytes at offset \d+\) lies beyond/);
  });

  it('names .npy files and other files for what they are', () => {
    expect(errorOf(() => parseNpz(fixture('f4_2x3.npy'), 'd.npz'))).toBe('d.npz: file is a .npy file, not a .npz; read it with readNpy');
    expect(errorOf(() => parseNpz(new TextEncoder().encode('just text'), 'd.npz'))).toBe(
      'd.npz: not a .npz file (no zip end-of-central-directory record found); save the arrays with np.savez',
    );
  });

  it('names the member in errors from its .npy bytes', () => {
    const bytes = rename(serializeNpz({ a: one }), "'|u1'", "'<f2'");
    // The CRC no longer matches either, so patch it to reach the .npy parser.
    const view = new DataView(bytes.buffer);
    const member = bytes.subarray(30 + 5, 30 + 5 + 131);
    for (const at of [14, bytes.length - 22 - 51 + 16]) view.setUint32(at, crc32(member), true);
    expect(errorOf(() => parseNpz(bytes, 'd.npz'))).toMatch(/^d\.npz: member 'a\.npy': dtype '<f2' is not supported/);
  });

  it('rejects unsupported compression methods and encryption', () => {
    const bytes = serializeNpz({ a: one }).slice();
    const centralStart = bytes.length - 22 - 51;
    const method = bytes.slice();
    method[centralStart + 10] = 14; // LZMA
    expect(errorOf(() => parseNpz(method, 'd.npz'))).toMatch(/^d\.npz: member 'a\.npy' uses zip compression method 14; only stored \(0\) and deflated \(8\)/);
    const encrypted = bytes.slice();
    encrypted[centralStart + 8] |= 1;
    expect(errorOf(() => parseNpz(encrypted, 'd.npz'))).toBe("d.npz: member 'a.npy' is encrypted; re-create the file without a password");
  });
});

describe('readNpz and writeNpz', () => {
  it('writes atomically and reads back', async () => {
    const dir = tempDir();
    const path = join(dir, 'd.npz');
    writeFileSync(path, 'old');
    await writeNpz(path, savezArrays, { compress: true });
    expect(readdirSync(dir)).toEqual(['d.npz']);
    expect({ ...(await readNpz(path)) }).toEqual(savezArrays);
  });

  it('names the file in errors', async () => {
    const path = join(tempDir(), 'empty.npz');
    writeFileSync(path, '');
    await expect(readNpz(path)).rejects.toThrow(`${path}: file is empty (0 bytes)`);
  });
});

describe('interop with zip tools and NumPy', () => {
  function writeBoth(): string[] {
    const dir = tempDir();
    const names = ['stored.npz', 'compressed.npz'];
    writeFileSync(join(dir, names[0]), serializeNpz({ ...everyDtype(), 'température': everyDtype().u1 }));
    writeFileSync(join(dir, names[1]), serializeNpz(everyDtype(), { compress: true }));
    return names.map((n) => join(dir, n));
  }

  it.skipIf(!hasPython)("passes Python zipfile's CRC test", () => {
    for (const path of writeBoth()) expect(python('import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).testzip())', path).trim()).toBe('None');
  });

  it.skipIf(!hasCommand('unzip', ['-v']))('passes unzip -t', () => {
    for (const path of writeBoth()) {
      const result = spawnSync('unzip', ['-t', path], { encoding: 'utf8' });
      expect(result.status, result.stdout).toBe(0);
      expect(result.stdout).toContain('No errors detected');
    }
  });

  it.skipIf(!hasNumpy)('is loaded by np.load with the same dtypes, shapes and bytes', () => {
    const script = `
import json, sys, numpy as np
with np.load(sys.argv[1]) as z:
    print(json.dumps({k: [z[k].dtype.str, list(z[k].shape), z[k].tobytes().hex()] for k in z.files}))`;
    const descr = { float32: '<f4', float64: '<f8', uint8: '|u1', int32: '<i4', int64: '<i8', bool: '|b1' };
    for (const path of writeBoth()) {
      const loaded = JSON.parse(python(script, path)) as Record<string, unknown>;
      const expected = Object.fromEntries(
        Object.entries(parseNpz(new Uint8Array(readFileSync(path)))).map(([k, a]) => [k, [descr[a.dtype], a.shape, Buffer.from(bytesOf(a)).toString('hex')]]),
      );
      expect(loaded).toEqual(expected);
    }
  });
});

describe('crc32', () => {
  it('agrees with zlib and the reference value, in one call or several', () => {
    const bytes = new TextEncoder().encode('123456789');
    expect(crc32(bytes)).toBe(0xcbf43926);
    expect(crc32Portable(bytes)).toBe(0xcbf43926);
    expect(crc32Portable(bytes.subarray(4), crc32Portable(bytes.subarray(0, 4)))).toBe(0xcbf43926);
    const random = zlib.deflateSync(new Uint8Array(10_000).map((_, i) => (i * 2654435761) >>> 24));
    expect(crc32Portable(random)).toBe(crc32(random));
    // zlib.crc32 returns 0 for an empty view of an empty ArrayBuffer whatever the running value.
    expect(crc32(new Float32Array(0) as unknown as Uint8Array, 1234)).toBe(1234);
    expect(crc32(new Uint8Array(new ArrayBuffer(0)), 1234)).toBe(1234);
  });
});
