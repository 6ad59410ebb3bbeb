import type { GradientRule } from '../rule.js';

export const reduceRules: Record<string, GradientRule> = {};
