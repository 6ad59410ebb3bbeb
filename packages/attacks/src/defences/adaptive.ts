// Honest evaluation of input-transform defences (Athalye, Carlini & Wagner 2018, "Obfuscated
// Gradients Give a False Sense of Security"). A quantiser has zero gradient and a median filter
// none our builder knows, so a white-box attack on the defended graph either stops or is refused:
// the defence looks robust because its gradients are masked. BPDA differentiates the model at the
// transformed input and passes that gradient back through the transforms as if they were the
// identity (they nearly are: each maps x to something close to x); EOT averages the gradient over
// draws of a randomised transform. Scores always come from the whole defended model.
import { clone, create } from '@bufbuild/protobuf';
import { createSession, dataInput, encodeModel, fixedBatchSize, GraphEditor, isDefaultDomain } from '@onnx-audit/onnx';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema, ValueInfoProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';

import { type AttackTask, evaluateAttack, type Threat } from '../attack.js';
import { pgd } from '../attacks/pgd.js';
import { square } from '../attacks/square.js';
import { planRuns, runSlice } from '../classifier/batches.js';
import type { AttackLoss, Classifier, DifferentiableClassifier, LossGradient, Usage } from '../classifier/classifier.js';
import { NotDifferentiableError, onnxClassifier, type OnnxClassifierOptions, onnxPredictor } from '../classifier/onnx.js';
import { type InputTransform, withInputTransforms } from './transforms.js';

export interface DefendedClassifierOptions extends OnnxClassifierOptions {
  /**
   * 'bpda': the undefended model's gradient at t(x), passed back to x unchanged (the backward
   * pass of every transform taken as the identity). 'naive': the gradient of the defended graph
   * itself, the masked one an unaware attacker gets (refused with NotDifferentiableError where
   * the builder has no rule for a transform's ops).
   */
  gradient: 'bpda' | 'naive';
  /**
   * Draws of the transforms averaged per gradient (EOT): loss, gradient and logits are the means
   * over the draws, and every draw counts as a gradient call. Default 10 for 'bpda' when a
   * transform is random, else 1 (a naive attacker takes the one draw the graph gives it).
   */
  eotSamples?: number;
  /**
   * Seeds the attacker's noise. Its draws come from seeds above every seed of the defence, so the
   * attack never replays the very noise it is judged under (default 0).
   */
  noiseSeed?: number;
}

/** A white-box view of a defended model whose gradients are BPDA(+EOT) or the naive ones. */
export async function defendedClassifier(model: ModelProto, transforms: InputTransform[], options: DefendedClassifierOptions): Promise<DifferentiableClassifier> {
  const random = transforms.some((t) => t.kind === 'noise');
  const draws = options.eotSamples ?? (options.gradient === 'bpda' && random ? 10 : 1);
  if (!Number.isInteger(draws) || draws < 1) throw new RangeError(`eotSamples must be a positive integer, got ${options.eotSamples}`);
  if (options.gradient !== 'bpda' && options.gradient !== 'naive') throw new RangeError(`gradient must be 'bpda' or 'naive', got '${options.gradient as string}'`);
  const attacker = attackerTransforms(transforms, options.noiseSeed ?? 0);
  const scoring = await onnxPredictor(withInputTransforms(model, transforms), options);
  try {
    if (options.gradient === 'naive') {
      const inner = await onnxClassifier(naiveModel(model, attacker), options);
      return new DefendedClassifier(scoring, inner, undefined, draws);
    }
    const inner = await onnxClassifier(model, options);
    const transformer = await Transformer.open(model, attacker, inner.sampleDims, options);
    return new DefendedClassifier(scoring, inner, transformer, draws);
  } catch (e) {
    await scoring.release();
    throw e;
  }
}

/**
 * The defended graph plus a zero-weighted branch from the input, t(x) + 0·x: the same function,
 * with the same gradient, but one the builder accepts when every path through the transforms is
 * cut (Round alone), where it would refuse rather than report the gradient it has, zero.
 */
function naiveModel(model: ModelProto, transforms: InputTransform[]): ModelProto {
  const defended = withInputTransforms(model, transforms);
  const input = dataInput(model);
  const graph = defended.graph!;
  const original = model.graph!.node;
  const first = graph.node.length - original.length;
  // What the transforms hand the model: the name that replaced the input among the model's own nodes.
  const seen = new Set<string>();
  original.forEach((node, i) => node.input.forEach((name, j) => { if (name === input) seen.add(graph.node[first + i].input[j]); }));
  const [transformed] = seen;
  if (transformed === undefined || transformed === input) return defended;
  const g = new GraphEditor(graph, 'naive');
  const kept = g.node('Add', [transformed, g.node('Mul', [input, g.float(0)])]);
  const added = graph.node.splice(first + original.length);
  for (const node of graph.node.slice(first)) node.input.forEach((name, j) => { if (name === transformed) node.input[j] = kept; });
  graph.node.splice(first, 0, ...added);
  return defended;
}

/** The defence's transforms with each noise seed moved above all of the defence's own. */
function attackerTransforms(transforms: InputTransform[], noiseSeed: number): InputTransform[] {
  if (!Number.isInteger(noiseSeed) || noiseSeed < 0) throw new RangeError(`noiseSeed must be a non-negative integer, got ${noiseSeed}`);
  const noises = transforms.filter((t) => t.kind === 'noise');
  const above = Math.max(0, ...noises.map((t) => t.seed ?? 0)) + 1 + noiseSeed * noises.length;
  let next = above;
  return transforms.map((t) => (t.kind === 'noise' ? { ...t, seed: next++ } : t));
}

class DefendedClassifier implements DifferentiableClassifier {
  readonly differentiable = true;

  constructor(
    private readonly scoring: Classifier,
    private readonly inner: DifferentiableClassifier,
    private readonly transformer: Transformer | undefined,
    private readonly draws: number,
  ) {}

  get sampleDims(): readonly number[] { return this.scoring.sampleDims; }
  get sampleSize(): number { return this.scoring.sampleSize; }
  get classes(): number { return this.scoring.classes; }
  get box() { return this.scoring.box; }
  get usage(): Readonly<Usage> {
    return { queries: this.scoring.usage.queries + this.inner.usage.queries, gradientCalls: this.inner.usage.gradientCalls };
  }

  scores(x: Float32Array): Promise<Float32Array> {
    return this.scoring.scores(x);
  }

  async lossGradient(x: Float32Array, loss: AttackLoss): Promise<LossGradient> {
    const d = this.sampleSize, k = this.classes, s = this.draws;
    const repeated = repeat(x, s);
    const at = this.transformer ? await this.transformer.apply(repeated) : repeated;
    const all = await this.inner.lossGradient(at, repeatLoss(loss, s, k));
    if (s === 1) return all;
    const n = x.length / d;
    return { loss: meanOfDraws(all.loss, s, n), gradient: meanOfDraws(all.gradient, s, n * d), logits: meanOfDraws(all.logits, s, n * k) };
  }

  async release(): Promise<void> {
    await Promise.all([this.scoring.release(), this.inner.release(), this.transformer?.release()]);
  }
}

/** Runs the transforms alone (an Identity graph behind them): t(x), with fresh noise every run. */
class Transformer {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly sampleDims: readonly number[],
    private readonly chunk: number,
    private readonly fixedBatch: number | undefined,
  ) {}

  static async open(model: ModelProto, transforms: InputTransform[], sampleDims: readonly number[], options: OnnxClassifierOptions): Promise<Transformer> {
    const input = dataInput(model);
    const info = model.graph!.input.find((i) => i.name === input)!;
    const output = clone(ValueInfoProtoSchema, info);
    output.name = `${input}_transformed`;
    const identity = create(ModelProtoSchema, {
      irVersion: model.irVersion,
      opsetImport: model.opsetImport.filter((o) => isDefaultDomain(o.domain)),
      graph: { name: 'transforms', input: [clone(ValueInfoProtoSchema, info)], output: [output], node: [create(NodeProtoSchema, { opType: 'Identity', name: 'identity', input: [input], output: [output.name] })] },
    });
    const session = await createSession(encodeModel(withInputTransforms(identity, transforms)), { device: options.device, threads: options.threads, spinning: false });
    return new Transformer(session, sampleDims, options.batchSize ?? 128, fixedBatchSize(model, input));
  }

  async apply(x: Float32Array): Promise<Float32Array> {
    const d = this.sampleDims.reduce((a, b) => a * b, 1);
    const out = new Float32Array(x.length);
    const [input, output] = [this.session.inputNames[0], this.session.outputNames[0]];
    for (const run of planRuns(x.length / d, this.chunk, this.fixedBatch)) {
      const result = await this.session.run({ [input]: new ort.Tensor('float32', runSlice(x, d, run), [run.size, ...this.sampleDims]) });
      out.set((result[output].data as Float32Array).subarray(0, run.count * d), run.start * d);
    }
    return out;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

/** s copies of x end to end, draw-major: row r of draw j is at j·n + r. */
function repeat<T extends Float32Array | Int32Array>(x: T, s: number): T {
  if (s === 1) return x;
  const out = new (x.constructor as new (length: number) => T)(x.length * s);
  for (let j = 0; j < s; j++) out.set(x, j * x.length);
  return out;
}

function repeatLoss(loss: AttackLoss, s: number, classes: number): AttackLoss {
  if (s === 1) return loss;
  if (loss.kind === 'dot') {
    if (loss.cotangent.length % classes !== 0) throw new RangeError(`the cotangent holds ${loss.cotangent.length} values, not rows of ${classes}`);
    return { kind: 'dot', cotangent: repeat(loss.cotangent, s) };
  }
  if (loss.kind === 'targeted-dlr') return { kind: loss.kind, labels: repeat(loss.labels, s), targets: repeat(loss.targets, s) };
  return { kind: loss.kind, labels: repeat(loss.labels, s) };
}

/** The mean over s draw-major blocks of `width` values each. */
function meanOfDraws(values: Float32Array, s: number, width: number): Float32Array {
  const sum = new Float64Array(width);
  for (let j = 0; j < s; j++) for (let e = 0; e < width; e++) sum[e] += values[j * width + e];
  return Float32Array.from(sum, (v) => v / s);
}

export interface DefenceEvaluationOptions extends OnnxClassifierOptions {
  eps: number;
  /** Default 'linf'. */
  norm?: 'linf' | 'l2';
  /** PGD steps for the naive, adaptive and undefended attacks (default 40). */
  steps?: number;
  /** Seeds PGD's random starts, Square's windows and the attacker's noise (default 0). */
  seed?: number;
  /** EOT draws of the adaptive attack (default: 10 with a random transform, else 1). */
  eotSamples?: number;
  /** Square's queries per sample: the black-box check, which no gradient masking can fool (default 1000). */
  squareQueries?: number;
}

/** Robust accuracies on the defended model (its scores judge every attack but `undefended`). */
export interface DefenceEvaluation {
  /** Accuracy of the defended model on the clean inputs. */
  cleanAccuracy: number;
  /** PGD with the defended graph's own gradients; null when it has none (see naiveUnavailable). */
  naive: number | null;
  naiveUnavailable?: string;
  /** PGD with BPDA(+EOT) gradients. */
  bpda: number;
  /**
   * The figure to report: per sample, the worst case of BPDA PGD and naive PGD. An adaptive
   * attacker takes whichever gradient works; where the transform's own gradient is exact (the
   * median's), it can beat the identity approximation.
   */
  adaptive: number;
  /** Square Attack on the defended model's scores alone. */
  blackBox: number;
  /** PGD on the model without its defence, judged by that model: the baseline. */
  undefended: number;
  /** The adversarial inputs of `undefended`, judged by the defended model. */
  transfer: number;
}

export async function evaluateDefence(model: ModelProto, transforms: InputTransform[], task: AttackTask, options: DefenceEvaluationOptions): Promise<DefenceEvaluation> {
  const { eps, norm = 'linf', steps = 40, seed = 0, eotSamples, squareQueries = 1000, ...session } = options;
  const threat: Threat = { norm, eps };
  const attack = { norm, eps, steps, seed };
  const adaptiveModel = await defendedClassifier(model, transforms, { ...session, gradient: 'bpda', noiseSeed: seed, ...(eotSamples ? { eotSamples } : {}) });
  const undefendedModel = await onnxClassifier(model, session);
  try {
    const adaptive = await evaluateAttack(adaptiveModel, task, threat, () => pgd(adaptiveModel, task, attack));
    const blackBox = await evaluateAttack(adaptiveModel, task, threat, () => square(adaptiveModel, task, { norm, eps, seed, queries: squareQueries }));
    const undefended = await evaluateAttack(undefendedModel, task, threat, () => pgd(undefendedModel, task, attack));
    const transfer = await evaluateAttack(adaptiveModel, task, threat, async () => ({ adversarial: undefended.adversarial }));
    const { brokenByNaive, ...naive } = await naiveRobustness(model, transforms, task, threat, attack, session);
    let robust = 0;
    adaptive.predictions.forEach((p, i) => {
      if (adaptive.cleanPredictions[i] === task.labels[i] && p === task.labels[i] && !brokenByNaive?.[i]) robust++;
    });
    return {
      cleanAccuracy: adaptive.summary.cleanAccuracy,
      ...naive,
      bpda: adaptive.summary.robustAccuracy,
      adaptive: robust / task.labels.length,
      blackBox: blackBox.summary.robustAccuracy,
      undefended: undefended.summary.robustAccuracy,
      transfer: transfer.summary.robustAccuracy,
    };
  } finally {
    await Promise.all([adaptiveModel.release(), undefendedModel.release()]);
  }
}

async function naiveRobustness(model: ModelProto, transforms: InputTransform[], task: AttackTask, threat: Threat, attack: Threat & { steps: number; seed: number }, session: OnnxClassifierOptions): Promise<Pick<DefenceEvaluation, 'naive' | 'naiveUnavailable'> & { brokenByNaive?: Uint8Array }> {
  let naiveModel: DifferentiableClassifier;
  try {
    naiveModel = await defendedClassifier(model, transforms, { ...session, gradient: 'naive', noiseSeed: attack.seed });
  } catch (e) {
    if (e instanceof NotDifferentiableError) return { naive: null, naiveUnavailable: e.message };
    throw e;
  }
  try {
    const result = await evaluateAttack(naiveModel, task, threat, () => pgd(naiveModel, task, attack));
    return { naive: result.summary.robustAccuracy, brokenByNaive: Uint8Array.from(result.predictions, (p, i) => (p !== task.labels[i] ? 1 : 0)) };
  } finally {
    await naiveModel.release();
  }
}
