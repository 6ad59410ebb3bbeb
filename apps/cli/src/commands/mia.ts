// `onnx-audit mia`: membership inference against a target model — one attack, or the whole set
// side by side (--compare) — reported as AUC, TPR at 0.1% and 1% FPR and balanced accuracy, with
// the leakage before and after temperature scaling (--calibrate) or of a twin model (--twin).
import { Command, Option } from 'commander';

import { fitTemperature } from '@onnx-audit/calibration';
import { writeNpy } from '@onnx-audit/data';
import { type AttackName, type AttackResult, ATTACKS, type AuditOptions, concatSets, type LabelledSet, MembershipAudit, MembershipError, type StageProgress, WorkFolder } from '@onnx-audit/mia';
import { inspectModel, predictLogits, readModel, type Schedule } from '@onnx-audit/onnx';

import { addDataOptions, dataOptions, readLabelledData } from '../dataset.js';
import { UserError } from '../errors.js';
import { parseInteger } from '../numbers.js';
import { type Progress, progressLine } from '../progress.js';
import { addRuntimeOptions, type RuntimeFlags, runtimeOptions } from '../runtime-options.js';

interface MiaFlags extends RuntimeFlags {
  target: string;
  members: string;
  nonmembers: string;
  aux?: string;
  attack: AttackName;
  compare?: boolean;
  snapshots: string;
  shadowEpochs: string;
  batchSize: string;
  optimizer: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum: number;
  weightDecay: number;
  schedule: 'constant' | 'step' | 'cosine';
  stepEvery: string;
  gamma: number;
  attackEpochs?: string;
  referenceModels: string;
  seed: string;
  scoresOut?: string;
  json?: boolean;
  resume?: boolean;
  work: string;
  parity?: boolean;
  calibrate?: 'temperature';
  twin?: string;
  quiet?: boolean;
  resize?: string;
}

const number = (v: string) => Number(v);

export function miaCommand(): Command {
  return addRuntimeOptions(addDataOptions(new Command('mia')
    .description('membership inference: how well an attacker tells the target\'s training samples (members) from others')
    .requiredOption('--target <file>', 'the .onnx model under audit')
    .requiredOption('--members <source>', 'samples the target was trained on (.npz x, y; .csv; image folder)')
    .requiredOption('--nonmembers <source>', 'samples from the same distribution it was not trained on')
    .option('--aux <sources>', 'more non-member samples for the attacker (shadow members/non-members, distillation set); several sources separated by commas are joined, e.g. the shadowIn, shadowOut and distillation parts of `split --membership`')
    .addOption(new Option('--attack <name>', 'the attack').choices([...ATTACKS]).default('seqmia'))
    .option('--compare', 'run every attack on the same split and tabulate them')
    .option('--snapshots <n>', 'SeqMIA/TrajectoryMIA: distilled snapshots (epochs of distillation)', '50')
    .option('--shadow-epochs <n>', 'epochs of shadow and reference model training (train them like the target)', '100')
    .option('--batch-size <n>', 'shadow/reference/distillation batch size', '100')
    .addOption(new Option('--optimizer <name>', 'shadow/reference/distillation optimizer').choices(['sgd', 'adam', 'adamw']).default('sgd'))
    .option('--lr <rate>', 'their learning rate', number, 0.1)
    .option('--momentum <m>', 'their SGD momentum', number, 0.9)
    .option('--weight-decay <w>', 'their L2 penalty', number, 5e-4)
    .addOption(new Option('--schedule <kind>', 'their learning-rate schedule').choices(['constant', 'step', 'cosine']).default('step'))
    .option('--step-every <epochs>', 'step schedule: epochs between decays', '5')
    .option('--gamma <g>', 'step schedule: decay factor', number, 0.9)
    .option('--attack-epochs <n>', 'epochs of the attack model (SeqMIA default 150, TrajectoryMIA 100)')
    .option('--reference-models <k>', 'LiRA: reference models', '16')
    .option('--seed <n>', 'seeds the split, every model and the attack models', '0')
    .option('--scores-out <file.npy>', 'write the membership scores (members first, then non-members; one row per attack with --compare)')
    .option('--json', 'print one JSON object instead of a table')
    .option('--resume', 'reuse the stages a previous run left in --work and continue its interrupted training')
    .option('--work <dir>', 'folder for stage files (models, snapshots, sequences, checkpoints)', '.onnx-audit-work')
    .option('--parity', 'the official SeqMIA code\'s choices: snapshots queried in training mode, float32 metrics, raw member logit, interpolated TPR')
    .addOption(new Option('--calibrate <method>', 'also measure the leakage of the target after temperature scaling fitted on --aux').choices(['temperature']))
    .option('--twin <file>', 'also audit this model trained on the same members (e.g. the adversarially trained twin)')
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', `
Examples:
  onnx-audit mia --target model.onnx --members in.npz --nonmembers out.npz --aux aux.npz --attack lira --json
  onnx-audit mia --target model.onnx --members in.npz --nonmembers out.npz --aux aux.npz --compare --calibrate temperature`)))
    .action(async (o: MiaFlags) => {
      const seed = parseInteger('--seed', o.seed, 0);
      const target = await readModel(o.target);
      const report = inspectModel(target);
      const read = (source: string) => readLabelledData(source, report, dataOptions(o)).then((d): LabelledSet => ({ x: d.x, sampleDims: d.sampleDims, labels: Int32Array.from(d.labels) }));
      const aux = o.aux ? (await Promise.all(o.aux.split(',').map(read))).reduce(concatSets) : undefined;
      const data = { members: await read(o.members), nonMembers: await read(o.nonmembers), ...(aux ? { aux } : {}) };
      if (o.calibrate && !data.aux) throw new UserError('--calibrate fits the temperature on the auxiliary data: pass --aux');
      const session = runtimeOptions(o);
      const work = new WorkFolder(o.work, o.resume ?? false);
      const options: AuditOptions = {
        ...data,
        target,
        seed,
        work,
        training: recipe(o),
        snapshots: parseInteger('--snapshots', o.snapshots, 1),
        referenceModels: parseInteger('--reference-models', o.referenceModels, 2),
        ...(o.attackEpochs ? attackEpochs(parseInteger('--attack-epochs', o.attackEpochs, 1)) : {}),
        parity: o.parity ?? false,
        session,
        onProgress: progressReporter(Boolean(process.stderr.isTTY && !o.quiet && !o.json)),
      };
      const attacks = o.compare ? [...ATTACKS] : [o.attack];
      const main = await auditAll(new MembershipAudit(options), attacks);
      const output: Record<string, unknown> = { target: o.target, ...summary(main, o.compare ?? false) };
      const tables = [table(main.results, main.skipped, o.target)];

      if (o.calibrate) {
        const { logits, classes } = await predictLogits(target, data.aux!.x, data.aux!.sampleDims, session);
        const calibrator = await fitTemperature(logits, data.aux!.labels, classes);
        const calibratedTarget = { ...options, target: calibrator.toOnnx(target), architecture: target };
        // The attacker who does not know T queries its own models as trained; the one who does scales them by T too.
        const unaware = await auditAll(new MembershipAudit(calibratedTarget), attacks);
        const aware = await auditAll(new MembershipAudit({ ...calibratedTarget, calibrateAttackerModels: (model) => calibrator.toOnnx(model) }), attacks);
        output.calibrated = { temperature: calibrator.temperature, attackerUnaware: summary(unaware, o.compare ?? false), attackerAware: summary(aware, o.compare ?? false) };
        const scaled = `after temperature scaling (T = ${calibrator.temperature.toFixed(3)}, fitted on the auxiliary data)`;
        tables.push(table(unaware.results, unaware.skipped, `${scaled}, attacker unaware of T`), table(aware.results, aware.skipped, `${scaled}, attacker scaling its own models by T`));
      }
      if (o.twin) {
        const twin = await readModel(o.twin);
        const twinAudit = await auditAll(new MembershipAudit({ ...options, target: twin }), attacks);
        output.twin = { target: o.twin, ...summary(twinAudit, o.compare ?? false) };
        tables.push(table(twinAudit.results, twinAudit.skipped, `twin ${o.twin}`));
      }
      if (o.scoresOut) {
        const rows = main.results.map((r) => r.scores);
        const n = rows[0].length;
        const flat = new Float64Array(rows.length * n);
        rows.forEach((row, i) => flat.set(row, i * n));
        await writeNpy(o.scoresOut, { dtype: 'float64', shape: o.compare ? [rows.length, n] : [n], data: flat });
      }
      output.settings = {
        seed,
        recipe: options.training,
        snapshots: options.snapshots,
        referenceModels: options.referenceModels,
        parity: options.parity,
        metricPrecision: options.parity ? 'float32 (official code)' : 'float64',
        snapshotQueries: options.parity ? 'training mode, batches of 100 holding only members or only non-members (official code)' : 'inference mode',
        score: options.parity ? 'member logit z1 (official code)' : 'z1 − z0 (SeqMIA, TrajectoryMIA); larger = member for every attack',
        tprAtFpr: 'max TPR over ROC points with FPR ≤ α, no interpolation (tprAtFprInterpolated: linear interpolation, as SeqMIA\'s code)',
        work: o.work,
        reusedStages: work.reused,
      };
      if (o.json) console.log(JSON.stringify(output));
      else console.log(tables.join('\n\n'));
    });
}

interface AuditOutcome {
  results: AttackResult[];
  skipped: { attack: AttackName; reason: string }[];
  stages: Record<string, number>;
}

/** Runs the attacks; with several, one that cannot run here is skipped with its reason instead of failing the rest. */
async function auditAll(audit: MembershipAudit, attacks: AttackName[]): Promise<AuditOutcome> {
  await audit.check();
  const results: AttackResult[] = [];
  const skipped: AuditOutcome['skipped'] = [];
  for (const attack of attacks) {
    const why = audit.unavailable(attack);
    if (why && attacks.length > 1) skipped.push({ attack, reason: why });
    else if (why) throw new MembershipError(why);
    else results.push(await audit.run(attack));
  }
  return { results, skipped, stages: audit.stageSeconds };
}

function summary(outcome: AuditOutcome, compare: boolean): Record<string, unknown> {
  const strip = ({ scores: _scores, ...rest }: AttackResult) => rest;
  const base = { stageSeconds: outcome.stages };
  if (compare) return { attacks: outcome.results.map(strip), skipped: outcome.skipped, ...base };
  return { ...strip(outcome.results[0]), ...base };
}

function table(results: AttackResult[], skipped: AuditOutcome['skipped'], title: string): string {
  const first = results[0];
  const fp = (alpha: string) => `${first.falsePositivesAllowed[alpha]} FP`;
  const head = `${'attack'.padEnd(12)}${'AUC'.padStart(8)}${`TPR@0.1% (${fp('0.001')})`.padStart(20)}${`TPR@1% (${fp('0.01')})`.padStart(18)}${'bal. acc'.padStart(10)}${'seconds'.padStart(10)}`;
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const lines = [
    `${title}: ${first.members} members, ${first.nonMembers} non-members`,
    head,
    ...results.map((r) => `${r.attack.padEnd(12)}${r.auc.toFixed(4).padStart(8)}${pct(r.tprAtFpr['0.001']).padStart(20)}${pct(r.tprAtFpr['0.01']).padStart(18)}${pct(r.balancedAccuracy).padStart(10)}${r.seconds.toFixed(1).padStart(10)}`),
  ];
  for (const r of results) {
    if (r.thresholds) lines.push(`${r.attack}: thresholds chosen on shadow data give balanced accuracy ${pct(r.thresholds.global.accuracy)} (global), ${pct(r.thresholds.classDependent.accuracy)} (per class)`);
    if (r.variants?.offline) lines.push(`${r.attack} offline (OUT reference models only): AUC ${r.variants.offline.auc.toFixed(4)}, TPR@0.1% ${pct(r.variants.offline.tprAtFpr['0.001'])}`);
    for (const note of r.notes) lines.push(`${r.attack}: ${note}`);
  }
  for (const s of skipped) lines.push(`skipped ${s.attack}: ${s.reason}`);
  return lines.join('\n');
}

function recipe(o: MiaFlags): AuditOptions['training'] {
  const schedule: Schedule = o.schedule === 'step' ? { kind: 'step', every: parseInteger('--step-every', o.stepEvery, 1), gamma: o.gamma } : { kind: o.schedule };
  for (const [flag, value] of [['--lr', o.lr], ['--momentum', o.momentum], ['--weight-decay', o.weightDecay], ['--gamma', o.gamma]] as const) {
    if (!Number.isFinite(value) || value < 0 || (flag === '--lr' && value === 0)) throw new UserError(`${flag} must be a ${flag === '--lr' ? 'positive' : 'non-negative'} number, got ${value}`);
  }
  return {
    epochs: parseInteger('--shadow-epochs', o.shadowEpochs, 1),
    batchSize: parseInteger('--batch-size', o.batchSize, 1),
    optimizer: o.optimizer,
    lr: o.lr,
    momentum: o.momentum,
    weightDecay: o.weightDecay,
    schedule,
  };
}

function attackEpochs(epochs: number): Pick<AuditOptions, 'seqmiaTraining' | 'trajectoryTraining'> {
  return { seqmiaTraining: { epochs }, trajectoryTraining: { epochs } };
}

function progressReporter(enabled: boolean): ((progress: StageProgress) => void) | undefined {
  if (!enabled) return undefined;
  let current: { stage: string; line: Progress } | undefined;
  return ({ stage, epoch, epochs }) => {
    if (current?.stage !== stage) {
      current?.line.finish();
      current = { stage, line: progressLine(stage, true)! };
    }
    current.line.update(epoch, epochs);
  };
}

