// What every attack takes and returns, and the checks around it. An attack only produces inputs;
// evaluateAttack scores them, measures the perturbations, and refuses (as a bug) any input that
// left the box or the ε-ball, so no attack can report a success it is not entitled to.
import { type Norm, perturbationNorms, type PerturbationNorms } from '@onnx-audit/native';

import { argmaxRows, type Classifier } from './classifier/classifier.js';

export interface AttackTask {
  /** Clean inputs [n, sampleSize], inside the classifier's box. */
  x: Float32Array;
  /** True labels (or the model's own predictions, to avoid label leaking). */
  labels: Int32Array;
  /** For a targeted attack: the class each sample should be moved to. */
  targets?: Int32Array;
}

export interface AttackContext {
  /** Seeds every random choice (default 0). */
  seed?: number;
  /** Called as work completes, in units the attack states (steps, queries). */
  progress?: (done: number, total: number) => void;
  /** Stops the attack between batches; it then rejects with the signal's reason and returns nothing. */
  signal?: AbortSignal;
}

/** The perturbation set: the ε-ball of a norm around each clean input (intersected with the box). */
export interface Threat {
  norm: Norm;
  eps: number;
}

export interface AttackOutput {
  adversarial: Float32Array;
  /** Queries spent on each sample, for attacks that count them per sample (black-box ones). */
  queriesPerSample?: Float64Array;
}

export interface AttackResult {
  adversarial: Float32Array;
  cleanPredictions: Int32Array;
  predictions: Int32Array;
  /** 1 where the adversarial input is misclassified (untargeted) or classified as the target. */
  success: Uint8Array;
  /** Norms of adversarial − clean per sample. */
  norms: PerturbationNorms;
  /** Samples scored and differentiated by the attack itself (not by this evaluation). */
  queries: number;
  gradientCalls: number;
  queriesPerSample?: Float64Array;
  seconds: number;
  summary: AttackSummary;
}

export interface AttackSummary {
  samples: number;
  cleanAccuracy: number;
  /** Correctly classified after the attack (points misclassified when clean count as not robust). */
  robustAccuracy: number;
  /** Successes among the samples attacked: those correct when clean (untargeted) or not of the target class (targeted). */
  successRate: number;
  /** Over the successful attacked samples; null when there are none. */
  meanL2: number | null;
  meanLinf: number | null;
  medianL2: number | null;
}

/** An input left the box or the ball: a bug in the attack, never a user error. */
export class AttackInvariantError extends Error {
  override name = 'AttackInvariantError';
}

// Inputs are float32: x0 + ε rounds, so the ball is checked with a float32-sized slack.
const SLACK = 1e-5;

export function checkTask(classifier: Classifier, task: AttackTask): number {
  const d = classifier.sampleSize;
  const { x, labels, targets } = task;
  if (x.length === 0) throw new RangeError('no samples to attack');
  if (x.length !== labels.length * d) throw new RangeError(`x holds ${x.length} values for ${labels.length} labels of ${d} values each`);
  const { lo, hi } = classifier.box;
  for (let e = 0; e < x.length; e++) {
    if (!(x[e] >= lo && x[e] <= hi)) {
      throw new RangeError(`sample ${Math.floor(e / d)} holds ${x[e]}, outside the input box [${lo}, ${hi}]`);
    }
  }
  for (const [name, values] of [['label', labels], ['target', targets]] as const) {
    if (!values) continue;
    if (values.length !== labels.length) throw new RangeError(`${values.length} ${name}s for ${labels.length} samples`);
    const bad = values.findIndex((v) => !(v >= 0 && v < classifier.classes));
    if (bad >= 0) throw new RangeError(`${name} ${values[bad]} of sample ${bad} is not a class of this ${classifier.classes}-class model`);
  }
  return labels.length;
}

export function isSuccess(predicted: number, i: number, task: AttackTask): boolean {
  return task.targets ? predicted === task.targets[i] : predicted !== task.labels[i];
}

/** Runs an attack and measures what it did. */
export async function evaluateAttack(classifier: Classifier, task: AttackTask, threat: Threat | undefined, attack: () => Promise<AttackOutput>): Promise<AttackResult> {
  const n = checkTask(classifier, task);
  const d = classifier.sampleSize;
  const before = { ...classifier.usage };
  const started = performance.now();
  const output = await attack();
  const seconds = (performance.now() - started) / 1000;
  const queries = classifier.usage.queries - before.queries;
  const gradientCalls = classifier.usage.gradientCalls - before.gradientCalls;

  const { adversarial } = output;
  if (adversarial.length !== task.x.length) throw new AttackInvariantError(`the attack returned ${adversarial.length} values for ${task.x.length}`);
  const delta = new Float32Array(adversarial.length);
  const { lo, hi } = classifier.box;
  for (let e = 0; e < delta.length; e++) {
    if (!(adversarial[e] >= lo && adversarial[e] <= hi)) throw new AttackInvariantError(`sample ${Math.floor(e / d)} left the box: ${adversarial[e]}`);
    delta[e] = adversarial[e] - task.x[e];
  }
  const norms = await perturbationNorms(delta, d);
  if (threat) {
    const size = norms[threat.norm];
    const worst = size.reduce((w, v, i) => (v > size[w] ? i : w), 0);
    if (size[worst] > threat.eps * (1 + SLACK) + SLACK) {
      throw new AttackInvariantError(`sample ${worst} left the ${threat.norm} ball: ‖δ‖ = ${size[worst]} > ε = ${threat.eps}`);
    }
  }

  const cleanPredictions = argmaxRows(await classifier.scores(task.x), classifier.classes);
  const predictions = argmaxRows(await classifier.scores(adversarial), classifier.classes);
  const success = Uint8Array.from(predictions, (p, i) => (isSuccess(p, i, task) ? 1 : 0));
  return {
    adversarial,
    cleanPredictions,
    predictions,
    success,
    norms,
    queries,
    gradientCalls,
    ...(output.queriesPerSample ? { queriesPerSample: output.queriesPerSample } : {}),
    seconds,
    summary: summarize(task, cleanPredictions, predictions, success, norms, n),
  };
}

function summarize(task: AttackTask, clean: Int32Array, adversarial: Int32Array, success: Uint8Array, norms: PerturbationNorms, n: number): AttackSummary {
  let cleanCorrect = 0, robust = 0, attacked = 0, succeeded = 0;
  const l2: number[] = [], linf: number[] = [];
  for (let i = 0; i < n; i++) {
    const correct = clean[i] === task.labels[i];
    if (correct) cleanCorrect++;
    if (correct && adversarial[i] === task.labels[i]) robust++;
    const isAttacked = task.targets ? task.labels[i] !== task.targets[i] : correct;
    if (!isAttacked) continue;
    attacked++;
    if (success[i]) {
      succeeded++;
      l2.push(norms.l2[i]);
      linf.push(norms.linf[i]);
    }
  }
  const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
  return {
    samples: n,
    cleanAccuracy: cleanCorrect / n,
    robustAccuracy: robust / n,
    successRate: attacked ? succeeded / attacked : 0,
    meanL2: mean(l2),
    meanLinf: mean(linf),
    medianL2: median(l2),
  };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
