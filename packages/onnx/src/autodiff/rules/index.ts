// Every op the gradient builder differentiates, by ai.onnx op type (GRADIENT_OPS, which
// inspection reports against, is derived from it).
import type { GradientRule } from '../rule.js';
import { convRules } from './conv.js';
import { elementwiseRules } from './elementwise.js';
import { linearRules } from './linear.js';
import { normRules } from './norm.js';
import { poolRules } from './pool.js';
import { reduceRules } from './reduce.js';
import { shapeRules } from './shape.js';
import { softmaxRules } from './softmax.js';
import { topKRules } from './topk.js';

export const GRADIENT_RULES: Readonly<Record<string, GradientRule>> = {
  ...elementwiseRules,
  ...linearRules,
  ...convRules,
  ...poolRules,
  ...normRules,
  ...softmaxRules,
  ...reduceRules,
  ...shapeRules,
  ...topKRules,
};
