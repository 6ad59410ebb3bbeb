// Numbers in flags as people write them: ε as 0.3, 8/255 or a comma-separated list of either;
// counts as plain integers.
import { UserError } from './errors.js';

export function parseEpsilon(text: string, flag = '--eps'): number {
  const match = /^\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*(?:\/\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?))?\s*$/i.exec(text);
  const value = match ? Number(match[1]) / (match[2] === undefined ? 1 : Number(match[2])) : Number.NaN;
  if (!(Number.isFinite(value) && value > 0)) throw new UserError(`${flag} must be a number > 0 or a fraction such as 8/255, got '${text}'`);
  return value;
}

export function parseEpsilonList(text: string, flag = '--eps'): number[] {
  return text.split(',').map((part) => parseEpsilon(part, flag));
}

/** A whole number ≥ min, written as digits only (so '1e3' and '2.5' are refused, not rounded). */
export function parseInteger(flag: string, text: string, min: number): number {
  const value = /^\s*\d+\s*$/.test(text) ? Number(text) : Number.NaN;
  if (!(Number.isSafeInteger(value) && value >= min)) throw new UserError(`${flag} must be an integer ≥ ${min}, got '${text}'`);
  return value;
}
