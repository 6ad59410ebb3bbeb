// The ai.onnx op types the gradient builder accepts: those with a gradient rule, and those whose
// outputs carry no gradient (shape plumbing, comparisons, rounding), which it stops at.
// inspectModel reports every other op on a model as not differentiable.
import { NON_DIFFERENTIABLE } from '../autodiff/rule.js';
import { GRADIENT_RULES } from '../autodiff/rules/index.js';

export const GRADIENT_OPS: ReadonlySet<string> = new Set([...Object.keys(GRADIENT_RULES), ...NON_DIFFERENTIABLE]);
