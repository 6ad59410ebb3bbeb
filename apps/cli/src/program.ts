// The onnx-audit command line: a thin layer that parses arguments, calls the packages and prints.
import { createRequire } from 'node:module';

import { Command, CommanderError } from 'commander';

import { attackCommand } from './commands/attack.js';
import { auditCommand } from './commands/audit.js';
import { calibrateCommand } from './commands/calibrate.js';
import { defendCommand } from './commands/defend.js';
import { demoCommand } from './commands/demo.js';
import { detectCommand } from './commands/detect.js';
import { doctorCommand } from './commands/doctor.js';
import { explainCommand } from './commands/explain.js';
import { gradCommand } from './commands/grad.js';
import { inspectCommand } from './commands/inspect.js';
import { miaCommand } from './commands/mia.js';
import { reportCommand } from './commands/report.js';
import { robustnessCommand } from './commands/robustness.js';
import { splitCommand } from './commands/split.js';
import { trainCommand } from './commands/train.js';
import { EXIT_USAGE, report } from './errors.js';

const require = createRequire(import.meta.url);
export const VERSION = (require('../package.json') as { version: string }).version;

export function buildProgram(): Command {
  const program = new Command('onnx-audit')
    .description('Audit ONNX classifiers for calibration, adversarial robustness and membership leakage')
    .version(VERSION)
    .option('--verbose', 'print full errors with stack traces')
    .showHelpAfterError('(run onnx-audit --help for usage)')
    .exitOverride();
  for (const command of [doctorCommand(), inspectCommand(), gradCommand(), trainCommand(), calibrateCommand(), splitCommand(), attackCommand(), robustnessCommand(), explainCommand(), defendCommand(), detectCommand(), miaCommand(), auditCommand(), reportCommand(), demoCommand()]) {
    // addCommand does not pass on exitOverride and the help-after-error text; copy them.
    program.addCommand(command.copyInheritedSettings(program));
  }
  return program;
}

/** Runs the CLI on argv and returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has printed its own message (or the help/version text).
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    return report(error, program.opts<{ verbose?: boolean }>().verbose ?? argv.includes('--verbose'));
  }
}
