// The images are written by sharp inside the tests: PNG is lossless, so decoded pixels are checked
// exactly; JPEG within a tolerance.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { DataError, readImageFolder, type ImageFolderOptions } from '../src/index.js';
import { tempDir } from './helpers.js';

/** Interleaved 8-bit pixels (HWC), as sharp takes and gives them. */
interface Pixels {
  height: number;
  width: number;
  channels: 1 | 3 | 4;
  data: Uint8Array;
}

const RGB_2X3: Pixels = {
  height: 2,
  width: 3,
  channels: 3,
  data: new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 128, 128, 128, 1, 2, 254]),
};
const GREY_2X3: Pixels = { height: 2, width: 3, channels: 1, data: new Uint8Array([0, 50, 100, 150, 200, 255]) };

/** A smooth gradient, which JPEG keeps close. */
function gradient(height: number, width: number): Pixels {
  const data = new Uint8Array(height * width * 3);
  for (let i = 0; i < height * width; i++) data.set([(i % width) * 8, Math.floor(i / width) * 8, 128], i * 3);
  return { height, width, channels: 3, data };
}

function uniform(height: number, width: number, value: number): Pixels {
  return { height, width, channels: 3, data: new Uint8Array(height * width * 3).fill(value) };
}

async function writeImage(path: string, { height, width, channels, data }: Pixels): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  let image = sharp(data, { raw: { height, width, channels } });
  if (channels === 1) image = image.toColourspace('b-w'); // sharp writes sRGB otherwise
  await image.toFile(path);
}

/** `root` with each of `files` (path under root → pixels) written. */
async function folder(files: Record<string, Pixels | Uint8Array | string>): Promise<string> {
  const root = tempDir();
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, name);
    if (typeof content === 'string' || content instanceof Uint8Array) {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    } else await writeImage(path, content);
  }
  return root;
}

/** HWC bytes k as the CHW floats k/255 readImageFolder gives. */
function planar({ height, width, channels, data }: Pixels): number[] {
  const out: number[] = [];
  for (let c = 0; c < channels; c++) for (let i = 0; i < height * width; i++) out.push(Math.fround(data[i * channels + c] / 255));
  return out;
}

function sample(x: Float32Array, shape: number[], n: number): number[] {
  const size = shape[1] * shape[2] * shape[3];
  return Array.from(x.subarray(n * size, (n + 1) * size));
}

async function imageError(root: string, options?: ImageFolderOptions): Promise<string> {
  const error: unknown = await readImageFolder(root, options).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(DataError);
  expect((error as Error).message).not.toContain('\n');
  return (error as Error).message;
}

describe('readImageFolder on PNG', () => {
  it('reads classes in sorted order and files by name, NCHW RGB at k/255, exactly', async () => {
    const flipped: Pixels = { ...RGB_2X3, data: RGB_2X3.data.slice().reverse() };
    const root = await folder({ 'dog/b.png': RGB_2X3, 'dog/a.png': flipped, 'cat/z.png': RGB_2X3 });
    const data = await readImageFolder(root);
    expect(data.shape).toEqual([3, 3, 2, 3]);
    expect(data.classNames).toEqual(['cat', 'dog']);
    expect(data.classes).toBe(2);
    expect(Array.from(data.y)).toEqual([0, 1, 1]);
    expect(sample(data.x, data.shape, 0)).toEqual(planar(RGB_2X3));
    expect(sample(data.x, data.shape, 1)).toEqual(planar(flipped));
    expect(sample(data.x, data.shape, 2)).toEqual(planar(RGB_2X3));
    expect(data.source).toBe(`images:${root} (sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips})`);
  });

  it('skips other extensions, hidden entries, loose files and nested folders', async () => {
    const root = await folder({
      'a/one.png': RGB_2X3,
      'a/notes.txt': 'not an image',
      'a/.hidden.png': 'not an image either',
      'a/deeper/two.png': RGB_2X3,
      '.ipynb_checkpoints/three.png': RGB_2X3,
      'b/FOUR.PNG': RGB_2X3,
      'loose.png': RGB_2X3,
    });
    const data = await readImageFolder(root);
    expect(data.classNames).toEqual(['a', 'b']);
    expect(Array.from(data.y)).toEqual([0, 1]);
  });

  it('gives one channel when every image is greyscale', async () => {
    const root = await folder({ 'a/1.png': GREY_2X3, 'b/1.png': GREY_2X3 });
    const data = await readImageFolder(root);
    expect(data.shape).toEqual([2, 1, 2, 3]);
    expect(sample(data.x, data.shape, 1)).toEqual(planar(GREY_2X3));
  });

  it('gives three channels when any image has colour, repeating grey values', async () => {
    const root = await folder({ 'a/grey.png': GREY_2X3, 'b/rgb.png': RGB_2X3 });
    const data = await readImageFolder(root);
    expect(data.shape).toEqual([2, 3, 2, 3]);
    const grey = planar(GREY_2X3);
    expect(sample(data.x, data.shape, 0)).toEqual([...grey, ...grey, ...grey]);
  });

  it("turns colour into grey with PIL's convert('L') weights when asked for one channel", async () => {
    const root = await folder({ 'a/rgb.png': RGB_2X3, 'b/grey.png': GREY_2X3 });
    const data = await readImageFolder(root, { channels: 1 });
    expect(data.shape).toEqual([2, 1, 2, 3]);
    const luma = [76, 150, 29, 18, 128, 30]; // (299 R + 587 G + 114 B) / 1000, rounded
    expect(sample(data.x, data.shape, 0)).toEqual(luma.map((k) => Math.fround(k / 255)));
    expect(sample(data.x, data.shape, 1)).toEqual(planar(GREY_2X3));
  });

  it('drops alpha without blending and reduces 16-bit samples to 8 bits', async () => {
    const rgba: Pixels = { height: 1, width: 2, channels: 4, data: new Uint8Array([200, 100, 50, 0, 1, 2, 3, 128]) };
    const root = await folder({ 'a/rgba.png': rgba });
    const grey16 = await sharp(new Uint16Array([0, 65535]), { raw: { height: 1, width: 2, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    writeFileSync(join(root, 'a', 'grey16.png'), grey16);
    const data = await readImageFolder(root);
    expect(data.shape).toEqual([2, 3, 1, 2]);
    expect(sample(data.x, data.shape, 0)).toEqual([0, 1, 0, 1, 0, 1]);
    expect(sample(data.x, data.shape, 1)).toEqual([200, 1, 100, 2, 50, 3].map((k) => Math.fround(k / 255)));
  });
});

describe('readImageFolder on JPEG', () => {
  it('decodes .jpg and .jpeg within a few levels of what was written', async () => {
    const image = gradient(16, 16);
    const root = await folder({ 'a/1.jpg': image, 'b/2.JPEG': image });
    const data = await readImageFolder(root);
    expect(data.shape).toEqual([2, 3, 16, 16]);
    const expected = planar(image);
    for (const n of [0, 1]) {
      const worst = Math.max(...sample(data.x, data.shape, n).map((v, i) => Math.abs(v - expected[i])));
      expect(worst).toBeLessThanOrEqual(8 / 255);
    }
  });
});

describe('readImageFolder resizing', () => {
  it('resizes every image to size, stretching it', async () => {
    const root = await folder({ 'a/small.png': uniform(2, 2, 77), 'b/wide.png': uniform(3, 9, 200) });
    const data = await readImageFolder(root, { size: [4, 5] });
    expect(data.shape).toEqual([2, 3, 4, 5]);
    expect(new Set(sample(data.x, data.shape, 0))).toEqual(new Set([Math.fround(77 / 255)]));
    expect(new Set(sample(data.x, data.shape, 1))).toEqual(new Set([Math.fround(200 / 255)]));
    expect(data.source).toMatch(/, resized to 4x5\)$/);
  });

  it('leaves images already at size untouched', async () => {
    const root = await folder({ 'a/1.png': RGB_2X3, 'b/1.png': uniform(4, 4, 9) });
    const data = await readImageFolder(root, { size: [2, 3] });
    expect(sample(data.x, data.shape, 0)).toEqual(planar(RGB_2X3));
  });
});

describe('readImageFolder on bad folders: one message each', () => {
  it('names two files of different sizes and says to pass a size', async () => {
    const root = `${await folder({ 'a/1.png': RGB_2X3, 'a/2.png': RGB_2X3, 'b/3.png': uniform(4, 5, 0) })}/`;
    expect(await imageError(root)).toBe(
      `${root}: ${join('a', '1.png')} is 2x3 but ${join('b', '3.png')} is 4x5 (height x width); pass size: [height, width] (--resize HxW) to resize every image to one size`,
    );
  });

  it('refuses a folder without class folders', async () => {
    const root = await folder({ 'loose.png': RGB_2X3 });
    expect(await imageError(root)).toBe(`${root}: has no class folders; expected root/<class>/<image>.png or .jpg, one folder per class`);
  });

  it('refuses a class folder without images', async () => {
    const root = await folder({ 'a/1.png': RGB_2X3, 'b/readme.txt': 'x' });
    expect(await imageError(root)).toBe(`${join(root, 'b')}: has no .png or .jpg images, so class 'b' would have no samples; add images or remove the folder`);
  });

  it('refuses an empty image file', async () => {
    const root = await folder({ 'a/1.png': RGB_2X3, 'a/2.png': '' });
    expect(await imageError(root)).toBe(`${join(root, 'a', '2.png')}: is empty (0 bytes); remove it or replace it with the image`);
  });

  const CORRUPT = 'the image is corrupt or truncated, re-export or remove it';

  it('refuses a file that is not an image', async () => {
    const root = await folder({ 'a/1.jpg': 'text with a .jpg name' });
    expect(await imageError(root)).toBe(`${join(root, 'a', '1.jpg')}: cannot be decoded (Input file contains unsupported image format); ${CORRUPT}`);
  });

  it('refuses other formats, whatever their name', async () => {
    const webp = await sharp(RGB_2X3.data, { raw: { height: 2, width: 3, channels: 3 } }).webp().toBuffer();
    const root = await folder({ 'a/1.png': webp });
    expect(await imageError(root)).toBe(`${join(root, 'a', '1.png')}: is a webp image, not PNG or JPEG; convert it to PNG or remove it`);
  });

  it('refuses a PNG cut short after its header', async () => {
    const png = await sharp(gradient(16, 16).data, { raw: { height: 16, width: 16, channels: 3 } }).png().toBuffer();
    const root = await folder({ 'a/1.png': png.subarray(0, png.length - 40) });
    expect(await imageError(root)).toBe(`${join(root, 'a', '1.png')}: cannot be decoded (vipspng: libpng read error); ${CORRUPT}`);
  });

  it('refuses a PNG cut short inside its header', async () => {
    const png = await sharp(RGB_2X3.data, { raw: { height: 2, width: 3, channels: 3 } }).png().toBuffer();
    const root = await folder({ 'a/1.png': png.subarray(0, 20) });
    expect(await imageError(root)).toBe(`${join(root, 'a', '1.png')}: cannot be decoded (Input file has corrupt header); ${CORRUPT}`);
  });

  it('refuses a JPEG cut short in its pixels', async () => {
    const jpeg = await sharp(gradient(32, 32).data, { raw: { height: 32, width: 32, channels: 3 } }).jpeg().toBuffer();
    const root = await folder({ 'a/1.jpg': jpeg.subarray(0, Math.floor(jpeg.length * 0.9)) });
    expect(await imageError(root)).toBe(`${join(root, 'a', '1.jpg')}: cannot be decoded (VipsJpeg: premature end of JPEG image); ${CORRUPT}`);
  });

  it('refuses a JPEG cut short in its tables, each libvips complaint once', async () => {
    const jpeg = await sharp(gradient(32, 32).data, { raw: { height: 32, width: 32, channels: 3 } }).jpeg().toBuffer();
    const root = await folder({ 'a/1.jpg': jpeg.subarray(0, 200) });
    expect(await imageError(root)).toBe(
      `${join(root, 'a', '1.jpg')}: cannot be decoded (Input file has corrupt header: VipsJpeg: premature end of JPEG image, VipsJpeg: Bogus Huffman table definition); ${CORRUPT}`,
    );
  });

  it('names the first bad file in reading order when there are several', async () => {
    const files: Record<string, Pixels | string> = {};
    for (let i = 10; i < 40; i++) files[`a/${i}.png`] = i % 7 === 3 ? '' : RGB_2X3;
    const root = await folder(files);
    for (let run = 0; run < 3; run++) expect(await imageError(root)).toBe(`${join(root, 'a', '10.png')}: is empty (0 bytes); remove it or replace it with the image`);
  });

  it('leaves a missing folder to Node', async () => {
    await expect(readImageFolder(join(tempDir(), 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it.each<[ImageFolderOptions, string]>([
    [{ size: [0, 4] }, 'size must be [height, width], two positive integers, got [0,4]'],
    [{ size: [4] as unknown as [number, number] }, 'size must be [height, width], two positive integers, got [4]'],
    [{ channels: 4 as 3 }, 'channels must be 1 or 3, got 4'],
  ])('refuses the options %j', async (options, message) => {
    await expect(readImageFolder('unused', options)).rejects.toThrow(new RangeError(message));
  });
});
