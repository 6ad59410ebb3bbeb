// Pooling. AveragePool is a convolution with a ones kernel per channel scaled by 1/count, so its
// adjoint is a grouped ConvTranspose of dY/count (the window geometry is shared with Conv, see
// conv.ts). MaxPool routes each dY element to the input element its window picked, which the
// forward reports in its Indices output; the global pools broadcast dY back over the spatial axes.
import { create } from '@bufbuild/protobuf';
import { type NodeProto, TensorProtoSchema } from 'onnx-buf';

import { elementSize } from '../../model/tensor.js';
import type { GraphEditor } from '../graph.js';
import type { GradientRule, RuleContext } from '../rule.js';
import { convolveTransposed, explicitPads, type WindowAxis, windowAxes } from './conv.js';

const numel = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function zeros(c: RuleContext, count: number, like: string): string {
  const dataType = c.dtypeCode(like);
  const value = create(TensorProtoSchema, { dataType, dims: [1n], rawData: new Uint8Array(elementSize(dataType) ?? 4) });
  return c.g.node('ConstantOfShape', [c.g.int64s([count])], { value: { tensor: value } });
}

/**
 * Under ceil_mode ORT's kernels drop a last window that would start in the end pad or past the
 * input, as PyTorch does, but the ONNX shape inference ORT runs when loading a model still counts
 * it. Every value after the pool is then declared longer than it is, and the gradient model, whose
 * backward has the probed (true) shapes, fails to load. A dropped window means the output has
 * floor mode's length, and then every window lies inside the padded input (a ceil-mode window
 * can only overrun its end when it is the extra one), so the same windows with the same divisors
 * come from ceil_mode=0, which both agree on: the forward node is switched to it.
 * Returns the explicit end pads.
 */
function dropCeilModeWhereORTDoes(c: RuleContext, axes: readonly WindowAxis[], kernel: readonly number[]): number[] {
  const { end } = explicitPads(c, axes.map((a) => a.inLen), axes.map((a) => a.outLen), kernel, axes.map((a) => a.stride), axes.map((a) => a.dilation));
  const ceilMode = c.node.attribute.find((a) => a.name === 'ceil_mode');
  const floorLength = (a: WindowAxis, i: number) => Math.floor((a.inLen + a.begin + end[i] - a.dilation * (a.kernel - 1) - 1) / a.stride) + 1;
  if (ceilMode && axes.every((a, i) => a.outLen === floorLength(a, i))) ceilMode.i = 0n;
  return end;
}

/**
 * MaxPool's Indices (storage_order=0) are offsets into the whole flattened input, batch and
 * channel offsets included (checked in pool.test.ts), so one flat ScatterElements puts every dY
 * element back; reduction='add' sums where overlapping windows picked the same element.
 */
function maxPool(c: RuleContext): void {
  const x = c.input(0), xDims = c.dims(x);
  const kernel = c.attrs.ints('kernel_shape', []);
  dropCeilModeWhereORTDoes(c, windowAxes(c, xDims.slice(2), c.dims(c.output(0)).slice(2), kernel), kernel);
  const dY = c.dY(0);
  if (!dY || !c.wants(0)) return;
  if (c.attrs.int('storage_order', 0) !== 0) throw c.unsupported('storage_order=1 (column-major Indices)');
  const flat = (v: string) => c.g.node('Reshape', [v, c.g.int64s([-1])]);
  const scattered = c.g.node('ScatterElements', [zeros(c, numel(xDims), x), flat(c.output(1)), flat(dY)], { axis: 0, reduction: 'add' });
  c.give(0, c.g.node('Reshape', [scattered, c.g.int64s(xDims)]));
}

/** Gives the forward MaxPool its Indices output when the model did not ask for it. */
function withIndices(node: NodeProto, g: GraphEditor): void {
  if (node.output.length < 2) node.output.push(g.fresh('indices'));
  else if (!node.output[1]) node.output[1] = g.fresh('indices');
}

/**
 * Per-output-position divisors along one axis: the taps of each window that fall inside the input
 * (count_include_pad=0) or inside the explicitly padded input (count_include_pad=1). Under
 * ceil_mode the last window can run past the end pad too; those taps are not counted either way,
 * as in ORT (checked in pool.test.ts).
 */
function divisors(a: WindowAxis, end: number, includePad: boolean): number[] {
  const lo = includePad ? -a.begin : 0, hi = includePad ? a.inLen + end : a.inLen;
  return range(0, a.outLen).map((o) => range(0, a.kernel).filter((k) => {
    const p = o * a.stride + k * a.dilation - a.begin;
    return p >= lo && p < hi;
  }).length);
}

function averagePool(c: RuleContext): void {
  const x = c.input(0), xDims = c.dims(x), yDims = c.dims(c.output(0));
  const [, channels, ...spatial] = xDims;
  const kernel = c.attrs.ints('kernel_shape', []);
  if (kernel.length !== spatial.length) throw c.unsupported(`kernel_shape ${JSON.stringify(kernel)} for a rank-${xDims.length} input`);
  const axes = windowAxes(c, spatial, yDims.slice(2), kernel);
  const end = dropCeilModeWhereORTDoes(c, axes, kernel);
  const dY = c.dY(0);
  if (!dY || !c.wants(0)) return;
  const includePad = c.attrs.int('count_include_pad', 0) === 1;

  // The divisors are separable (a window is a product of per-axis ranges), so their reciprocals
  // are an outer product, emitted as one constant that broadcasts over N and C.
  let reciprocal = [1];
  for (const [i, a] of axes.entries()) {
    const d = divisors(a, end[i], includePad);
    reciprocal = reciprocal.flatMap((r) => d.map((n) => r / n));
  }
  const uniform = reciprocal.every((r) => r === reciprocal[0]);
  const scale = uniform ? c.g.float(reciprocal[0]) : c.g.floats(reciprocal, [1, 1, ...yDims.slice(2)]);
  const scaled = c.g.node('Mul', [dY, scale]);
  const onesKernel = c.g.floats(Array(channels * numel(kernel)).fill(1), [channels, 1, ...kernel]);
  c.give(0, convolveTransposed(c, scaled, onesKernel, axes, channels));
}

function globalAveragePool(c: RuleContext): void {
  const dY = c.dY(0);
  if (!dY || !c.wants(0)) return;
  const xDims = c.dims(c.input(0));
  const scaled = c.g.node('Mul', [dY, c.g.float(1 / numel(xDims.slice(2)))]);
  c.give(0, c.g.node('Expand', [scaled, c.g.int64s(xDims)]));
}

/**
 * The gradient goes to the elements equal to the maximum, split evenly among ties (a valid
 * subgradient; PyTorch's max_pool gives it all to one element instead, and this rule's MaxPool
 * gives it to the one ORT's Indices names). Without ties both agree.
 */
function globalMaxPool(c: RuleContext): void {
  const dY = c.dY(0);
  if (!dY || !c.wants(0)) return;
  const x = c.input(0), rank = c.dims(x).length;
  const mask = c.g.node('Cast', [c.g.node('Equal', [x, c.output(0)])], { to: c.dtypeCode(x) });
  const ties = c.g.node('ReduceSum', [mask, c.g.int64s(range(2, rank))], { keepdims: 1 });
  c.give(0, c.g.node('Mul', [mask, c.g.node('Div', [dY, ties])]));
}

export const poolRules: Record<string, GradientRule> = {
  MaxPool: { differentiable: [0], prepare: withIndices, vjp: maxPool },
  AveragePool: { differentiable: [0], vjp: averagePool },
  GlobalAveragePool: { differentiable: [0], vjp: globalAveragePool },
  GlobalMaxPool: { differentiable: [0], vjp: globalMaxPool },
};
