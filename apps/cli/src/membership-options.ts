// What `mia` and `audit` share about membership inference: the flags that say how the attacker
// trains its models (like the target), reading the member/non-member/auxiliary data, running a
// set of attacks where one that cannot run is skipped with its reason, and stage progress.
import { type Command, Option } from 'commander';

import { type AttackName, type AttackResult, type AuditOptions, concatSets, type LabelledSet, MembershipAudit, MembershipError, type StageProgress, WorkFolder } from '@onnx-audit/mia';
import type { InspectionReport, Schedule } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';

import { type DataOptions, readLabelledData } from './dataset.js';
import { UserError } from './errors.js';
import { parseInteger } from './numbers.js';
import { type Progress, progressLine } from './progress.js';

export interface MembershipFlags {
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
  work: string;
  resume?: boolean;
}

const number = (v: string) => Number(v);

/** The attacker's training flags; defaults are SeqMIA's official recipe unless `defaults` says otherwise. */
export function addMembershipOptions(command: Command, defaults: { snapshots: string; referenceModels: string } = { snapshots: '50', referenceModels: '16' }): Command {
  return command
    .option('--snapshots <n>', 'SeqMIA/TrajectoryMIA: distilled snapshots (epochs of distillation)', defaults.snapshots)
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
    .option('--reference-models <k>', 'LiRA: reference models', defaults.referenceModels)
    .option('--work <dir>', 'folder for stage files (models, snapshots, sequences, checkpoints)', '.onnx-audit-work')
    .option('--resume', 'reuse the stages a previous run left in --work and continue its interrupted training');
}

/** The audit settings the flags give (everything but the data, target and seed). */
export function membershipSettings(o: MembershipFlags): Pick<AuditOptions, 'training' | 'snapshots' | 'referenceModels' | 'seqmiaTraining' | 'trajectoryTraining'> & { work: WorkFolder } {
  const schedule: Schedule = o.schedule === 'step' ? { kind: 'step', every: parseInteger('--step-every', o.stepEvery, 1), gamma: o.gamma } : { kind: o.schedule };
  for (const [flag, value] of [['--lr', o.lr], ['--momentum', o.momentum], ['--weight-decay', o.weightDecay], ['--gamma', o.gamma]] as const) {
    if (!Number.isFinite(value) || value < 0 || (flag === '--lr' && value === 0)) throw new UserError(`${flag} must be a ${flag === '--lr' ? 'positive' : 'non-negative'} number, got ${value}`);
  }
  const attackEpochs = o.attackEpochs ? parseInteger('--attack-epochs', o.attackEpochs, 1) : undefined;
  return {
    training: {
      epochs: parseInteger('--shadow-epochs', o.shadowEpochs, 1),
      batchSize: parseInteger('--batch-size', o.batchSize, 1),
      optimizer: o.optimizer,
      lr: o.lr,
      momentum: o.momentum,
      weightDecay: o.weightDecay,
      schedule,
    },
    snapshots: parseInteger('--snapshots', o.snapshots, 1),
    referenceModels: parseInteger('--reference-models', o.referenceModels, 2),
    ...(attackEpochs ? { seqmiaTraining: { epochs: attackEpochs }, trajectoryTraining: { epochs: attackEpochs } } : {}),
    work: new WorkFolder(o.work, o.resume ?? false),
  };
}

/** Members, non-members and the auxiliary data (several sources separated by commas are joined), checked against the model. */
export async function readMembershipData(sources: { members: string; nonmembers: string; aux?: string }, model: InspectionReport, options: DataOptions): Promise<Pick<AuditOptions, 'members' | 'nonMembers' | 'aux'>> {
  const read = (source: string) => readLabelledData(source, model, options).then((d): LabelledSet => ({ x: d.x, sampleDims: d.sampleDims, labels: Int32Array.from(d.labels) }));
  const aux = sources.aux ? (await Promise.all(sources.aux.split(',').map(read))).reduce(concatSets) : undefined;
  return { members: await read(sources.members), nonMembers: await read(sources.nonmembers), ...(aux ? { aux } : {}) };
}

export interface AuditOutcome {
  results: AttackResult[];
  skipped: { attack: AttackName; reason: string }[];
  stages: Record<string, number>;
}

/** Runs the attacks; with several, one that cannot run here is skipped with its reason instead of failing the rest. */
export async function auditAll(audit: MembershipAudit, attacks: readonly AttackName[]): Promise<AuditOutcome> {
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

export interface Interplay {
  main: AuditOutcome;
  /** Against the temperature-scaled target: the attacker's own models as trained (unaware of T), and scaled by T too (aware). */
  calibrated?: { temperature: number; attackerUnaware: AuditOutcome; attackerAware: AuditOutcome };
  twin?: AuditOutcome;
}

/**
 * The attacks against the target and, when given, against the target with temperature scaling
 * appended (its architecture, not the scaled graph, is what the attacker retrains) and against a
 * twin trained on the same members. The audits share `options.work`, so the attacker-side stages
 * of one serve the others.
 */
export async function auditInterplay(
  options: AuditOptions,
  attacks: readonly AttackName[],
  extra: { calibrated?: { temperature: number; calibrate: (model: ModelProto) => ModelProto }; twin?: ModelProto } = {},
): Promise<Interplay> {
  const interplay: Interplay = { main: await auditAll(new MembershipAudit(options), attacks) };
  if (extra.calibrated) {
    const { temperature, calibrate } = extra.calibrated;
    const scaled = { ...options, target: calibrate(options.target), architecture: options.target };
    interplay.calibrated = {
      temperature,
      attackerUnaware: await auditAll(new MembershipAudit(scaled), attacks),
      attackerAware: await auditAll(new MembershipAudit({ ...scaled, calibrateAttackerModels: calibrate }), attacks),
    };
  }
  if (extra.twin) interplay.twin = await auditAll(new MembershipAudit({ ...options, target: extra.twin }), attacks);
  return interplay;
}

/** One progress line per stage on stderr; undefined when not enabled. */
export function stageProgress(enabled: boolean): ((progress: StageProgress) => void) | undefined {
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
