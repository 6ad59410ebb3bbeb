// DeepFool (Moosavi-Dezfooli et al. 2016), L2 and L∞: linearise the logits around the current
// point, step to the nearest linearised decision boundary among the runner-up classes of the clean
// logits, repeat until the label changes. As in Foolbox, the overshoot scales the total step from
// the clean input, x = clip(x₀ + (1 + η)·Σr), rather than each step. Each step costs one gradient
// call per sample and candidate: the vector-Jacobian product with e_k − e_ŷ gives ∇(Z_k − Z_ŷ).
import type { AttackContext, AttackOutput, AttackTask } from '../attack.js';
import type { DifferentiableClassifier } from '../classifier/classifier.js';
import { checkCount } from './options.js';
import { adversarialRows, gather, range } from './rows.js';

export interface DeepFoolOptions extends AttackContext {
  /** 'l2' (default) or 'linf': the norm in which the nearest linearised boundary is sought. */
  norm?: 'l2' | 'linf';
  /** Iterations at most (default 50, as Foolbox, torchattacks and CleverHans). */
  steps?: number;
  /**
   * The clean class and the runner-ups: the `candidates` highest clean logits (default 10, at most
   * the number of classes, ≥ 2), as Foolbox and CleverHans; all classes cost a gradient call each.
   */
  candidates?: number;
  /** η in x₀ + (1 + η)·Σr (default 0.02). */
  overshoot?: number;
}

/**
 * Gradient rows per call when the candidates of several samples are stacked: large enough to fill
 * the classifier's runs, small enough that the stacked copies of a large input stay in memory.
 */
const STACKED_ROWS = 256;

/** Added to |f| so that a linear model lands just past its boundary (by 1e−4 in logit), not on it. */
const PAST_BOUNDARY = 1e-4;

export async function deepfool(classifier: DifferentiableClassifier, task: AttackTask, options: DeepFoolOptions = {}): Promise<AttackOutput> {
  const norm = options.norm ?? 'l2';
  if (norm !== 'l2' && norm !== 'linf') throw new RangeError(`deepfool's norm must be l2 or linf, got '${norm}'`);
  const steps = checkCount('steps', options.steps ?? 50);
  const candidates = Math.min(checkCount('candidates', options.candidates ?? 10, 2), classifier.classes);
  const overshoot = options.overshoot ?? 0.02;
  if (!(Number.isFinite(overshoot) && overshoot >= 0)) throw new RangeError(`overshoot must be a finite number ≥ 0, got ${overshoot}`);
  if (task.targets) throw new RangeError('deepfool is untargeted: it moves each sample to its nearest boundary; drop task.targets or use c&w');

  const d = classifier.sampleSize;
  const k = classifier.classes;
  const n = task.labels.length;
  const { lo, hi } = classifier.box;
  const adversarial = task.x.slice();
  const clean = await classifier.scores(task.x);
  const broken = adversarialRows(clean, k, range(n), task);
  let rows = Int32Array.from(range(n).filter((i) => !broken[i]));
  const others = runnerUps(clean, k, candidates, rows, task.labels);
  const m = candidates - 1;

  let x0 = gather(task.x, d, rows);
  let current = x0.slice();
  let total: Float64Array = new Float64Array(current.length);
  for (let step = 0; rows.length > 0; step++) {
    options.signal?.throwIfAborted();
    const labels = gather(task.labels, 1, rows);
    if (step === steps) {
      keepFooled(await classifier.scores(current));
      break;
    }
    // the first runner-up's gradient run also says which samples the last step fooled
    const first = await classifier.lossGradient(current, { kind: 'dot', cotangent: differences(k, labels, (r) => others[rows[r] * m]) });
    const fooled = keepFooled(first.logits);
    const keep = range(rows.length).filter((r) => !fooled[r]);
    if (keep.length === 0) break;
    const nearest = new Nearest(keep.length, d, norm);
    keep.forEach((r, s) => nearest.offer(s, first.loss[r], first.gradient.subarray(r * d, (r + 1) * d)));
    [rows, x0, current] = [gather(rows, 1, keep), gather(x0, d, keep), gather(current, d, keep)];
    total = gatherRows(total, d, keep);
    await offerRest(classifier, current, gather(labels, 1, keep), rows, others, m, nearest);

    for (let s = 0; s < rows.length; s++) {
      const base = s * d;
      nearest.step(s, total.subarray(base, base + d));
      for (let j = 0; j < d; j++) current[base + j] = Math.min(hi, Math.max(lo, x0[base + j] + (1 + overshoot) * total[base + j]));
    }
    options.progress?.(step + 1, steps);
  }
  options.progress?.(steps, steps);
  return { adversarial };

  /** Samples whose current point the logits say is adversarial get it back; the others keep the clean input. */
  function keepFooled(logits: Float32Array): Uint8Array {
    const fooled = adversarialRows(logits, k, rows, task);
    for (let r = 0; r < rows.length; r++) if (fooled[r]) adversarial.set(current.subarray(r * d, (r + 1) * d), rows[r] * d);
    return fooled;
  }
}

/** Candidates 2 … m of every sample, stacked STACKED_ROWS gradient rows at a time. */
async function offerRest(classifier: DifferentiableClassifier, current: Float32Array, labels: Int32Array, rows: Int32Array, others: Int32Array, m: number, nearest: Nearest): Promise<void> {
  const d = classifier.sampleSize, k = classifier.classes;
  const pairs: Array<[sample: number, candidate: number]> = [];
  for (let s = 0; s < rows.length; s++) for (let c = 1; c < m; c++) pairs.push([s, others[rows[s] * m + c]]);
  for (let start = 0; start < pairs.length; start += STACKED_ROWS) {
    const chunk = pairs.slice(start, start + STACKED_ROWS);
    const x = gather(current, d, chunk.map(([s]) => s));
    const { loss, gradient } = await classifier.lossGradient(x, {
      kind: 'dot',
      cotangent: differences(k, Int32Array.from(chunk, ([s]) => labels[s]), (q) => chunk[q][1]),
    });
    chunk.forEach(([s], q) => nearest.offer(s, loss[q], gradient.subarray(q * d, (q + 1) * d)));
  }
}

/** Per sample, the candidate whose linearised boundary is closest so far, and the step to it. */
class Nearest {
  private readonly distance: Float64Array;
  private readonly f: Float64Array;
  private readonly w: Float32Array;
  private readonly scale: Float64Array;

  constructor(count: number, private readonly d: number, private readonly norm: 'l2' | 'linf') {
    this.distance = new Float64Array(count).fill(Infinity);
    this.f = new Float64Array(count);
    this.w = new Float32Array(count * d);
    this.scale = new Float64Array(count);
  }

  /** Candidate boundary f = Z_k − Z_ŷ (≤ 0 while ŷ leads) with gradient w, for sample s. */
  offer(s: number, f: number, w: Float32Array): void {
    // the dual norm of the attack's norm measures how fast f changes per unit of perturbation
    let dual = 0, l2 = 0;
    for (let j = 0; j < this.d; j++) {
      if (this.norm === 'l2') l2 += w[j] * w[j];
      else dual += Math.abs(w[j]);
    }
    if (this.norm === 'l2') dual = Math.sqrt(l2);
    if (!(dual > 0)) return;
    const distance = Math.abs(f) / dual;
    if (!(distance < this.distance[s])) return;
    this.distance[s] = distance;
    this.f[s] = f;
    this.w.set(w, s * this.d);
    this.scale[s] = this.norm === 'l2' ? (Math.abs(f) + PAST_BOUNDARY) / l2 : (Math.abs(f) + PAST_BOUNDARY) / dual;
  }

  /** Adds sample s's step r to its running total: along w (L2) or sign(w) (L∞). No boundary in reach: no step. */
  step(s: number, total: Float64Array): void {
    if (this.distance[s] === Infinity) return;
    const w = this.w.subarray(s * this.d, (s + 1) * this.d);
    const scale = this.scale[s];
    for (let j = 0; j < this.d; j++) total[j] += this.norm === 'l2' ? scale * w[j] : scale * Math.sign(w[j]);
  }
}

/** The classes of the 2nd … `candidates`-th highest clean logits of each sample in rows, [n, candidates − 1] (lower index first on ties). */
function runnerUps(logits: Float32Array, k: number, candidates: number, rows: Int32Array, labels: Int32Array): Int32Array {
  const m = candidates - 1;
  const out = new Int32Array((logits.length / k) * m);
  for (const i of rows) {
    const order = range(k).filter((c) => c !== labels[i]).sort((a, b) => logits[i * k + b] - logits[i * k + a] || a - b);
    out.set(order.subarray(0, m), i * m);
  }
  return out;
}

/** Cotangents e_{class(r)} − e_{labels[r]}, [labels.length, k]. */
function differences(k: number, labels: Int32Array, classOf: (r: number) => number): Float32Array {
  const out = new Float32Array(labels.length * k);
  for (let r = 0; r < labels.length; r++) {
    out[r * k + classOf(r)] += 1;
    out[r * k + labels[r]] -= 1;
  }
  return out;
}

function gatherRows(values: Float64Array, width: number, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length * width);
  for (let r = 0; r < rows.length; r++) out.set(values.subarray(rows[r] * width, (rows[r] + 1) * width), r * width);
  return out;
}
