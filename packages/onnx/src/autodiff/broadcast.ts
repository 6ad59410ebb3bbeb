// Multidirectional broadcasting undone: the gradient of a broadcast operand is the incoming
// gradient summed over the axes it was broadcast along, reshaped to the operand's shape.
import type { RuleContext } from './rule.js';

/** Axes of `from` (rank r) along which a value of shape `to` was broadcast (numpy rules). */
export function broadcastAxes(from: readonly number[], to: readonly number[]): number[] {
  const offset = from.length - to.length;
  const axes: number[] = [];
  for (let a = 0; a < from.length; a++) {
    if (a < offset || (to[a - offset] === 1 && from[a] !== 1)) axes.push(a);
  }
  return axes;
}

/** Sums `grad` (of dims `from`, usually the op's output's) down to the shape of value `target`. */
export function unbroadcast(c: RuleContext, grad: string, from: readonly number[], target: string): string {
  return sumToShape(c, grad, from, c.dims(target));
}

/**
 * Sums `grad` of dims `from` over the axes a value of dims `to` was broadcast along; the result
 * has dims `result` (default `to`, which it must match in size).
 */
export function sumToShape(c: RuleContext, grad: string, from: readonly number[], to: readonly number[], result: readonly number[] = to): string {
  const axes = broadcastAxes(from, to);
  if (axes.length === 0 && from.length === result.length && from.every((d, i) => d === result[i])) return grad;
  let out = grad;
  if (axes.length > 0) out = c.g.node('ReduceSum', [grad, c.g.int64s(axes)], { keepdims: 1 });
  return c.g.node('Reshape', [out, c.g.int64s([...result])]);
}
