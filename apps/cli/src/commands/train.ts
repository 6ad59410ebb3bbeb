// `onnx-audit train`: trains an ONNX classifier on a labelled .npz (or distils a teacher into it),
// with a line per epoch, an ONNX snapshot per epoch on request, and a checkpoint to resume from.
import { Command, Option } from 'commander';

import { adversarialPerturbation, evaluateAttack, onnxClassifier, pgd, runSuite } from '@onnx-audit/attacks';
import { inspectModel, readModel, type Schedule, type TrainingData, train, writeModel } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';

import { addDataOptions, dataOptions, readLabelledData } from '../dataset.js';
import { UserError } from '../errors.js';
import { parseEpsilon, parseInteger } from '../numbers.js';
import { addRuntimeOptions, type RuntimeFlags, runtimeOptions } from '../runtime-options.js';

interface TrainFlags extends RuntimeFlags {
  model: string;
  data: string;
  out: string;
  epochs: number;
  batchSize: number;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  nesterov?: boolean;
  weightDecay: number;
  schedule: 'constant' | 'step' | 'cosine';
  stepEvery: number;
  gamma: number;
  seed: number;
  reinit?: boolean;
  distillFrom?: string;
  temperature: number;
  valData?: string;
  snapshots?: string;
  checkpoint?: string;
  resume?: boolean;
  resize?: string;
  adversarial?: 'pgd' | 'fgsm-rs' | 'trades';
  eps?: string;
  attackSteps?: string;
  stepSize?: number;
  mix: number;
  compareTo?: string;
  tradesBeta?: number;
  json?: boolean;
}

// The robust accuracy reported after adversarial training: PGD with 20 steps (Madry's step
// 2.5·ε/steps, a random start), stronger than the 7–10 steps such models are trained with.
const EVALUATION_STEPS = 20;

const number = (v: string) => Number(v);
const integer = (v: string) => Number.parseInt(v, 10);

export function trainCommand(): Command {
  return addRuntimeOptions(addDataOptions(new Command('train')
    .description('train a classifier (or distil a teacher into it), writing the trained model, per-epoch snapshots and a checkpoint')
    .requiredOption('--model <file>', 'the .onnx architecture to train (its weights are the start unless --reinit)')
    .requiredOption('--data <source>', '.npz (x float32 batch first, y integer labels), .csv, an image folder, or builtin:NAME')
    .requiredOption('--out <file>', 'where to write the trained .onnx')
    .option('--epochs <n>', 'passes over the data', integer, 10)
    .option('--batch-size <n>', 'samples per step', integer, 64)
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam', 'adamw']).default('adam'))
    .option('--lr <rate>', 'learning rate', number, 1e-3)
    .option('--momentum <m>', 'SGD momentum', number, 0)
    .option('--nesterov', 'Nesterov momentum (SGD)')
    .option('--weight-decay <w>', 'L2 penalty (sgd, adam) or decoupled decay (adamw)', number, 0)
    .addOption(new Option('--schedule <kind>', 'learning-rate schedule').choices(['constant', 'step', 'cosine']).default('constant'))
    .option('--step-every <epochs>', 'step schedule: epochs between decays', integer, 30)
    .option('--gamma <g>', 'step schedule: decay factor', number, 0.1)
    .option('--seed <n>', 'seeds initialisation, shuffling and dropout', integer, 0)
    .option('--reinit', 'start from fresh He/Glorot weights (shadow models)')
    .option('--distill-from <teacher>', 'train on this model\'s softmax outputs at --temperature instead of the labels')
    .option('--temperature <t>', 'distillation temperature', number, 4)
    .option('--val-data <source>', 'data evaluated after every epoch (any --data source)')
    .option('--snapshots <dir>', 'write the model after every epoch as DIR/epoch-NNN.onnx')
    .option('--checkpoint <file>', 'checkpoint rewritten after every epoch (default: OUT.ckpt)')
    .option('--resume', 'continue from the checkpoint if it exists')
    .option('--json', 'print one JSON object (the epochs\' history) instead of the summary lines')
    .addOption(new Option('--adversarial <kind>', 'adversarial training: each batch attacked by PGD (Madry), FGSM with a random start (Wong et al.), or TRADES (Zhang et al.: CE + β·KL to a PGD-KL copy)').choices(['pgd', 'fgsm-rs', 'trades']))
    .option('--eps <e>', 'adversarial training: L∞ radius, e.g. 0.3 or 8/255 (inputs in [0, 1])')
    .option('--attack-steps <n>', 'adversarial training: PGD steps (default 10)')
    .option('--step-size <a>', 'adversarial training: attack step (default 2.5·ε/steps; fgsm-rs 1.25·ε)', number)
    .option('--mix <r>', 'adversarial training: share of each batch replaced by adversarial examples, in (0, 1]', number, 1)
    .option('--compare-to <file>', 'adversarial training with --val-data: also evaluate this (e.g. the standardly trained) model, side by side')
    .option('--trades-beta <b>', 'TRADES: weight of the KL term (default 6)', number)))
    .addHelpText('after', '\nExamples:\n  onnx-audit train --model arch.onnx --data train.npz --out model.onnx --epochs 30 --optimizer adam --lr 0.002 --reinit --val-data val.npz\n  onnx-audit train --model arch.onnx --data train.npz --out robust.onnx --adversarial pgd --eps 0.1 --mix 0.5 --val-data val.npz --compare-to model.onnx\n  onnx-audit train --model arch.onnx --data train.npz --out model.onnx --checkpoint run.ckpt --resume --json')
    .action(async (o: TrainFlags) => {
      checkFlags(o);
      const adversarial = adversarialFlags(o);
      const model = await readModel(o.model);
      const report = inspectModel(model);
      if (report.unsupportedForGradients.length > 0) {
        const list = report.unsupportedForGradients.map((u) => `${u.op} (node '${u.node}')`).join(', ');
        throw new UserError(`${o.model}: cannot be trained, not differentiable: ${list}`);
      }
      const data = await readLabelledData(o.data, report, dataOptions(o));
      const validation = o.valData ? await readLabelledData(o.valData, report, dataOptions(o)) : undefined;
      const teacher = o.distillFrom ? await readModel(o.distillFrom) : undefined;
      const checkpoint = o.checkpoint ?? `${o.out}.ckpt`;
      const tty = process.stderr.isTTY;
      let lastDraw = 0;
      const hook = adversarial ? await adversarialPerturbation(model, data.sampleDims, { ...adversarial, seed: o.seed, ...runtimeOptions(o) }).catch((e: unknown) => {
        throw e instanceof RangeError ? new UserError(`--adversarial ${adversarial.kind}: ${e.message}`) : e;
      }) : undefined;
      try {
        const result = await train(model, data, {
          epochs: o.epochs,
          batchSize: o.batchSize,
          optimizer: o.optimizer,
          lr: o.lr,
          momentum: o.momentum,
          ...(o.nesterov ? { nesterov: true } : {}),
          weightDecay: o.weightDecay,
          schedule: schedule(o),
          seed: o.seed,
          ...(o.reinit ? { reinit: true } : {}),
          ...(teacher ? { distill: { teacher, temperature: o.temperature } } : {}),
          ...(validation ? { validation } : {}),
          ...(o.snapshots ? { snapshots: o.snapshots } : {}),
          checkpoint,
          ...(o.resume ? { resume: true } : {}),
          ...(hook ? { perturb: hook.perturb, perturbation: hook.describe, ...(hook.trades ? { trades: hook.trades } : {}) } : {}),
          ...runtimeOptions(o),
          onStep: (s) => {
            const now = performance.now();
            if (!tty || (now - lastDraw < 250 && s.step < s.steps)) return;
            lastDraw = now;
            process.stderr.write(`\repoch ${s.epoch}/${s.epochs}  step ${s.step}/${s.steps}  loss ${s.loss.toFixed(4)}  ${Math.round(s.samplesPerSecond)} samples/s`);
          },
          onEpoch: (e) => {
            const validated = e.validationAccuracy === undefined ? '' : `  val ${(100 * e.validationAccuracy).toFixed(2)}% (loss ${e.validationLoss!.toFixed(4)})`;
            process.stderr.write(`${tty ? '\r\x1b[K' : ''}epoch ${e.epoch}/${o.epochs}  loss ${e.loss.toFixed(4)}  train ${(100 * e.trainAccuracy).toFixed(2)}%${validated}  lr ${e.lr.toPrecision(3)}  ${e.seconds.toFixed(1)} s\n`);
          },
        });
        if (result.resumedFrom !== undefined) console.error(`onnx-audit: resumed from ${checkpoint} after epoch ${result.resumedFrom}`);
        else if (o.resume) console.error(`onnx-audit: no checkpoint at ${checkpoint}; started from epoch 1`);
        await writeModel(o.out, result.model);
        const last = result.history.at(-1);
        const accuracy = last?.validationAccuracy ?? last?.trainAccuracy;
        const rows = adversarial && validation ? [[o.out, await robustness(result.model, validation, adversarial.eps, o)]] as const : [];
        const compared = adversarial && validation && o.compareTo ? [[o.compareTo, await robustness(await readModel(o.compareTo), validation, adversarial.eps, o)] as const] : [];
        if (o.json) {
          const evaluated = [...rows, ...compared].map(([model, r]) => ({ model, cleanAccuracy: r.clean, pgdRobustAccuracy: r.robust, suiteRobustAccuracy: r.suiteRobust }));
          console.log(JSON.stringify({ out: o.out, parameterCount: result.parameterCount, history: result.history, ...(result.resumedFrom !== undefined ? { resumedFrom: result.resumedFrom } : {}), ...(adversarial && validation ? { adversarial: { eps: adversarial.eps, evaluated } } : {}) }));
          return;
        }
        console.log(`wrote ${o.out}: ${result.parameterCount} parameters, ${result.history.length} epochs, ${last?.validationAccuracy === undefined ? 'train' : 'validation'} accuracy ${accuracy === undefined ? '?' : (100 * accuracy).toFixed(2)}%`);
        if (rows.length > 0) {
          const percent = (v: number) => `${(100 * v).toFixed(2)}%`;
          console.log(`validation, L∞ ε = ${adversarial!.eps}: clean, PGD-${EVALUATION_STEPS} robust, ${rows[0][1].suite} suite robust accuracy`);
          for (const [name, r] of [...rows, ...compared]) console.log(`  ${name}: ${percent(r.clean)}, ${percent(r.robust)}, ${percent(r.suiteRobust)}`);
        }
      } catch (e) {
        if (tty) process.stderr.write('\n'); // end the progress line before the error
        throw e;
      } finally {
        await hook?.release();
      }
    });
}

function checkFlags(o: TrainFlags): void {
  const positiveInteger: Array<[number, string]> = [[o.epochs, '--epochs'], [o.batchSize, '--batch-size'], [o.stepEvery, '--step-every']];
  for (const [v, flag] of positiveInteger) if (!Number.isInteger(v) || v < 1) throw new UserError(`${flag} must be a positive integer, got ${v}`);
  if (!(o.lr > 0 && Number.isFinite(o.lr))) throw new UserError(`--lr must be a positive number, got ${o.lr}`);
  if (!(o.momentum >= 0 && o.momentum < 1)) throw new UserError(`--momentum must be in [0, 1), got ${o.momentum}`);
  if (!(o.weightDecay >= 0)) throw new UserError(`--weight-decay must be ≥ 0, got ${o.weightDecay}`);
  if (!(o.gamma > 0)) throw new UserError(`--gamma must be positive, got ${o.gamma}`);
  if (!(o.temperature > 0 && Number.isFinite(o.temperature))) throw new UserError(`--temperature must be a positive number, got ${o.temperature}`);
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new UserError(`--seed must be a non-negative integer, got ${o.seed}`);
}

function adversarialFlags(o: TrainFlags): { kind: 'pgd' | 'fgsm-rs' | 'trades'; eps: number; steps?: number; stepSize?: number; mix: number; beta?: number } | undefined {
  const attackFlags = [['--eps', o.eps], ['--attack-steps', o.attackSteps], ['--step-size', o.stepSize]] as const;
  if (!o.adversarial) {
    const stray = attackFlags.find(([, v]) => v !== undefined)?.[0] ?? (o.mix !== 1 ? '--mix' : undefined);
    if (stray) throw new UserError(`${stray} needs --adversarial pgd|fgsm-rs|trades`);
    if (o.tradesBeta !== undefined) throw new UserError('--trades-beta needs --adversarial trades');
    if (o.compareTo !== undefined) throw new UserError('--compare-to needs --adversarial and --val-data');
    return undefined;
  }
  if (o.tradesBeta !== undefined && o.adversarial !== 'trades') throw new UserError('--trades-beta needs --adversarial trades');
  if (o.tradesBeta !== undefined && !(o.tradesBeta >= 0 && Number.isFinite(o.tradesBeta))) throw new UserError(`--trades-beta must be a number ≥ 0, got ${o.tradesBeta}`);
  if (o.adversarial === 'trades' && o.mix !== 1) throw new UserError('--mix does not apply to --adversarial trades, which pairs every sample with its adversarial copy');
  if (o.eps === undefined) throw new UserError('--adversarial needs --eps (e.g. 0.3 or 8/255)');
  if (o.stepSize !== undefined && !(o.stepSize > 0 && Number.isFinite(o.stepSize))) throw new UserError(`--step-size must be a positive number, got ${o.stepSize}`);
  if (!(o.mix > 0 && o.mix <= 1)) throw new UserError(`--mix must be in (0, 1], got ${o.mix}`);
  return {
    kind: o.adversarial,
    eps: parseEpsilon(o.eps),
    ...(o.attackSteps !== undefined ? { steps: parseInteger('--attack-steps', o.attackSteps, 1) } : {}),
    ...(o.stepSize !== undefined ? { stepSize: o.stepSize } : {}),
    mix: o.mix,
    ...(o.tradesBeta !== undefined ? { beta: o.tradesBeta } : {}),
  };
}

/** Clean, PGD and suite robust accuracy: the standard suite on images, the fast one otherwise (Square needs images). */
async function robustness(model: ModelProto, data: TrainingData, eps: number, o: TrainFlags): Promise<{ clean: number; robust: number; suiteRobust: number; suite: 'standard' | 'fast' }> {
  const classifier = await onnxClassifier(model, { sampleDims: data.sampleDims, ...runtimeOptions(o) });
  try {
    const task = { x: data.x, labels: Int32Array.from(data.labels) };
    const { summary } = await evaluateAttack(classifier, task, { norm: 'linf', eps }, () => pgd(classifier, task, { eps, steps: EVALUATION_STEPS, seed: o.seed }));
    const suite = data.sampleDims.length === 3 ? 'standard' : 'fast';
    const { robustAccuracy } = await runSuite(classifier, task, { eps, suite, seed: o.seed });
    return { clean: summary.cleanAccuracy, robust: summary.robustAccuracy, suiteRobust: robustAccuracy, suite };
  } finally {
    await classifier.release();
  }
}

function schedule(o: TrainFlags): Schedule {
  switch (o.schedule) {
    case 'constant':
      return { kind: 'constant' };
    case 'step':
      return { kind: 'step', every: o.stepEvery, gamma: o.gamma };
    case 'cosine':
      return { kind: 'cosine' };
  }
}
