import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect, onTestFinished } from 'vitest';

import { DataError, type NdArray } from '../src/index.js';

/** Bytes NumPy wrote (see fixtures/make_fixtures.py). */
export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
}

/** A directory removed when the current test finishes. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-data-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function hasCommand(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

export const hasNumpy = hasCommand('python3', ['-c', 'import numpy']);
export const hasPython = hasCommand('python3', ['-c', 'import zipfile']);

/** Runs a Python script with arguments; returns stdout, failing with stderr. */
export function python(script: string, ...args: string[]): string {
  const result = spawnSync('python3', ['-c', script, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return result.stdout;
}

/** One array of every dtype, with edge values, for round trips. */
export function everyDtype(): Record<string, NdArray> {
  return {
    f4: { dtype: 'float32', shape: [2, 3], data: new Float32Array([0, -0, NaN, Infinity, -Infinity, 1.5]) },
    f8: { dtype: 'float64', shape: [2, 3, 4], data: Float64Array.from({ length: 24 }, (_, i) => i / 7 - 1) },
    u1: { dtype: 'uint8', shape: [5], data: new Uint8Array([0, 1, 127, 128, 255]) },
    i4: { dtype: 'int32', shape: [], data: new Int32Array([-2147483648]) },
    i8: { dtype: 'int64', shape: [5], data: new BigInt64Array([-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n]) },
    b1: { dtype: 'bool', shape: [2, 2], data: new Uint8Array([1, 0, 0, 1]) },
    empty: { dtype: 'float32', shape: [0], data: new Float32Array(0) },
  };
}

export function bytesOf(array: NdArray): Uint8Array {
  return new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
}

/** A .npy file with the given header text (padded like NumPy's) and data bytes. */
export function npyWith(header: string, data: Uint8Array = new Uint8Array(0), major = 1): Uint8Array {
  const preamble = major === 1 ? 10 : 12;
  const text = Buffer.from(header.padEnd(Math.ceil((preamble + header.length + 1) / 64) * 64 - preamble - 1) + '\n', major === 3 ? 'utf8' : 'latin1');
  const head = Buffer.alloc(preamble);
  Buffer.from('\x93NUMPY', 'latin1').copy(head);
  head[6] = major;
  if (major === 1) head.writeUInt16LE(text.length, 8);
  else head.writeUInt32LE(text.length, 8);
  return new Uint8Array(Buffer.concat([head, text, data]));
}

/** The DataError `run` throws, checked to be one line. */
export function dataErrorOf(run: () => unknown): DataError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).not.toContain('\n');
    return error as DataError;
  }
  throw new Error('expected a DataError');
}

export function dataErrorMessage(run: () => unknown): string {
  return dataErrorOf(run).message;
}
