// Data movement and shape ops. Every one of them moves elements without arithmetic, so each
// gradient routes dY back to where the elements came from. Shapes are concrete when the backward
// is built, which lets the rules fold sizes, offsets and index maps into constants instead of
// computing them in the graph (as ORT's SimplifyReshape would fold them anyway).
import { create } from '@bufbuild/protobuf';
import { TensorProto_DataType, TensorProtoSchema } from 'onnx-buf';

import { elementSize } from '../../model/tensor.js';
import { unbroadcast } from '../broadcast.js';
import { constantValues } from '../constants.js';
import type { GradientRule, RuleContext } from '../rule.js';

const numel = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const sameDims = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function normalizeAxis(c: RuleContext, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw c.unsupported(`axis ${axis} for rank ${rank}`);
  return a;
}

/** Zeros of the given dims in the element type of value `like` (raw bytes, so any width works). */
function zeros(c: RuleContext, dims: readonly number[], like: string): string {
  const dataType = c.dtypeCode(like);
  const value = create(TensorProtoSchema, { dataType, dims: [1n], rawData: new Uint8Array(elementSize(dataType) ?? 4) });
  return c.g.node('ConstantOfShape', [c.g.int64s([...dims])], { value: { tensor: value } });
}

function reshape(c: RuleContext, grad: string, from: readonly number[], to: readonly number[]): string {
  if (sameDims(from, to)) return grad;
  // A 0 in the target means "copy that dim" unless allowzero, and empty tensors have real zeros.
  return c.g.node('Reshape', [grad, c.g.int64s([...to])], to.includes(0) ? { allowzero: 1 } : {});
}

/**
 * int64 indices with negatives wrapped, computed in the graph (indices from another op); `shape`
 * reshapes them first (a value the rule made has no known element type, so cast the original).
 * ScatterElements accepts [−s, s) by the spec and ORT's CPU kernel does, but wrapping costs little
 * next to the scatter and spares EPs that only handle [0, s).
 */
function wrapIndices(c: RuleContext, indices: string, dim: number, shape?: readonly number[]): string {
  let idx = c.dtypeCode(indices) === TensorProto_DataType.INT64 ? indices : c.g.node('Cast', [indices], { to: TensorProto_DataType.INT64 });
  if (shape) idx = c.g.node('Reshape', [idx, c.g.int64s([...shape])]);
  const negative = c.g.node('Less', [idx, c.g.int64s([0], true)]);
  return c.g.node('Where', [negative, c.g.node('Add', [idx, c.g.int64s([dim], true)]), idx]);
}

/**
 * Scatter-adds `grad` (dims `shape`) along `axis` into a zero tensor whose dim there is `dim`:
 * element k goes to position indices[k], where `indices` is a 1-D int64 value of length
 * shape[axis]. Repeated indices accumulate. The indices are broadcast in the graph, so the model
 * stores only the short vector, not a tensor the size of dY.
 */
function scatterAlong(c: RuleContext, grad: string, shape: readonly number[], axis: number, dim: number, indices: string, like: string): string {
  const column = shape.map((d, i) => (i === axis ? d : 1));
  const expanded = c.g.node('Expand', [c.g.node('Reshape', [indices, c.g.int64s(column)]), c.g.int64s([...shape])]);
  const target = shape.map((d, i) => (i === axis ? dim : d));
  return c.g.node('ScatterElements', [zeros(c, target, like), expanded, grad], { axis, reduction: 'add' });
}

/**
 * The offset o when output position k reads input k + o wherever that lies inside [0, dim) and
 * padding elsewhere; undefined when the map is not such a shift.
 */
function shiftOf(map: readonly number[], dim: number): number | undefined {
  const first = map.findIndex((m) => m >= 0);
  if (first < 0) return undefined;
  const offset = map[first] - first;
  return map.every((m, k) => m === (k + offset >= 0 && k + offset < dim ? k + offset : -1)) ? offset : undefined;
}

/**
 * The adjoint of a separable gather, which covers Slice, Pad (every mode) and Gather with
 * constant indices: along each axis a with a map, output position k read input position
 * maps[a][k] (−1: a padding value that read no input); axes without a map are untouched. Shift
 * maps (Slice with step 1, constant-mode Pad, contiguous indices) become one Pad of dY, with
 * negative pads cropping; the rest scatter-add along their axis, one ScatterElements per axis.
 */
function indexScatter(c: RuleContext, grad: string, gradDims: readonly number[], x: string, maps: ReadonlyArray<readonly number[] | undefined>): string {
  const xDims = c.dims(x), rank = xDims.length;
  const shape = [...gradDims];
  const pads: number[] = new Array<number>(2 * rank).fill(0);
  let out = grad;
  for (let a = 0; a < rank; a++) {
    const map = maps[a];
    if (!map) continue;
    const dim = xDims[a];
    const offset = shiftOf(map, dim);
    if (offset !== undefined) {
      pads[a] = offset;
      pads[a + rank] = dim - map.length - offset;
      continue;
    }
    let sources = map;
    if (map.some((m) => m < 0)) {
      // Padding positions read nothing: drop their gradient before scattering the rest.
      const kept = range(map.length).filter((k) => map[k] >= 0);
      if (kept.length === 0) return zeros(c, xDims, x);
      out = c.g.node('Gather', [out, c.g.int64s(kept)], { axis: a });
      shape[a] = kept.length;
      sources = kept.map((k) => map[k]);
    }
    out = scatterAlong(c, out, shape, a, dim, c.g.int64s([...sources]), x);
    shape[a] = dim;
  }
  if (pads.some((p) => p !== 0)) out = c.g.node('Pad', [out, c.g.int64s(pads)]);
  return out;
}

/** Flatten, Reshape, Squeeze, Unsqueeze: the same elements in the same order, so reshape back. */
const reshapeBack: GradientRule = {
  differentiable: [0],
  vjp: (c) => {
    const dY = c.dY(0);
    if (dY && c.wants(0)) c.give(0, reshape(c, dY, c.dims(c.output(0)), c.dims(c.input(0))));
  },
};

/** Position-by-position source maps of a Slice, from its constant starts/ends/axes/steps. */
function sliceMaps(c: RuleContext): Array<number[] | undefined> {
  const xDims = c.dims(c.input(0)), rank = xDims.length;
  const starts = constantValues(c, c.input(1)), ends = constantValues(c, c.input(2));
  const axes = c.input(3) ? constantValues(c, c.input(3)) : starts && range(starts.length);
  const steps = c.input(4) ? constantValues(c, c.input(4)) : starts?.map(() => 1);
  if (!starts || !ends || !axes || !steps) throw c.unsupported('Slice with starts, ends, axes or steps computed in the graph (only constants)');
  const maps: Array<number[] | undefined> = new Array<number[] | undefined>(rank).fill(undefined);
  const yDims = c.dims(c.output(0));
  starts.forEach((start, j) => {
    const a = normalizeAxis(c, axes[j], rank), dim = xDims[a], step = steps[j];
    if (step === 0) throw c.unsupported('a Slice step of 0');
    // ONNX Slice semantics: wrap negatives once, then clamp (differently for negative steps).
    let s = start < 0 ? start + dim : start, e = ends[j] < 0 ? ends[j] + dim : ends[j];
    if (step > 0) [s, e] = [clamp(s, 0, dim), clamp(e, 0, dim)];
    else [s, e] = [clamp(s, 0, dim - 1), clamp(e, -1, dim - 1)];
    const length = Math.max(0, Math.ceil((e - s) / step));
    if (length !== yDims[a]) throw c.unsupported(`Slice on axis ${a}: computed length ${length} but the output has ${yDims[a]}`);
    maps[a] = range(length).map((k) => s + k * step);
  });
  return maps;
}

/** Where output position k of a padded axis reads from (−1: the constant), per Pad mode. */
function padSource(mode: string, i: number, dim: number): number {
  if (i >= 0 && i < dim) return i;
  switch (mode) {
    case 'edge': return clamp(i, 0, dim - 1);
    case 'wrap': return ((i % dim) + dim) % dim;
    case 'reflect': {
      // Mirror without repeating the edge; period 2(dim − 1), as numpy's reflect.
      if (dim === 1) return 0;
      const period = 2 * (dim - 1), m = ((i % period) + period) % period;
      return m < dim ? m : period - m;
    }
    default: return -1;
  }
}

function pad(c: RuleContext): void {
  const dY = c.dY(0);
  if (!dY || !c.wants(0)) return;
  const x = c.input(0), xDims = c.dims(x), rank = xDims.length;
  const mode = c.attrs.string('mode', 'constant');
  if (!['constant', 'reflect', 'edge', 'wrap'].includes(mode)) throw c.unsupported(`Pad mode '${mode}'`);
  const padsIn = constantValues(c, c.input(1));
  const axesIn = c.input(3) ? constantValues(c, c.input(3)) : range(rank);
  if (!padsIn || !axesIn) {
    // Constant padding is undone by padding dY with the negated pads (negative pads crop), which
    // the graph can compute from whatever produced them.
    if (mode !== 'constant') throw c.unsupported(`Pad mode '${mode}' with pads or axes computed in the graph`);
    const negated = c.g.node('Neg', [c.input(1)]);
    c.give(0, c.g.node('Pad', c.input(3) ? [dY, negated, '', c.input(3)] : [dY, negated]));
    return;
  }
  const begin = new Array<number>(rank).fill(0), end = new Array<number>(rank).fill(0);
  axesIn.forEach((axis, j) => {
    const a = normalizeAxis(c, axis, rank);
    begin[a] = padsIn[j];
    end[a] = padsIn[j + axesIn.length];
  });
  if (mode !== 'constant' && [...begin, ...end].some((p) => p < 0)) throw c.unsupported(`negative pads with mode '${mode}'`);
  const maps = xDims.map((dim, a) =>
    begin[a] === 0 && end[a] === 0 ? undefined : range(dim + begin[a] + end[a]).map((k) => padSource(mode, k - begin[a], dim)));
  c.give(0, indexScatter(c, dY, c.dims(c.output(0)), x, maps));
}

function gather(c: RuleContext): void {
  const dY = c.dY(0);
  if (!dY || !c.wants(0)) return;
  const x = c.input(0), xDims = c.dims(x), rank = xDims.length;
  const a = normalizeAxis(c, c.attrs.int('axis', 0), rank), dim = xDims[a];
  // Y's index dims (none for a scalar index) collapse into one axis in place of X's axis a.
  const count = numel(c.dims(c.input(1)));
  const flat = [...xDims.slice(0, a), count, ...xDims.slice(a + 1)];
  const grad = reshape(c, dY, c.dims(c.output(0)), flat);
  const constant = constantValues(c, c.input(1));
  if (constant) {
    const maps: Array<number[] | undefined> = new Array<number[] | undefined>(rank).fill(undefined);
    maps[a] = constant.map((i) => (i < 0 ? i + dim : i));
    c.give(0, indexScatter(c, grad, flat, x, maps));
    return;
  }
  const indices = wrapIndices(c, c.input(1), dim, [count]);
  c.give(0, scatterAlong(c, grad, flat, a, dim, indices, x));
}

export const shapeRules: Record<string, GradientRule> = {
  Flatten: reshapeBack,
  Reshape: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,
  Transpose: {
    differentiable: [0],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY || !c.wants(0)) return;
      const rank = c.dims(c.input(0)).length;
      const perm = c.attrs.ints('perm', range(rank).reverse());
      const inverse = new Array<number>(rank);
      perm.forEach((p, i) => { inverse[p] = i; });
      c.give(0, inverse.every((p, i) => p === i) ? dY : c.g.node('Transpose', [dY], { perm: inverse }));
    },
  },
  Concat: {
    differentiable: 'all',
    vjp: (c) => {
      const dY = c.dY(0);
      const inputs = c.node.input;
      if (!dY || !inputs.some((_, i) => c.wants(i))) return;
      if (inputs.length === 1) {
        c.give(0, dY);
        return;
      }
      const rank = c.dims(c.output(0)).length;
      const axis = normalizeAxis(c, c.attrs.int('axis', 0), rank);
      // One Split yields every part; inputs that want none simply leave theirs unread. A value
      // concatenated twice gets both parts through give's accumulation.
      const sizes = inputs.map((name) => c.dims(name)[axis]);
      const parts = c.g.nodeN('Split', [dY, c.g.int64s(sizes)], inputs.length, { axis });
      inputs.forEach((_, i) => { if (c.wants(i)) c.give(i, parts[i]); });
    },
  },
  Split: {
    differentiable: [0],
    vjp: (c) => {
      if (!c.wants(0)) return;
      const x = c.input(0);
      const axis = normalizeAxis(c, c.attrs.int('axis', 0), c.dims(x).length);
      // The parts' concrete dims say how it was split, whichever form (split input or attribute,
      // num_outputs, equal parts) the node used; unused parts contribute zeros.
      const parts = c.node.output.map((name, i) => c.dY(i) ?? zeros(c, c.dims(name), x));
      c.give(0, parts.length === 1 ? parts[0] : c.g.node('Concat', parts, { axis }));
    },
  },
  Slice: {
    differentiable: [0],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY || !c.wants(0)) return;
      c.give(0, indexScatter(c, dY, c.dims(c.output(0)), c.input(0), sliceMaps(c)));
    },
  },
  Pad: { differentiable: [0], vjp: pad },
  Expand: {
    differentiable: [0],
    vjp: (c) => {
      const dY = c.dY(0);
      if (dY && c.wants(0)) c.give(0, unbroadcast(c, dY, c.dims(c.output(0)), c.input(0)));
    },
  },
  Tile: {
    differentiable: [0],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY || !c.wants(0)) return;
      const xDims = c.dims(c.input(0)), yDims = c.dims(c.output(0));
      // Y viewed as [r0, d0, r1, d1, ...] (repeat-major, since Tile lays whole copies side by side)
      // summed over the repeat axes; axes repeated once are left out.
      const interleaved: number[] = [], repeatAxes: number[] = [];
      xDims.forEach((d, i) => {
        const r = d === 0 ? 1 : yDims[i] / d;
        if (r > 1) {
          repeatAxes.push(interleaved.length);
          interleaved.push(r);
        }
        interleaved.push(d);
      });
      if (repeatAxes.length === 0) {
        c.give(0, reshape(c, dY, yDims, xDims));
        return;
      }
      const viewed = c.g.node('Reshape', [dY, c.g.int64s(interleaved)]);
      c.give(0, c.g.node('ReduceSum', [viewed, c.g.int64s(repeatAxes)], { keepdims: 0 }));
    },
  },
  Gather: { differentiable: [0], vjp: gather },
  GatherElements: {
    differentiable: [0],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY || !c.wants(0)) return;
      const x = c.input(0), xDims = c.dims(x);
      const axis = normalizeAxis(c, c.attrs.int('axis', 0), xDims.length);
      const indices = wrapIndices(c, c.input(1), xDims[axis]);
      c.give(0, c.g.node('ScatterElements', [zeros(c, xDims, x), indices, dY], { axis, reduction: 'add' }));
    },
  },
};
