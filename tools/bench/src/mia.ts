// Where SeqMIA's time goes on the MNIST setup of packages/mia's tests (a small CNN overfitted to
// 1000 digits, 1000 non-members, 4000 auxiliary digits): the wall time of each stage (shadow
// training, the two distillations, sequence extraction, attack-model training), the sequence
// extraction throughput in sample-models per second, and what the attack finds. Stages run once,
// from an empty work folder, so every stage is measured cold. Writes results/mia.json.
//   pnpm --filter @onnx-audit/bench bench:mia [-- --quick] [--snapshots 50] [--epochs 30] [--out FILE]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { loadBuiltin, stratifiedSplit, subset } from '@onnx-audit/data';
import { type LabelledSet, MembershipAudit } from '@onnx-audit/mia';
import { buildClassifier, SMALL_IMAGE_CNN, runtimeInfo, train } from '@onnx-audit/onnx';

import { writeJsonAtomic } from './write.js';

const { values } = parseArgs({
  // pnpm forwards a literal '--' before script arguments
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    quick: { type: 'boolean', default: false },
    snapshots: { type: 'string', default: '50' },
    epochs: { type: 'string', default: '30' },
    out: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'mia.json') },
  },
});

const quick = values.quick;
const perClass = quick ? 120 : 600;
const snapshots = quick ? 3 : Number(values.snapshots);
const recipe = { epochs: quick ? 3 : Number(values.epochs), batchSize: 32, optimizer: 'adam' as const, lr: 2e-3 };

const digits = await loadBuiltin('mnist', { perClass });
const parts = stratifiedSplit(digits.y, { members: 1 / 6, nonMembers: 1 / 6, aux: 2 / 3 }, 7);
const set = (rows: Int32Array): LabelledSet => {
  const d = subset(digits, rows);
  return { x: d.x, sampleDims: [1, 28, 28], labels: d.y };
};
const [members, nonMembers, aux] = [set(parts.members), set(parts.nonMembers), set(parts.aux)];

let started = performance.now();
const { model: target } = await train(await buildClassifier(SMALL_IMAGE_CNN), members, { ...recipe, seed: 11, reinit: true, spinning: false });
const targetSeconds = (performance.now() - started) / 1000;

const work = await mkdtemp(join(tmpdir(), 'bench-mia-'));
try {
  const audit = new MembershipAudit({ target, members, nonMembers, aux, seed: 3, work, training: recipe, snapshots, ...(quick ? { seqmiaTraining: { epochs: 3 } } : {}) });
  await audit.check();
  started = performance.now();
  const result = await audit.run('seqmia');
  const total = (performance.now() - started) / 1000;
  const stages = audit.stageSeconds;
  const steps = snapshots + 1;
  const extracted = (side: 'target' | 'shadow', samples: number) => ({ seconds: stages[`${side} sequences`], samples, models: steps, sampleModelsPerSecond: (samples * steps) / stages[`${side} sequences`] });
  const report = {
    benchmark: 'mia',
    date: new Date().toISOString(),
    runtime: runtimeInfo(),
    setup: { data: digits.source, members: members.labels.length, nonMembers: nonMembers.labels.length, aux: aux.labels.length, model: SMALL_IMAGE_CNN, recipe, snapshots, targetTrainingSeconds: targetSeconds },
    stages: {
      shadowTraining: stages['shadow training'],
      targetDistillation: stages['target distillation'],
      shadowDistillation: stages['shadow distillation'],
      targetSequences: extracted('target', members.labels.length + nonMembers.labels.length),
      shadowSequences: extracted('shadow', 2 * Math.min(members.labels.length, Math.floor(aux.labels.length / 4))),
      attackModelTraining: stages['seqmia attack model'],
    },
    totalSeconds: total,
    result: { auc: result.auc, tprAtFpr: result.tprAtFpr, balancedAccuracy: result.balancedAccuracy },
  };
  await writeJsonAtomic(values.out, report);
  console.log(JSON.stringify(report, null, 2));
} finally {
  await rm(work, { recursive: true, force: true });
}
