// Fresh weights for an existing architecture (shadow models start from scratch): each parameter is
// drawn by what the first node reading it does with it.
//
//   Conv / ConvTranspose weight      He normal, std √(2 / fan_in)      (ReLU networks)
//   Gemm / MatMul weight             Glorot uniform, ±√(6 / (fan_in + fan_out))
//   bias (Conv, Gemm, Add/Sub of a   0
//     vector), normalisation shift
//   normalisation scale, Mul/Div     1
//   PRelu slope                      0.25
//   anything else (embeddings,       normal, std 0.02 (the ViT convention)
//     class tokens, positions)
//   BatchNormalization statistics    mean 0, variance 1
import type { ModelProto, NodeProto } from 'onnx-buf';

import { randomNormal, randomUniform } from '@onnx-audit/native';

import { Attributes } from '../autodiff/graph.js';
import { type ParameterLayout, type Slot, withValues } from './parameters.js';
import { streamKey } from './streams.js';

type Draw = { kind: 'normal'; std: number } | { kind: 'uniform'; limit: number } | { kind: 'constant'; value: number };

export async function reinitialize(model: ModelProto, layout: ParameterLayout, seed: number): Promise<ModelProto> {
  const graph = model.graph!;
  const key = streamKey(seed, 'init');
  const parameters = new Float32Array(layout.parameterCount);
  for (const slot of layout.parameters) {
    const { node, index } = firstUse(graph.node, slot.name);
    const draw = drawFor(slot, node, index);
    // The offset is the slot's place in the layout: each parameter reads its own stretch of the stream.
    const options = { seed: key, offset: BigInt(slot.offset) };
    const target = parameters.subarray(slot.offset, slot.offset + slot.size);
    if (draw.kind === 'constant') target.fill(draw.value);
    else if (draw.kind === 'normal') target.set((await randomNormal(slot.size, options)).map((v) => v * draw.std));
    else target.set((await randomUniform(slot.size, options)).map((u) => (2 * u - 1) * draw.limit));
  }
  const statistics = new Float32Array(layout.statisticCount);
  for (const slot of layout.statistics) {
    const isVariance = graph.node.some((n) => n.opType === 'BatchNormalization' && n.input[4] === slot.name);
    statistics.fill(isVariance ? 1 : 0, slot.offset, slot.offset + slot.size);
  }
  return withValues(model, [
    { slots: layout.parameters, values: parameters },
    { slots: layout.statistics, values: statistics },
  ]);
}

/** The node that uses a value, looking through Identity nodes (exporters wrap shared weights in them). */
function firstUse(nodes: NodeProto[], value: string): { node: NodeProto; index: number } {
  const node = nodes.find((n) => n.input.includes(value))!;
  if (node.opType === 'Identity' && nodes.some((n) => n.input.includes(node.output[0]))) return firstUse(nodes, node.output[0]);
  return { node, index: node.input.indexOf(value) };
}

function drawFor(slot: Slot, node: NodeProto, index: number): Draw {
  const dims = slot.dims;
  const isVector = dims.filter((d) => d > 1).length <= 1;
  switch (node.opType) {
    case 'Conv':
    case 'ConvTranspose': {
      if (index !== 1) return { kind: 'constant', value: 0 };
      const receptive = dims.slice(2).reduce((a, b) => a * b, 1);
      return { kind: 'normal', std: Math.sqrt(2 / (dims[1] * receptive)) };
    }
    case 'Gemm': {
      if (index === 2) return { kind: 'constant', value: 0 };
      const transposed = new Attributes(node).int(index === 1 ? 'transB' : 'transA', 0) !== 0;
      const [rows, cols] = dims;
      // Gemm computes A·B: B is [fan_in, fan_out], or [fan_out, fan_in] when transposed.
      const [fanIn, fanOut] = (index === 1) !== transposed ? [rows, cols] : [cols, rows];
      return glorot(fanIn, fanOut);
    }
    case 'MatMul':
      return dims.length >= 2 ? glorot(dims[dims.length - 2], dims[dims.length - 1]) : { kind: 'normal', std: 0.02 };
    case 'BatchNormalization':
    case 'LayerNormalization':
    case 'InstanceNormalization':
      return { kind: 'constant', value: index === 1 ? 1 : 0 };
    case 'PRelu':
      return { kind: 'constant', value: 0.25 };
    case 'Add':
    case 'Sub':
      return isVector ? { kind: 'constant', value: 0 } : { kind: 'normal', std: 0.02 };
    case 'Mul':
    case 'Div':
      return isVector ? { kind: 'constant', value: 1 } : { kind: 'normal', std: 0.02 };
    default:
      return { kind: 'normal', std: 0.02 };
  }
}

function glorot(fanIn: number, fanOut: number): Draw {
  return { kind: 'uniform', limit: Math.sqrt(6 / (fanIn + fanOut)) };
}
