// The projected-gradient loop behind FGSM/FGM, BIM, PGD and MI-FGSM: step along the gradient
// (its sign for L∞, its direction for L2, its largest coordinates for L1), project back onto the
// ε-ball ∩ box, repeat. A sample leaves the batch as soon as an iterate fools the model (the
// logits of each gradient run say so at no extra cost), and restarts run only on the samples
// not broken yet; among restarts that all fail, the one of highest loss is kept.
import { attackStep, type Norm, project, type StepKind } from '@onnx-audit/native';

import type { AttackContext, AttackOutput, AttackTask } from '../attack.js';
import type { AttackLoss, DifferentiableClassifier } from '../classifier/classifier.js';
import { adversarialRows, crossEntropy, gather, negate, randomStart, range, scatter } from './rows.js';

export interface IterativeOptions extends AttackContext {
  norm: Norm;
  eps: number;
  steps: number;
  /** Step size α (its L∞, L2 or L1 length). */
  stepSize: number;
  randomStart: boolean;
  restarts: number;
  /** 'cosine' decays α to 0 over the steps (default 'constant'). */
  schedule?: 'constant' | 'cosine';
  /** MI-FGSM's decay μ of the accumulated L1-normalised gradient (0: plain PGD). */
  momentum?: number;
  /** The loss ascended: cross-entropy (default) or the C&W margin. */
  loss?: 'cross-entropy' | 'margin';
  /** L1 steps move this fraction of the coordinates, those of largest |g| (default 0.05). */
  l1Sparsity?: number;
}

const STEP_KIND: Record<Norm, StepKind> = { linf: 'sign', l2: 'l2', l1: 'l1' };

export async function iterativeAttack(classifier: DifferentiableClassifier, task: AttackTask, o: IterativeOptions): Promise<AttackOutput> {
  const d = classifier.sampleSize;
  const k = classifier.classes;
  const n = task.labels.length;
  const { box } = classifier;
  const adversarial = task.x.slice();
  const bestLoss = new Float64Array(n).fill(-Infinity);
  const broken = adversarialRows(await classifier.scores(task.x), k, range(n), task);
  const l1TopK = Math.max(1, Math.round((o.l1Sparsity ?? 0.05) * d));
  const work = o.restarts * o.steps;
  let done = 0;

  for (let restart = 0; restart < o.restarts; restart++) {
    let rows = Int32Array.from(range(n).filter((i) => !broken[i]));
    if (rows.length === 0) break;
    let x0 = gather(task.x, d, rows);
    let current = o.randomStart ? await randomStart(o.norm, x0, d, o.eps, box, o.seed ?? 0, restart * 2 * n * (2 * d + 1)) : x0.slice();
    let velocity = o.momentum ? new Float32Array(current.length) : undefined;

    for (let step = 0; step < o.steps && rows.length > 0; step++) {
      o.signal?.throwIfAborted();
      const { gradient, logits } = await classifier.lossGradient(current, lossOf(o.loss, rows, task));
      const fooled = adversarialRows(logits, k, rows, task);
      if (fooled.includes(1)) {
        scatter(adversarial, current, d, rows, (r) => fooled[r] === 1);
        for (let r = 0; r < rows.length; r++) if (fooled[r]) broken[rows[r]] = 1;
        const keep = range(rows.length).filter((r) => !fooled[r]);
        [rows, x0, current] = [gather(rows, 1, keep), gather(x0, d, keep), gather(current, d, keep)];
        const kept = gather(gradient, d, keep);
        if (velocity) velocity = gather(velocity, d, keep);
        if (rows.length === 0) break;
        current = await advance(kept);
      } else {
        current = await advance(gradient);
      }
      o.progress?.(++done, work);
    }
    done = (restart + 1) * o.steps;

    if (rows.length > 0) {
      // the last iterate was never scored: it may fool the model, or be the best failure so far
      const scores = await classifier.scores(current);
      const fooled = adversarialRows(scores, k, rows, task);
      const loss = crossEntropy(scores, k, (r) => (task.targets ? task.targets[rows[r]] : task.labels[rows[r]]));
      scatter(adversarial, current, d, rows, (r) => {
        const i = rows[r];
        const ascent = task.targets ? -loss[r] : loss[r];
        if (!fooled[r] && !(ascent > bestLoss[i])) return false;
        bestLoss[i] = ascent;
        if (fooled[r]) broken[i] = 1;
        return true;
      });
    }

    async function advance(gradient: Float32Array): Promise<Float32Array> {
      // Every loss here is one to decrease for the attacker when targeted, increase otherwise.
      const ascent = descends(o.loss, task) ? negate(gradient) : gradient;
      if (velocity) accumulate(velocity, ascent, d, o.momentum!);
      if (o.norm === 'l1') freezeBoundary(velocity ?? ascent, current, box.lo, box.hi);
      const alpha = stepSize(o, done);
      // The gradient is spent once the step is taken: the sign and L2 steps (elementwise once the
      // row norm is known) can write over it, sparing a batch-sized allocation per step.
      const out = velocity || o.norm === 'l1' ? undefined : ascent;
      const moved = await attackStep(STEP_KIND[o.norm], current, velocity ?? ascent, d, alpha, { l1TopK, ...(out ? { out } : {}) });
      return project(o.norm, moved, x0, d, o.eps, { box, out: moved });
    }
  }
  return { adversarial };
}

/** The loss whose gradient is followed, on the samples `rows`. */
function lossOf(kind: IterativeOptions['loss'], rows: Int32Array, task: AttackTask): AttackLoss {
  const labels = gather(task.targets ?? task.labels, 1, rows);
  return { kind: kind ?? 'cross-entropy', labels };
}

/**
 * Whether the attacker descends the loss: cross-entropy is ascended on the true class and
 * descended on the target; the margin Z_c − max_{j≠c} Z_j the other way round.
 */
function descends(kind: IterativeOptions['loss'], task: AttackTask): boolean {
  return (kind === 'margin') !== Boolean(task.targets);
}

function stepSize(o: IterativeOptions, step: number): number {
  if (o.schedule !== 'cosine') return o.stepSize;
  const t = step % o.steps;
  return (o.stepSize * (1 + Math.cos((Math.PI * t) / o.steps))) / 2;
}

/** MI-FGSM: v ← μ·v + g/‖g‖₁, per sample. */
function accumulate(velocity: Float32Array, gradient: Float32Array, d: number, mu: number): void {
  for (let i = 0; i < velocity.length; i += d) {
    let l1 = 0;
    for (let j = 0; j < d; j++) l1 += Math.abs(gradient[i + j]);
    const scale = l1 > 0 ? 1 / l1 : 0;
    for (let j = 0; j < d; j++) velocity[i + j] = mu * velocity[i + j] + gradient[i + j] * scale;
  }
}

/** A sparse L1 step spent on a coordinate already at the bound it pushes against would be lost. */
function freezeBoundary(direction: Float32Array, x: Float32Array, lo: number, hi: number): void {
  for (let e = 0; e < direction.length; e++) {
    if ((direction[e] > 0 && x[e] >= hi) || (direction[e] < 0 && x[e] <= lo)) direction[e] = 0;
  }
}
