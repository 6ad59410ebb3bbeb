// `onnx-audit robustness`: robust accuracy against a list of ε — the AutoAttack-style suite at each
// radius, a minimum-norm attack's distances, their per-sample worst case — with the distribution
// of minimal perturbations and the warnings that say when the figures should not be trusted.
import { Command, Option } from 'commander';

import { type AttackTask, evaluateRobustness, type RobustnessResult } from '@onnx-audit/attacks';
import { inspectModel, readModel, writeFileAtomic } from '@onnx-audit/onnx';

import { openClassifier } from '../classifier.js';
import { addDataOptions, dataOptions, readLabelledData } from '../dataset.js';
import { UserError } from '../errors.js';
import { addInputSpaceOptions, type InputSpaceFlags, modelInUserSpace } from '../input-space.js';
import { parseEpsilonList, parseInteger } from '../numbers.js';
import { progressLine } from '../progress.js';
import { addRuntimeOptions, type RuntimeFlags, runtimeOptions } from '../runtime-options.js';

interface RobustnessFlags extends InputSpaceFlags, RuntimeFlags {
  model: string;
  data: string;
  eps: string;
  norm: 'linf' | 'l2';
  suite: 'standard' | 'fast';
  minimal: 'deepfool' | 'cw' | 'none';
  seed: string;
  batchSize?: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  resize?: string;
}

export function robustnessCommand(): Command {
  return addRuntimeOptions(addDataOptions(addInputSpaceOptions(new Command('robustness')
    .description('robust accuracy against ε (AutoAttack-style suite and a minimum-norm attack), minimal perturbation sizes, and gradient-masking warnings')
    .requiredOption('--model <file>', 'the .onnx classifier')
    .requiredOption('--data <source>', '.npz (x float32 batch first, y integer labels), .csv, an image folder, or builtin:NAME')
    .requiredOption('--eps <list>', 'the radii, comma-separated, e.g. 0.1,0.2,0.3 or 2/255,4/255,8/255')
    .addOption(new Option('--norm <norm>', 'the threat model').choices(['linf', 'l2']).default('linf'))
    .addOption(new Option('--suite <suite>', 'standard: APGD-CE, APGD-T, Square (AutoAttack less FAB-T); fast: shorter APGD-CE and APGD-T, a quick upper bound').choices(['standard', 'fast']).default('standard'))
    .addOption(new Option('--minimal <attack>', 'the minimum-norm attack for the perturbation sizes (cw: L2 only)').choices(['deepfool', 'cw', 'none']).default('deepfool'))
    .option('--seed <s>', 'seeds every random choice', '0')
    .option('--batch-size <n>', 'samples per model run (default 128)')
    .option('--out <file>', 'write the full result (per-sample minimal norms included) as JSON')
    .option('--json', 'print one JSON object instead of a table')
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', `
Examples:
  onnx-audit robustness --model cnn.onnx --data test.npz --eps 0.1,0.2,0.3
  onnx-audit robustness --model resnet.onnx --data cifar.npz --eps 2/255,4/255,8/255 --suite fast --json`))))
    .action(async (o: RobustnessFlags) => {
      const eps = parseEpsilonList(o.eps);
      const seed = parseInteger('--seed', o.seed, 0);
      const batchSize = o.batchSize === undefined ? undefined : parseInteger('--batch-size', o.batchSize, 1);
      if (o.minimal === 'cw' && o.norm !== 'l2') throw new UserError('--minimal cw measures L2 distances; use it with --norm l2, or --minimal deepfool');
      const report = inspectModel(modelInUserSpace(await readModel(o.model), o));
      const data = await readLabelledData(o.data, report, dataOptions(o));
      if (o.suite === 'standard' && data.sampleDims.length !== 3) {
        throw new UserError(`the standard suite's Square attack needs images [channels, height, width], the data is [N,${data.sampleDims}]; use --suite fast`);
      }
      const classifier = await openClassifier(o.model, { mean: o.mean, std: o.std, inputRange: o.inputRange, batchSize }, runtimeOptions(o), { source: o.data, x: data.x, sampleDims: data.sampleDims }, 'white-box');
      const controller = new AbortController();
      const interrupt = () => controller.abort(new UserError('interrupted; nothing was written'));
      process.once('SIGINT', interrupt);
      const progress = progressLine('robustness', Boolean(process.stderr.isTTY && !o.quiet));
      try {
        const task: AttackTask = { x: data.x, labels: Int32Array.from(data.labels) };
        const result = await evaluateRobustness(classifier, task, {
          eps, norm: o.norm, suite: o.suite, minimal: o.minimal, seed, signal: controller.signal, ...(progress ? { progress: progress.update } : {}),
        });
        progress?.finish();
        if (o.out) await writeFileAtomic(o.out, new TextEncoder().encode(`${JSON.stringify(toJson(result, o), null, 2)}\n`));
        if (o.json) console.log(JSON.stringify(toJson(result, o, false)));
        else print(result, o);
      } finally {
        progress?.finish();
        process.off('SIGINT', interrupt);
        await classifier.release();
      }
    });
}

/** The result as JSON: per-sample norms only when asked (NaN: misclassified clean, null: not found). */
function toJson(r: RobustnessResult, o: RobustnessFlags, perSample = true) {
  const minimal = r.minimalNorms && {
    attack: r.minimalNorms.attack,
    norm: r.minimalNorms.norm,
    quantiles: r.minimalNorms.quantiles,
    seconds: r.minimalNorms.seconds,
    ...(perSample ? { norms: Array.from(r.minimalNorms.norms, (v) => (Number.isNaN(v) ? 'misclassified' : Number.isFinite(v) ? v : null)) } : {}),
  };
  return {
    model: o.model,
    data: o.data,
    norm: r.norm,
    suite: r.suite,
    seed: r.seed,
    samples: r.samples,
    cleanAccuracy: r.cleanAccuracy,
    curve: r.curve.map(({ robust: _robust, adversarial: _adversarial, ...point }) => point),
    worstCase: r.curve.map((p) => ({ eps: p.eps, robustAccuracy: p.robustAccuracy })),
    minimalNorms: minimal,
    wholeBox: r.wholeBox,
    warnings: r.warnings,
    seconds: r.seconds,
  };
}

function print(r: RobustnessResult, o: RobustnessFlags): void {
  const percent = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(2)}%`);
  const attacks = r.curve[0]?.perAttack.map((a) => a.attack) ?? [];
  const rows = r.curve.map((p) => [p.eps.toPrecision(4), ...p.perAttack.map((a) => percent(a.robustAccuracy)), percent(p.minimalNormAccuracy), percent(p.robustAccuracy)]);
  const header = ['ε', ...attacks.map((a, i) => (i === 0 ? `after ${a}` : `+ ${a}`)), r.minimalNorms ? `${r.minimalNorms.attack} > ε` : 'minimal', 'worst case'];
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => cell.padStart(widths[c])).join('  ');
  const lines = [
    `${o.model} on ${o.data}: ${r.samples} samples, clean accuracy ${percent(r.cleanAccuracy)}, ${r.norm}, ${r.suite} suite, seed ${r.seed}`,
    line(header),
    ...rows.map(line),
  ];
  const q = r.minimalNorms?.quantiles;
  if (r.minimalNorms) {
    lines.push(q
      ? `minimal ${r.minimalNorms.norm} perturbation (${r.minimalNorms.attack}): 10% ${q.p10.toPrecision(3)}, 25% ${q.p25.toPrecision(3)}, median ${q.median.toPrecision(3)}, 75% ${q.p75.toPrecision(3)}, 90% ${q.p90.toPrecision(3)}`
      : `minimal ${r.minimalNorms.norm} perturbation (${r.minimalNorms.attack}): none found`);
  }
  lines.push(...r.warnings.map((w) => `warning: ${w}`));
  lines.push(`${r.seconds.toFixed(1)} s${o.out ? `; wrote ${o.out}` : ''}`);
  console.log(lines.join('\n'));
}
