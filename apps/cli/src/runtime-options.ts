// Where and how ONNX Runtime runs a command's model: the same two flags for every command.
import { type Command, Option } from 'commander';

import type { SessionOptions } from '@onnx-audit/onnx';

import { UserError } from './errors.js';

export interface RuntimeFlags {
  device: 'cpu' | 'cuda';
  threads?: number;
}

export function addRuntimeOptions(command: Command): Command {
  return command
    .addOption(new Option('--device <device>', 'cpu or cuda (falls back to cpu when CUDA is missing)').choices(['cpu', 'cuda']).default('cpu'))
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: all cores)', (v) => Number.parseInt(v, 10));
}

export function runtimeOptions(flags: RuntimeFlags): SessionOptions {
  if (flags.threads !== undefined && (!Number.isInteger(flags.threads) || flags.threads < 1)) throw new UserError(`--threads must be a positive integer, got ${flags.threads}`);
  return { device: flags.device, ...(flags.threads ? { threads: flags.threads } : {}) };
}
