import type { GradientRule } from '../rule.js';

export const normRules: Record<string, GradientRule> = {};
