// `onnx-audit explain`: per-sample gradient attributions (saliency, SmoothGrad or Integrated
// Gradients) of one logit, that of the model's predicted class or of the label, written as
// float32 in the shape of x. Integrated Gradients also reports how far the attributions are from
// adding up to the logit difference they explain (completeness), its own check on its accuracy.
import { Command } from 'commander';

import {
  argmaxRows,
  type DifferentiableClassifier,
  integratedGradients,
  type IntegratedGradientsOptions,
  integratedGradientsSettings,
  type IntegrationRule,
  saliency,
  smoothGrad,
  type SmoothGradOptions,
  smoothGradSettings,
} from '@onnx-audit/attacks';
import { writeNpy } from '@onnx-audit/data';
import { inspectModel, readModel } from '@onnx-audit/onnx';

import { openClassifier } from '../classifier.js';
import { addDataOptions, dataOptions, readLabelledData } from '../dataset.js';
import { UserError } from '../errors.js';
import { addInputSpaceOptions, type InputSpaceFlags, modelInUserSpace } from '../input-space.js';
import { parseInteger as integer } from '../numbers.js';
import { progressLine } from '../progress.js';
import { addRuntimeOptions, type RuntimeFlags, runtimeOptions } from '../runtime-options.js';

const METHODS = ['saliency', 'smoothgrad', 'integrated-gradients'] as const;
type Method = (typeof METHODS)[number];

interface ExplainFlags extends InputSpaceFlags, RuntimeFlags {
  model: string;
  quiet?: boolean;
  data: string;
  method: string;
  samples?: string;
  noise?: string;
  seed?: string;
  steps?: string;
  baseline?: string;
  rule?: string;
  class: string;
  batchSize?: string;
  out?: string;
  json?: boolean;
  resize?: string;
}

/** What each method's flags are, for refusing those given to another method. */
const METHOD_FLAGS: Record<Method, Array<keyof ExplainFlags>> = {
  saliency: [],
  smoothgrad: ['samples', 'noise', 'seed'],
  'integrated-gradients': ['steps', 'baseline', 'rule'],
};

export function explainCommand(): Command {
  return addRuntimeOptions(addDataOptions(addInputSpaceOptions(new Command('explain')
    .description('per-sample gradient attributions of one logit (saliency, SmoothGrad or Integrated Gradients), written as a .npy of x\'s shape')
    .requiredOption('--model <file>', 'the .onnx classifier (every op must have a gradient rule)')
    .requiredOption('--data <source>', '.npz (x float32 batch first, y integer labels), .csv, an image folder, or builtin:NAME')
    .requiredOption('--method <name>', 'saliency, smoothgrad or integrated-gradients')
    .option('--class <which>', 'whose logit is explained: predicted (the model\'s class) or label', 'predicted')
    .option('--samples <n>', 'smoothgrad: noisy copies per sample (default 50)')
    .option('--noise <s>', 'smoothgrad: σ as a fraction of the input range hi − lo (default 0.15)')
    .option('--seed <s>', 'smoothgrad: seeds the noise (default 0)')
    .option('--steps <n>', 'integrated-gradients: gradients along the path per sample (default 50)')
    .option('--baseline <b>', 'integrated-gradients: zero, or min (the input range\'s lower bound) (default zero)')
    .option('--rule <r>', 'integrated-gradients: gauss-legendre or riemann-trapezoid (default gauss-legendre)')
    .option('--batch-size <n>', 'samples per model run (default 128)')
    .option('--out <file>', 'write the attributions (float32, the shape of x) to this .npy')
    .option('--json', 'print one JSON object instead of a summary')
    .option('--quiet', 'no progress on stderr'))))
    .addHelpText('after', '\nExamples:\n  onnx-audit explain --model cnn.onnx --data digits.npz --method integrated-gradients --steps 64 --out attributions.npy\n  onnx-audit explain --model cnn.onnx --data digits.npz --method smoothgrad --samples 50 --json')
    .action(async (o: ExplainFlags) => {
      const plan = planExplain(o);
      const session = runtimeOptions(o);
      const report = inspectModel(modelInUserSpace(await readModel(o.model), o));
      if (report.unsupportedForGradients.length > 0) {
        const list = report.unsupportedForGradients.map((u) => `${u.op} (node '${u.node}')`).join(', ');
        throw new UserError(`${o.model}: not differentiable: ${list}`);
      }
      const data = await readLabelledData(o.data, report, dataOptions(o));
      const flags = { mean: o.mean, std: o.std, inputRange: o.inputRange, batchSize: plan.batchSize };
      const classifier = await openClassifier(o.model, flags, session, { source: o.data, x: data.x, sampleDims: data.sampleDims }, 'white-box');
      const controller = new AbortController();
      const interrupt = () => controller.abort(new UserError('interrupted; nothing was written'));
      process.once('SIGINT', interrupt);
      const progress = progressLine(plan.method, Boolean(process.stderr.isTTY && !o.quiet));
      try {
        const classes = await classesToExplain(classifier, data.x, data.labels, o.data, plan.target);
        const started = performance.now();
        const result = await attribute(classifier, data.x, classes, plan, { signal: controller.signal, ...(progress ? { progress: progress.update } : {}) });
        const seconds = (performance.now() - started) / 1000;
        progress?.finish();
        const shape = [classes.length, ...data.sampleDims];
        if (o.out) await writeNpy(o.out, { dtype: 'float32', shape, data: result.attributions });
        print(o, plan, { ...result, shape, seconds, gradientCalls: classifier.usage.gradientCalls });
      } finally {
        progress?.finish();
        process.off('SIGINT', interrupt);
        await classifier.release();
      }
    });
}

interface ExplainPlan {
  method: Method;
  target: 'predicted' | 'label';
  /** The method's options as given (the library fills in its defaults), already checked. */
  options: SmoothGradOptions & IntegratedGradientsOptions;
  batchSize: number | undefined;
}

/** Every check on the flags alone, before any file is read. */
function planExplain(o: ExplainFlags): ExplainPlan {
  if (!(METHODS as readonly string[]).includes(o.method)) throw new UserError(`--method must be saliency, smoothgrad or integrated-gradients; got '${o.method}'`);
  const method = o.method as Method;
  for (const [other, flags] of Object.entries(METHOD_FLAGS)) {
    const given = other === method ? undefined : flags.find((flag) => o[flag] !== undefined);
    if (given) throw new UserError(`--${given} applies to --method ${other} only`);
  }
  if (o.class !== 'predicted' && o.class !== 'label') throw new UserError(`--class must be predicted or label; got '${o.class}'`);
  if (o.baseline !== undefined && o.baseline !== 'zero' && o.baseline !== 'min') throw new UserError(`--baseline must be zero or min; got '${o.baseline}'`);
  if (o.rule !== undefined && o.rule !== 'gauss-legendre' && o.rule !== 'riemann-trapezoid') throw new UserError(`--rule must be gauss-legendre or riemann-trapezoid; got '${o.rule}'`);
  const options: ExplainPlan['options'] = {
    ...(o.samples !== undefined ? { samples: integer('--samples', o.samples, 1) } : {}),
    ...(o.noise !== undefined ? { noise: positive('--noise', o.noise) } : {}),
    ...(o.seed !== undefined ? { seed: integer('--seed', o.seed, 0) } : {}),
    ...(o.steps !== undefined ? { steps: integer('--steps', o.steps, 1) } : {}),
    ...(o.baseline !== undefined ? { baseline: o.baseline as 'zero' | 'min' } : {}),
    ...(o.rule !== undefined ? { rule: o.rule as IntegrationRule } : {}),
  };
  // the library's own checks (e.g. the trapezoid's two points at least), before any file is read
  try {
    if (method === 'smoothgrad') smoothGradSettings(options);
    if (method === 'integrated-gradients') integratedGradientsSettings(options);
  } catch (error) {
    if (error instanceof RangeError) throw new UserError(`--method ${method}: ${error.message}`);
    throw error;
  }
  return { method, target: o.class, options, batchSize: o.batchSize !== undefined ? integer('--batch-size', o.batchSize, 1) : undefined };
}

function positive(flag: string, text: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!(Number.isFinite(value) && value > 0)) throw new UserError(`${flag} must be a number > 0, got '${text}'`);
  return value;
}

async function classesToExplain(classifier: DifferentiableClassifier, x: Float32Array, labels: number[], source: string, target: ExplainPlan['target']): Promise<Int32Array> {
  if (target === 'predicted') return argmaxRows(await classifier.scores(x), classifier.classes);
  const outside = labels.findIndex((l) => l >= classifier.classes);
  if (outside >= 0) throw new UserError(`${source}: label ${labels[outside]} at index ${outside} is outside [0, ${classifier.classes})`);
  return Int32Array.from(labels);
}

interface Attribution {
  attributions: Float32Array;
  settings: object;
  completenessGap?: Float64Array;
  completenessError?: Float64Array;
}

function attribute(classifier: DifferentiableClassifier, x: Float32Array, classes: Int32Array, plan: ExplainPlan, context: { signal: AbortSignal; progress?: (done: number, total: number) => void }): Promise<Attribution> {
  const options = { ...plan.options, ...context };
  if (plan.method === 'smoothgrad') return smoothGrad(classifier, x, classes, options);
  if (plan.method === 'integrated-gradients') return integratedGradients(classifier, x, classes, options);
  return saliency(classifier, x, classes, options);
}

function print(o: ExplainFlags, plan: ExplainPlan, r: Attribution & { shape: number[]; seconds: number; gradientCalls: number }): void {
  // relative to each sample's logit difference; the gap is in logit units
  const completeness = r.completenessError && { relativeError: statistics(r.completenessError), maxGap: statistics(r.completenessGap!).max };
  if (o.json) {
    console.log(JSON.stringify({
      method: plan.method,
      settings: r.settings,
      class: plan.target,
      samples: r.shape[0],
      shape: r.shape,
      ...(completeness ? { completeness } : {}),
      gradientCalls: r.gradientCalls,
      seconds: r.seconds,
      out: o.out ?? null,
    }));
    return;
  }
  const percent = (v: number) => `${(100 * v).toPrecision(2)}%`;
  const details = Object.entries(r.settings).filter(([key, value]) => key !== 'method' && value !== false).map(([key, value]) => `${key} ${value}`).join(', ');
  const parts = [`${plan.method}${details ? ` (${details})` : ''} of the ${plan.target === 'predicted' ? 'predicted class\'s' : 'label\'s'} logit, ${r.shape[0]} inputs`];
  if (completeness) {
    const { median, mean, max } = completeness.relativeError;
    parts.push(`completeness error (relative to the logit difference) median ${percent(median)}, mean ${percent(mean)}, max ${percent(max)}`);
  }
  if (o.out) parts.push(`wrote ${o.out}: float32 [${r.shape}]`);
  console.log(parts.join('; '));
}

/** The median says how the integral went on a typical sample; mean and max flag the bad ones. */
function statistics(values: Float64Array): { median: number; mean: number; max: number } {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return {
    median: sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2,
    mean: sorted.reduce((a, b) => a + b, 0) / sorted.length,
    max: sorted[sorted.length - 1],
  };
}
