import type { GradientRule } from '../rule.js';

export const poolRules: Record<string, GradientRule> = {};
