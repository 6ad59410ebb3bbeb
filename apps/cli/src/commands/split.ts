// `onnx-audit split`: seeded, stratified parts of a labelled dataset, written as DIR/<part>.npz
// (x, y, and index: each sample's position in the source), so that every later command of an
// audit runs on the same, reproducible parts.
import { Command } from 'commander';

import { MEMBERSHIP_SPLIT, stratifiedSplit, TRAIN_VAL_TEST, writeSplit } from '@onnx-audit/data';

import { addDataOptions, dataOptions, readDataset } from '../dataset.js';
import { UserError } from '../errors.js';

interface SplitFlags {
  data: string;
  out: string;
  parts?: string;
  membership?: boolean;
  seed: number;
  resize?: string;
  json?: boolean;
}

export function splitCommand(): Command {
  return addDataOptions(new Command('split')
    .description('split a labelled dataset into seeded, stratified parts written as DIR/<part>.npz')
    .requiredOption('--data <source>', '.npz (x, y), .csv, an image folder, or builtin:NAME')
    .requiredOption('--out <dir>', 'directory for the parts')
    .option('--parts <name=fraction,...>', `the parts and their fractions (default ${describe(TRAIN_VAL_TEST)})`)
    .option('--membership', `the five parts membership inference needs: ${describe(MEMBERSHIP_SPLIT)}`)
    .option('--seed <n>', 'seeds the shuffle within each class', (v) => Number.parseInt(v, 10), 0))
    .option('--json', 'print one JSON object instead of a line per part')
    .addHelpText('after', '\nExamples:\n  onnx-audit split --data builtin:fashion-mnist --out parts/ --parts train=0.8,val=0.1,test=0.1\n  onnx-audit split --data all.npz --out parts/ --membership --seed 1 --json')
    .action(async (o: SplitFlags) => {
      if (!Number.isInteger(o.seed) || o.seed < 0) throw new UserError(`--seed must be a non-negative integer, got ${o.seed}`);
      if (o.parts && o.membership) throw new UserError('--parts and --membership choose the parts two ways: give one');
      const fractions: Record<string, number> = o.membership ? { ...MEMBERSHIP_SPLIT } : o.parts ? parseParts(o.parts) : { ...TRAIN_VAL_TEST };
      const dataset = await readDataset(o.data, dataOptions(o));
      let parts;
      try {
        parts = stratifiedSplit(dataset.y, fractions, o.seed);
      } catch (e) {
        throw new UserError(`--parts: ${(e as Error).message}`);
      }
      const written = await writeSplit(o.out, dataset, parts);
      const names = Object.keys(parts);
      if (o.json) console.log(JSON.stringify({ parts: Object.fromEntries(names.map((name, i) => [name, { file: written[i], samples: parts[name].length }])) }));
      else for (const [i, name] of names.entries()) console.log(`${written[i]}: ${parts[name].length} samples`);
    });
}

function describe(fractions: Record<string, number>): string {
  return Object.entries(fractions).map(([name, f]) => `${name}=${Number(f.toFixed(4))}`).join(',');
}

function parseParts(text: string): Record<string, number> {
  const fractions: Record<string, number> = {};
  for (const item of text.split(',')) {
    const [name, value, ...rest] = item.split('=');
    const fraction = Number(value);
    if (!name || rest.length > 0 || !/^[A-Za-z0-9_-]+$/.test(name) || !(fraction >= 0 && fraction <= 1)) {
      throw new UserError(`--parts: '${item}' is not name=fraction with a fraction in [0, 1] (e.g. train=0.8,val=0.1,test=0.1)`);
    }
    if (name in fractions) throw new UserError(`--parts: '${name}' is named twice`);
    fractions[name] = fraction;
  }
  return fractions;
}
