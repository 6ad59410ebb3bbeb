// APGD (Croce & Hein 2020), the PGD of AutoAttack that needs no step size: it starts at 2ε,
// follows the gradient with momentum, and at checkpoints halves the step of each sample whose
// loss stopped rising, restarting that sample from its best point. APGD-T is the same loop on the
// targeted DLR loss, run once per candidate target (the runner-up classes of the clean logits) on
// the samples no earlier run fooled. Each iterate's logits come with its gradient, so a sample
// leaves the batch as soon as an iterate fools the model, and that iterate is what it gets back.
import { attackStep, type Box, type Norm, project, randomNormal, randomUniform } from '@onnx-audit/native';

import type { AttackContext, AttackOutput, AttackTask, Threat } from '../attack.js';
import type { AttackLoss, DifferentiableClassifier } from '../classifier/classifier.js';
import { checkCount, checkStepSize, checkThreat } from './options.js';
import { adversarialRows, gather, range } from './rows.js';

export type ApgdLoss = 'cross-entropy' | 'dlr' | 'targeted-dlr';

export interface ApgdOptions extends Partial<Threat>, AttackContext {
  /** 'linf' (default) or 'l2'; default ε 8/255 (L∞) or 0.5 (L2). */
  norm?: Norm;
  /** Iterations per run (default 100); each costs one gradient call per sample not yet fooled. */
  steps?: number;
  /** Runs from fresh random starts on the samples not yet fooled (default 1; per target for APGD-T). */
  restarts?: number;
  /**
   * The loss ascended (default 'cross-entropy'; on a targeted task, CE on the target is descended).
   * 'dlr' (≥ 3 classes) is untargeted; 'targeted-dlr' (≥ 4 classes) is APGD-T: towards the task's
   * targets, or without them towards each of `targetClasses` runner-up classes in turn.
   */
  loss?: ApgdLoss;
  /** APGD-T without task targets tries the classes ranked 2 … targetClasses + 1 by clean logit (default 9, at most classes − 1). */
  targetClasses?: number;
  /** Initial step size η (default 2ε). */
  stepSize?: number;
  /** ρ: a sample's step is halved when its loss rose in at most this fraction of the steps since the last checkpoint (default 0.75). */
  rho?: number;
  /** α in x ← P(x + α(z − x) + (1 − α)(x − x_prev)), z the projected gradient step (default 0.75; 1: no momentum). */
  alpha?: number;
  /** What samples no iterate fooled get back: the clean input (default, as AutoAttack) or their highest-loss point over all runs. */
  unfooled?: 'clean' | 'best-loss';
}

interface Resolved {
  norm: 'linf' | 'l2';
  eps: number;
  steps: number;
  restarts: number;
  loss: ApgdLoss;
  targetClasses: number;
  stepSize: number;
  rho: number;
  alpha: number;
}

export async function apgd(classifier: DifferentiableClassifier, task: AttackTask, options: ApgdOptions = {}): Promise<AttackOutput> {
  const o = resolve(classifier.classes, task, options);
  const k = classifier.classes;
  const n = task.labels.length;
  const clean = await classifier.scores(task.x);
  const outcome: Outcome = {
    adversarial: task.x.slice(),
    fooled: adversarialRows(clean, k, range(n), task),
    bestLoss: options.unfooled === 'best-loss' ? new Float64Array(n).fill(-Infinity) : undefined,
  };
  const passes = o.loss === 'targeted-dlr' && !task.targets ? rankedTargets(clean, k, o.targetClasses) : [task.targets];
  const total = passes.length * o.restarts * o.steps;

  for (let run = 0; run < passes.length * o.restarts; run++) {
    const rows = Int32Array.from(range(n).filter((i) => !outcome.fooled[i]));
    if (rows.length === 0) {
      options.progress?.(total, total);
      break;
    }
    const spec: RunSpec = { run, seed: options.seed ?? 0, targets: passes[Math.floor(run / o.restarts)], signal: options.signal };
    await singleRun(classifier, task, o, spec, rows, outcome, (step) => options.progress?.(run * o.steps + step, total));
  }
  return { adversarial: outcome.adversarial };
}

/**
 * The step counts after which step sizes are reviewed: the first after 22% of the steps, each
 * later interval 3% shorter than the one before, but never under 6% (at least one step each).
 */
export function checkpoints(steps: number): number[] {
  const first = Math.max(Math.floor(0.22 * steps), 1);
  const shrink = Math.max(Math.floor(0.03 * steps), 1);
  const shortest = Math.max(Math.floor(0.06 * steps), 1);
  const out: number[] = [];
  for (let at = first, interval = first; at <= steps; at += interval) {
    out.push(at);
    interval = Math.max(interval - shrink, shortest);
  }
  return out;
}

function resolve(classes: number, task: AttackTask, o: ApgdOptions): Resolved {
  const norm = o.norm ?? 'linf';
  const eps = o.eps ?? (norm === 'l2' ? 0.5 : 8 / 255);
  checkThreat({ norm, eps });
  if (norm === 'l1') throw new RangeError("APGD runs in linf or l2 (its L1 variant needs an adaptive sparse step); for L1 use pgd with norm 'l1'");
  const loss = o.loss ?? 'cross-entropy';
  if (!['cross-entropy', 'dlr', 'targeted-dlr'].includes(loss)) throw new RangeError(`loss must be cross-entropy, dlr or targeted-dlr, got '${loss}'`);
  if (loss === 'dlr' && classes < 3) throw new RangeError(`the DLR loss needs at least 3 classes; this model has ${classes}`);
  if (loss === 'targeted-dlr' && classes < 4) throw new RangeError(`the targeted DLR loss needs at least 4 classes; this model has ${classes}`);
  if (loss === 'dlr' && task.targets) throw new RangeError("the DLR loss is untargeted; a task with targets takes 'cross-entropy' or 'targeted-dlr'");
  for (const [name, value] of [['rho', o.rho], ['alpha', o.alpha]] as const) {
    if (value !== undefined && !(value > 0 && value <= 1)) throw new RangeError(`${name} must be in (0, 1], got ${value}`);
  }
  return {
    norm,
    eps,
    steps: checkCount('steps', o.steps ?? 100),
    restarts: checkCount('restarts', o.restarts ?? 1),
    loss,
    targetClasses: Math.min(checkCount('targetClasses', o.targetClasses ?? 9), classes - 1),
    stepSize: checkStepSize(o.stepSize ?? 2 * eps, eps),
    rho: o.rho ?? 0.75,
    alpha: o.alpha ?? 0.75,
  };
}

/** Per pass p = 1 … count, each sample's class of (p + 1)-th highest clean logit (ties to the lower index). */
function rankedTargets(logits: Float32Array, classes: number, count: number): Int32Array[] {
  const n = logits.length / classes;
  const passes = Array.from({ length: count }, () => new Int32Array(n));
  for (let i = 0; i < n; i++) {
    const order = Array.from(range(classes)).sort((a, b) => logits[i * classes + b] - logits[i * classes + a] || a - b);
    for (let p = 0; p < count; p++) passes[p][i] = order[p + 1];
  }
  return passes;
}

/** What all runs share: the answer so far, per sample. */
interface Outcome {
  adversarial: Float32Array;
  fooled: Uint8Array;
  /** Only with unfooled: 'best-loss'. */
  bestLoss: Float64Array | undefined;
}

interface RunSpec {
  run: number;
  seed: number;
  targets: Int32Array | undefined;
  signal: AbortSignal | undefined;
}

/** The state of one run, row r describing sample rows[r]; rows leave it as they are fooled. */
interface Batch {
  rows: Int32Array;
  x0: Float32Array;
  x: Float32Array;
  previous: Float32Array;
  /** Ascent direction at x. */
  gradient: Float32Array;
  stepSize: Float32Array;
  /** Loss at x, signed so that the attacker increases it. */
  loss: Float64Array;
  best: Float64Array;
  bestX: Float32Array;
  bestGradient: Float32Array;
  /** Steps since the last checkpoint whose loss rose. */
  rises: Int32Array;
  bestAtCheck: Float64Array;
  halvedAtCheck: Uint8Array;
}

async function singleRun(
  classifier: DifferentiableClassifier,
  task: AttackTask,
  o: Resolved,
  spec: RunSpec,
  rows: Int32Array,
  outcome: Outcome,
  progress: (step: number) => void,
): Promise<void> {
  const d = classifier.sampleSize;
  const { box } = classifier;
  const x0 = gather(task.x, d, rows);
  const x = await randomStart(o.norm, task.x, x0, rows, d, o.eps, box, spec.seed, spec.run);
  const first = await evaluate(classifier, task, o, spec.targets, rows, x, outcome);
  let b: Batch | undefined = narrow(
    {
      rows,
      x0,
      x,
      previous: x,
      gradient: first.gradient,
      stepSize: new Float32Array(rows.length).fill(o.stepSize),
      loss: first.loss,
      best: first.loss.slice(),
      bestX: x.slice(),
      bestGradient: first.gradient.slice(),
      rises: new Int32Array(rows.length),
      bestAtCheck: first.loss.slice(),
      // No checkpoint has passed: the "no improvement since an unhalved checkpoint" rule waits for one.
      halvedAtCheck: new Uint8Array(rows.length).fill(1),
    },
    first.fooled,
  );
  const checks = checkpoints(o.steps);
  const kind = o.norm === 'linf' ? 'sign' : 'l2';
  let lastCheck = 0;
  let step = 0;

  for (; step < o.steps && b; step++) {
    spec.signal?.throwIfAborted();
    const z = await project(o.norm, await attackStep(kind, b.x, b.gradient, d, b.stepSize), b.x0, d, o.eps, { box });
    const alpha = step === 0 ? 1 : o.alpha;
    const next = new Float32Array(z.length);
    for (let e = 0; e < z.length; e++) next[e] = b.x[e] + alpha * (z[e] - b.x[e]) + (1 - alpha) * (b.x[e] - b.previous[e]);
    await project(o.norm, next, b.x0, d, o.eps, { box, out: next });

    const { loss, gradient, fooled } = await evaluate(classifier, task, o, spec.targets, b.rows, next, outcome);
    b.previous = b.x;
    b.x = next;
    b.gradient = gradient;
    for (let r = 0; r < b.rows.length; r++) {
      if (loss[r] > b.loss[r]) b.rises[r]++;
      b.loss[r] = loss[r];
      if (loss[r] > b.best[r]) {
        b.best[r] = loss[r];
        b.bestX.set(next.subarray(r * d, (r + 1) * d), r * d);
        b.bestGradient.set(gradient.subarray(r * d, (r + 1) * d), r * d);
      }
    }
    b = narrow(b, fooled);
    if (b && checks.includes(step + 1)) {
      reviewStepSizes(b, o.rho * (step + 1 - lastCheck), d);
      lastCheck = step + 1;
    }
    progress(step + 1);
  }
  if (step < o.steps) progress(o.steps);
  if (!b || !outcome.bestLoss) return;
  for (let r = 0; r < b.rows.length; r++) {
    const i = b.rows[r];
    if (!(b.best[r] > outcome.bestLoss[i])) continue;
    outcome.bestLoss[i] = b.best[r];
    outcome.adversarial.set(b.bestX.subarray(r * d, (r + 1) * d), i * d);
  }
}

/**
 * A checkpoint: halve the step of each sample whose loss rose in at most `maxRises` of the steps
 * since the last one, or whose best loss has not improved since the last one and was not halved
 * there; a halved sample goes back to its best point and that point's gradient.
 */
function reviewStepSizes(b: Batch, maxRises: number, d: number): void {
  for (let r = 0; r < b.rows.length; r++) {
    const halve = b.rises[r] <= maxRises || (!b.halvedAtCheck[r] && b.bestAtCheck[r] >= b.best[r]);
    b.halvedAtCheck[r] = halve ? 1 : 0;
    b.bestAtCheck[r] = b.best[r];
    b.rises[r] = 0;
    if (!halve) continue;
    b.stepSize[r] /= 2;
    b.loss[r] = b.best[r];
    b.x.set(b.bestX.subarray(r * d, (r + 1) * d), r * d);
    b.gradient.set(b.bestGradient.subarray(r * d, (r + 1) * d), r * d);
  }
}

interface Evaluation {
  loss: Float64Array;
  gradient: Float32Array;
  fooled: Uint8Array;
}

/** Loss, ascent direction and success at x for samples `rows`; records each fooling iterate. */
async function evaluate(
  classifier: DifferentiableClassifier,
  task: AttackTask,
  o: Resolved,
  targets: Int32Array | undefined,
  rows: Int32Array,
  x: Float32Array,
  outcome: Outcome,
): Promise<Evaluation> {
  const d = classifier.sampleSize;
  const { loss, gradient, logits } = await classifier.lossGradient(x, lossOf(o.loss, task, targets, rows));
  // Cross-entropy on a target class is the one loss the attacker decreases.
  const sign = o.loss === 'cross-entropy' && task.targets ? -1 : 1;
  if (sign < 0) for (let e = 0; e < gradient.length; e++) gradient[e] = -gradient[e];
  const fooled = adversarialRows(logits, classifier.classes, rows, task);
  for (let r = 0; r < rows.length; r++) {
    if (!fooled[r]) continue;
    outcome.fooled[rows[r]] = 1;
    outcome.adversarial.set(x.subarray(r * d, (r + 1) * d), rows[r] * d);
  }
  return { loss: Float64Array.from(loss, (v) => sign * v), gradient, fooled };
}

function lossOf(kind: ApgdLoss, task: AttackTask, targets: Int32Array | undefined, rows: Int32Array): AttackLoss {
  const labels = gather(task.labels, 1, rows);
  if (kind === 'targeted-dlr') return { kind, labels, targets: gather(targets!, 1, rows) };
  if (kind === 'dlr') return { kind, labels };
  return { kind, labels: task.targets ? gather(task.targets, 1, rows) : labels };
}

type Column = Float32Array | Float64Array | Int32Array | Uint8Array;

/** The batch without its fooled rows; undefined when none is left. */
function narrow(b: Batch, fooled: Uint8Array): Batch | undefined {
  const m = b.rows.length;
  const keep = range(m).filter((r) => !fooled[r]);
  if (keep.length === m) return b;
  if (keep.length === 0) return undefined;
  const out = {} as Record<string, Column>;
  for (const [key, column] of Object.entries(b) as [string, Column][]) {
    const width = column.length / m;
    const kept = new (column.constructor as new (length: number) => Column)(keep.length * width);
    keep.forEach((r, at) => kept.set(column.subarray(r * width, (r + 1) * width), at * width));
    out[key] = kept;
  }
  return out as unknown as Batch;
}

/**
 * AutoAttack's start: L∞ x + ε·u/‖u‖∞ with u uniform in [−1, 1]^d (one coordinate on the sphere),
 * L2 x + ε·g/‖g‖₂ with g Gaussian (on the sphere), then into the box. Each sample draws from its
 * own slice of the (seed, run) stream, so its start does not depend on which others are left.
 */
async function randomStart(norm: 'linf' | 'l2', x: Float32Array, x0: Float32Array, rows: Int32Array, d: number, eps: number, box: Box, seed: number, run: number): Promise<Float32Array> {
  const n = x.length / d;
  const draw = norm === 'linf' ? randomUniform : randomNormal;
  const noise = await draw(n * d, { seed, offset: run * n * d });
  const out = new Float32Array(rows.length * d);
  for (let r = 0; r < rows.length; r++) {
    const base = rows[r] * d;
    let size = 0;
    for (let j = 0; j < d; j++) {
      const u = norm === 'linf' ? 2 * noise[base + j] - 1 : noise[base + j];
      noise[base + j] = u;
      size = norm === 'linf' ? Math.max(size, Math.abs(u)) : size + u * u;
    }
    const scale = size > 0 ? eps / (norm === 'linf' ? size : Math.sqrt(size)) : 0;
    for (let j = 0; j < d; j++) out[r * d + j] = Math.min(box.hi, Math.max(box.lo, x[base + j] + scale * noise[base + j]));
  }
  // float32 rounding can put x + ε a hair outside the ball
  return project(norm, out, x0, d, eps, { box, out });
}
