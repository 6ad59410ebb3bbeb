// Reverse-mode differentiation of an ONNX graph into standard ONNX ops. The result is an ordinary
// model whose outputs are the per-sample loss, the logits and the gradients asked for, so one run
// of an inference session gives all of them.
//
// Structure, after ONNX Runtime's GradientGraphBuilder: the nodes differentiated are those both
// reachable from a value we differentiate with respect to and leading to the logits, through
// differentiable edges (float values, inputs each rule declares differentiable); per-op rules emit
// the vector-Jacobian products; a value read by several differentiated nodes sums their
// contributions. Shapes are concrete: the graph is built for the input shapes of `feeds`.
import { clone, create } from '@bufbuild/protobuf';
import {
  type ModelProto,
  ModelProtoSchema,
  type NodeProto,
  NodeProtoSchema,
  TensorProto_DataType,
  TensorShapeProto_DimensionSchema,
  ValueInfoProtoSchema,
} from 'onnx-buf';
import type * as ort from 'onnxruntime-node';

import { logitsValue } from '../model/logits.js';
import { dataTypeCode, tensorValueInfo } from '../model/tensor.js';
import { isDefaultDomain } from '../model/validate.js';
import { Attributes, GraphEditor } from './graph.js';
import { appendHead, type LossHead } from './heads.js';
import { type GradientRule, NON_DIFFERENTIABLE, type RuleContext } from './rule.js';
import { GRADIENT_RULES } from './rules/index.js';
import { isDifferentiable, probeShapes, type ShapeMap } from './shapes.js';

export interface GradientOptions {
  /** Graph inputs and/or initializers to differentiate with respect to. */
  wrt: string[];
  head: LossHead;
  /** Example inputs with the exact shapes the gradient model will be run with. */
  feeds: Record<string, ort.Tensor>;
  /** The value the head reads; default: the first output, or the input of a trailing Softmax. */
  logits?: string;
  /** Divide the total loss by the batch size (training); default: sum (per-sample gradients). */
  mean?: boolean;
  /** Further values to list as outputs after the gradients (e.g. BatchNormalization's running statistics). */
  outputs?: string[];
}

export interface GradientModel {
  model: ModelProto;
  /** Names of the extra inputs the head reads. */
  labels?: string;
  targets?: string;
  cotangent?: string;
  /** Output names. */
  loss: string;
  logits: string;
  gradients: Record<string, string>;
  /** Set when the model ended in Softmax and the logits before it were used. */
  strippedSoftmax?: string;
}

export class GradientError extends Error {
  override name = 'GradientError';
}

// ScatterElements with reduction='add' (MaxPool, Gather backward) needs opset 16. Raising an
// import from 13–15 to 16 keeps the semantics of every op the rules know; 18 would not (Reduce*
// and Pad change), so models below 13 are refused instead of raised that far.
const MIN_OPSET = 13;
const BACKWARD_OPSET = 16;

export async function buildGradientModel(source: ModelProto, options: GradientOptions): Promise<GradientModel> {
  const model = clone(ModelProtoSchema, source);
  const graph = model.graph;
  if (!graph) throw new GradientError('the model has no graph');
  const opset = raiseOpset(model);
  const g = new GraphEditor(graph);
  pinInputShapes(model, options.feeds);

  const { logits, strippedSoftmax } = logitsValue(model, options.logits);
  const ruleOf = (node: NodeProto): GradientRule | undefined => (isDefaultDomain(node.domain) ? GRADIENT_RULES[node.opType] : undefined);

  const wrt = new Set(options.wrt);
  for (const name of wrt) {
    if (!graph.input.some((i) => i.name === name) && !graph.initializer.some((t) => t.name === name)) {
      throw new GradientError(`'${name}' is neither a graph input nor an initializer`);
    }
  }
  const active = activeNodes(graph.node, wrt, logits, ruleOf);
  for (const node of active) {
    const rule = ruleOf(node);
    if (!rule) {
      throw new GradientError(`op ${node.domain ? `${node.domain}.` : ''}${node.opType} (node '${node.name}') has no gradient rule and lies between the input and the logits; re-export the model without it or open an issue`);
    }
    rule.prepare?.(node, g);
  }

  const shapes = await probeShapes(model, options.feeds);
  const dims = (name: string): number[] => {
    const s = shapes.get(name);
    if (!s) throw new GradientError(`no shape known for value '${name}'`);
    return s.dims;
  };

  // Values carrying gradients: wrt, then every float output of an active node reading one.
  const carries = new Set([...wrt].filter((w) => isDifferentiable(shapes.get(w))));
  const wants = (node: NodeProto, i: number, rule: GradientRule) =>
    node.input[i] !== '' && carries.has(node.input[i]) && (rule.differentiable === 'all' || rule.differentiable.includes(i));
  for (const node of active) {
    const rule = ruleOf(node)!;
    if (node.input.some((_, i) => wants(node, i, rule))) {
      for (const out of node.output) if (out && isDifferentiable(shapes.get(out))) carries.add(out);
    }
  }
  if (!carries.has(logits)) throw new GradientError(`the logits '${logits}' do not depend on ${[...wrt].map((w) => `'${w}'`).join(', ')} through differentiable ops`);

  const head = addHeadInputs(g, options.head, dims(logits));
  const { loss, seed } = appendHead(g, options.head, logits, dims(logits), head, options.mean ?? false);

  const contributions = new Map<string, string[]>([[logits, [seed]]]);
  const gradientOf = (value: string): string | undefined => {
    const parts = contributions.get(value);
    if (!parts || parts.length === 0) return undefined;
    if (parts.length > 1) contributions.set(value, [g.node('Sum', parts)]);
    return contributions.get(value)![0];
  };

  for (const node of [...active].reverse()) {
    const rule = ruleOf(node)!;
    const outputGrads = node.output.map((o) => (o ? gradientOf(o) : undefined));
    if (outputGrads.every((d) => d === undefined)) continue;
    const context: RuleContext = {
      node,
      attrs: new Attributes(node),
      g,
      opset,
      input: (i) => node.input[i] ?? '',
      output: (i) => node.output[i] ?? '',
      dims,
      dtypeCode: (name) => dtypeCode(shapes, name),
      dY: (i) => outputGrads[i],
      wants: (i) => wants(node, i, rule),
      give: (i, gradient) => {
        if (!wants(node, i, rule)) return;
        const name = node.input[i];
        contributions.set(name, [...(contributions.get(name) ?? []), gradient]);
      },
      unsupported: (what) => new GradientError(`${node.opType} node '${node.name}': ${what} is not supported for gradients`),
    };
    rule.vjp(context);
  }

  const gradients: Record<string, string> = {};
  for (const w of wrt) {
    const name = g.fresh(`d_${w}`);
    const grad = gradientOf(w);
    // No path (e.g. a weight past a stop edge): its gradient is zero, stated rather than missing.
    const [op, inputs] = grad ? ['Identity', [grad]] : ['Mul', [w, g.float(0)]];
    graph.node.push(create(NodeProtoSchema, { opType: op, name: g.fresh('out'), input: inputs, output: [name] }));
    gradients[w] = name;
  }
  graph.output.splice(0, graph.output.length, ...[loss, logits, ...Object.values(gradients), ...(options.outputs ?? [])].map((name) => create(ValueInfoProtoSchema, { name })));
  return { model, ...head, loss, logits, gradients, ...(strippedSoftmax ? { strippedSoftmax } : {}) };
}

function raiseOpset(model: ModelProto): number {
  const entry = model.opsetImport.find((o) => isDefaultDomain(o.domain));
  const version = entry ? Number(entry.version) : 0;
  if (!entry || version < MIN_OPSET) {
    throw new GradientError(`the model imports opset ${version || 'none'}; gradients need opset ${MIN_OPSET} or newer: re-export it with opset_version=${MIN_OPSET} or later`);
  }
  if (version < BACKWARD_OPSET) entry.version = BigInt(BACKWARD_OPSET);
  return Math.max(version, BACKWARD_OPSET);
}

/** Makes every graph input's dims those of its feed, so shapes downstream are concrete. */
function pinInputShapes(model: ModelProto, feeds: Record<string, ort.Tensor>): void {
  for (const input of model.graph!.input) {
    const feed = feeds[input.name];
    const tensorType = input.type?.value.case === 'tensorType' ? input.type.value.value : undefined;
    if (!feed || !tensorType?.shape) continue;
    tensorType.shape.dim = feed.dims.map((d) => create(TensorShapeProto_DimensionSchema, { value: { case: 'dimValue', value: BigInt(d) } }));
  }
}

/** Nodes reachable from `wrt` that also lead to `logits`, in graph (topological) order. */
function activeNodes(nodes: NodeProto[], wrt: Set<string>, logits: string, ruleOf: (n: NodeProto) => GradientRule | undefined): NodeProto[] {
  const reached = new Set(wrt);
  const forward: NodeProto[] = [];
  for (const node of nodes) {
    if (NON_DIFFERENTIABLE.has(node.opType)) continue;
    const rule = ruleOf(node);
    const differentiable = (i: number) => !rule || rule.differentiable === 'all' || rule.differentiable.includes(i);
    if (node.input.some((name, i) => name !== '' && reached.has(name) && differentiable(i))) {
      forward.push(node);
      for (const out of node.output) if (out) reached.add(out);
    }
  }
  const needed = new Set([logits]);
  const active: NodeProto[] = [];
  for (const node of [...forward].reverse()) {
    if (node.output.some((o) => needed.has(o))) {
      active.push(node);
      for (const name of node.input) if (name) needed.add(name);
    }
  }
  return active.reverse();
}

/**
 * The head's inputs get their rank but symbolic dims. The probed dims are what the kernels
 * produce, and ORT's load-time shape inference can disagree with them upstream of the logits
 * (ceil_mode pools whose last window ORT drops but the ONNX formula counts): declared concrete,
 * they would clash with the logits' inferred dims and the model would not load.
 */
function addHeadInputs(g: GraphEditor, head: LossHead, logitsDims: number[]): { labels?: string; targets?: string; cotangent?: string } {
  const add = (hint: string, elemType: TensorProto_DataType, rank: number) => {
    const name = g.fresh(hint);
    g.graph.input.push(tensorValueInfo(name, Array.from({ length: rank }, (_, i) => `${name}_dim${i}`), elemType));
    return name;
  };
  switch (head.kind) {
    case 'cross-entropy':
    case 'margin':
    case 'dlr':
    case 'trades':
      return { labels: add('labels', TensorProto_DataType.INT64, 1) };
    case 'targeted-dlr':
      return { labels: add('labels', TensorProto_DataType.INT64, 1), targets: add('targets', TensorProto_DataType.INT64, 1) };
    case 'soft-cross-entropy':
    case 'mse':
      return { targets: add('targets', TensorProto_DataType.FLOAT, logitsDims.length) };
    case 'dot':
      return { cotangent: add('cotangent', TensorProto_DataType.FLOAT, logitsDims.length) };
  }
}

function dtypeCode(shapes: ShapeMap, name: string): number {
  const dtype = shapes.get(name)?.dtype;
  const code = dtype ? dataTypeCode(dtype) : undefined;
  if (code === undefined) throw new GradientError(`no element type known for value '${name}'`);
  return code;
}
