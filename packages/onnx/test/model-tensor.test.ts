import { create } from '@bufbuild/protobuf';
import { TensorProto_DataType as DT, TensorProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { encodeModel, float16ToFloat32, float32ToFloat16, ModelError, tensorFromArray, tensorToArray, tensorValueInfo } from '@onnx-audit/onnx';

import { model, node } from './fixtures/models.js';

describe('tensorFromArray ↔ tensorToArray', () => {
  const cases = [
    Float32Array.of(1.5, -2, 3e-8),
    Float64Array.of(Math.PI, -1e300),
    BigInt64Array.of(-(2n ** 62n), 7n),
    Int32Array.of(-(2 ** 31), 5),
    Int8Array.of(-128, 127),
    Uint8Array.of(0, 255),
  ];
  for (const data of cases) {
    it(`round-trips ${data.constructor.name}`, () => {
      const t = tensorFromArray('t', [1, data.length], data);
      expect(t.dims).toEqual([1n, BigInt(data.length)]);
      expect(tensorToArray(t)).toEqual(data);
    });
  }

  it('stores BOOL from a Uint8Array when asked', () => {
    const t = tensorFromArray('mask', [3], Uint8Array.of(1, 0, 1), DT.BOOL);
    expect(t.dataType).toBe(DT.BOOL);
    expect(tensorToArray(t)).toEqual(Uint8Array.of(1, 0, 1));
  });

  it('reads raw_data at an unaligned offset without aliasing it', () => {
    const values = Float32Array.of(1, 2, 3);
    const buffer = new Uint8Array(13);
    buffer.set(new Uint8Array(values.buffer), 1);
    const t = create(TensorProtoSchema, { name: 'u', dims: [3n], dataType: DT.FLOAT, rawData: buffer.subarray(1) });
    const read = tensorToArray(t) as Float32Array;
    expect(read).toEqual(values);
    read[0] = 99;
    expect(tensorToArray(t)).toEqual(values);
  });

  it('reads the typed fields', () => {
    const t = (dataType: number, fields: object) => tensorToArray(create(TensorProtoSchema, { name: 't', dims: [2n], dataType, ...fields }));
    expect(t(DT.FLOAT, { floatData: [0.5, -1] })).toEqual(Float32Array.of(0.5, -1));
    expect(t(DT.DOUBLE, { doubleData: [0.1, 2] })).toEqual(Float64Array.of(0.1, 2));
    expect(t(DT.INT64, { int64Data: [3n, -4n] })).toEqual(BigInt64Array.of(3n, -4n));
    expect(t(DT.INT32, { int32Data: [3, -4] })).toEqual(Int32Array.of(3, -4));
    expect(t(DT.INT8, { int32Data: [-3, 4] })).toEqual(Int8Array.of(-3, 4));
    expect(t(DT.UINT8, { int32Data: [200, 4] })).toEqual(Uint8Array.of(200, 4));
    expect(t(DT.BOOL, { int32Data: [0, 1] })).toEqual(Uint8Array.of(0, 1));
  });

  it('reads a scalar and an empty tensor', () => {
    expect(tensorToArray(tensorFromArray('s', [], Float32Array.of(4)))).toEqual(Float32Array.of(4));
    expect(tensorToArray(tensorFromArray('e', [0, 3], new Float32Array(0)))).toEqual(new Float32Array(0));
  });

  it('refuses data that does not fit the dims, and unsupported types', () => {
    const short = create(TensorProtoSchema, { name: 'w', dims: [2n, 2n], dataType: DT.FLOAT, rawData: new Uint8Array(12) });
    expect(() => tensorToArray(short)).toThrow(/^tensor 'w' holds 12 bytes of raw_data but dims \[2,2\] of float32 need 16/);
    const typed = create(TensorProtoSchema, { name: 'w', dims: [3n], dataType: DT.FLOAT, floatData: [1] });
    expect(() => tensorToArray(typed)).toThrow(/holds 1 values but dims \[3\] need 3/);
    const strings = create(TensorProtoSchema, { name: 's', dims: [1n], dataType: DT.STRING });
    expect(() => tensorToArray(strings)).toThrow(ModelError);
    expect(() => tensorFromArray('x', [2], Float32Array.of(1))).toThrow(/dims \[2\] hold 2 values but the array has 1/);
    expect(() => tensorFromArray('x', [1], Int32Array.of(1), DT.BOOL)).toThrow(/cannot store Int32Array values as bool/);
  });
});

describe('FLOAT16', () => {
  it('decodes bit patterns, including subnormals, infinities and NaN', () => {
    const bits = Uint16Array.of(0x3c00, 0xc000, 0x3555, 0x7bff, 0x0001, 0x03ff, 0x8000, 0x7c00, 0xfc00, 0x7e00);
    const f = float16ToFloat32(bits);
    expect(Array.from(f.subarray(0, 9))).toEqual([1, -2, 0.333251953125, 65504, 2 ** -24, 1023 * 2 ** -24, -0, Infinity, -Infinity]);
    expect(f[9]).toBeNaN();
  });

  it('encodes with round-to-nearest-even, overflow to infinity and underflow to zero', () => {
    const values = Float32Array.of(1, 0.1, 65504, 65520, 1e6, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 2 ** -26, -3, 1 + 2 ** -11, 1 + 3 * 2 ** -11);
    expect(Array.from(float32ToFloat16(values))).toEqual([0x3c00, 0x2e66, 0x7bff, 0x7c00, 0x7c00, 0x0001, 0x0000, 0x0001, 0x0000, 0xc200, 0x3c00, 0x3c02]);
    expect(Array.from(float16ToFloat32(float32ToFloat16(Float32Array.of(NaN))))[0]).toBeNaN();
  });

  it('reads FLOAT16 from raw_data and int32_data into a Float32Array', () => {
    const raw = tensorFromArray('h', [3], Float32Array.of(0.5, -1.25, 0.1), DT.FLOAT16);
    expect(raw.rawData.length).toBe(6);
    expect(tensorToArray(raw)).toEqual(Float32Array.of(0.5, -1.25, 0.0999755859375));
    const typed = create(TensorProtoSchema, { name: 'h', dims: [2n], dataType: DT.FLOAT16, int32Data: [0x3c00, 0xbc00] });
    expect(tensorToArray(typed)).toEqual(Float32Array.of(1, -1));
  });

  it('agrees with ONNX Runtime casting the same FLOAT16 initializer', async () => {
    const values = Float32Array.of(0.1, -7.3, 1e-6, 3000.7, 65504);
    const m = model({
      node: [node('Cast', 'cast', ['H'], ['Y'], { to: DT.FLOAT })],
      initializer: [tensorFromArray('H', [5], values, DT.FLOAT16)],
      input: [],
      output: [tensorValueInfo('Y', [5])],
    });
    const session = await ort.InferenceSession.create(encodeModel(m));
    const out = await session.run({});
    await session.release();
    expect(out.Y.data).toEqual(tensorToArray(m.graph!.initializer[0]));
  });
});
