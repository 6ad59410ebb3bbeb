import type { GradientRule } from '../rule.js';

export const convRules: Record<string, GradientRule> = {};
