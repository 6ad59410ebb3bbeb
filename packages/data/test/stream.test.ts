import { closeSync, openSync, readFileSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { describe, expect, it, vi } from 'vitest';

import { concatBytes } from '../src/io.js';
import { DataError, openNpyBatches, openNpzBatches, parseNpy, readNpy, readNpz, writeNpy, writeNpz, type NdArray, type NpyBatches } from '../src/index.js';
import { bytesOf, fixture, npyWith, tempDir } from './helpers.js';

// Every length passed to FileHandle.read, to show that no read asks for more than a batch.
const readLengths = vi.hoisted(() => [] as number[]);
vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof actual.open = async (...args) => {
    const handle = await actual.open(...args);
    const read = handle.read.bind(handle) as (...a: unknown[]) => ReturnType<typeof handle.read>;
    handle.read = ((...a: unknown[]) => {
      readLengths.push(a[2] as number);
      return read(...a);
    }) as typeof handle.read;
    return handle;
  };
  return { ...actual, open };
});

async function collect(batches: NpyBatches): Promise<NdArray[]> {
  const out: NdArray[] = [];
  for await (const batch of batches) out.push(batch);
  return out;
}

/** The data of `batches`, joined, as bytes. */
function joined(batches: NdArray[]): Uint8Array {
  return concatBytes(batches.map(bytesOf));
}

/** Seven rows of three of each dtype: batches of 3 give 3, 3 and a remainder of 1. */
const arrays: Record<string, NdArray> = {
  f4: { dtype: 'float32', shape: [7, 3], data: Float32Array.from({ length: 21 }, (_, i) => (i % 5 === 0 ? NaN : i / 3 - 2)) },
  f8: { dtype: 'float64', shape: [7, 3], data: Float64Array.from({ length: 21 }, (_, i) => Math.PI * (i - 10)) },
  u1: { dtype: 'uint8', shape: [7, 3], data: Uint8Array.from({ length: 21 }, (_, i) => i * 12) },
  i4: { dtype: 'int32', shape: [7, 3], data: Int32Array.from({ length: 21 }, (_, i) => (i - 10) * 100_000_007) },
  i8: { dtype: 'int64', shape: [7, 3], data: BigInt64Array.from({ length: 21 }, (_, i) => BigInt(i - 10) * 2n ** 53n + 1n) },
  b1: { dtype: 'bool', shape: [7, 3], data: Uint8Array.from({ length: 21 }, (_, i) => i % 2) },
};

describe('openNpyBatches', () => {
  it.each(Object.keys(arrays))('streams %s in batches of 3 that join to exactly the whole array', async (name) => {
    const path = join(tempDir(), `${name}.npy`);
    await writeNpy(path, arrays[name]);
    const batches = await openNpyBatches(path, 3);
    expect({ dtype: batches.dtype, shape: batches.shape, batchSize: batches.batchSize }).toEqual({ dtype: arrays[name].dtype, shape: [7, 3], batchSize: 3 });
    const out = await collect(batches);
    expect(out.map((b) => b.shape)).toEqual([[3, 3], [3, 3], [1, 3]]);
    expect(out.every((b) => b.dtype === arrays[name].dtype)).toBe(true);
    expect(joined(out)).toEqual(bytesOf((await readNpy(path))));
    expect(joined(out)).toEqual(bytesOf(arrays[name]));
  });

  it.each(['be_f4.npy', 'be_f8.npy', 'be_i4.npy', 'be_i8.npy', 'f8_2x3x4.npy', 'v2_f4_2x3.npy', 'v3_f4_2x3.npy'])('streams the NumPy fixture %s byte-equal to readNpy', async (name) => {
    const path = join(tempDir(), name);
    writeFileSync(path, fixture(name));
    for (const batchSize of [1, 2, 100]) {
      expect(joined(await collect(await openNpyBatches(path, batchSize)))).toEqual(bytesOf(parseNpy(fixture(name))));
    }
  });

  it('gives no batches for zero rows and refuses 0-dimensional arrays', async () => {
    const dir = tempDir();
    await writeNpy(join(dir, 'empty.npy'), { dtype: 'float32', shape: [0, 4], data: new Float32Array(0) });
    expect(await collect(await openNpyBatches(join(dir, 'empty.npy'), 8))).toEqual([]);
    await writeNpy(join(dir, 'scalar.npy'), { dtype: 'int32', shape: [], data: new Int32Array([1]) });
    await expect(openNpyBatches(join(dir, 'scalar.npy'), 8)).rejects.toThrow('array is 0-dimensional');
    await expect(openNpyBatches(join(dir, 'empty.npy'), 0)).rejects.toThrow('batchSize must be a positive integer, got 0');
  });

  it('refuses a truncated file when opening it, naming the file and the offset where it ends', async () => {
    const path = join(tempDir(), 't.npy');
    await writeNpy(path, arrays.f8); // 128-byte header + 168 data bytes
    truncateSync(path, 200);
    await expect(openNpyBatches(path, 3)).rejects.toThrow(
      new DataError(path, 'file is truncated: it ends at byte offset 200, but shape (7, 3) of float64 needs data up to offset 296; re-save the array with np.save'),
    );
  });

  it('throws a DataError naming the file and byte offset when the file is cut short mid-stream', async () => {
    const path = join(tempDir(), 't.npy');
    await writeNpy(path, arrays.f8);
    const batches = await openNpyBatches(path, 2); // 48-byte batches at 128, 176, 224, 272
    const seen: number[][] = [];
    const reading = (async () => {
      for await (const batch of batches) {
        seen.push(batch.shape);
        if (seen.length === 1) truncateSync(path, 200);
      }
    })();
    await expect(reading).rejects.toThrow(new DataError(path, 'file is truncated at byte offset 200: the array needs bytes up to offset 296; re-save the array with np.save'));
    expect(seen).toEqual([[2, 3]]);
  });

  it('holds one batch at a time: no read asks for more than a batch, and memory stays far below the file', async () => {
    // 64 MiB of float32, 16384 rows of 1024 values; row r holds r everywhere.
    const rows = 16384;
    const columns = 1024;
    const path = join(tempDir(), 'big.npy');
    const fd = openSync(path, 'w');
    writeSync(fd, npyWith(`{'descr': '<f4', 'fortran_order': False, 'shape': (${rows}, ${columns}), }`));
    const chunk = new Float32Array(256 * columns);
    for (let r = 0; r < rows; r += 256) {
      for (let i = 0; i < 256; i++) chunk.fill(r + i, i * columns, (i + 1) * columns);
      writeSync(fd, chunk);
    }
    closeSync(fd);

    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let row = 0;
    readLengths.length = 0;
    for await (const batch of await openNpyBatches(path, 256)) {
      const data = batch.data as Float32Array;
      expect([data[0], data[data.length - 1]]).toEqual([row, row + batch.shape[0] - 1]);
      row += batch.shape[0];
      gc();
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    expect(row).toBe(rows);
    const batchBytes = 256 * columns * 4; // 1 MiB
    expect(Math.max(...readLengths)).toBe(batchBytes);
    expect(peak).toBeLessThan(4 * batchBytes);
  });
});

describe('openNpzBatches', () => {
  it.each([false, true])('streams every member byte-equal to readNpz (compress: %s)', async (compress) => {
    const path = join(tempDir(), 'a.npz');
    await writeNpz(path, arrays, { compress });
    const whole = await readNpz(path);
    for (const name of Object.keys(arrays)) {
      const out = await collect(await openNpzBatches(path, name, 3));
      expect(out.map((b) => b.shape[0])).toEqual([3, 3, 1]);
      expect(joined(out)).toEqual(bytesOf(whole[name]));
    }
  });

  it.each(['savez.npz', 'savez_compressed.npz', 'zip64.npz'])('streams the NumPy fixture %s', async (name) => {
    const path = join(tempDir(), name);
    writeFileSync(path, fixture(name));
    const out = await collect(await openNpzBatches(path, 'y', 2));
    expect(out.map((b) => Array.from(b.data as BigInt64Array))).toEqual([[-(2n ** 63n), -1n], [0n, 1n], [2n ** 63n - 1n]]);
  });

  it('inflates a large deflated member with bounded memory', async () => {
    // 32 MiB of float32 that deflates to little: memory must not follow the uncompressed size.
    const rows = 8192;
    const data = new Float32Array(rows * 1024);
    for (let r = 0; r < rows; r++) data.fill(r % 7, r * 1024, (r + 1) * 1024);
    const path = join(tempDir(), 'big.npz');
    await writeNpz(path, { x: { dtype: 'float32', shape: [rows, 1024], data } }, { compress: true });

    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = process.memoryUsage().arrayBuffers;
    let peak = 0;
    let row = 0;
    for await (const batch of await openNpzBatches(path, 'x', 256)) {
      // Buffer.compare: a deep equality over 262144 elements per batch would dominate the test.
      const want = data.subarray(row * 1024, (row + batch.shape[0]) * 1024);
      expect(Buffer.compare(bytesOf(batch), new Uint8Array(want.buffer, want.byteOffset, want.byteLength))).toBe(0);
      row += batch.shape[0];
      gc();
      peak = Math.max(peak, process.memoryUsage().arrayBuffers - before);
    }
    expect(row).toBe(rows);
    expect(peak).toBeLessThan(4 * 1024 * 1024); // four 1 MiB batches; the member is 32 MiB
  });

  it('names the file and byte offset when a member is cut short mid-stream', async () => {
    for (const compress of [false, true]) {
      const path = join(tempDir(), 'cut.npz');
      const big = { dtype: 'float64', shape: [4096, 16], data: Float64Array.from({ length: 65536 }, (_, i) => Math.sin(i)) } satisfies NdArray;
      await writeNpz(path, { x: big }, { compress });
      const batches = await openNpzBatches(path, 'x', 64);
      truncateSync(path, 100_000);
      const error = await collect(batches).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DataError);
      expect((error as DataError).file).toBe(path);
      expect((error as Error).message).toMatch(compress ? /^.*cut\.npz: file is truncated at byte offset 100000: member 'x\.npy' needs bytes up to offset \d+; re-create the file with np\.savez$/ : /^.*cut\.npz: file is truncated at byte offset 100000: the array needs bytes up to offset \d+; re-create the file with np\.savez$/);
    }
  });

  it('checks the CRC-32 once a stored member has been read whole', async () => {
    const path = join(tempDir(), 'crc.npz');
    await writeNpz(path, { x: arrays.f8 });
    const bytes = readFileSync(path);
    bytes[200] ^= 0xff; // inside x's data
    writeFileSync(path, bytes);
    const batches = await openNpzBatches(path, 'x', 3);
    await expect(collect(batches)).rejects.toThrow(/member 'x\.npy' is corrupt: its CRC-32 is 0x[0-9a-f]{8} but the zip directory records 0x[0-9a-f]{8}/);
  });

  it('lists the arrays there are when asked for one that is not', async () => {
    const path = join(tempDir(), 'n.npz');
    await writeNpz(path, { x: arrays.u1, y: arrays.i4 });
    await expect(openNpzBatches(path, 'z', 3)).rejects.toThrow(`${path}: has no array 'z' (it holds 'x', 'y'); pass one of those names`);
  });
});
