export { DataError } from './errors.js';
export { crc32 } from './crc32.js';
export { parseNpy, serializeNpy, readNpy, writeNpy } from './npy.js';
export type { Dtype, NdArray, NdData } from './npy.js';
export { parseNpz, serializeNpz, readNpz, writeNpz } from './npz.js';
export type { NpzWriteOptions } from './npz.js';
export { BUILTIN_NAMES, loadBuiltin, parseDatasetRef } from './builtin.js';
export type { BuiltinName, BuiltinOptions, Dataset, DatasetRef } from './builtin.js';
