// Where a membership audit keeps the result of each stage (shadow model, distilled snapshots,
// sequences, attack model, reference models). Every file is named by a hash of everything that
// went into it (models, data, settings, seed), so a resumed run reuses exactly the stages whose
// inputs are unchanged, and two audits sharing a folder never mix their files. Training stages
// also keep the trainer's per-epoch checkpoint there, so a killed run loses at most one epoch.
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

import { readNpy, writeNpy } from '@onnx-audit/data';
import { clone } from '@bufbuild/protobuf';
import { decodeModel, encodeModel, parameterLayout, writeFileAtomic } from '@onnx-audit/onnx';
import { type ModelProto, ModelProtoSchema } from 'onnx-buf';

export function stageKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

export function modelHash(model: ModelProto): string {
  return createHash('sha256').update(encodeModel(model)).digest('hex');
}

/**
 * A hash of what training from fresh weights keeps of a model: its graph without the values of
 * the parameters and normalisation statistics. A model and its twin trained differently share it,
 * and so share their shadow and reference models.
 */
export function architectureHash(model: ModelProto): string {
  const layout = parameterLayout(model);
  const redrawn = new Set([...layout.parameters, ...layout.statistics].map((slot) => slot.name));
  const copy = clone(ModelProtoSchema, model);
  for (const tensor of copy.graph!.initializer) {
    if (!redrawn.has(tensor.name)) continue;
    tensor.rawData = new Uint8Array();
    tensor.floatData = [];
  }
  return modelHash(copy);
}

export class WorkFolder {
  /** Stages found complete in the folder and reused. */
  readonly reused: string[] = [];
  // Files this process wrote: audits sharing the folder in one run (before and after calibration,
  // a model and its twin) reuse each other's stages even when not resuming.
  private readonly written = new Set<string>();

  /** `resume`: reuse complete stages and continue interrupted training; otherwise stages from earlier runs are recomputed. */
  constructor(readonly dir: string, readonly resume: boolean) {}

  private reusable(file: string): Promise<boolean> {
    return this.resume || this.written.has(file) ? exists(file) : Promise.resolve(false);
  }

  /** The path of a stage's file: `<stage>-<key><suffix>`. */
  async path(stage: string, key: string, suffix: string): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    return join(this.dir, `${stage}-${key}${suffix}`);
  }

  async model(stage: string, key: string, compute: (checkpoint: string) => Promise<ModelProto>): Promise<ModelProto> {
    const file = await this.path(stage, key, '.onnx');
    if (await this.reusable(file)) {
      this.reused.push(stage);
      return decodeModel(await readFile(file));
    }
    const model = await compute(await this.path(stage, key, '.checkpoint'));
    await writeFileAtomic(file, encodeModel(model));
    this.written.add(file);
    return model;
  }

  /** A float32 array stage (sequences, logits), kept as .npy. */
  async array(stage: string, key: string, shape: number[], compute: () => Promise<Float32Array>): Promise<Float32Array> {
    const file = await this.path(stage, key, '.npy');
    if (await this.reusable(file)) {
      const saved = await readNpy(file);
      if (saved.data instanceof Float32Array && saved.shape.join(',') === shape.join(',')) {
        this.reused.push(stage);
        return saved.data;
      }
    }
    const data = await compute();
    await writeNpy(file, { dtype: 'float32', shape, data });
    this.written.add(file);
    return data;
  }

  /** A stage whose result is a set of files listed by a JSON manifest (the snapshots of a distillation). */
  async files(stage: string, key: string, compute: (dir: string, checkpoint: string) => Promise<string[]>): Promise<string[]> {
    const manifest = await this.path(stage, key, '.json');
    if (await this.reusable(manifest)) {
      const files = JSON.parse(await readFile(manifest, 'utf8')) as string[];
      if ((await Promise.all(files.map(exists))).every(Boolean)) {
        this.reused.push(stage);
        return files;
      }
    }
    const files = await compute(await this.path(stage, key, ''), await this.path(stage, key, '.checkpoint'));
    await writeFileAtomic(manifest, new TextEncoder().encode(JSON.stringify(files)));
    this.written.add(manifest);
    return files;
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
