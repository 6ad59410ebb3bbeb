// Vector-Jacobian products of element-wise ops, broadcasting included. Where a derivative can be
// written from the op's output (Relu, Sigmoid, Tanh, Exp, Sqrt) it reads Y rather than X, as ONNX
// Runtime's own builder does: the forward producer of X then keeps a single consumer and fusions
// such as Conv+Relu survive.
import { unbroadcast } from '../broadcast.js';
import type { GradientRule, RuleContext } from '../rule.js';

type Local = (c: RuleContext, dY: string) => string;

/** A unary op whose input gradient is dY times a local derivative. */
function unary(local: Local): GradientRule {
  return {
    differentiable: [0],
    vjp: (c) => {
      const dY = c.dY(0);
      if (dY && c.wants(0)) c.give(0, local(c, dY));
    },
  };
}

/** dA and dB of a binary op from per-operand local products, un-broadcast to each operand. */
function binary(forA: Local | undefined, forB: Local | undefined): GradientRule {
  return {
    differentiable: [0, 1],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY) return;
      const yDims = c.dims(c.output(0));
      if (forA && c.wants(0)) c.give(0, unbroadcast(c, forA(c, dY), yDims, c.input(0)));
      if (forB && c.wants(1)) c.give(1, unbroadcast(c, forB(c, dY), yDims, c.input(1)));
    },
  };
}

const mul = (c: RuleContext, a: string, b: string) => c.g.node('Mul', [a, b]);

export const elementwiseRules: Record<string, GradientRule> = {
  Identity: unary((_c, dY) => dY),
  Neg: unary((c, dY) => c.g.node('Neg', [dY])),
  Add: binary((_c, dY) => dY, (_c, dY) => dY),
  Sub: binary((_c, dY) => dY, (c, dY) => c.g.node('Neg', [dY])),
  Mul: binary((c, dY) => mul(c, dY, c.input(1)), (c, dY) => mul(c, dY, c.input(0))),
  // Y = A / B: dA = dY / B, dB = -dY * Y / B
  Div: binary(
    (c, dY) => c.g.node('Div', [dY, c.input(1)]),
    (c, dY) => c.g.node('Neg', [c.g.node('Div', [mul(c, dY, c.output(0)), c.input(1)])]),
  ),
  // Y = A^B: dA = dY * B * A^(B-1); dB = dY * Y * log(A) (defined for A > 0, as in PyTorch)
  Pow: binary(
    (c, dY) => mul(c, dY, mul(c, c.input(1), c.g.node('Pow', [c.input(0), c.g.node('Sub', [c.input(1), c.g.float(1)])]))),
    (c, dY) => mul(c, dY, mul(c, c.output(0), c.g.node('Log', [c.input(0)]))),
  ),
  Sqrt: unary((c, dY) => c.g.node('Div', [mul(c, dY, c.g.float(0.5)), c.output(0)])),
  Exp: unary((c, dY) => mul(c, dY, c.output(0))),
  Log: unary((c, dY) => c.g.node('Div', [dY, c.input(0)])),
  Reciprocal: unary((c, dY) => c.g.node('Neg', [mul(c, dY, mul(c, c.output(0), c.output(0)))])),
  Abs: unary((c, dY) => mul(c, dY, c.g.node('Sign', [c.input(0)]))),
  Relu: unary((c, dY) => c.g.node('Where', [c.g.node('Greater', [c.output(0), c.g.float(0)]), dY, c.g.float(0)])),
  LeakyRelu: unary((c, dY) => {
    const alpha = c.attrs.float('alpha', 0.01);
    return c.g.node('Where', [c.g.node('Greater', [c.input(0), c.g.float(0)]), dY, mul(c, dY, c.g.float(alpha))]);
  }),
  Sigmoid: unary((c, dY) => mul(c, dY, mul(c, c.output(0), c.g.node('Sub', [c.g.float(1), c.output(0)])))),
  Tanh: unary((c, dY) => mul(c, dY, c.g.node('Sub', [c.g.float(1), mul(c, c.output(0), c.output(0))]))),
  Softplus: unary((c, dY) => mul(c, dY, c.g.node('Sigmoid', [c.input(0)]))),
  // HardSigmoid: alpha inside the linear part (0 < alpha x + beta < 1), 0 outside
  HardSigmoid: unary((c, dY) => {
    const alpha = c.attrs.float('alpha', 0.2), beta = c.attrs.float('beta', 0.5);
    const t = c.g.node('Add', [mul(c, c.input(0), c.g.float(alpha)), c.g.float(beta)]);
    const inside = c.g.node('And', [c.g.node('Greater', [t, c.g.float(0)]), c.g.node('Less', [t, c.g.float(1)])]);
    return c.g.node('Where', [inside, mul(c, dY, c.g.float(alpha)), c.g.float(0)]);
  }),
  // HardSwish = x * HardSigmoid(x; 1/6, 1/2): derivative 0 below -3, 1 above 3, (2x + 3)/6 between
  HardSwish: unary((c, dY) => {
    const x = c.input(0);
    const middle = c.g.node('Div', [c.g.node('Add', [mul(c, x, c.g.float(2)), c.g.float(3)]), c.g.float(6)]);
    const upper = c.g.node('Where', [c.g.node('Greater', [x, c.g.float(3)]), c.g.float(1), middle]);
    const local = c.g.node('Where', [c.g.node('Less', [x, c.g.float(-3)]), c.g.float(0), upper]);
    return mul(c, dY, local);
  }),
  // d erf(x) = 2/sqrt(pi) exp(-x^2)
  Erf: unary((c, dY) => {
    const x = c.input(0);
    return mul(c, dY, mul(c, c.g.float(2 / Math.sqrt(Math.PI)), c.g.node('Exp', [c.g.node('Neg', [mul(c, x, x)])])));
  }),
  Gelu: unary((c, dY) => {
    const x = c.input(0);
    if (c.attrs.string('approximate', 'none') === 'tanh') {
      // t = tanh(u), u = sqrt(2/pi)(x + 0.044715 x^3):
      // 0.5(1 + t) + 0.5 x (1 - t^2) sqrt(2/pi)(1 + 3 * 0.044715 x^2)
      const k = Math.sqrt(2 / Math.PI);
      const x2 = mul(c, x, x);
      const u = mul(c, c.g.float(k), c.g.node('Add', [x, mul(c, c.g.float(0.044715), mul(c, x2, x))]));
      const t = c.g.node('Tanh', [u]);
      const left = mul(c, c.g.float(0.5), c.g.node('Add', [c.g.float(1), t]));
      const du = mul(c, c.g.float(k), c.g.node('Add', [c.g.float(1), mul(c, c.g.float(3 * 0.044715), x2)]));
      const right = mul(c, mul(c, c.g.float(0.5), x), mul(c, c.g.node('Sub', [c.g.float(1), mul(c, t, t)]), du));
      return mul(c, dY, c.g.node('Add', [left, right]));
    }
    // Phi(x) + x phi(x), Phi = 0.5 (1 + erf(x / sqrt 2)), phi = exp(-x^2 / 2) / sqrt(2 pi)
    const cdf = mul(c, c.g.float(0.5), c.g.node('Add', [c.g.float(1), c.g.node('Erf', [mul(c, x, c.g.float(Math.SQRT1_2))])]));
    const pdf = mul(c, c.g.float(1 / Math.sqrt(2 * Math.PI)), c.g.node('Exp', [mul(c, mul(c, x, x), c.g.float(-0.5))]));
    return mul(c, dY, c.g.node('Add', [cdf, mul(c, x, pdf)]));
  }),
  // Clip passes the gradient where min <= x <= max (boundaries included, as ONNX Runtime does).
  Clip: {
    differentiable: [0],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY || !c.wants(0)) return;
      const x = c.input(0);
      let pass: string | undefined;
      if (c.opset < 11) throw c.unsupported('Clip before opset 11 (min/max attributes)');
      if (c.input(1)) pass = c.g.node('GreaterOrEqual', [x, c.input(1)]);
      if (c.input(2)) {
        const below = c.g.node('LessOrEqual', [x, c.input(2)]);
        pass = pass ? c.g.node('And', [pass, below]) : below;
      }
      c.give(0, pass ? c.g.node('Where', [pass, dY, c.g.float(0)]) : dY);
    },
  },
  PRelu: {
    differentiable: [0, 1],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY) return;
      const x = c.input(0), slope = c.input(1);
      const positive = c.g.node('Greater', [x, c.g.float(0)]);
      if (c.wants(0)) c.give(0, unbroadcast(c, c.g.node('Where', [positive, dY, mul(c, dY, slope)]), c.dims(c.output(0)), x));
      if (c.wants(1)) c.give(1, unbroadcast(c, c.g.node('Where', [positive, c.g.float(0), mul(c, dY, x)]), c.dims(c.output(0)), slope));
    },
  },
  Where: {
    differentiable: [1, 2],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY) return;
      const yDims = c.dims(c.output(0));
      const zeros = c.g.float(0);
      if (c.wants(1)) c.give(1, unbroadcast(c, c.g.node('Where', [c.input(0), dY, zeros]), yDims, c.input(1)));
      if (c.wants(2)) c.give(2, unbroadcast(c, c.g.node('Where', [c.input(0), zeros, dY]), yDims, c.input(2)));
    },
  },
  // A float-to-float Cast passes the gradient back in the input's type.
  Cast: unary((c, dY) => {
    const type = c.dtypeCode(c.input(0));
    return c.g.node('Cast', [dY], { to: type });
  }),
};
