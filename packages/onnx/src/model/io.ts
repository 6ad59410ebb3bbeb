// Reading and writing ModelProto files. protobuf-es keeps fields it does not know (newer ONNX
// schema, vendor extensions) and writes them back, so a read-modify-write cycle loses nothing.
// External data is inlined on read: everything downstream (inspection, gradient builder,
// sessions created from bytes) then sees ordinary raw_data.
import { type FileHandle, open, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';

import { fromBinary, toBinary } from '@bufbuild/protobuf';
import { type GraphProto, type ModelProto, ModelProtoSchema, TensorProto_DataLocation, type TensorProto } from 'onnx-buf';

import { writeFileAtomic } from '../atomic-write.js';
import { ModelError } from './errors.js';
import { validateModel } from './validate.js';

export interface DecodeOptions {
  /** Names the bytes in error messages (readModel passes the path). */
  source?: string;
  /** Run validateModel after decoding (default true). */
  validate?: boolean;
}

/** Reads an .onnx file, inlines its external data and validates it. */
export async function readModel(path: string, options: Omit<DecodeOptions, 'source'> = {}): Promise<ModelProto> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new ModelError(`cannot read ${path}: ${(e as Error).message}`, { cause: e });
  }
  const model = decodeModel(bytes, { source: path, validate: false });
  await resolveExternalData(model, dirname(path), path);
  if (options.validate ?? true) validateModel(model, path);
  return model;
}

export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): ModelProto {
  const source = options.source ?? 'model';
  if (bytes.length === 0) throw new ModelError(`${source} is empty (0 bytes); check the file was exported completely`);
  let model: ModelProto;
  try {
    // A plain Uint8Array view, so bytes fields decode as Uint8Array views rather than Node Buffers,
    // whose slice() shares memory instead of copying.
    const plain = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    model = fromBinary(ModelProtoSchema, plain, { readUnknownFields: true });
  } catch (e) {
    throw new ModelError(`${source} is not an ONNX model (protobuf decoding failed: ${(e as Error).message}); check the file was exported completely`, { cause: e });
  }
  if (options.validate ?? true) validateModel(model, source);
  return model;
}

export function encodeModel(model: ModelProto): Uint8Array<ArrayBuffer> {
  return toBinary(ModelProtoSchema, model, { writeUnknownFields: true });
}

// protobuf's hard limit: a serialized message must stay under 2 GiB.
const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** Writes the model self-contained, atomically: readers see the old file or the new one, never half. */
export async function writeModel(path: string, model: ModelProto): Promise<void> {
  const external = allTensors(model).find((t) => t.dataLocation === TensorProto_DataLocation.EXTERNAL);
  if (external) {
    throw new ModelError(`cannot write ${path}: tensor '${external.name}' still refers to external data; load the model with readModel() or call resolveExternalData() first`);
  }
  const bytes = encodeModel(model);
  if (bytes.length > PROTOBUF_LIMIT) {
    throw new ModelError(`cannot write ${path}: the model is ${bytes.length} bytes, over protobuf's 2 GiB limit; writing external data is not supported yet`);
  }
  try {
    await writeFileAtomic(path, bytes);
  } catch (e) {
    throw new ModelError(`cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Every TensorProto in the model: initializers, node attributes, nested graphs and functions. */
export function allTensors(model: ModelProto): TensorProto[] {
  const found: TensorProto[] = [];
  const visitNodes = (nodes: GraphProto['node']): void => {
    for (const node of nodes) {
      for (const a of node.attribute) {
        if (a.t) found.push(a.t);
        found.push(...a.tensors);
        if (a.sparseTensor?.values) found.push(a.sparseTensor.values);
        if (a.g) visitGraph(a.g);
        a.graphs.forEach(visitGraph);
      }
    }
  };
  const visitGraph = (graph: GraphProto): void => {
    found.push(...graph.initializer);
    for (const s of graph.sparseInitializer) if (s.values) found.push(s.values);
    visitNodes(graph.node);
  };
  if (model.graph) visitGraph(model.graph);
  for (const f of model.functions) visitNodes(f.node);
  return found;
}

/**
 * Reads every tensor's external data (keys location, offset, length) into raw_data, relative to
 * `dir`. Locations that are absolute or contain '..' are refused: a downloaded model must not
 * make us read arbitrary files. Symlinks inside `dir` are followed on purpose (the Hugging Face
 * cache links snapshot files to blobs elsewhere).
 */
export async function resolveExternalData(model: ModelProto, dir: string, source = 'model'): Promise<void> {
  const handles = new Map<string, { handle: FileHandle; size: number }>();
  try {
    for (const tensor of allTensors(model)) {
      if (tensor.dataLocation !== TensorProto_DataLocation.EXTERNAL) continue;
      const where = `${source}: tensor '${tensor.name}'`;
      const entry = (key: string): string | undefined => tensor.externalData.find((e) => e.key === key)?.value;
      const location = entry('location');
      if (!location) throw new ModelError(`${where} has data_location EXTERNAL but no 'location' entry; re-export the model`);
      if (isAbsolute(location) || location.split(/[\\/]/).includes('..')) {
        throw new ModelError(`${where} refers to external data at '${location}', outside the model's directory; only paths inside ${dir} are read`);
      }
      const offset = intEntry(entry('offset'), 0, `${where} has external data offset`);
      const full = join(dir, location);
      let file = handles.get(full);
      if (!file) {
        try {
          const handle = await open(full, 'r');
          file = { handle, size: (await handle.stat()).size };
        } catch (e) {
          throw new ModelError(`${where} keeps its data in '${location}', which cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); put the data file beside the model`, { cause: e });
        }
        handles.set(full, file);
      }
      const length = intEntry(entry('length'), file.size - offset, `${where} has external data length`);
      if (length < 0 || offset + length > file.size) {
        throw new ModelError(`${where} needs bytes ${offset}..${offset + length} of '${location}', which has only ${file.size}; the data file is truncated or belongs to another model`);
      }
      const data = new Uint8Array(length);
      for (let done = 0; done < length; ) {
        const { bytesRead } = await file.handle.read(data, done, length - done, offset + done);
        if (bytesRead === 0) throw new ModelError(`${where}: '${location}' ended early while reading; the data file changed while being read`);
        done += bytesRead;
      }
      tensor.rawData = data;
      tensor.dataLocation = TensorProto_DataLocation.DEFAULT;
      tensor.externalData = [];
    }
  } finally {
    await Promise.all([...handles.values()].map((f) => f.handle.close()));
  }
}

function intEntry(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new ModelError(`${what} '${value}', which is not a byte count; re-export the model`);
  return Number(value);
}
