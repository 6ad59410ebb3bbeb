// A membership audit of one target: every attack draws on the same lazily computed stages (the
// target's logits, the aux split, the shadow model, the distilled snapshots, the sequences, the
// reference models), so running the whole set costs little more than its most expensive member.
import { inspectModel, predictLogits, type SessionOptions } from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';

import { buildAttentionLstm } from './attack-models/attention-lstm.js';
import { attackLogits, type AttackModelTraining, SEQMIA_ATTACK_TRAINING, trainAttackModel, TRAJECTORY_ATTACK_TRAINING } from './attack-models/training.js';
import { buildTrajectoryMlp } from './attack-models/trajectory-mlp.js';
import { inclusionMatrix, liraScores, type LiraOptions } from './attacks/lira.js';
import { shokriScores, trainShokri } from './attacks/shokri.js';
import { logitScaledConfidence, METRIC_SIGNALS, metricScores, type MetricSignal } from './attacks/signals.js';
import { fitThresholds, thresholdedScores } from './attacks/thresholds.js';
import { distilledSnapshots, type StageProgress, trainFresh, type TrainingStage } from './attacker-models.js';
import { MembershipError } from './errors.js';
import { evaluateScores, type MembershipEvaluation } from './evaluation.js';
import {
  type AuxSplit,
  checkMembershipData,
  concatSets,
  type MembershipData,
  MIN_DISTILLATION_SAMPLES,
  MIN_SHADOW_SAMPLES,
  pickRows,
  sampleCount,
  setHash,
  splitAux,
} from './membership-data.js';
import { LIRA_REFERENCE_MODELS, SEQMIA_SNAPSHOTS, SEQMIA_TRAINING, type TrainingRecipe } from './recipes.js';
import { featureColumn, type MetricPrecision, metricSequences, SEQUENCE_FEATURES } from './sequences.js';
import { architectureHash, modelHash, stageKey, WorkFolder } from './work-folder.js';

export const ATTACKS = ['seqmia', 'trajectory', 'lira', 'shokri', ...METRIC_SIGNALS] as const;
export type AttackName = (typeof ATTACKS)[number];

/** The official code's batch size when it queries the snapshots (in training mode, under --parity). */
const PARITY_QUERY_BATCH = 100;

/** Attacks that need a shadow model, trained on the auxiliary data (the metric attacks use one to choose thresholds when they can). */
const SHADOW_ATTACKS: ReadonlySet<AttackName> = new Set(['seqmia', 'trajectory', 'shokri']);

export interface AuditOptions extends MembershipData {
  /** The model whose membership leaks are measured: only its outputs are used. */
  target: ModelProto;
  /** The architecture shadow, reference and distilled models are trained from (default: the target's own graph). */
  architecture?: ModelProto;
  /** Seeds the split, every model's initialisation and shuffling, and the attack models (default 0). */
  seed?: number;
  /** Folder of stage files (default '.onnx-audit-work'), or one shared with another audit of this run. */
  work?: string | WorkFolder;
  /** Reuse complete stages in `work` and continue interrupted training. */
  resume?: boolean;
  /** How shadow and reference models are trained: the target's recipe as far as it is known (default: SeqMIA's, seqmia.md §3.2). */
  training?: Partial<TrainingRecipe>;
  /** Distilled snapshots per distillation (default 50); the distillation otherwise follows `training`. */
  snapshots?: number;
  /** How SeqMIA's attention-LSTM is trained (default seqmia.md §6.2). */
  seqmiaTraining?: Partial<AttackModelTraining>;
  /** How TrajectoryMIA's MLP is trained (default seqmia.md §9.6). */
  trajectoryTraining?: Partial<AttackModelTraining>;
  /** LiRA reference models (default 16). */
  referenceModels?: number;
  /** LiRA's variance, centre and offline test (its online and offline readings are both reported). */
  lira?: Omit<LiraOptions, 'online'>;
  /**
   * Reproduce the official SeqMIA code's choices for comparison: distilled snapshots queried in
   * training mode (dropout on, BatchNormalization on batches of 100 holding only members or only
   * non-members), float32 metrics with its 1e−30 clamp, the raw member logit as the score, and
   * (in `tprAtFprInterpolated`) its interpolated TPR.
   */
  parity?: boolean;
  /**
   * Applied to every model the attacker trains (shadow, reference) before it is queried: an
   * attacker who knows the target was temperature-scaled scales its own models alike.
   */
  calibrateAttackerModels?: (trained: ModelProto) => ModelProto;
  session?: SessionOptions;
  onProgress?: (progress: StageProgress) => void;
}

export interface AttackResult extends MembershipEvaluation {
  attack: AttackName;
  /** One membership score per sample (larger = member): members first, then non-members, in input order. */
  scores: Float64Array;
  seconds: number;
  /** Metric attacks: the thresholds chosen on shadow data (on the score: member when score ≥ threshold) and their balanced accuracy on the target (Song & Mittal). */
  thresholds?: {
    global: { threshold: number; accuracy: number };
    classDependent: { thresholds: (number | null)[]; accuracy: number; evaluation: MembershipEvaluation };
  };
  /** Other readings of the same models (LiRA offline from the OUT reference models). */
  variants?: Record<string, MembershipEvaluation>;
  /** Why part of the attack was left out (e.g. no auxiliary data for thresholds). */
  notes: string[];
}

export class MembershipAudit {
  readonly seed: number;
  readonly work: WorkFolder;
  readonly recipe: TrainingRecipe;
  readonly snapshots: number;
  readonly precision: MetricPrecision;
  /** Seconds spent in each stage the first time it ran. */
  readonly stageSeconds: Record<string, number> = {};
  /** Why the target's architecture cannot be retrained, when it cannot. */
  readonly notRetrainable?: string;
  private readonly architecture: ModelProto;
  private readonly stage: TrainingStage;
  private readonly memo = new Map<string, Promise<unknown>>();
  private architectureHashed?: string;

  constructor(readonly options: AuditOptions) {
    this.seed = options.seed ?? 0;
    this.work = options.work instanceof WorkFolder ? options.work : new WorkFolder(options.work ?? '.onnx-audit-work', options.resume ?? false);
    this.recipe = { ...SEQMIA_TRAINING, ...options.training };
    this.snapshots = options.snapshots ?? SEQMIA_SNAPSHOTS;
    this.precision = options.parity ? 'float32' : 'float64';
    this.architecture = options.architecture ?? options.target;
    this.stage = { work: this.work, session: options.session ?? {}, ...(options.onProgress ? { onProgress: options.onProgress } : {}) };
    const unsupported = inspectModel(this.architecture).unsupportedForGradients;
    if (unsupported.length > 0) this.notRetrainable = `its op ${unsupported[0].op} (node ${unsupported[0].node}) has no gradient rule, so models of its architecture cannot be trained`;
    if (!Number.isInteger(this.snapshots) || this.snapshots < 1) throw new MembershipError(`the number of snapshots must be a positive integer, got ${this.snapshots}`);
  }

  /** Checks the data against the target before anything runs. */
  async check(): Promise<void> {
    const first = this.options.members;
    const size = first.sampleDims.reduce((a, b) => a * b, 1);
    const { classes } = await predictLogits(this.options.target, first.x.subarray(0, size), first.sampleDims, this.options.session);
    checkMembershipData(this.options, classes, first.sampleDims);
  }

  /** Why `attack` cannot run on this setup, or undefined when it can. */
  unavailable(attack: AttackName): string | undefined {
    const metric = (METRIC_SIGNALS as readonly string[]).includes(attack);
    if (!metric && this.notRetrainable) return `${attack} trains models of the target's architecture, but ${this.notRetrainable}; the metric attacks (loss, max, sd, entropy, mentropy) need only its scores`;
    return SHADOW_ATTACKS.has(attack) ? this.withoutShadow(attack, attack === 'seqmia' || attack === 'trajectory') : undefined;
  }

  /** Why no shadow model (and, for `distils`, no distillation set) is at hand for `subject`, or undefined when it is. */
  private withoutShadow(subject: string, distils: boolean): string | undefined {
    if (this.notRetrainable) return `no shadow model can be trained: ${this.notRetrainable}`;
    const aux = this.options.aux;
    if (!aux) return `${subject} needs a shadow model trained on auxiliary data: pass some (aux; --aux on the command line)`;
    const shadow = Math.min(sampleCount(this.options.members), Math.floor(sampleCount(aux) / 4));
    if (shadow < MIN_SHADOW_SAMPLES) return `${subject} needs at least ${4 * MIN_SHADOW_SAMPLES} auxiliary samples (shadow members and non-members of ${MIN_SHADOW_SAMPLES} each, the rest to distil on); got ${sampleCount(aux)}`;
    if (distils && sampleCount(aux) - 2 * shadow < MIN_DISTILLATION_SAMPLES) return `${subject} distils on what the shadow sets leave of the auxiliary data and needs at least ${MIN_DISTILLATION_SAMPLES} there; pass more auxiliary data`;
    return undefined;
  }

  async run(attack: AttackName): Promise<AttackResult> {
    const why = this.unavailable(attack);
    if (why) throw new MembershipError(why);
    const started = performance.now();
    const members = sampleCount(this.options.members);
    const partial = await this.attack(attack);
    const evaluation = await evaluateScores(partial.scores, members);
    return { attack, ...evaluation, ...partial, notes: partial.notes ?? [], seconds: (performance.now() - started) / 1000 };
  }

  private async attack(attack: AttackName): Promise<Omit<AttackResult, keyof MembershipEvaluation | 'attack' | 'seconds' | 'notes'> & { notes?: string[] }> {
    switch (attack) {
      case 'seqmia':
      case 'trajectory':
        return { scores: await this.sequenceScores(attack) };
      case 'lira':
        return this.lira();
      case 'shokri': {
        const shadow = await this.shadowLogits();
        const model = await trainShokri(shadow.logits, shadow.set.labels, shadow.isMember, shadow.classes, { seed: this.seed });
        const target = await this.targetLogits();
        return { scores: await shokriScores(model, target.logits, target.set.labels) };
      }
      default:
        return this.metric(attack);
    }
  }

  private async metric(metric: MetricSignal): Promise<Pick<AttackResult, 'scores' | 'thresholds'> & { notes?: string[] }> {
    const target = await this.targetLogits();
    const scores = await metricScores(target.logits, target.set.labels, target.classes, metric);
    const why = this.withoutShadow('choosing thresholds', false);
    if (why) return { scores, notes: [`no thresholds chosen on shadow data (${why}): the ROC is threshold-free`] };
    const shadow = await this.shadowLogits();
    const fitted = fitThresholds(await metricScores(shadow.logits, shadow.set.labels, shadow.classes, metric), shadow.set.labels, shadow.isMember, shadow.classes);
    const members = sampleCount(this.options.members);
    const accuracy = (decided: Float64Array) => {
      let tp = 0, tn = 0;
      decided.forEach((v, i) => (i < members ? v >= 0 && tp++ : v < 0 && tn++));
      return (tp / members + tn / (decided.length - members)) / 2;
    };
    const classScores = thresholdedScores(scores, target.set.labels, fitted, 'class');
    return {
      scores,
      thresholds: {
        global: { threshold: fitted.global, accuracy: accuracy(thresholdedScores(scores, target.set.labels, fitted, 'global')) },
        // null where the shadow data had no member or no non-member of the class (the global threshold applies).
        classDependent: { thresholds: Array.from(fitted.perClass, (t) => (Number.isNaN(t) ? null : t)), accuracy: accuracy(classScores), evaluation: await evaluateScores(classScores, members) },
      },
    };
  }

  // ---- stages -----------------------------------------------------------------------------------

  private once<T>(key: string, compute: () => Promise<T>): Promise<T> {
    let pending = this.memo.get(key) as Promise<T> | undefined;
    if (!pending) {
      const started = performance.now();
      pending = compute().then((value) => {
        this.stageSeconds[key] = (performance.now() - started) / 1000;
        return value;
      });
      this.memo.set(key, pending);
    }
    return pending;
  }

  private targetLogits() {
    return this.once('target scores', async () => {
      const set = concatSets(this.options.members, this.options.nonMembers);
      const { logits, classes } = await predictLogits(this.options.target, set.x, set.sampleDims, { ...this.options.session, batchSize: 512 });
      return { set, logits, classes };
    });
  }

  private split(): Promise<AuxSplit> {
    return this.once('aux split', async () => splitAux(this.options.aux!, sampleCount(this.options.members), this.seed));
  }

  private architectureKey(): string {
    return (this.architectureHashed ??= architectureHash(this.architecture));
  }

  /** The shadow model as the attacker queries it. */
  private shadowModel(): Promise<ModelProto> {
    return this.once('shadow training', async () => {
      const { shadowIn } = await this.split();
      const key = stageKey({ architecture: this.architectureKey(), data: setHash(shadowIn), recipe: this.recipe, seed: this.seed });
      return this.queried(await trainFresh(this.stage, 'shadow', key, this.architecture, shadowIn, this.recipe, this.seed + 1));
    });
  }

  private queried(trained: ModelProto): ModelProto {
    return this.options.calibrateAttackerModels ? this.options.calibrateAttackerModels(trained) : trained;
  }

  /** The shadow model's logits over its members then non-members. */
  private async shadowLogits() {
    const shadow = await this.shadowModel();
    return this.once('shadow scores', async () => {
      const { shadowIn, shadowOut } = await this.split();
      const set = concatSets(shadowIn, shadowOut);
      const { logits, classes } = await predictLogits(shadow, set.x, set.sampleDims, { ...this.options.session, batchSize: 512 });
      return { set, logits, classes, isMember: membership(sampleCount(shadowIn), sampleCount(shadowOut)) };
    });
  }

  private async distilled(side: 'target' | 'shadow'): Promise<ModelProto[]> {
    const teacher = side === 'target' ? this.options.target : await this.shadowModel();
    const { distillation } = await this.split();
    return this.once(`${side} distillation`, async () => {
      const recipe = { ...this.recipe, epochs: this.snapshots };
      const key = stageKey({ architecture: this.architectureKey(), teacher: modelHash(teacher), data: setHash(distillation), recipe, seed: this.seed });
      return distilledSnapshots(this.stage, `distill-${side}`, key, this.architecture, teacher, distillation, recipe, this.seed + 2);
    });
  }

  /** [n, snapshots + 1, 5]: the target side's (members, non-members) or the shadow side's (its members, non-members). */
  private async sequences(side: 'target' | 'shadow'): Promise<Float32Array> {
    // Dependencies first, so that each stage's seconds are its own.
    const snapshots = await this.distilled(side);
    const original = side === 'target' ? this.options.target : await this.shadowModel();
    const set = (await (side === 'target' ? this.targetLogits() : this.shadowLogits())).set;
    return this.once(`${side} sequences`, async () => {
      const steps = snapshots.length + 1;
      // Under parity the snapshots see batches that hold only members or only non-members.
      const halves = side === 'target' ? [this.options.members, this.options.nonMembers] : await this.split().then((s) => [s.shadowIn, s.shadowOut]);
      const parts = halves.map(sampleCount);
      const trainingMode = this.options.parity ? { batchSize: PARITY_QUERY_BATCH, seed: this.seed, parts } : undefined;
      const key = stageKey({ models: [...snapshots, original].map(modelHash), data: setHash(set), precision: this.precision, trainingMode });
      return this.work.array(`sequences-${side}`, key, [sampleCount(set), steps, SEQUENCE_FEATURES.length], () =>
        metricSequences([...snapshots, original], set, {
          precision: this.precision,
          ...(this.options.session ? { session: this.options.session } : {}),
          ...(trainingMode ? { trainingMode } : {}),
          onModel: (done) => this.options.onProgress?.({ stage: `${side} sequences`, epoch: done, epochs: steps }),
        }),
      );
    });
  }

  private async sequenceScores(attack: 'seqmia' | 'trajectory'): Promise<Float64Array> {
    const steps = this.snapshots + 1;
    const [shadowSequences, targetSequences] = [await this.sequences('shadow'), await this.sequences('target')];
    const { isMember } = await this.shadowLogits();
    const seqmia = attack === 'seqmia';
    // TrajectoryMIA reads the loss alone: feature 0 of every step.
    const features = (s: Float32Array) => (seqmia ? s : featureColumn(s, steps, 0));
    const sampleDims = seqmia ? [steps, SEQUENCE_FEATURES.length] : [steps];
    const training = seqmia ? { ...SEQMIA_ATTACK_TRAINING, ...this.options.seqmiaTraining } : { ...TRAJECTORY_ATTACK_TRAINING, ...this.options.trajectoryTraining };
    const untrained = seqmia ? await buildAttentionLstm({ steps, features: SEQUENCE_FEATURES.length, seed: this.seed }) : await buildTrajectoryMlp(steps, this.seed);
    const trainX = features(shadowSequences);
    const key = stageKey({ attack, data: setHash({ x: trainX, sampleDims, labels: Int32Array.from(isMember) }), training, seed: this.seed });
    const model = await this.once(`${attack} attack model`, () =>
      this.work.model(`attack-${attack}`, key, (checkpoint) =>
        trainAttackModel(untrained, trainX, sampleDims, isMember, {
          ...training,
          seed: this.seed,
          checkpoint,
          resume: this.work.resume,
          onEpoch: (summary) => this.options.onProgress?.({ stage: `${attack} attack model`, epoch: summary.epoch, epochs: training.epochs }),
        }),
      ),
    );
    const logits = await attackLogits(model, features(targetSequences), sampleDims);
    // The member logit alone is the official score; z1 − z0 is the log-odds the softmax gives.
    return Float64Array.from({ length: logits.length / 2 }, (_, i) => (this.options.parity ? logits[2 * i + 1] : logits[2 * i + 1] - logits[2 * i]));
  }

  /**
   * LiRA (Carlini et al. 2022), online: k reference models each trained on a random half of the
   * audited samples (every sample IN for half of them), φ = logit-scaled confidence. The offline
   * variant reads the same models' OUT halves only.
   */
  private async lira(): Promise<Pick<AttackResult, 'scores' | 'variants'>> {
    const k = this.options.referenceModels ?? LIRA_REFERENCE_MODELS;
    if (!Number.isInteger(k) || k < 2) throw new MembershipError(`LiRA needs at least 2 reference models, got ${k}`);
    const target = await this.targetLogits();
    const n = sampleCount(target.set);
    const keep = inclusionMatrix(k, n, this.seed);
    const reference = new Float64Array(k * n);
    for (let m = 0; m < k; m++) {
      const rows = Array.from({ length: n }, (_, i) => i).filter((i) => keep[m * n + i] === 1);
      const trainingSet = pickRows(target.set, rows);
      const key = stageKey({ architecture: this.architectureKey(), data: setHash(trainingSet), recipe: this.recipe, seed: this.seed, model: m });
      const model = this.queried(await this.once(`reference model ${m + 1}`, () => trainFresh(this.stage, `reference-${m + 1}`, key, this.architecture, trainingSet, this.recipe, this.seed + 100 + m)));
      const { logits } = await predictLogits(model, target.set.x, target.set.sampleDims, { ...this.options.session, batchSize: 512 });
      reference.set(logitScaledConfidence(logits, target.set.labels, target.classes), m * n);
      this.options.onProgress?.({ stage: 'reference models', epoch: m + 1, epochs: k });
    }
    const observed = logitScaledConfidence(target.logits, target.set.labels, target.classes);
    const options = this.options.lira ?? {};
    return {
      scores: liraScores(observed, reference, keep, { ...options, online: true }),
      variants: { offline: await evaluateScores(liraScores(observed, reference, keep, { ...options, online: false }), sampleCount(this.options.members)) },
    };
  }
}

function membership(members: number, nonMembers: number): Uint8Array {
  return new Uint8Array(members + nonMembers).fill(1, 0, members);
}
