// Conv and ConvTranspose. ConvTranspose is the adjoint of Conv, so each op's input gradient is
// the other op applied to dY with the same strides, dilations, pads and groups. Both weight
// gradients use the "conv trick" of the autodiff spec (§1.2): a Conv that swaps the roles of the
// batch and channel axes, with strides and dilations exchanged, correlates the input with dY.
//
// Shapes are concrete, so every geometry is explicit at build time. Only the begin pads matter:
// given the output length, the end pad just decides how much of the padded input no window reads,
// and the backward trims it to exactly what the windows cover. auto_pad, ceil_mode (pools) and
// ConvTranspose's output_shape are thereby all read off the probed output dims.
import type { GradientRule, RuleContext } from '../rule.js';

/**
 * One spatial axis of a strided, dilated window op read as a convolution: windows of `kernel` taps
 * `dilation` apart, starting every `stride` elements of the input padded by `begin` in front,
 * taking `inLen` elements to `outLen`. (For ConvTranspose, the convolution is its adjoint: from
 * Y's length to X's.)
 */
export interface WindowAxis {
  inLen: number;
  outLen: number;
  kernel: number;
  stride: number;
  dilation: number;
  begin: number;
}

/**
 * The end pad that makes the padded input end where the last window does, or, when the windows
 * stop short of the input's end, the output padding a ConvTranspose needs to reach it.
 */
function trimmed(a: WindowAxis): { end: number; outputPadding: number } {
  const excess = a.stride * (a.outLen - 1) + a.dilation * (a.kernel - 1) + 1 - a.begin - a.inLen;
  return { end: Math.max(excess, 0), outputPadding: Math.max(-excess, 0) };
}

const ones = (n: number) => Array.from({ length: n }, () => 1);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * Explicit pads of a Conv or pool from its pads / auto_pad attributes. SAME_* pads are derived
 * from the output length (⌈in/stride⌉) as the ONNX spec and ORT do: the odd pixel goes to the end
 * for SAME_UPPER and to the front for SAME_LOWER.
 */
export function explicitPads(c: RuleContext, inSpatial: readonly number[], outSpatial: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): { begin: number[]; end: number[] } {
  const rank = kernel.length;
  const autoPad = c.attrs.string('auto_pad', 'NOTSET');
  switch (autoPad) {
    case 'NOTSET': {
      const pads = c.attrs.ints('pads', Array(2 * rank).fill(0));
      return { begin: pads.slice(0, rank), end: pads.slice(rank) };
    }
    case 'VALID':
      return { begin: Array(rank).fill(0), end: Array(rank).fill(0) };
    case 'SAME_UPPER':
    case 'SAME_LOWER': {
      const total = range(0, rank).map((i) => Math.max(0, strides[i] * (outSpatial[i] - 1) + dilations[i] * (kernel[i] - 1) + 1 - inSpatial[i]));
      const small = total.map((t) => Math.floor(t / 2));
      const begin = autoPad === 'SAME_UPPER' ? small : total.map((t, i) => t - small[i]);
      return { begin, end: total.map((t, i) => t - begin[i]) };
    }
    default:
      throw c.unsupported(`auto_pad '${autoPad}'`);
  }
}

/** The window axes of a Conv-like node (Conv, AveragePool) from its attributes and concrete dims. */
export function windowAxes(c: RuleContext, inSpatial: readonly number[], outSpatial: readonly number[], kernel: readonly number[]): WindowAxis[] {
  const rank = kernel.length;
  const strides = c.attrs.ints('strides', ones(rank)), dilations = c.attrs.ints('dilations', ones(rank));
  const { begin } = explicitPads(c, inSpatial, outSpatial, kernel, strides, dilations);
  return range(0, rank).map((i) => ({ inLen: inSpatial[i], outLen: outSpatial[i], kernel: kernel[i], stride: strides[i], dilation: dilations[i], begin: begin[i] }));
}

/** Slices the spatial axes (2…) of `value` down to `spatial` when any is longer. */
function cropSpatial(c: RuleContext, value: string, have: readonly number[], spatial: readonly number[]): string {
  if (have.every((d, i) => d === spatial[i])) return value;
  return c.g.node('Slice', [value, c.g.int64s(spatial.map(() => 0)), c.g.int64s([...spatial]), c.g.int64s(range(2, 2 + spatial.length))]);
}

/** Conv over `axes` (from inLen to outLen) with the end pads trimmed. */
export function convolve(c: RuleContext, x: string, weight: string, axes: readonly WindowAxis[], group: number): string {
  const t = axes.map(trimmed);
  const y = c.g.node('Conv', [x, weight], {
    strides: axes.map((a) => a.stride),
    dilations: axes.map((a) => a.dilation),
    pads: [...axes.map((a) => a.begin), ...t.map((e) => e.end)],
    group,
  });
  // A ConvTranspose whose output_padding reaches a stride (ONNX allows up to the dilation; ORT
  // refuses) has ⌊outputPadding/stride⌋ more rows here than its input had: dropped.
  const have = axes.map((a, i) => a.outLen + Math.floor(t[i].outputPadding / a.stride));
  return cropSpatial(c, y, have, axes.map((a) => a.outLen));
}

/**
 * The adjoint of a convolution over `axes`: ConvTranspose of `dY` (outLen) back to exactly inLen.
 * output_padding supplies the input elements past the last window (zero gradient). ORT wants it
 * below the stride, which holds for every geometry a Conv or pool can have: the padded input is
 * less than a stride longer than the last window's end.
 */
export function convolveTransposed(c: RuleContext, dY: string, weight: string, axes: readonly WindowAxis[], group: number): string {
  const t = axes.map(trimmed);
  const outputPadding = t.map((e) => e.outputPadding);
  if (axes.some((a, i) => outputPadding[i] >= a.stride)) throw c.unsupported(`a geometry whose windows end ≥ a stride before the input's end (${JSON.stringify(axes)})`);
  return c.g.node('ConvTranspose', [dY, weight], {
    strides: axes.map((a) => a.stride),
    dilations: axes.map((a) => a.dilation),
    pads: [...axes.map((a) => a.begin), ...t.map((e) => e.end)],
    group,
    ...(outputPadding.some((p) => p > 0) ? { output_padding: outputPadding } : {}),
  });
}

/**
 * The weight gradient of the convolution `cotangent = Conv(input, W)` over `axes`, with W of
 * shape [M, C/group, ...kernel] (input [N, C, ...] = `inputDims`, cotangent [N, M, ...]).
 * dW[m, c, k] = Σ over n and output positions o of cotangent[n, m, o] · padded input[n, c, o·s + k·d]:
 * a Conv of the input with batch and channel axes swapped, by the cotangent as kernel, whose stride
 * is the forward dilation and whose dilation is the forward stride. Groups map to groups: input channels
 * reorder to [C/group, group·N] so that group j of the trick reads group j's channels.
 */
export function weightGradient(c: RuleContext, input: string, inputDims: readonly number[], cotangent: string, axes: readonly WindowAxis[], group: number): string {
  const [n, channels, ...spatial] = inputDims;
  const rank = axes.length;
  const swapFirstTwo = [1, 0, ...range(2, 2 + rank)];
  const swapped = group === 1
    ? c.g.node('Transpose', [input], { perm: swapFirstTwo })
    : c.g.node('Reshape', [
      c.g.node('Transpose', [c.g.node('Reshape', [input, c.g.int64s([n, group, channels / group, ...spatial])])], { perm: [2, 1, 0, ...range(3, 3 + rank)] }),
      c.g.int64s([channels / group, group * n, ...spatial]),
    ]);
  const kernelOfTrick = c.g.node('Transpose', [cotangent], { perm: swapFirstTwo });
  const t = axes.map(trimmed);
  const z = c.g.node('Conv', [swapped, kernelOfTrick], {
    strides: axes.map((a) => a.dilation),
    dilations: axes.map((a) => a.stride),
    pads: [...axes.map((a) => a.begin), ...t.map((e) => e.end)],
    group,
  });
  // With the end trimmed, the trick's output is exactly the kernel, plus ⌊outputPadding/d⌋ taps
  // when the windows stop short of the input's end.
  const have = axes.map((a, i) => a.kernel + Math.floor(t[i].outputPadding / a.dilation));
  return c.g.node('Transpose', [cropSpatial(c, z, have, axes.map((a) => a.kernel))], { perm: swapFirstTwo });
}

/** The bias gradient: dY summed over every axis but the channels. */
function biasGradient(c: RuleContext, dY: string, rank: number): string {
  return c.g.node('ReduceSum', [dY, c.g.int64s([0, ...range(2, rank)])], { keepdims: 0 });
}

function conv(c: RuleContext): void {
  const dY = c.dY(0);
  if (!dY) return;
  const x = c.input(0), w = c.input(1);
  const xDims = c.dims(x), wDims = c.dims(w), yDims = c.dims(c.output(0));
  const group = c.attrs.int('group', 1);
  const axes = windowAxes(c, xDims.slice(2), yDims.slice(2), wDims.slice(2));
  if (c.wants(0)) c.give(0, convolveTransposed(c, dY, w, axes, group));
  if (c.wants(1)) c.give(1, weightGradient(c, x, xDims, dY, axes, group));
  if (c.input(2) && c.wants(2)) c.give(2, biasGradient(c, dY, yDims.length));
}

/**
 * ConvTranspose's begin pads. With output_shape or SAME_* the pads come from the total padding
 * the output length implies, split as the ONNX spec and ORT 1.29 do (checked in conv.test.ts; old
 * ORT sources put the odd pixel at the other end): at the end for SAME_UPPER, at the front
 * otherwise.
 */
function transposedBeginPads(c: RuleContext, inSpatial: readonly number[], outSpatial: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): number[] {
  const rank = kernel.length;
  const autoPad = c.attrs.string('auto_pad', 'NOTSET');
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) throw c.unsupported(`auto_pad '${autoPad}'`);
  if (autoPad === 'NOTSET' && !c.attrs.has('output_shape')) return c.attrs.ints('pads', Array(2 * rank).fill(0)).slice(0, rank);
  if (autoPad === 'VALID' && !c.attrs.has('output_shape')) return Array(rank).fill(0);
  const outputPadding = c.attrs.ints('output_padding', Array(rank).fill(0));
  return range(0, rank).map((i) => {
    const total = strides[i] * (inSpatial[i] - 1) + outputPadding[i] + dilations[i] * (kernel[i] - 1) + 1 - outSpatial[i];
    if (total < 0) throw c.unsupported(`an output_shape larger than the unpadded output (${outSpatial[i]} > ${outSpatial[i] + total} on spatial axis ${i})`);
    const small = Math.floor(total / 2);
    return autoPad === 'SAME_UPPER' ? small : total - small;
  });
}

function convTranspose(c: RuleContext): void {
  const dY = c.dY(0);
  if (!dY) return;
  const x = c.input(0), w = c.input(1);
  const xDims = c.dims(x), wDims = c.dims(w), yDims = c.dims(c.output(0));
  const group = c.attrs.int('group', 1);
  const kernel = wDims.slice(2), rank = kernel.length;
  const strides = c.attrs.ints('strides', ones(rank)), dilations = c.attrs.ints('dilations', ones(rank));
  const begin = transposedBeginPads(c, xDims.slice(2), yDims.slice(2), kernel, strides, dilations);
  // The convolution ConvTranspose is the adjoint of: from Y's spatial dims to X's.
  const axes = range(0, rank).map((i) => ({ inLen: yDims[2 + i], outLen: xDims[2 + i], kernel: kernel[i], stride: strides[i], dilation: dilations[i], begin: begin[i] }));
  if (c.wants(0)) c.give(0, convolve(c, dY, w, axes, group));
  // W [C_in, C_out/group, ...] is the weight of that convolution (dY → X), so the trick applies
  // with dY as its input and X as its cotangent, and returns W's own layout.
  if (c.wants(1)) c.give(1, weightGradient(c, dY, yDims, x, axes, group));
  if (c.input(2) && c.wants(2)) c.give(2, biasGradient(c, dY, yDims.length));
}

export const convRules: Record<string, GradientRule> = {
  Conv: { differentiable: [0, 1, 2], vjp: conv },
  ConvTranspose: { differentiable: [0, 1, 2], vjp: convTranspose },
};
