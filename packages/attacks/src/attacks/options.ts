// Checks on the numbers a user gives an attack, made before any work starts.
import type { Threat } from '../attack.js';

export function checkThreat({ norm, eps }: Threat): void {
  if (!['linf', 'l2', 'l1'].includes(norm)) throw new RangeError(`norm must be linf, l2 or l1, got '${norm}'`);
  if (!(Number.isFinite(eps) && eps > 0)) throw new RangeError(`ε must be a finite number > 0, got ${eps}`);
}

export function checkCount(name: string, value: number, min = 1): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
  return value;
}

/** A step longer than the ball's diameter (2ε) cannot be meant: every step would be cut by the projection. */
export function checkStepSize(stepSize: number, eps: number): number {
  if (!(Number.isFinite(stepSize) && stepSize > 0)) throw new RangeError(`the step size must be a finite number > 0, got ${stepSize}`);
  if (stepSize > 2 * eps) throw new RangeError(`the step size ${stepSize} is larger than the ε-ball (diameter 2ε = ${2 * eps})`);
  return stepSize;
}
