// What adversarial training costs next to standard training of the same model: the trainer's
// epoch time with FGSM-RS and with PGD of k steps in the batch hook, as a ratio to the standard
// epoch. Each attack step is one forward + input-gradient run, about what a training step costs,
// so PGD-k should take ≈ k + 1 times as long. Timing does not depend on the pixel values: the data
// are seeded uniform noise, so no data package is needed. Writes results/adversarial-training.json.
//   pnpm --filter @onnx-audit/bench bench:adversarial [-- --quick] [--steps 3,7,10] [--threads N] [--out FILE]
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { adversarialPerturbation, type AdversarialTrainingOptions } from '@onnx-audit/attacks';
import { randomUniform } from '@onnx-audit/native';
import { buildClassifier, SMALL_IMAGE_CNN, runtimeInfo, train, type TrainOptions } from '@onnx-audit/onnx';

import { median } from './timing.js';
import { writeJsonAtomic } from './write.js';

const { values } = parseArgs({
  // pnpm forwards a literal '--' before script arguments
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    quick: { type: 'boolean', default: false },
    steps: { type: 'string', default: '3,7,10' },
    threads: { type: 'string' },
    out: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'adversarial-training.json') },
  },
});

const SEED = 20261123;
const quick = values.quick;
const samples = quick ? 512 : 8192;
// The first epoch also builds the sessions: it is left out of the median.
const epochs = quick ? 2 : 4;
const threads = values.threads ? Number(values.threads) : undefined;
const EPS = 0.3;

interface Case {
  name: string;
  attack?: Omit<AdversarialTrainingOptions, 'eps'>;
}

const cases: Case[] = [
  { name: 'standard' },
  { name: 'fgsm-rs', attack: { kind: 'fgsm-rs' } },
  ...values.steps.split(',').map(Number).map((k): Case => ({ name: `pgd-${k}`, attack: { kind: 'pgd', steps: k } })),
];

const model = await buildClassifier(SMALL_IMAGE_CNN);
const data = { x: await randomUniform(samples * 784, { seed: SEED }), sampleDims: [1, 28, 28], labels: Int32Array.from({ length: samples }, (_, i) => i % 10) };
const base: TrainOptions = { epochs, batchSize: 64, optimizer: 'adam', lr: 1e-3, seed: 1, ...(threads ? { threads } : {}) };

const results = [];
let standardSeconds = 0;
for (const c of cases) {
  const hook = c.attack ? await adversarialPerturbation(model, data.sampleDims, { ...c.attack, eps: EPS, ...(threads ? { threads } : {}) }) : undefined;
  try {
    const { history } = await train(model, data, { ...base, ...(hook ? { perturb: hook.perturb, perturbation: hook.describe } : {}) });
    const epochSeconds = median(history.slice(1).map((h) => h.seconds));
    if (!hook) standardSeconds = epochSeconds;
    const steps = c.attack?.kind === 'pgd' ? c.attack.steps! : c.attack ? 1 : 0;
    const row = { case: c.name, attackSteps: steps, perturbation: hook?.describe ?? null, epochSeconds, ratio: epochSeconds / standardSeconds, expectedRatio: steps + 1 };
    results.push(row);
    console.log(`${c.name.padEnd(10)} ${epochSeconds.toFixed(2).padStart(7)} s/epoch  ×${row.ratio.toFixed(2)} (k + 1 = ${steps + 1})`);
  } finally {
    await hook?.release();
  }
}

await writeJsonAtomic(values.out, {
  benchmark: 'adversarial-training',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? null, node: process.version },
  runtime: runtimeInfo(),
  config: { model: SMALL_IMAGE_CNN, samples, epochs, epochsTimed: epochs - 1, batchSize: base.batchSize, optimizer: base.optimizer, eps: EPS, threads: threads ?? null, seed: SEED, quick },
  results,
});
console.log(`wrote ${values.out}`);
