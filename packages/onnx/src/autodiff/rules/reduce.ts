// Reduce* ops. Shapes are concrete when the backward is built, so every rule starts from the
// keepdims form of Y (Y's dims with a 1 at each reduced axis): dY reshaped to it broadcasts back
// over X in the ops that follow, and no axes value has to exist in the graph. With keepdims=1 that
// form is Y's own shape, so even axes computed at run time need no reading.
import { constantValues } from '../constants.js';
import type { GradientRule, RuleContext } from '../rule.js';

const numel = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const sameDims = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Every keepdims form consistent with X's and Y's dims when keepdims=0: choose which axes of X
 * survive as Y's axes, in order; the others become 1. Axes of size 1 make some choices equivalent,
 * which is why the forms, not the choices, are collected.
 */
function keptForms(x: readonly number[], y: readonly number[], i = 0, j = 0, acc: number[] = [], out = new Set<string>()): Set<string> {
  if (j === y.length) {
    out.add(JSON.stringify([...acc, ...x.slice(i).map(() => 1)]));
  } else if (x.length - i >= y.length - j) {
    if (x[i] === y[j]) keptForms(x, y, i + 1, j + 1, [...acc, x[i]], out);
    keptForms(x, y, i + 1, j, [...acc, 1], out);
  }
  return out;
}

/** Y's dims with a 1 at every reduced axis (X's dims when the reduction is a no-op). */
function keepdimsForm(c: RuleContext): number[] {
  const xDims = c.dims(c.input(0)), yDims = c.dims(c.output(0));
  if (c.attrs.int('keepdims', 1)) return yDims;
  // ReduceSum took axes as an input from opset 13, the other Reduce ops only from 18.
  const axesInput = c.node.opType === 'ReduceSum' || c.opset >= 18;
  let axes: number[] | undefined;
  if (!axesInput) axes = c.attrs.ints('axes', []);
  else if (!c.input(1)) axes = [];
  else axes = constantValues(c, c.input(1));
  let form: number[];
  if (axes === undefined) {
    // Axes computed at run time: the dims still pin the form down unless, say, [3, 3] became [3].
    const forms = keptForms(xDims, yDims);
    if (forms.size !== 1) throw c.unsupported(`keepdims=0 with axes computed at run time, which dims ${JSON.stringify(xDims)} → ${JSON.stringify(yDims)} leave ambiguous`);
    form = JSON.parse([...forms][0]) as number[];
  } else if (axes.length === 0) {
    const noop = axesInput && c.attrs.int('noop_with_empty_axes', 0) === 1;
    form = noop ? xDims : xDims.map(() => 1);
  } else {
    const rank = xDims.length;
    const reduced = new Set(axes.map((a) => (a < 0 ? a + rank : a)));
    form = xDims.map((d, i) => (reduced.has(i) ? 1 : d));
  }
  if (numel(form) !== numel(yDims)) throw c.unsupported(`a reduction whose output dims ${JSON.stringify(yDims)} do not follow from its axes`);
  return form;
}

/** Reshapes a value of Y's dims (dY, Y) to the keepdims form, where it broadcasts against X. */
function kept(c: RuleContext, value: string, form: readonly number[]): string {
  return sameDims(form, c.dims(c.output(0))) ? value : c.g.node('Reshape', [value, c.g.int64s([...form])]);
}

/** A value of the keepdims form expanded to X's dims (for rules with nothing X-shaped to multiply). */
function expanded(c: RuleContext, value: string, form: readonly number[]): string {
  const xDims = c.dims(c.input(0));
  return sameDims(form, xDims) ? value : c.g.node('Expand', [value, c.g.int64s(xDims)]);
}

type Local = (c: RuleContext, dY: string, form: number[]) => string;

/** A Reduce op: input 0 gets `local`'s gradient; the axes input is a stop edge. */
function reduce(local: Local): GradientRule {
  return {
    differentiable: [0],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY || !c.wants(0)) return;
      const form = keepdimsForm(c);
      c.give(0, local(c, kept(c, dY, form), form));
    },
  };
}

/** The 1/0 mask of the positions of X equal to Y's (max or min) value, as X's float type. */
function extremeGradient(c: RuleContext, dY: string, form: number[]): string {
  const x = c.input(0), xDims = c.dims(x);
  const mask = c.g.node('Cast', [c.g.node('Equal', [x, kept(c, c.output(0), form)])], { to: c.dtypeCode(x) });
  // Ties share the gradient equally, as ONNX Runtime's ReduceMax gradient and PyTorch's amax do.
  const axes = xDims.map((d, i) => (form[i] === 1 && d !== 1 ? i : -1)).filter((a) => a >= 0);
  if (axes.length === 0) return c.g.node('Mul', [mask, dY]);
  const ties = c.g.node('ReduceSum', [mask, c.g.int64s(axes)], { keepdims: 1 });
  return c.g.node('Mul', [mask, c.g.node('Div', [dY, ties])]);
}

export const reduceRules: Record<string, GradientRule> = {
  ReduceSum: reduce((c, dY, form) => expanded(c, dY, form)),
  ReduceMean: reduce((c, dY, form) => {
    const yCount = numel(form), xCount = numel(c.dims(c.input(0)));
    // Scale the reduced tensor before expanding it: fewer multiplications.
    const scaled = xCount === yCount || xCount === 0 ? dY : c.g.node('Mul', [dY, c.g.float(yCount / xCount)]);
    return expanded(c, scaled, form);
  }),
  ReduceSumSquare: reduce((c, dY) => c.g.node('Mul', [c.g.node('Mul', [c.input(0), c.g.float(2)]), dY])),
  // Subgradient 0 where x = 0 (Sign's value there).
  ReduceL1: reduce((c, dY) => c.g.node('Mul', [c.g.node('Sign', [c.input(0)]), dY])),
  // x·dY/Y; where Y = 0 every x is 0 and the gradient is taken as 0 (Where drops the inf of 0/0).
  ReduceL2: reduce((c, dY, form) => {
    const y = kept(c, c.output(0), form);
    const ratio = c.g.node('Where', [c.g.node('Equal', [y, c.g.float(0)]), c.g.float(0), c.g.node('Div', [dY, y])]);
    return c.g.node('Mul', [c.input(0), ratio]);
  }),
  // d log Σ exp(x) = exp(x − Y), the softmax over the reduced axes; x − Y ≤ 0, so Exp cannot overflow.
  ReduceLogSumExp: reduce((c, dY, form) => c.g.node('Mul', [c.g.node('Exp', [c.g.node('Sub', [c.input(0), kept(c, c.output(0), form)])]), dY])),
  // d log Σ x = 1/Σ x = exp(−Y)
  ReduceLogSum: reduce((c, dY, form) => expanded(c, c.g.node('Mul', [dY, c.g.node('Exp', [c.g.node('Neg', [kept(c, c.output(0), form)])])]), form)),
  ReduceMax: reduce(extremeGradient),
  ReduceMin: reduce(extremeGradient),
};
