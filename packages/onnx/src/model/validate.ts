// Structural checks that ONNX Runtime would otherwise report later, and less clearly, at session
// creation: a graph exists, names are unique, and every node input is defined before it is read
// (ONNX requires nodes in topological order). Shapes and op semantics are left to the runtime.
import type { GraphProto, ModelProto, NodeProto } from 'onnx-buf';

import { ModelError } from './errors.js';
import { elementCount, elementSize, tensorDims, dataTypeName } from './tensor.js';

/** 'node 'fc1' (Gemm)', or 'node #3 (Gemm)' for unnamed nodes. */
export function nodeLabel(node: NodeProto, index: number): string {
  return `node ${node.name ? `'${node.name}'` : `#${index}`} (${node.opType})`;
}

export function isDefaultDomain(domain: string): boolean {
  return domain === '' || domain === 'ai.onnx';
}

/** Throws a ModelError naming `source` and the first problem found. */
export function validateModel(model: ModelProto, source = 'model'): void {
  const graph = model.graph;
  if (!graph) {
    throw new ModelError(`${source} is not an ONNX model (it decodes but has no graph); check it is a .onnx file and was exported completely`);
  }
  if (model.irVersion <= 0n) throw new ModelError(`${source} has no ir_version; re-export it with a current ONNX exporter`);
  const imported = new Set(model.opsetImport.map((o) => (isDefaultDomain(o.domain) ? '' : o.domain)));
  for (const f of model.functions) imported.add(f.domain);
  graph.node.forEach((node, i) => {
    const domain = isDefaultDomain(node.domain) ? '' : node.domain;
    if (!imported.has(domain)) {
      throw new ModelError(`${source}: ${nodeLabel(node, i)} uses domain '${domain || 'ai.onnx'}', for which the model imports no opset; add an opset_import entry or re-export the model`);
    }
  });
  validateGraph(graph, new Set(), `${source}:`);
}

function validateGraph(graph: GraphProto, outer: ReadonlySet<string>, where: string): void {
  const defined = new Set(outer);
  const inputs = new Set<string>();
  for (const input of graph.input) {
    if (inputs.has(input.name)) throw new ModelError(`${where} graph input '${input.name}' is declared twice; rename or remove one`);
    inputs.add(input.name);
    defined.add(input.name);
  }
  const initializers = new Set<string>();
  for (const init of graph.initializer) {
    if (initializers.has(init.name)) throw new ModelError(`${where} initializer '${init.name}' is declared twice; remove the duplicate`);
    initializers.add(init.name);
    defined.add(init.name);
    checkRawSize(init, where);
  }
  // Where each value is first produced, to tell "missing" from "used before it is produced".
  const producer = new Map<string, number>();
  graph.node.forEach((node, i) => node.output.forEach((o) => producer.has(o) || producer.set(o, i)));

  graph.node.forEach((node, i) => {
    for (const name of node.input) {
      if (name === '' || defined.has(name)) continue; // '' marks an omitted optional input
      const later = producer.get(name);
      if (later !== undefined && later > i) {
        throw new ModelError(`${where} ${nodeLabel(node, i)} reads '${name}' before ${nodeLabel(graph.node[later], later)} produces it; nodes must be in topological order, re-export or sort the graph`);
      }
      throw new ModelError(`${where} ${nodeLabel(node, i)} reads '${name}', which no earlier node, initializer or graph input provides; add the missing initializer or input, or re-export the model`);
    }
    for (const a of node.attribute) {
      for (const sub of a.g ? [a.g, ...a.graphs] : a.graphs) {
        validateGraph(sub, defined, `${where} subgraph '${a.name}' of ${nodeLabel(node, i)}:`);
      }
    }
    for (const name of node.output) {
      if (name === '') continue;
      if (defined.has(name)) {
        throw new ModelError(`${where} value '${name}' of ${nodeLabel(node, i)} is already defined by an earlier node, initializer or input; ONNX values must have one producer, rename one`);
      }
      defined.add(name);
    }
  });
  for (const output of graph.output) {
    if (!defined.has(output.name)) {
      throw new ModelError(`${where} graph output '${output.name}' is not produced by any node, initializer or input; fix the output list or re-export the model`);
    }
  }
}

function checkRawSize(init: GraphProto['initializer'][number], where: string): void {
  const size = elementSize(init.dataType);
  if (size === undefined || init.rawData.length === 0) return;
  const need = elementCount(tensorDims(init)) * size;
  if (init.rawData.length !== need) {
    throw new ModelError(`${where} initializer '${init.name}' holds ${init.rawData.length} bytes but dims [${tensorDims(init).join(',')}] of ${dataTypeName(init.dataType)} need ${need}; the file is truncated or corrupt, re-export it`);
  }
}
