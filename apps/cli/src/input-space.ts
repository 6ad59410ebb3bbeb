// The user's input space, declared once per command: --mean/--std put the normalisation the model
// expects into its graph (so data, ε and gradients stay in the user's units), and --input-range
// states the valid box, which every sample must lie in.
import type { Command } from 'commander';

import { dataInput, withInputNormalisation } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';

import { UserError } from './errors.js';

export interface InputSpaceFlags {
  mean?: string;
  std?: string;
  inputRange?: string;
}

export function addInputSpaceOptions(command: Command): Command {
  return command
    .option('--mean <values>', 'normalisation the model expects, applied in its graph: one value or one per channel, comma-separated')
    .option('--std <values>', 'with --mean: the divisors, one or one per channel')
    .option('--input-range <lo,hi>', 'the valid input box, e.g. 0,1; samples outside it are refused');
}

function numbers(flag: string, text: string): number[] {
  const values = text.split(',').map((v) => Number(v.trim()));
  if (values.length === 0 || values.some((v) => !Number.isFinite(v))) throw new UserError(`${flag} must be comma-separated numbers, got '${text}'`);
  return values;
}

/** The model as it should run on the user's data: with the normalisation in its graph when asked. */
export function modelInUserSpace(model: ModelProto, flags: InputSpaceFlags): ModelProto {
  if (!flags.mean && !flags.std) return model;
  if (!flags.mean || !flags.std) throw new UserError('--mean and --std go together: give both');
  return withInputNormalisation(model, dataInput(model), { mean: numbers('--mean', flags.mean), std: numbers('--std', flags.std) });
}

/** The declared box, after checking every value of x (which starts at flat index `offset` of the data) lies in it. */
export function checkInputRange(source: string, x: Float32Array, flags: InputSpaceFlags, offset = 0): [number, number] | undefined {
  if (!flags.inputRange) return undefined;
  const range = numbers('--input-range', flags.inputRange);
  if (range.length !== 2 || !(range[0] < range[1])) throw new UserError(`--input-range must be lo,hi with lo < hi, got '${flags.inputRange}'`);
  const [lo, hi] = range;
  const outside = x.findIndex((v) => v < lo || v > hi);
  if (outside >= 0) throw new UserError(`${source}: x holds ${x[outside]} at flat index ${offset + outside}, outside --input-range ${lo},${hi}; fix the data or the range`);
  return [lo, hi];
}
