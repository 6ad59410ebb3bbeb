// NumPy's .npz: a zip holding one `<name>.npy` member per array (np.savez stores them,
// np.savez_compressed deflates them).
import { DataError } from './errors.js';
import { concatBytes, readWhole, writeAtomic } from './io.js';
import { npyParts, parseNpy, type NdArray } from './npy.js';
import { buildZip, extractZip, listZip, type ZipInput } from './zip.js';

export interface NpzWriteOptions {
  /** Deflate the members, as np.savez_compressed does. Default false, as np.savez. */
  compress?: boolean;
}

const RECREATE = 're-create the file with np.savez';

/**
 * Why `name` is unsafe as a member path, or undefined. Nothing is extracted to disk here, but a
 * name that would escape a directory on extraction marks a hostile or broken archive.
 */
function unsafeName(name: string): string | undefined {
  if (name === '' || name.includes('\0')) return 'is empty or holds a NUL character';
  if (/^[/\\]|^[A-Za-z]:/.test(name)) return 'is an absolute path';
  if (name.split(/[/\\]/).includes('..')) return "has a '..' component that escapes the archive";
  return undefined;
}

/** The arrays in a .npz file's bytes, keyed by member name without ".npy". */
export function parseNpz(bytes: Uint8Array, file?: string): Record<string, NdArray> {
  if (bytes.length === 0) throw new DataError(file, `file is empty (0 bytes); ${RECREATE}`);
  // Every name is checked before any member is decompressed.
  const entries = listZip(bytes, file).filter((e) => !(e.name.endsWith('/') && e.size === 0)); // directories
  const seen = new Set<string>();
  for (const { name } of entries) {
    const unsafe = unsafeName(name);
    if (unsafe) throw new DataError(file, `member name '${name}' ${unsafe}; refusing to read the file — ${RECREATE}`);
    if (!name.endsWith('.npy')) throw new DataError(file, `member '${name}' is not a .npy file; a .npz holds only .npy members — ${RECREATE}`);
    if (seen.has(name)) throw new DataError(file, `member '${name}' appears twice; ${RECREATE} so every array name is unique`);
    seen.add(name);
  }
  // No prototype, so an array named like an Object method ('constructor', '__proto__') is just a key.
  const arrays: Record<string, NdArray> = Object.create(null) as Record<string, NdArray>;
  for (const entry of entries) {
    const label = `${file === undefined ? '' : `${file}: `}member '${entry.name}'`;
    arrays[entry.name.slice(0, -4)] = parseNpy(extractZip(bytes, entry, file), label);
  }
  return arrays;
}

function zipInputs(arrays: Record<string, NdArray>, file: string | undefined): ZipInput[] {
  return Object.entries(arrays).map(([name, array]) => {
    const unsafe = unsafeName(name);
    if (unsafe) throw new DataError(file, `array name '${name}' ${unsafe}; use a plain name such as 'x' or 'train/x'`);
    const label = `${file === undefined ? '' : `${file}: `}array '${name}'`;
    return { name: `${name}.npy`, parts: npyParts(array, label) };
  });
}

/** The bytes of a .npz file holding `arrays` (member `<name>.npy` each), readable by np.load. */
export function serializeNpz(arrays: Record<string, NdArray>, options: NpzWriteOptions = {}, file?: string): Uint8Array {
  return concatBytes(buildZip(zipInputs(arrays, file), options.compress ?? false, file));
}

export async function readNpz(path: string): Promise<Record<string, NdArray>> {
  return parseNpz(await readWhole(path), path);
}

/** Writes `arrays` to `path` atomically (through a temporary file renamed into place). */
export async function writeNpz(path: string, arrays: Record<string, NdArray>, options: NpzWriteOptions = {}): Promise<void> {
  await writeAtomic(path, buildZip(zipInputs(arrays, path), options.compress ?? false, path));
}
