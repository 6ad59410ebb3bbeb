// How the CLI ends when something goes wrong: one line on stderr that says what to do, a
// non-zero exit code, and the stack only with --verbose.

import { DataError } from '@onnx-audit/data';
import { MembershipError } from '@onnx-audit/mia';
import { GradientError, ModelError, TrainingError } from '@onnx-audit/onnx';

/** An error the user can fix (bad input, missing file); its message is the whole story. */
export class UserError extends Error {
  override name = 'UserError';
}

function isUserError(error: Error): boolean {
  const missingFile = (error as NodeJS.ErrnoException).code === 'ENOENT';
  return error instanceof UserError || error instanceof ModelError || error instanceof DataError || error instanceof GradientError || error instanceof TrainingError || error instanceof MembershipError || missingFile;
}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function report(error: unknown, verbose: boolean): number {
  const err = error instanceof Error ? error : new Error(String(error));
  const firstLine = err.message.split('\n')[0];
  if (verbose) {
    console.error(err.stack ?? err.message);
  } else {
    // The native loader's message lists every attempt on its own line: keep them, they are the fix.
    const message = isUserError(err) || !err.message.includes('\n') ? err.message : firstLine;
    console.error(`onnx-audit: ${message}`);
    if (!isUserError(err)) console.error('(run again with --verbose for the full error)');
  }
  return EXIT_FAILURE;
}
