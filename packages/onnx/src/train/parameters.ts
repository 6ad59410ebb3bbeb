// Which initializers training updates, and where each lives in one flat float32 vector. The
// optimizer steps the whole vector in one native call; ONNX Runtime reads each parameter through
// a view into it, so nothing is copied between steps.
import { clone } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, type TensorProto, TensorProto_DataType } from 'onnx-buf';

import { GRADIENT_RULES } from '../autodiff/rules/index.js';
import { isDefaultDomain } from '../model/validate.js';
import { tensorDims, tensorFromArray, tensorToArray, tensorValueInfo } from '../model/tensor.js';

export interface Slot {
  name: string;
  dims: number[];
  offset: number;
  size: number;
}

export interface ParameterLayout {
  /** Float32 initializers read at a differentiable input: the weights gradient descent updates. */
  parameters: Slot[];
  /** BatchNormalization running means and variances: updated by the forward pass, not by gradients. */
  statistics: Slot[];
  parameterCount: number;
  statisticCount: number;
}

export function parameterLayout(model: ModelProto): ParameterLayout {
  const graph = model.graph!;
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  const trainable = new Set<string>();
  const statistics = new Set<string>();
  for (const node of graph.node) {
    const rule = isDefaultDomain(node.domain) ? GRADIENT_RULES[node.opType] : undefined;
    node.input.forEach((name, i) => {
      const tensor = initializers.get(name);
      if (!tensor || tensor.dataType !== TensorProto_DataType.FLOAT) return;
      if (node.opType === 'BatchNormalization' && (i === 3 || i === 4)) statistics.add(name);
      // Rank-0 tensors are exporter constants (a √d divisor, an ε), never learned weights.
      else if (rule && tensor.dims.length > 0 && (rule.differentiable === 'all' || rule.differentiable.includes(i))) trainable.add(name);
    });
  }
  const slots = (names: Set<string>): { slots: Slot[]; count: number } => {
    let offset = 0;
    const list = graph.initializer.filter((t) => names.has(t.name)).map((t) => {
      const dims = tensorDims(t);
      const size = dims.reduce((a, b) => a * b, 1);
      const slot = { name: t.name, dims, offset, size };
      offset += size;
      return slot;
    });
    return { slots: list, count: offset };
  };
  const p = slots(trainable);
  const s = slots(statistics);
  return { parameters: p.slots, statistics: s.slots, parameterCount: p.count, statisticCount: s.count };
}

/** The current values of the slots, gathered into one vector. */
export function gatherValues(model: ModelProto, slots: Slot[], count: number): Float32Array {
  const byName = new Map(model.graph!.initializer.map((t) => [t.name, t]));
  const values = new Float32Array(count);
  for (const slot of slots) values.set(tensorToArray(byName.get(slot.name)!) as Float32Array, slot.offset);
  return values;
}

/** A copy of the model whose slot initializers hold `values`: a snapshot, deployable as is. */
export function withValues(model: ModelProto, assignments: Array<{ slots: Slot[]; values: Float32Array }>): ModelProto {
  const copy = clone(ModelProtoSchema, model);
  const index = new Map(copy.graph!.initializer.map((t, i) => [t.name, i]));
  for (const { slots, values } of assignments) {
    for (const slot of slots) {
      copy.graph!.initializer[index.get(slot.name)!] = tensorFromArray(slot.name, slot.dims, values.slice(slot.offset, slot.offset + slot.size));
    }
  }
  return copy;
}

/** Turns the slots' initializers into graph inputs, so that each run can feed new values. */
export function slotsAsInputs(model: ModelProto, slots: Slot[]): void {
  const graph = model.graph!;
  const moved = new Set(slots.map((s) => s.name));
  const kept: TensorProto[] = graph.initializer.filter((t) => !moved.has(t.name));
  graph.initializer.splice(0, graph.initializer.length, ...kept);
  const declared = new Set(graph.input.map((i) => i.name));
  for (const slot of slots) {
    if (declared.has(slot.name)) continue; // IR < 4 models list initializers as inputs already
    graph.input.push(tensorValueInfo(slot.name, slot.dims));
  }
}
