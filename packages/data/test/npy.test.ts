import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { parseNpy, readNpy, serializeNpy, writeNpy, type NdArray } from '../src/index.js';
import { bytesOf, dataErrorOf as errorOf, everyDtype, fixture, hasNumpy, npyWith, python, tempDir } from './helpers.js';

const I64 = [-(2n ** 63n), -1n, 0n, 1n, 2n ** 63n - 1n];

describe('parseNpy on files NumPy wrote', () => {
  const cases: [string, NdArray['dtype'], number[], unknown[]][] = [
    ['f4_2x3.npy', 'float32', [2, 3], [-1, -0.5, 0, 0.5, 1, 1.5]],
    ['f4_special.npy', 'float32', [5], [0, -0, NaN, Infinity, -Infinity]],
    ['f8_2x3x4.npy', 'float64', [2, 3, 4], Array.from({ length: 24 }, (_, i) => i / 8)],
    ['u1_5.npy', 'uint8', [5], [0, 1, 127, 128, 255]],
    ['i4_2x3.npy', 'int32', [2, 3], [-2147483648, -1, 0, 1, 2, 2147483647]],
    ['i8_5.npy', 'int64', [5], I64],
    ['b1_2x2.npy', 'bool', [2, 2], [1, 0, 0, 1]],
    ['f4_scalar.npy', 'float32', [], [3.5]],
    ['f8_empty.npy', 'float64', [0], []],
    ['i4_2x0.npy', 'int32', [2, 0], []],
    ['be_f4.npy', 'float32', [5], [-2, -1, 0, 1, 2]],
    ['be_f8.npy', 'float64', [2, 3], [0, 0.25, 0.5, 0.75, 1, 1.25]],
    ['be_i4.npy', 'int32', [5], [-2147483648, -1, 0, 1, 2147483647]],
    ['be_i8.npy', 'int64', [5], I64],
    ['v2_f4_2x3.npy', 'float32', [2, 3], [-1, -0.5, 0, 0.5, 1, 1.5]],
    ['v3_f4_2x3.npy', 'float32', [2, 3], [-1, -0.5, 0, 0.5, 1, 1.5]],
  ];

  it.each(cases)('reads %s', (name, dtype, shape, values) => {
    const array = parseNpy(fixture(name), name);
    expect(array.dtype).toBe(dtype);
    expect(array.shape).toEqual(shape);
    expect(Array.from(array.data as ArrayLike<unknown>)).toEqual(values);
    expect(array.data.byteOffset).toBe(0);
  });

  it('writes exactly the bytes np.save wrote for little-endian format 1.0 arrays', () => {
    const written = cases.filter(([name]) => !/^(be|v2|v3)_/.test(name));
    for (const [name] of written) expect(Buffer.from(serializeNpy(parseNpy(fixture(name))))).toEqual(Buffer.from(fixture(name)));
  });

  it('reads from an unaligned offset into an aligned copy', () => {
    const bytes = fixture('f8_2x3x4.npy');
    const shifted = new Uint8Array(bytes.length + 3);
    shifted.set(bytes, 3);
    const array = parseNpy(shifted.subarray(3));
    expect(array.data).toBeInstanceOf(Float64Array);
    expect(array.data[5]).toBe(5 / 8);
    shifted.fill(0);
    expect(array.data[5]).toBe(5 / 8);
  });
});

describe('serializeNpy and parseNpy round trips', () => {
  it.each(Object.entries(everyDtype()))('round-trips %s', (_, array) => {
    const bytes = serializeNpy(array);
    expect(bytes.length % 64).toBe(array.data.byteLength % 64);
    const back = parseNpy(bytes);
    expect(back.dtype).toBe(array.dtype);
    expect(back.shape).toEqual(array.shape);
    expect(Buffer.from(bytesOf(back))).toEqual(Buffer.from(bytesOf(array)));
  });

  it.each([[[]], [[0]], [[5]], [[2, 3, 4]], [[3, 0, 2]]])('round-trips shape %j', (shape) => {
    const count = shape.reduce((a, b) => a * b, 1);
    const array: NdArray = { dtype: 'int32', shape, data: Int32Array.from({ length: count }, (_, i) => i * 7 - 3) };
    expect(parseNpy(serializeNpy(array))).toEqual(array);
  });

  it('writes 0/1 for bool data holding other non-zero bytes', () => {
    const back = parseNpy(serializeNpy({ dtype: 'bool', shape: [3], data: new Uint8Array([0, 7, 255]) }));
    expect(Array.from(back.data as Uint8Array)).toEqual([0, 1, 1]);
  });

  it('switches to format 2.0 when the header outgrows 65535 bytes', () => {
    const shape = new Array<number>(25_000).fill(1);
    const bytes = serializeNpy({ dtype: 'float64', shape, data: new Float64Array([2.5]) });
    expect([bytes[6], bytes[7]]).toEqual([2, 0]);
    expect(new DataView(bytes.buffer).getUint32(8, true)).toBeGreaterThan(0xffff);
    expect((bytes.length - 8) % 64).toBe(0);
    const back = parseNpy(bytes);
    expect(back.shape.length).toBe(25_000);
    expect(back.data[0]).toBe(2.5);
  });

  it('accepts header spellings NumPy reads', () => {
    const four = new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer);
    const spellings = [
      `{"descr": "<f4", "fortran_order": False, "shape": (4,)}`,
      `{ 'shape' : ( 2 , 2 , ) ,'fortran_order':False,'descr':'<f4' , }`,
      `{'descr': '<f4',\n 'fortran_order': False,\n 'shape': (4L,), }`,
    ];
    for (const header of spellings) expect(Array.from(parseNpy(npyWith(header, four)).data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect(parseNpy(npyWith(`{'descr': '|u1', 'fortran_order': False, 'shape': (), }`, new Uint8Array([9]), 3)).data[0]).toBe(9);
  });
});

describe('parseNpy errors', () => {
  const f4 = fixture('f4_2x3.npy');

  it('rejects an empty file', () => {
    expect(errorOf(() => parseNpy(new Uint8Array(0), 'x.npy')).message).toBe('x.npy: file is empty (0 bytes); re-save the array with np.save');
  });

  it('rejects truncated data, naming expected and actual byte counts', () => {
    expect(errorOf(() => parseNpy(f4.subarray(0, f4.length - 5), 'x.npy')).message).toBe(
      'x.npy: file is truncated: shape (2, 3) of float32 needs 24 data bytes but the file has 19; re-save the array with np.save',
    );
    expect(errorOf(() => parseNpy(new Uint8Array([...f4, 0]), 'x.npy')).message).toMatch(/^x\.npy: file has bytes after the array data: .* needs 24 data bytes but the file has 25;/);
  });

  it('rejects a truncated header or preamble', () => {
    expect(errorOf(() => parseNpy(f4.subarray(0, 50), 'x.npy')).message).toBe('x.npy: file is truncated: its header needs 128 bytes but the file has 50; re-save the array with np.save');
    expect(errorOf(() => parseNpy(f4.subarray(0, 8), 'x.npy')).message).toMatch(/^x\.npy: file is truncated: 8 bytes, fewer than the 10 of a \.npy preamble;/);
  });

  it('rejects bad magic, naming .npz files for what they are', () => {
    expect(errorOf(() => parseNpy(new TextEncoder().encode('hello world'), 'x.npy')).message).toBe(
      'x.npy: not a .npy file (it does not start with the \\x93NUMPY magic string); re-save the array with np.save',
    );
    expect(errorOf(() => parseNpy(fixture('savez.npz'), 'x.npy')).message).toBe('x.npy: file is a zip archive (.npz), not a .npy file; read it with readNpz');
  });

  it('rejects unknown format versions', () => {
    const v4 = f4.slice();
    v4[6] = 4;
    expect(errorOf(() => parseNpy(v4, 'x.npy')).message).toMatch(/^x\.npy: \.npy format version 4\.0 is not supported \(1\.0, 2\.0 and 3\.0 are\)/);
  });

  it('rejects Fortran order, object and unsupported dtypes with what to do', () => {
    expect(errorOf(() => parseNpy(fixture('fortran.npy'), 'f.npy')).message).toBe('f.npy: array is in Fortran order; save it with np.ascontiguousarray(a) so it is in C order');
    expect(errorOf(() => parseNpy(fixture('object.npy'), 'o.npy')).message).toBe(
      'o.npy: array holds Python objects (dtype |O), which cannot be read without pickle; save a numeric array',
    );
    expect(errorOf(() => parseNpy(fixture('f2.npy'), 'h.npy')).message).toMatch(/^h\.npy: dtype '<f2' is not supported \(float32 <f4, .*\); convert it first, e\.g\. np\.save\(path, a\.astype\(np\.float32\)\)$/);
    expect(errorOf(() => parseNpy(fixture('structured.npy'), 's.npy')).message).toMatch(/^s\.npy: array has a structured dtype, which is not supported .*; save each field as its own array$/);
    expect(errorOf(() => parseNpy(npyWith(`{'descr': '|f4', 'fortran_order': False, 'shape': (0,), }`))).message).toMatch(/^dtype '\|f4' is not supported/);
  });

  it('rejects malformed headers, quoting them', () => {
    const bad: [string, RegExp][] = [
      [`{'descr': '<f4', 'fortran_order': False}`, /its keys are 'descr', 'fortran_order', not 'descr', 'fortran_order', 'shape'/],
      [`{'descr': '<f4', 'fortran_order': False, 'shape': (0,), 'x': 1}`, /its keys are/],
      [`{'descr': '<f4', 'fortran_order': False, 'shape': (0)}`, /shape is not a tuple/],
      [`{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}`, /non-negative integer/],
      [`{'descr': '<f4', 'fortran_order': 0, 'shape': (0,)}`, /fortran_order is not True or False/],
      [`{'descr': '<f4', 'fortran_order': False, 'shape': (0,)`, /expected ',' or '}' but found the end/],
      [`{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (0,)}`, /key 'descr' appears twice/],
      [`['descr']`, /it is not a dict/],
      [`{'descr': '<f4', 'fortran_order': False, 'shape': (1.5,)}`, /a separator after 1/],
    ];
    for (const [header, why] of bad) {
      const message = errorOf(() => parseNpy(npyWith(header), 'x.npy')).message;
      expect(message).toMatch(/^x\.npy: bad \.npy header \(/);
      expect(message).toMatch(why);
      expect(message).toMatch(/; re-save the array with np\.save$/);
    }
  });
});

describe('serializeNpy errors', () => {
  it('rejects data of the wrong type, a mismatched shape and unknown dtypes', () => {
    expect(errorOf(() => serializeNpy({ dtype: 'float32', shape: [2], data: new Float64Array(2) }, 'a.npy')).message).toBe(
      'a.npy: dtype float32 needs its data in a Float32Array, not a Float64Array; convert it, e.g. Float32Array.from(data)',
    );
    expect(errorOf(() => serializeNpy({ dtype: 'int32', shape: [2, 2], data: new Int32Array(3) })).message).toBe(
      'shape (2, 2) holds 4 elements but the data has 3; make the shape match the data',
    );
    expect(errorOf(() => serializeNpy({ dtype: 'int32', shape: [1.5], data: new Int32Array(1) })).message).toMatch(/^shape \[1\.5\] is not a list of non-negative integers/);
    const f16 = { dtype: 'float16', shape: [0], data: new Uint8Array(0) } as unknown as NdArray;
    expect(errorOf(() => serializeNpy(f16)).message).toMatch(/^dtype 'float16' is not supported/);
  });
});

describe('readNpy and writeNpy', () => {
  it('writes atomically, replacing the file and leaving no temporary file', async () => {
    const dir = tempDir();
    const path = join(dir, 'a.npy');
    writeFileSync(path, 'old');
    await writeNpy(path, everyDtype().f8);
    expect(readdirSync(dir)).toEqual(['a.npy']);
    expect(await readNpy(path)).toEqual(everyDtype().f8);
  });

  it('names the file in errors', async () => {
    const path = join(tempDir(), 'cut.npy');
    writeFileSync(path, fixture('f4_2x3.npy').subarray(0, 140));
    await expect(readNpy(path)).rejects.toThrow(`${path}: file is truncated: shape (2, 3) of float32 needs 24 data bytes but the file has 12;`);
  });

  it('removes the temporary file when the rename fails', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'taken'));
    await expect(writeNpy(join(dir, 'taken'), everyDtype().u1)).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST|EPERM/);
    expect(readdirSync(dir)).toEqual(['taken']);
  });

  it.skipIf(!hasNumpy)('writes files NumPy loads with the same dtype, shape and bytes', async () => {
    const dir = tempDir();
    const arrays = everyDtype();
    for (const [name, array] of Object.entries(arrays)) await writeNpy(join(dir, `${name}.npy`), array);
    const script = `
import json, sys, numpy as np, pathlib
out = {}
for p in sorted(pathlib.Path(sys.argv[1]).glob('*.npy')):
    a = np.load(p)
    out[p.stem] = [a.dtype.str, list(a.shape), a.tobytes().hex()]
print(json.dumps(out))`;
    const loaded = JSON.parse(python(script, dir)) as Record<string, [string, number[], string]>;
    const descr = { float32: '<f4', float64: '<f8', uint8: '|u1', int32: '<i4', int64: '<i8', bool: '|b1' };
    for (const [name, array] of Object.entries(arrays)) {
      expect(loaded[name]).toEqual([descr[array.dtype], array.shape, Buffer.from(bytesOf(array)).toString('hex')]);
    }
    // And the bytes match what np.save writes for the same array.
    const resaved = python(`import numpy as np, sys, io; b = io.BytesIO(); np.save(b, np.load(sys.argv[1])); print(b.getvalue().hex())`, join(dir, 'f8.npy'));
    expect(resaved.trim()).toBe(Buffer.from(readFileSync(join(dir, 'f8.npy'))).toString('hex'));
  });
});
