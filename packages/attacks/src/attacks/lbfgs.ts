// The box-constrained L-BFGS attack of Szegedy et al. (2013), "Intriguing properties of neural
// networks": the smallest r with f(x + r) = t, found as the minimiser of c·‖r‖ + loss(x + r, t)
// over x + r in the box, with a search over c. We minimise the equivalent
//   ‖x' − x‖₂² + c·loss(x', t)  over x' ∈ [lo, hi]^d
// (as CleverHans and Foolbox did, with cross-entropy; see `loss` for why the default is the
// margin hinge): the squared norm is smooth at r = 0, where ‖r‖ is not, and c
// now weighs the loss, so the search is for the *smallest* c whose minimiser reaches t (the
// paper's largest weight on the norm). The box is kept by L-BFGS-B itself (../optim/lbfgsb.ts),
// never by clipping; every sample's problem runs in lockstep with the others, one model run per
// evaluation. The search on c: ×10 until the first success, then bisection; each sample keeps its
// smallest successful perturbation over the whole search.
import type { AttackContext, AttackOutput, AttackTask } from '../attack.js';
import { argmaxRows, type DifferentiableClassifier } from '../classifier/classifier.js';
import { minimizeBoxBatch } from '../optim/lbfgsb.js';
import { checkCount } from './options.js';
import { gather, range } from './rows.js';

export interface LbfgsOptions extends AttackContext {
  /** L-BFGS-B iterations per value of c (default 100; Foolbox used 150, CleverHans 1000). */
  steps?: number;
  /** Values of c tried (default 10). */
  searchSteps?: number;
  /** The first c (default 0.01, as CleverHans). */
  initialConst?: number;
  /**
   * Untargeted: the targets tried per sample, the classes ranked 2 … runnerUps + 1 by clean logit
   * (default 3); the nearest of them wins. The nearest boundary in L2 is usually, but not always,
   * the runner-up's.
   */
  runnerUps?: number;
  /**
   * loss(x', t): 'margin' (default), the hinge max(max_{j≠t} z_j − z_t, 0), or 'cross-entropy',
   * the paper's. Cross-entropy is a soft stand-in for "classified as t": with several classes near, the
   * path of minimisers enters t's region away from its nearest point (up to 1.9× the exact distance
   * on a 4-class linear model). The hinge is an exact penalty: for c large enough the minimiser is
   * the nearest point of the region itself (within 0.3% on that model).
   */
  loss?: 'cross-entropy' | 'margin';
  /**
   * κ in the hinge max(max_{j≠t} z_j − z_t + κ, 0) (default 1e-4): the exact minimiser of the
   * hinge sits on the boundary, where argmax ties; κ puts it just inside t's region.
   */
  confidence?: number;
}

export async function lbfgs(classifier: DifferentiableClassifier, task: AttackTask, options: LbfgsOptions = {}): Promise<AttackOutput> {
  const steps = checkCount('steps', options.steps ?? 100);
  const searchSteps = checkCount('searchSteps', options.searchSteps ?? 10);
  const runnerUps = Math.min(checkCount('runnerUps', options.runnerUps ?? 3), classifier.classes - 1);
  const c0 = options.initialConst ?? 0.01;
  if (!(Number.isFinite(c0) && c0 > 0)) throw new RangeError(`initialConst must be a finite number > 0, got ${c0}`);
  const loss = options.loss ?? 'margin';
  if (loss !== 'cross-entropy' && loss !== 'margin') throw new RangeError(`loss must be 'cross-entropy' or 'margin', got '${loss}'`);
  const kappa = options.confidence ?? 1e-4;
  if (!(Number.isFinite(kappa) && kappa >= 0)) throw new RangeError(`confidence must be a finite number ≥ 0, got ${kappa}`);
  const d = classifier.sampleSize;
  const k = classifier.classes;
  const n = task.labels.length;
  const clean = await classifier.scores(task.x);
  const predicted = argmaxRows(clean, k);
  const adversarial = task.x.slice();
  const best = new Float64Array(n).fill(Infinity);
  // samples already misclassified (or of their target class) are left as they are
  const attacked = Array.from(range(n)).filter((i) => (task.targets ? predicted[i] !== task.targets[i] : predicted[i] === task.labels[i]));
  const targetSets = task.targets ? [gather(task.targets, 1, attacked)] : runnerUpTargets(clean, k, attacked, runnerUps);

  for (const [round, targets] of targetSets.entries()) {
    const rows = Int32Array.from(attacked);
    const x0 = gather(task.x, d, rows);
    const m = rows.length;
    const c = new Float64Array(m).fill(c0);
    const lower = new Float64Array(m).fill(0);
    const upper = new Float64Array(m).fill(Infinity);
    for (let search = 0; search < searchSteps; search++) {
      options.signal?.throwIfAborted();
      const { x } = await minimizeBoxBatch({
        async evaluate(points, active) {
          const trial = Float32Array.from(points);
          const own = gather(x0, d, active);
          const result = await classifier.lossGradient(trial, { kind: loss, labels: gather(targets, 1, active) });
          const { values: lossValues, slopes } = penalty(loss, result.loss, kappa);
          const { gradient } = result;
          const values = new Float64Array(active.length);
          const gradients = new Float64Array(points.length);
          for (let r = 0; r < active.length; r++) {
            const weight = c[active[r]] * slopes[r];
            let distance = 0;
            for (let j = 0; j < d; j++) {
              const e = r * d + j;
              const delta = points[e] - own[e];
              distance += delta * delta;
              gradients[e] = 2 * delta + weight * gradient[e];
            }
            values[r] = distance + c[active[r]] * lossValues[r];
          }
          return { values, gradients };
        },
      }, Float64Array.from(x0), d, classifier.box.lo, classifier.box.hi, { maxIterations: steps, signal: options.signal });
      const found = Float32Array.from(x);
      const reached = argmaxRows(await classifier.scores(found), k);
      for (let r = 0; r < m; r++) {
        let distance = 0;
        for (let j = 0; j < d; j++) distance += (found[r * d + j] - x0[r * d + j]) ** 2;
        if (reached[r] === targets[r]) {
          if (distance < best[rows[r]]) {
            best[rows[r]] = distance;
            adversarial.set(found.subarray(r * d, (r + 1) * d), rows[r] * d);
          }
          upper[r] = c[r];
          c[r] = (lower[r] + upper[r]) / 2;
        } else {
          lower[r] = c[r];
          c[r] = Number.isFinite(upper[r]) ? (lower[r] + upper[r]) / 2 : c[r] * 10;
        }
      }
      options.progress?.(round * searchSteps + search + 1, targetSets.length * searchSteps);
    }
  }
  return { adversarial };
}

/**
 * The penalty and its derivative in the head's loss: cross-entropy as it is; for the margin
 * m = z_t − max_{j≠t} z_j, the hinge max(κ − m, 0), whose gradient is −∇m until m passes κ.
 */
function penalty(kind: 'cross-entropy' | 'margin', head: Float32Array, kappa: number): { values: Float64Array; slopes: Float64Array } {
  if (kind === 'cross-entropy') return { values: Float64Array.from(head), slopes: new Float64Array(head.length).fill(1) };
  return { values: Float64Array.from(head, (m) => Math.max(kappa - m, 0)), slopes: Float64Array.from(head, (m) => (m < kappa ? -1 : 0)) };
}

/** For each sample, the class ranked r + 1 by clean logit, for r = 1 … count: one target array per rank. */
function runnerUpTargets(clean: Float32Array, k: number, rows: number[], count: number): Int32Array[] {
  const ranked = rows.map((i) => Array.from(range(k)).sort((a, b) => clean[i * k + b] - clean[i * k + a] || a - b));
  return Array.from({ length: count }, (_, r) => Int32Array.from(ranked, (order) => order[r + 1]));
}
