// Score-based attacks that estimate the loss gradient from queries and take projected steps on
// it. Both estimate with antithetic finite differences along random directions u_i:
// ĝ = Σ_i (f(x + σu_i) − f(x − σu_i))·u_i / (2σq), which is unbiased for a smooth f as σ → 0.
//   NES (Ilyas et al. 2018): Gaussian u, σ = 0.001, 50 directions (100 queries) per estimate;
//     momentum 0.9 on the estimate, signed (L∞) steps of 0.2·ε from the clean input, halved when
//     the loss has not improved over 5 steps (the paper's plateau schedule, down to 1/200 of it).
//   SPSA (Uesato et al. 2018): Rademacher u, δ = 0.01, 64 directions (128 queries); Adam on the
//     estimate with the paper's lr 0.01 at ε = 8/255, scaled with ε, from a uniform random point
//     of the ball (as CleverHans).
// Probes are clipped to the box, so the model is never asked about an invalid input; along a
// coordinate at a bound that halves its estimated derivative but keeps its sign. Each step also
// scores the new iterate (one query): a sample leaves as soon as it is fooled, and a sample
// never fooled returns its iterate of lowest loss. A sample's directions come from its own
// stretch of the Philox stream, so its random choices do not depend on the rest of the batch.
import { adamState, adamStep, attackStep, gradientEstimate, project, randomNormal, randomUniform } from '@onnx-audit/native';

import type { AttackContext, AttackOutput, AttackTask, Threat } from '../attack.js';
import type { Box, Classifier } from '../classifier/classifier.js';
import { checkCount, checkStepSize, checkThreat } from './options.js';
import { adversarialRows, gather, negate, randomStart, range, scatter, scoreBasedStart } from './rows.js';
import { attackerLoss, checkScoreLoss, type ScoreLoss } from './score-loss.js';

interface EstimationOptions extends Partial<Threat>, AttackContext {
  /**
   * Queries per sample, everything included: the clean query, 2·samples per estimate and one
   * per step for the new iterate (default 10000). The attack stops before a step it cannot pay for.
   */
  queries?: number;
  /** At most this many steps (default: as many as the budget pays for). */
  steps?: number;
  /** Random directions per estimate; each costs two queries. */
  samples?: number;
  /** The loss driven down (default 'margin'; 'cross-entropy' treats the scores as logits). */
  loss?: ScoreLoss;
}

export interface NesOptions extends EstimationOptions {
  /** Default 50 (100 queries per estimate). */
  samples?: number;
  /** Finite-difference radius σ (default 0.001·(hi − lo) of the box). */
  sigma?: number;
  /** The largest step (L∞: per coordinate; L2: its length); default 0.2·ε. */
  stepSize?: number;
  /** Weight of the previous direction in g ← μ·g + (1 − μ)·ĝ (default 0.9). */
  momentum?: number;
}

export interface SpsaOptions extends EstimationOptions {
  /** Default 64 (128 queries per estimate). */
  samples?: number;
  /** Finite-difference radius δ (default 0.01·(hi − lo)). */
  delta?: number;
  /**
   * Adam's learning rate, about the step per coordinate: default ε/3 in L∞ (0.0105 at ε = 8/255,
   * the paper's 0.01 there, but growing with ε, as a fixed 0.01 would starve a larger ball) and
   * ε/(3√d) in L2 (the same step length relative to ε).
   */
  lr?: number;
  /** Start from a uniform random point of the ball (default true). */
  randomStart?: boolean;
}

export interface GradientEstimateOptions {
  distribution: 'gaussian' | 'rademacher';
  /** Directions per point (two queries each). */
  samples: number;
  sigma: number;
  /** Box the probes are clipped to (default: none). */
  box?: Box;
  seed: number;
  /** Where in the Philox stream each point's samples·d numbers start (default: point r at r·samples·d). */
  offsets?: ArrayLike<number>;
}

export interface GradientEstimate {
  /** ĝ per point [m, d]. */
  gradient: Float32Array;
  /** Mean loss over each point's probes [m]: a free estimate of the loss at the point. */
  loss: Float64Array;
}

// Probe values (probes × d) sent in one model call at most: bounds the memory of an estimate.
const PROBE_VALUES = 1 << 24;

/**
 * Antithetic estimate of the gradient of `loss` at each row of x [m, d] from 2·samples queries
 * per row; `loss(scores, owner)` gives the loss of each probe from its scores, owner[p] being the
 * row the probe belongs to.
 */
export async function estimateGradient(classifier: Classifier, x: Float32Array, loss: (scores: Float32Array, owner: Int32Array) => Float64Array, o: GradientEstimateOptions): Promise<GradientEstimate> {
  const d = classifier.sampleSize;
  const m = x.length / d;
  const q = o.samples;
  const gradient = new Float32Array(m * d);
  const meanLoss = new Float64Array(m);
  const group = Math.max(1, Math.floor(PROBE_VALUES / (2 * q * d)));
  for (let start = 0; start < m; start += group) {
    const count = Math.min(group, m - start);
    const directions = new Float32Array(count * q * d);
    for (let r = 0; r < count; r++) {
      const out = directions.subarray(r * q * d, (r + 1) * q * d);
      const offset = o.offsets ? o.offsets[start + r] : (start + r) * q * d;
      if (o.distribution === 'gaussian') {
        await randomNormal(q * d, { seed: o.seed, offset, out });
      } else {
        await randomUniform(q * d, { seed: o.seed, offset, out });
        for (let e = 0; e < out.length; e++) out[e] = out[e] < 0.5 ? -1 : 1;
      }
    }
    // probes of row r: r·2q + j is x + σu_j, r·2q + q + j is x − σu_j
    const probes = new Float32Array(count * 2 * q * d);
    const lo = o.box?.lo ?? -Infinity, hi = o.box?.hi ?? Infinity;
    for (let r = 0; r < count; r++) {
      const point = x.subarray((start + r) * d, (start + r + 1) * d);
      for (let j = 0; j < q; j++) {
        const u = directions.subarray((r * q + j) * d, (r * q + j + 1) * d);
        const plus = (r * 2 * q + j) * d, minus = plus + q * d;
        for (let e = 0; e < d; e++) {
          probes[plus + e] = Math.min(hi, Math.max(lo, point[e] + o.sigma * u[e]));
          probes[minus + e] = Math.min(hi, Math.max(lo, point[e] - o.sigma * u[e]));
        }
      }
    }
    const owner = Int32Array.from({ length: count * 2 * q }, (_, p) => start + Math.floor(p / (2 * q)));
    const values = loss(await classifier.scores(probes), owner);
    const fPlus = new Float32Array(count * q), fMinus = new Float32Array(count * q);
    for (let r = 0; r < count; r++) {
      let sum = 0;
      for (let j = 0; j < q; j++) {
        fPlus[r * q + j] = values[r * 2 * q + j];
        fMinus[r * q + j] = values[r * 2 * q + q + j];
        sum += values[r * 2 * q + j] + values[r * 2 * q + q + j];
      }
      meanLoss[start + r] = sum / (2 * q);
    }
    gradient.set(await gradientEstimate(fPlus, fMinus, directions, q, o.sigma), start * d);
  }
  return { gradient, loss: meanLoss };
}

/** Moves the iterates of the rows still attacked along an estimate; keeps per-row state. */
interface Optimizer {
  step(current: Float32Array, gradient: Float32Array, probeLoss: Float64Array): Promise<Float32Array>;
  /** Keeps the state of the rows `keep` (indices into the current rows) only. */
  keep(keep: number[]): void;
}

interface Resolved extends AttackContext {
  norm: 'linf' | 'l2';
  eps: number;
  queries: number;
  steps: number;
  samples: number;
  sigma: number;
  loss: ScoreLoss;
  distribution: GradientEstimateOptions['distribution'];
  randomStart: boolean;
}

/** NES: L∞ by default (ε = 8/255), L2 supported (ε = 0.5). */
export async function nes(classifier: Classifier, task: AttackTask, options: NesOptions = {}): Promise<AttackOutput> {
  const o = resolve(options, { samples: 50, sigma: options.sigma ?? 0.001 * span(classifier.box), distribution: 'gaussian', randomStart: false });
  const stepSize = checkStepSize(options.stepSize ?? 0.2 * o.eps, o.eps);
  const momentum = options.momentum ?? 0.9;
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`momentum must be in [0, 1), got ${momentum}`);
  const d = classifier.sampleSize;
  return estimationAttack(classifier, task, o, (m) => {
    let velocity = new Float32Array(m * d);
    let lr = new Float32Array(m).fill(stepSize);
    let history: number[][] = Array.from({ length: m }, () => []);
    return {
      async step(current, gradient, probeLoss) {
        for (let e = 0; e < velocity.length; e++) velocity[e] = momentum * velocity[e] + (1 - momentum) * gradient[e];
        for (let r = 0; r < history.length; r++) {
          const last = history[r];
          last.push(probeLoss[r]);
          if (last.length > PLATEAU) last.shift();
          if (last.length === PLATEAU && last[PLATEAU - 1] > last[0]) {
            lr[r] = Math.max(lr[r] / 2, stepSize / 200);
            last.length = 0;
          }
        }
        return attackStep(o.norm === 'linf' ? 'sign' : 'l2', current, negate(velocity.slice()), d, lr);
      },
      keep(keep) {
        [velocity, lr] = [gather(velocity, d, keep), gather(lr, 1, keep)];
        history = keep.map((r) => history[r]);
      },
    };
  });
}

// Steps over which NES's loss must improve before its step size is halved.
const PLATEAU = 5;

/** SPSA: L∞ by default (ε = 8/255), L2 supported (ε = 0.5). */
export async function spsa(classifier: Classifier, task: AttackTask, options: SpsaOptions = {}): Promise<AttackOutput> {
  const o = resolve(options, { samples: 64, sigma: options.delta ?? 0.01 * span(classifier.box), distribution: 'rademacher', randomStart: options.randomStart ?? true });
  const lr = options.lr ?? (o.norm === 'linf' ? o.eps / 3 : o.eps / (3 * Math.sqrt(classifier.sampleSize)));
  if (!(Number.isFinite(lr) && lr > 0)) throw new RangeError(`lr must be a finite number > 0, got ${lr}`);
  const d = classifier.sampleSize;
  return estimationAttack(classifier, task, o, (m) => {
    let state = adamState(m * d);
    return {
      async step(current, gradient) {
        await adamStep(current, gradient, state, { lr });
        return current;
      },
      keep(keep) {
        state = { m: gather(state.m, d, keep), v: gather(state.v, d, keep), step: state.step };
      },
    };
  });
}

function span(box: Box): number {
  return box.hi - box.lo;
}

interface Defaults {
  samples: number;
  sigma: number;
  distribution: Resolved['distribution'];
  randomStart: boolean;
}

function resolve(o: EstimationOptions, defaults: Defaults): Resolved {
  const norm = o.norm ?? 'linf';
  if (norm !== 'linf' && norm !== 'l2') throw new RangeError(`score-based gradient estimation supports the linf and l2 norms, got '${norm}'`);
  const eps = o.eps ?? (norm === 'linf' ? 8 / 255 : 0.5);
  checkThreat({ norm, eps });
  const samples = checkCount('samples', o.samples ?? defaults.samples);
  if (!(Number.isFinite(defaults.sigma) && defaults.sigma > 0)) throw new RangeError(`the finite-difference radius must be a finite number > 0, got ${defaults.sigma}`);
  const queries = checkCount('queries', o.queries ?? 10000);
  const perStep = 2 * samples + 1;
  const affordable = Math.floor((queries - 1) / perStep);
  if (affordable < 1) throw new RangeError(`a budget of ${queries} queries pays for no step: the clean query and one step take 1 + ${perStep}`);
  const steps = Math.min(o.steps === undefined ? affordable : checkCount('steps', o.steps), affordable);
  return { ...o, ...defaults, norm, eps, queries, steps, samples, loss: checkScoreLoss(o.loss ?? 'margin') };
}

async function estimationAttack(classifier: Classifier, task: AttackTask, o: Resolved, optimizer: (rows: number) => Optimizer): Promise<AttackOutput> {
  const d = classifier.sampleSize;
  const k = classifier.classes;
  const n = task.labels.length;
  const { box } = classifier;
  const seed = o.seed ?? 0;
  const { adversarial, queriesPerSample, fooled: cleanFooled, bestLoss } = await scoreBasedStart(classifier, task);
  let rows = Int32Array.from(range(n).filter((i) => !cleanFooled[i]));
  let x0 = gather(task.x, d, rows);
  // the random start takes offsets [0, n·(d + 1)) of the streams, drawn for every sample so that
  // each one's start is its own; the directions follow
  let current = o.randomStart ? gather(await randomStart(o.norm, task.x, d, o.eps, box, seed, 0), d, rows) : x0.slice();
  const directionsAt = (step: number, i: number) => n * (d + 1) + (step * n + i) * o.samples * d;
  const state = optimizer(rows.length);
  const probeLoss = (scores: Float32Array, owner: Int32Array) => attackerLoss(scores, k, Int32Array.from(owner, (r) => rows[r]), task, o.loss);

  for (let step = 0; step < o.steps && rows.length > 0; step++) {
    o.signal?.throwIfAborted();
    const offsets = Array.from(rows, (i) => directionsAt(step, i));
    const estimate = await estimateGradient(classifier, current, probeLoss, { distribution: o.distribution, samples: o.samples, sigma: o.sigma, box, seed, offsets });
    current = await state.step(current, estimate.gradient, estimate.loss);
    current = await project(o.norm, current, x0, d, o.eps, { box, out: current });
    const scores = await classifier.scores(current);
    for (const i of rows) queriesPerSample[i] += 2 * o.samples + 1;
    const fooled = adversarialRows(scores, k, rows, task);
    const loss = attackerLoss(scores, k, rows, task, o.loss);
    scatter(adversarial, current, d, rows, (r) => {
      const i = rows[r];
      if (!fooled[r] && !(loss[r] < bestLoss[i])) return false;
      bestLoss[i] = loss[r];
      return true;
    });
    if (fooled.includes(1)) {
      const keep = range(rows.length).filter((r) => !fooled[r]);
      [rows, x0, current] = [gather(rows, 1, keep), gather(x0, d, keep), gather(current, d, keep)];
      state.keep(Array.from(keep));
    }
    o.progress?.(step + 1, o.steps);
  }
  return { adversarial, queriesPerSample };
}
