import { crc32, inflateSync } from 'node:zlib';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { encodePng } from '../src/png.js';
import { seeded } from './fixture.js';

/** Splits a PNG into chunks, checking each CRC with node:zlib's (independent) crc32. */
function chunks(png: Uint8Array): { type: string; data: Buffer }[] {
  const buf = Buffer.from(png);
  const out: { type: string; data: Buffer }[] = [];
  for (let at = 8; at < buf.length; ) {
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + length);
    expect(buf.readUInt32BE(at + 8 + length), `CRC of ${type}`).toBe(crc32(buf.subarray(at + 4, at + 8 + length)));
    out.push({ type, data });
    at += 12 + length;
  }
  return out;
}

function image(width: number, height: number, channels: number, seed: number): Float64Array {
  const random = seeded(seed);
  // Values outside [0,1] are clamped by the encoder; include them on purpose.
  return Float64Array.from({ length: width * height * channels }, () => 1.2 * random() - 0.1);
}

const expected = (v: number): number => Math.round(Math.min(1, Math.max(0, v)) * 255);

describe('encodePng', () => {
  for (const [channels, colorType] of [[1, 0], [3, 2]] as const) {
    it(`${channels === 1 ? 'gray' : 'RGB'}: signature, IHDR, and values decoded by sharp`, async () => {
      const [width, height] = [7, 5];
      const values = image(width, height, channels, channels);
      const png = encodePng(values, width, height, channels);
      expect([...png.subarray(0, 8)]).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
      const parts = chunks(png);
      expect(parts.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
      const ihdr = parts[0]!.data;
      expect([ihdr.readUInt32BE(0), ihdr.readUInt32BE(4), ...ihdr.subarray(8)]).toEqual([width, height, 8, colorType, 0, 0, 0]);
      expect(inflateSync(parts[1]!.data).length).toBe(height * (1 + width * channels));

      expect((await sharp(Buffer.from(png)).metadata()).channels).toBe(channels);
      // sharp widens gray to sRGB unless told to stay in single-channel 'b-w'.
      const decoder = channels === 1 ? sharp(Buffer.from(png)).toColourspace('b-w') : sharp(Buffer.from(png));
      const { data, info } = await decoder.raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([width, height, channels]);
      expect([...data]).toEqual([...values].map(expected));
    });
  }

  it('refuses a size that does not match the values', () => {
    expect(() => encodePng(new Float64Array(10), 3, 3, 1)).toThrow(RangeError);
    expect(() => encodePng(new Float64Array(0), 0, 1, 1)).toThrow(/positive integers/);
    expect(() => encodePng(new Float64Array(4), 2, 2, 2 as 1)).toThrow(/channels/);
  });
});
