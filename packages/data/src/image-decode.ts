// Decoding one PNG or JPEG to 8-bit pixels with sharp (libvips). sharp is imported on first use,
// so reading .npy files never loads the native library or fails where its binary is missing.
import { stat } from 'node:fs/promises';

import type SharpFunction from 'sharp';
import type { Metadata } from 'sharp';

import { DataError } from './errors.js';

export type Sharp = typeof SharpFunction;

let sharpModule: Promise<Sharp> | undefined;

/** sharp itself; where its binary cannot load, sharp's own error (which lists the fixes) is thrown. */
export function loadSharp(): Promise<Sharp> {
  sharpModule ??= import('sharp').then((module) => module.default);
  return sharpModule;
}

export interface ImageHeader {
  height: number;
  width: number;
  /** Stored with one colour channel (a greyscale PNG, a single-component JPEG), alpha aside. */
  greyscale: boolean;
}

/** Size and colour of an image, from its header alone. */
export async function readHeader(sharp: Sharp, file: string): Promise<ImageHeader> {
  let metadata: Metadata;
  try {
    metadata = await sharp(file).metadata();
  } catch (error) {
    throw await undecodable(file, error);
  }
  const { format, height, width, channels, hasAlpha } = metadata;
  // libvips would decode WebP, GIF, SVG and more, going by content rather than name.
  if (format !== 'png' && format !== 'jpeg') throw new DataError(file, `is a ${format} image, not PNG or JPEG; convert it to PNG or remove it`);
  return { height, width, greyscale: channels - (hasAlpha ? 1 : 0) === 1 };
}

export interface PixelLayout {
  height: number;
  width: number;
  channels: 1 | 3;
}

/**
 * The image's 8-bit pixels, interleaved (HWC), RGB or grey as `to` asks, resized to `to` only
 * when its size differs: stretched to fit (the aspect ratio is not kept), with sharp's default
 * Lanczos-3 kernel. Alpha is dropped, 16-bit samples become 8-bit and EXIF orientation is not
 * applied, all as PIL (and so torchvision) loads images.
 */
export async function decodeImage(sharp: Sharp, file: string, header: ImageHeader, to: PixelLayout): Promise<Uint8Array> {
  let pipeline = sharp(file).removeAlpha();
  if (header.height !== to.height || header.width !== to.width) pipeline = pipeline.resize(to.width, to.height, { fit: 'fill' });
  let decoded: { data: Buffer; info: { channels: number; height: number; width: number } };
  try {
    decoded = await pipeline.toColourspace(header.greyscale ? 'b-w' : 'srgb').raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw await undecodable(file, error);
  }
  const { data, info } = decoded;
  if (info.height !== to.height || info.width !== to.width || info.channels !== (header.greyscale ? 1 : 3)) {
    throw new DataError(file, `decoded to ${info.height}x${info.width}x${info.channels}, not the ${to.height}x${to.width} its header promised; the image is malformed, re-export it`);
  }
  if (header.greyscale) return to.channels === 1 ? data : greyToRgb(data);
  return to.channels === 3 ? data : rgbToGrey(data);
}

function greyToRgb(grey: Uint8Array): Uint8Array {
  const rgb = new Uint8Array(grey.length * 3);
  grey.forEach((value, i) => rgb.fill(value, i * 3, i * 3 + 3));
  return rgb;
}

/**
 * PIL's convert('L'): ITU-R 601 luma on the 8-bit values, 0.299 R + 0.587 G + 0.114 B, in its
 * exact fixed point. libvips's own greyscale weighs linear light instead (pure red gives 127,
 * not 76), which would not match models trained on torchvision's Grayscale.
 */
function rgbToGrey(rgb: Uint8Array): Uint8Array {
  const grey = new Uint8Array(rgb.length / 3);
  for (let i = 0; i < grey.length; i++) grey[i] = (rgb[3 * i] * 19595 + rgb[3 * i + 1] * 38470 + rgb[3 * i + 2] * 7471 + 0x8000) >> 16;
  return grey;
}

async function undecodable(file: string, error: unknown): Promise<DataError> {
  const size = await stat(file).then(
    (stats) => stats.size,
    () => undefined,
  );
  if (size === 0) return new DataError(file, 'is empty (0 bytes); remove it or replace it with the image');
  // libvips stacks one line per complaint, often repeated (also at the end of an earlier line), some ending in a colon.
  const complaints: string[] = [];
  for (const line of (error instanceof Error ? error.message : String(error)).split('\n')) {
    const complaint = line.trim().replace(/:$/, '');
    if (complaint !== '' && !complaints.some((earlier) => earlier.endsWith(complaint))) complaints.push(complaint);
  }
  const why = complaints.join(', ');
  return new DataError(file, `cannot be decoded (${why}); the image is corrupt or truncated, re-export or remove it`);
}
