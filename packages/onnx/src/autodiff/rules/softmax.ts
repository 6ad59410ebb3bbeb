// Softmax and LogSoftmax with opset-13 semantics: normalised along one axis (default −1). The
// builder refuses models below opset 13, so the older "coerce to 2-D at axis" form never reaches
// here. Both gradients read the op's output Y rather than X, so the producer of X keeps a single
// consumer (ORT's SoftmaxGrad_13 reads Y too).
import type { GradientRule, RuleContext } from '../rule.js';

function axisOf(c: RuleContext): number {
  const rank = c.dims(c.input(0)).length;
  const axis = c.attrs.int('axis', -1);
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw c.unsupported(`axis ${axis} for rank ${rank}`);
  return a;
}

const sumAlong = (c: RuleContext, x: string, axis: number) => c.g.node('ReduceSum', [x, c.g.int64s([axis])], { keepdims: 1 });

export const softmaxRules: Record<string, GradientRule> = {
  // dX = Y·(dY − Σ_axis dY·Y)
  Softmax: {
    differentiable: [0],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY || !c.wants(0)) return;
      const y = c.output(0);
      const dot = sumAlong(c, c.g.node('Mul', [dY, y]), axisOf(c));
      c.give(0, c.g.node('Mul', [y, c.g.node('Sub', [dY, dot])]));
    },
  },
  // dX = dY − exp(Y)·Σ_axis dY, exp(Y) being the softmax
  LogSoftmax: {
    differentiable: [0],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY || !c.wants(0)) return;
      const total = sumAlong(c, dY, axisOf(c));
      c.give(0, c.g.node('Sub', [dY, c.g.node('Mul', [c.g.node('Exp', [c.output(0)]), total])]));
    },
  },
};
