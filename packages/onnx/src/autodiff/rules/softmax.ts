import type { GradientRule } from '../rule.js';

export const softmaxRules: Record<string, GradientRule> = {};
