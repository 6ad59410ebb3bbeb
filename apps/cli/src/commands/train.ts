// `onnx-audit train`: trains an ONNX classifier on a labelled .npz (or distils a teacher into it),
// with a line per epoch, an ONNX snapshot per epoch on request, and a checkpoint to resume from.
import { Command, Option } from 'commander';

import { inspectModel, readModel, type Schedule, train, writeModel } from '@onnx-audit/onnx';

import { addDataOptions, dataOptions, readLabelledData } from '../dataset.js';
import { UserError } from '../errors.js';
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
}

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
    .option('--resume', 'continue from the checkpoint if it exists')))
    .action(async (o: TrainFlags) => {
      checkFlags(o);
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
        console.log(`wrote ${o.out}: ${result.parameterCount} parameters, ${result.history.length} epochs, ${last?.validationAccuracy === undefined ? 'train' : 'validation'} accuracy ${accuracy === undefined ? '?' : (100 * accuracy).toFixed(2)}%`);
      } catch (e) {
        if (tty) process.stderr.write('\n'); // end the progress line before the error
        throw e;
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
