// Appending nodes to an ONNX graph: fresh value names, constants and attributes. The gradient
// builder and the loss heads write the backward pass through this, so every emitted node is a
// standard ai.onnx op with attributes spelled one way.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  type AttributeProto,
  type GraphProto,
  type NodeProto,
  NodeProtoSchema,
  TensorProto_DataType,
  TensorProtoSchema,
  type TensorProto,
} from 'onnx-buf';

export type AttrValue = number | bigint | string | number[] | bigint[] | { float: number } | { floats: number[] } | { tensor: TensorProto };

export function attribute(name: string, value: AttrValue): AttributeProto {
  const a = create(AttributeProtoSchema, { name });
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`attribute ${name}: use { float } for the non-integer ${value}`);
    a.type = AttributeProto_AttributeType.INT;
    a.i = BigInt(value);
  } else if (typeof value === 'bigint') {
    a.type = AttributeProto_AttributeType.INT;
    a.i = value;
  } else if (typeof value === 'string') {
    a.type = AttributeProto_AttributeType.STRING;
    a.s = new TextEncoder().encode(value);
  } else if (Array.isArray(value)) {
    a.type = AttributeProto_AttributeType.INTS;
    a.ints = (value as Array<number | bigint>).map((v) => BigInt(v));
  } else if ('float' in value) {
    a.type = AttributeProto_AttributeType.FLOAT;
    a.f = value.float;
  } else if ('floats' in value) {
    a.type = AttributeProto_AttributeType.FLOATS;
    a.floats = value.floats;
  } else {
    a.type = AttributeProto_AttributeType.TENSOR;
    a.t = value.tensor;
  }
  return a;
}

/** Reads attributes of an existing node with their ONNX defaults. */
export class Attributes {
  private readonly byName: Map<string, AttributeProto>;
  constructor(node: NodeProto) {
    this.byName = new Map(node.attribute.map((a) => [a.name, a]));
  }
  has(name: string): boolean {
    return this.byName.has(name);
  }
  int(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? Number(a.i) : fallback;
  }
  float(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? a.f : fallback;
  }
  ints(name: string, fallback: number[]): number[] {
    const a = this.byName.get(name);
    return a ? a.ints.map(Number) : fallback;
  }
  string(name: string, fallback: string): string {
    const a = this.byName.get(name);
    return a ? new TextDecoder().decode(a.s) : fallback;
  }
  tensor(name: string): TensorProto | undefined {
    return this.byName.get(name)?.t;
  }
}

export class GraphEditor {
  private readonly used: Set<string>;
  private counter = 0;

  constructor(readonly graph: GraphProto, private readonly prefix = 'grad') {
    this.used = new Set<string>();
    for (const v of [...graph.input, ...graph.output, ...graph.valueInfo]) this.used.add(v.name);
    for (const t of graph.initializer) this.used.add(t.name);
    for (const n of graph.node) {
      for (const name of [...n.input, ...n.output, n.name]) this.used.add(name);
    }
  }

  /** A value or node name not used anywhere in the graph. */
  fresh(hint: string): string {
    let name: string;
    do name = `${this.prefix}/${hint}_${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  /** Appends a node and returns its output names. */
  nodeN(op: string, inputs: string[], outputs: number, attrs: Record<string, AttrValue> = {}): string[] {
    const names = Array.from({ length: outputs }, () => this.fresh(op));
    this.graph.node.push(create(NodeProtoSchema, {
      opType: op,
      name: this.fresh(`${op}_node`),
      input: inputs,
      output: names,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    }));
    return names;
  }

  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}): string {
    return this.nodeN(op, inputs, 1, attrs)[0];
  }

  private initializer(hint: string, tensor: MessageInitShape<typeof TensorProtoSchema>): string {
    const name = this.fresh(hint);
    this.graph.initializer.push(create(TensorProtoSchema, { ...tensor, name }));
    return name;
  }

  /** An int64 vector (or scalar when `scalar`) initializer. */
  int64s(values: ReadonlyArray<number>, scalar = false): string {
    return this.initializer('i64', { dataType: TensorProto_DataType.INT64, dims: scalar ? [] : [BigInt(values.length)], int64Data: values.map((v) => BigInt(v)) });
  }

  /** A float32 initializer with the given dims (a scalar by default). */
  floats(values: ReadonlyArray<number>, dims: ReadonlyArray<number> = []): string {
    return this.initializer('f32', { dataType: TensorProto_DataType.FLOAT, dims: dims.map((d) => BigInt(d)), floatData: [...values] });
  }

  float(value: number): string {
    return this.floats([value]);
  }
}
