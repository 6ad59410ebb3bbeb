// What an audit needs to know about a classifier before running it: its inputs and outputs, the
// number of classes, whether it already applies Softmax (attacks and calibration metrics need the
// logits, not probabilities), and which ops the gradient builder cannot differentiate.
import type { ModelProto, NodeProto, ValueInfoProto } from 'onnx-buf';
import { TensorProto_DataType as DT } from 'onnx-buf';

import { GRADIENT_OPS } from './gradient-ops.js';
import { dataTypeName, elementCount, tensorDims } from './tensor.js';
import { isDefaultDomain } from './validate.js';

export type Dim = number | string | null;

export interface ValueSummary {
  name: string;
  /** 'float32', 'int64', ...; 'sequence', 'map', 'optional' or 'unknown' for non-tensor values. */
  dtype: string;
  /** Static sizes as numbers, symbolic ones by name ('N'), unknown ones null; null when even the rank is unknown. */
  shape: Dim[] | null;
}

export interface FinalActivation {
  /** The node's name, or '#index' when it has none. */
  node: string;
  axis: number;
}

export interface InspectionReport {
  irVersion: number;
  producer: string;
  opsets: { domain: string; version: number }[];
  /** Graph inputs that are not initializers: what a caller feeds. */
  inputs: ValueSummary[];
  outputs: ValueSummary[];
  /** Node count per op type of the main graph; non-default domains qualify it: 'com.microsoft.FusedConv'. */
  ops: Record<string, number>;
  /** Elements of floating-point initializers. */
  parameterCount: number;
  /** Last dimension of the first output when it is static. */
  classes: number | null;
  /** The first output comes straight from a Softmax node. */
  endsInSoftmax: FinalActivation | null;
  endsInLogSoftmax: FinalActivation | null;
  unsupportedForGradients: { op: string; node: string }[];
}

const FLOAT_TYPES = new Set<number>([DT.FLOAT, DT.DOUBLE, DT.FLOAT16, DT.BFLOAT16]);

/** The name an op has in GRADIENT_OPS and in the histogram. */
export function opKey(node: NodeProto): string {
  return isDefaultDomain(node.domain) ? node.opType : `${node.domain}.${node.opType}`;
}

export function inspectModel(model: ModelProto, supportedOps: ReadonlySet<string> = GRADIENT_OPS): InspectionReport {
  const graph = model.graph;
  const nodes = graph?.node ?? [];
  const initializers = graph?.initializer ?? [];
  const initNames = new Set(initializers.map((t) => t.name));
  const opsets = model.opsetImport.map((o) => ({ domain: isDefaultDomain(o.domain) ? 'ai.onnx' : o.domain, version: Number(o.version) }));
  const defaultOpset = opsets.find((o) => o.domain === 'ai.onnx')?.version ?? 0;

  const ops: Record<string, number> = {};
  const unsupportedForGradients: InspectionReport['unsupportedForGradients'] = [];
  nodes.forEach((node, i) => {
    const op = opKey(node);
    ops[op] = (ops[op] ?? 0) + 1;
    if (!supportedOps.has(op)) unsupportedForGradients.push({ op, node: nodeName(node, i) });
  });

  const outputs = (graph?.output ?? []).map(summarize);
  const last = outputs[0]?.shape?.at(-1);
  const final = (opType: string): FinalActivation | null => {
    const first = graph?.output[0]?.name;
    const i = nodes.findIndex((n) => n.opType === opType && isDefaultDomain(n.domain) && n.output.includes(first ?? ''));
    if (first === undefined || i < 0) return null;
    // Softmax and LogSoftmax normalized over axis 1 (flattened) before opset 13, over -1 since.
    const attr = nodes[i].attribute.find((a) => a.name === 'axis');
    return { node: nodeName(nodes[i], i), axis: attr ? Number(attr.i) : defaultOpset < 13 ? 1 : -1 };
  };

  return {
    irVersion: Number(model.irVersion),
    producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '),
    opsets,
    inputs: (graph?.input ?? []).filter((v) => !initNames.has(v.name)).map(summarize),
    outputs,
    ops,
    parameterCount: initializers.filter((t) => FLOAT_TYPES.has(t.dataType)).reduce((n, t) => n + elementCount(tensorDims(t)), 0),
    classes: typeof last === 'number' ? last : null,
    endsInSoftmax: final('Softmax'),
    endsInLogSoftmax: final('LogSoftmax'),
    unsupportedForGradients,
  };
}

function nodeName(node: NodeProto, index: number): string {
  return node.name || `#${index}`;
}

function summarize(value: ValueInfoProto): ValueSummary {
  const type = value.type?.value;
  if (type?.case !== 'tensorType') return { name: value.name, dtype: type?.case?.replace(/Type$/, '') ?? 'unknown', shape: null };
  const dims = type.value.shape?.dim;
  const shape = dims?.map((d): Dim => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.case === 'dimParam' ? d.value.value : null));
  return { name: value.name, dtype: dataTypeName(type.value.elemType), shape: shape ?? null };
}

const TOP_OPS = 8;
const NAMES_PER_OP = 5;

/** A compact multi-line description for the CLI. */
export function formatInspection(report: InspectionReport): string {
  const value = (v: ValueSummary): string => `${v.name} ${v.dtype} ${v.shape ? `[${v.shape.map((d) => d ?? '?').join(',')}]` : '(shape unknown)'}`;
  const lines = [
    `ONNX IR ${report.irVersion}${report.producer ? `, producer ${report.producer}` : ''}; opsets ${report.opsets.map((o) => `${o.domain} ${o.version}`).join(', ') || 'none'}`,
    `inputs:  ${report.inputs.map(value).join('; ') || 'none'}`,
    `outputs: ${report.outputs.map(value).join('; ') || 'none'}${report.classes !== null ? ` (${report.classes} classes)` : ''}`,
    `parameters: ${report.parameterCount.toLocaleString('en-US')}`,
  ];
  const ops = Object.entries(report.ops).sort(([a, m], [b, n]) => n - m || a.localeCompare(b));
  const total = ops.reduce((s, [, n]) => s + n, 0);
  const shown = ops.slice(0, TOP_OPS).map(([op, n]) => `${op} ${n}`).join(', ');
  lines.push(`ops: ${total} nodes${total ? `: ${shown}` : ''}${ops.length > TOP_OPS ? `, +${ops.length - TOP_OPS} more kinds` : ''}`);
  for (const [label, act] of [['Softmax', report.endsInSoftmax], ['LogSoftmax', report.endsInLogSoftmax]] as const) {
    if (act) lines.push(`ends in ${label} (node '${act.node}'): attacks and metrics use its input logits`);
  }
  if (report.unsupportedForGradients.length === 0) {
    lines.push('gradients: every op is differentiable');
  } else {
    const byOp = new Map<string, string[]>();
    for (const { op, node } of report.unsupportedForGradients) byOp.set(op, [...(byOp.get(op) ?? []), node]);
    const parts = [...byOp].map(([op, names]) => {
      const listed = names.slice(0, NAMES_PER_OP).map((n) => `'${n}'`).join(', ');
      return `${op} (${names.length === 1 ? 'node' : 'nodes'} ${listed}${names.length > NAMES_PER_OP ? `, +${names.length - NAMES_PER_OP} more` : ''})`;
    });
    lines.push(`gradients: not differentiable: ${parts.join('; ')}`);
  }
  return lines.join('\n');
}
