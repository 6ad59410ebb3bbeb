// A black-box classifier around the user's own scoring function (a remote model, a model in
// another runtime): only scores, checked for shape and finiteness on every call, because a wrong
// answer here would silently become a wrong robustness figure.
import { planRuns } from './batches.js';
import type { Box, Classifier, Usage } from './classifier.js';

export type ScoreFunction = (x: Float32Array, n: number) => Promise<Float32Array> | Float32Array;

export interface FunctionClassifierOptions {
  sampleDims: readonly number[];
  classes: number;
  /** The valid input box (default [0, 1]). */
  box?: Box;
  /** Most samples handed to the function at once (default 256). */
  batchSize?: number;
}

export function functionClassifier(score: ScoreFunction, options: FunctionClassifierOptions): Classifier {
  const sampleSize = options.sampleDims.reduce((a, b) => a * b, 1);
  const { classes } = options;
  if (!Number.isInteger(classes) || classes < 2) throw new RangeError(`classes must be an integer ≥ 2, got ${classes}`);
  const chunk = options.batchSize ?? 256;
  const usage: Usage = { queries: 0, gradientCalls: 0 };
  return {
    sampleDims: options.sampleDims,
    sampleSize,
    classes,
    box: options.box ?? { lo: 0, hi: 1 },
    usage,
    async scores(x) {
      if (x.length === 0 || x.length % sampleSize !== 0) throw new RangeError(`x holds ${x.length} values, not a whole number of samples of [${options.sampleDims}]`);
      const n = x.length / sampleSize;
      const out = new Float32Array(n * classes);
      for (const run of planRuns(n, chunk, undefined)) {
        const scores = await score(x.slice(run.start * sampleSize, (run.start + run.count) * sampleSize), run.count);
        if (!(scores instanceof Float32Array) || scores.length !== run.count * classes) {
          throw new RangeError(`the score function returned ${scores?.length ?? 'no'} values for ${run.count} samples; expected a Float32Array of ${run.count} × ${classes}`);
        }
        const bad = scores.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) throw new RangeError(`the score function returned ${scores[bad]} for sample ${run.start + Math.floor(bad / classes)}`);
        out.set(scores, run.start * classes);
      }
      usage.queries += n;
      return out;
    },
    async release() {},
  };
}
