// Gemm and MatMul. Every Gemm gradient is one Gemm node (alpha and the transposes absorb the
// algebra); batched MatMul gradients are MatMuls against the operand with its last two axes
// swapped, summed over the batch axes the operand was broadcast along.
import { sumToShape, unbroadcast } from '../broadcast.js';
import type { GradientRule, RuleContext } from '../rule.js';

export const linearRules: Record<string, GradientRule> = {
  Gemm: {
    differentiable: [0, 1, 2],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY) return;
      const alpha = { float: c.attrs.float('alpha', 1) };
      const transA = c.attrs.int('transA', 0), transB = c.attrs.int('transB', 0);
      const a = c.input(0), b = c.input(1);
      if (c.wants(0)) {
        // dA = alpha dY op(B)^T, transposed again when A itself was transposed
        const dA = transA
          ? c.g.node('Gemm', [b, dY], { alpha, transA: transB, transB: 1 })
          : c.g.node('Gemm', [dY, b], { alpha, transB: transB ? 0 : 1 });
        c.give(0, dA);
      }
      if (c.wants(1)) {
        // dB = alpha op(A)^T dY, transposed again when B itself was transposed
        const dB = transB
          ? c.g.node('Gemm', [dY, a], { alpha, transA: 1, transB: transA })
          : c.g.node('Gemm', [a, dY], { alpha, transA: transA ? 0 : 1 });
        c.give(1, dB);
      }
      if (c.input(2) && c.wants(2)) {
        const beta = c.attrs.float('beta', 1);
        const scaled = beta === 1 ? dY : c.g.node('Mul', [dY, c.g.float(beta)]);
        c.give(2, unbroadcast(c, scaled, c.dims(c.output(0)), c.input(2)));
      }
    },
  },
  MatMul: { differentiable: [0, 1], vjp: matmul },
};

function swapLast(c: RuleContext, x: string, rank: number): string {
  const perm = Array.from({ length: rank }, (_, i) => i);
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1], perm[rank - 2]];
  return c.g.node('Transpose', [x], { perm });
}

function broadcastBatch(a: number[], b: number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1, y = b[b.length - rank + i] ?? 1;
    return x === 1 ? y : x;
  });
}

// 1-D operands are promoted as MatMul does ([K] → [1, K] on the left, [K, 1] on the right), so
// one batched rule covers every rank; sumToShape then folds the promoted axis away.
function matmul(c: RuleContext): void {
  const dY = c.dY(0);
  if (!dY) return;
  const aName = c.input(0), bName = c.input(1);
  const aDims = c.dims(aName), bDims = c.dims(bName);
  const a2 = aDims.length === 1 ? [1, aDims[0]] : aDims;
  const b2 = bDims.length === 1 ? [bDims[0], 1] : bDims;
  const batch = broadcastBatch(a2.slice(0, -2), b2.slice(0, -2));
  const [m, k] = a2.slice(-2), n = b2[b2.length - 1];
  const a = aDims.length === 1 ? c.g.node('Reshape', [aName, c.g.int64s(a2)]) : aName;
  const b = bDims.length === 1 ? c.g.node('Reshape', [bName, c.g.int64s(b2)]) : bName;
  const g = c.g.node('Reshape', [dY, c.g.int64s([...batch, m, n])]);
  if (c.wants(0)) c.give(0, sumToShape(c, c.g.node('MatMul', [g, swapLast(c, b, b2.length)]), [...batch, m, k], a2, aDims));
  if (c.wants(1)) c.give(1, sumToShape(c, c.g.node('MatMul', [swapLast(c, a, a2.length), g]), [...batch, k, n], b2, bDims));
}
