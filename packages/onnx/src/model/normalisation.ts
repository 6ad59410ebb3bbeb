// Input normalisation moved into the graph. A model trained on (x − mean) / std is given nodes that
// compute it, and from then on takes x as the user holds it: perturbation budgets, clipping to the
// valid range and gradients are all in the user's input space, where ε means what they think.
import { clone } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema } from 'onnx-buf';

import { GraphEditor } from '../autodiff/graph.js';
import { ModelError } from './errors.js';

export interface Normalisation {
  /** One value, or one per channel (axis 1). */
  mean: number[];
  /** One value, or one per channel (axis 1); every one positive. */
  std: number[];
}

/** The model with `(x − mean) / std` applied to its data input `input` before anything else. */
export function withInputNormalisation(model: ModelProto, input: string, { mean, std }: Normalisation): ModelProto {
  const copy = clone(ModelProtoSchema, model);
  const graph = copy.graph!;
  const info = graph.input.find((i) => i.name === input);
  const type = info?.type?.value;
  if (!info || type?.case !== 'tensorType') throw new ModelError(`the model has no tensor input '${input}'`);
  const dims = type.value.shape?.dim ?? [];
  const channelDim = dims[1]?.value;
  const channels = channelDim?.case === 'dimValue' ? Number(channelDim.value) : undefined;
  for (const [name, values] of [['mean', mean], ['std', std]] as const) {
    if (values.length === 0 || values.some((v) => !Number.isFinite(v))) throw new ModelError(`the ${name} must be finite numbers, got [${values}]`);
    if (values.length > 1 && values.length !== channels) {
      throw new ModelError(`${values.length} ${name} values for an input with ${channels ?? 'an unknown number of'} channels (axis 1 of [${dims.map((d) => (d.value.case === 'dimValue' ? d.value.value : '?'))}]); give one value or one per channel`);
    }
  }
  if (std.some((s) => s <= 0)) throw new ModelError(`every std must be positive, got [${std}]`);

  // Per-channel values broadcast as [C, 1, …, 1] against [N, C, …].
  const shapeFor = (values: number[]) => (values.length === 1 ? [] : [values.length, ...Array<number>(Math.max(0, dims.length - 2)).fill(1)]);
  const g = new GraphEditor(graph, 'normalise');
  const existing = graph.node.length;
  const normalised = g.node('Div', [g.node('Sub', [input, g.floats(mean, shapeFor(mean))]), g.floats(std, shapeFor(std))]);
  // The new nodes were appended; they must come first to keep the graph topologically sorted.
  const added = graph.node.splice(existing);
  for (const node of graph.node) node.input.forEach((name, i) => { if (name === input) node.input[i] = normalised; });
  graph.node.unshift(...added);
  return copy;
}
