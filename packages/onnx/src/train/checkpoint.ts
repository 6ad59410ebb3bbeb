// A training checkpoint in one file, written atomically at the end of every epoch: a JSON header
// (where training is, the settings it was started with, the history so far) followed by float32
// sections (parameters, statistics, optimizer state). Layout:
//   "OACKPT01" | u32 LE header length | header (UTF-8 JSON) | zero padding to 4 bytes | sections
import { readFile } from 'node:fs/promises';

import { writeFileAtomic } from '../atomic-write.js';
import { TrainingError } from './errors.js';

const MAGIC = 'OACKPT01';

export interface Checkpoint<Header> {
  header: Header;
  sections: Record<string, Float32Array>;
}

export async function writeCheckpoint<Header>(path: string, { header, sections }: Checkpoint<Header>): Promise<void> {
  const names = Object.keys(sections);
  const json = new TextEncoder().encode(JSON.stringify({ header, sections: names.map((name) => ({ name, length: sections[name].length })) }));
  const start = align4(MAGIC.length + 4 + json.length);
  const total = start + names.reduce((sum, name) => sum + 4 * sections[name].length, 0);
  const bytes = new Uint8Array(total);
  bytes.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(bytes.buffer).setUint32(MAGIC.length, json.length, true);
  bytes.set(json, MAGIC.length + 4);
  let offset = start;
  for (const name of names) {
    const s = sections[name];
    bytes.set(new Uint8Array(s.buffer, s.byteOffset, s.byteLength), offset);
    offset += s.byteLength;
  }
  await writeFileAtomic(path, bytes);
}

export async function readCheckpoint<Header>(path: string): Promise<Checkpoint<Header>> {
  const bytes = await readFile(path);
  const broken = (why: string) => new TrainingError(`${path} is not a usable checkpoint (${why}); delete it to start over`);
  if (bytes.length < MAGIC.length + 4 || bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) throw broken('wrong signature');
  const length = bytes.readUInt32LE(MAGIC.length);
  if (MAGIC.length + 4 + length > bytes.length) throw broken('truncated header');
  let parsed: { header: Header; sections: Array<{ name: string; length: number }> };
  try {
    parsed = JSON.parse(bytes.toString('utf8', MAGIC.length + 4, MAGIC.length + 4 + length));
  } catch {
    throw broken('unreadable header');
  }
  let offset = align4(MAGIC.length + 4 + length);
  const expected = offset + parsed.sections.reduce((sum, s) => sum + 4 * s.length, 0);
  if (expected !== bytes.length) throw broken(`${bytes.length} bytes, expected ${expected}`);
  const sections: Record<string, Float32Array> = {};
  for (const { name, length: count } of parsed.sections) {
    // Copied out: the file's buffer is not 4-aligned in general.
    sections[name] = new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * count));
    offset += 4 * count;
  }
  return { header: parsed.header, sections };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
