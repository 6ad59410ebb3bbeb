// Shapes and element types of every value in a graph, for one concrete set of inputs, with ONNX
// Runtime as the oracle: a copy of the model lists every intermediate value as an (untyped) graph
// output and runs once. The gradient builder needs them to choose lowerings (broadcast axes,
// ConvTranspose output padding, split sizes) that are exact for these shapes.
import { clone, create, toBinary } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, ValueInfoProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';

import { dataTypeName } from '../model/tensor.js';

export interface ValueShape {
  /** ONNX Runtime's tensor type name: 'float32', 'int64', 'bool', ... */
  dtype: string;
  dims: number[];
}

export type ShapeMap = Map<string, ValueShape>;

export async function probeShapes(model: ModelProto, feeds: Record<string, ort.Tensor>): Promise<ShapeMap> {
  const probe = clone(ModelProtoSchema, model);
  const graph = probe.graph!;
  const listed = new Set(graph.output.map((o) => o.name));
  for (const node of graph.node) {
    for (const name of node.output) {
      if (name && !listed.has(name)) {
        graph.output.push(create(ValueInfoProtoSchema, { name }));
        listed.add(name);
      }
    }
  }
  const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, probe), { graphOptimizationLevel: 'disabled' });
  try {
    const results = await session.run(feeds);
    const shapes: ShapeMap = new Map();
    for (const [name, tensor] of Object.entries(feeds)) shapes.set(name, { dtype: tensor.type, dims: [...tensor.dims] });
    for (const [name, tensor] of Object.entries(results)) shapes.set(name, { dtype: tensor.type, dims: [...tensor.dims] });
    for (const init of graph.initializer) {
      if (!shapes.has(init.name)) shapes.set(init.name, { dtype: dataTypeName(init.dataType), dims: init.dims.map(Number) });
    }
    return shapes;
  } finally {
    await session.release();
  }
}

/** Element types whose values carry gradients. */
export function isDifferentiable(shape: ValueShape | undefined): boolean {
  return shape !== undefined && (shape.dtype === 'float32' || shape.dtype === 'float64' || shape.dtype === 'float16');
}
