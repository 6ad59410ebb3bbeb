// L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995, "A limited memory algorithm for bound constrained
// optimization", SIAM J. Sci. Comput. 16(5):1190–1208) for many independent problems advanced in
// lockstep: the attacks' objectives are one ONNX Runtime run over a whole batch, so each call to
// `evaluate` takes the pending trial point of every problem still running.
//
// This is the genuine algorithm, not the projected-L-BFGS fallback: minimising the model over the
// box lets many bounds become active or inactive in one iteration without misleading the memory,
// and each step can be checked against the paper (the tests compare both with dense algebra, and
// whole runs with scipy's Fortran-derived L-BFGS-B). Each iteration
// - finds the generalized Cauchy point along the projected steepest-descent path of the quadratic
//   model whose Hessian is the compact limited-memory matrix B = θI − W·M·Wᵀ (§3–4), which fixes
//   the variables the model drives to their bounds;
// - minimises the model over the remaining free variables by the direct primal method (§5.1), with
//   Morales & Nocedal's refinement (ACM TOMS 38(1), 2011): the step is projected onto the box, and
//   truncated instead only when the projection is not a descent direction;
// - searches along the segment from x to the point found. The segment lies in the box, so every
//   trial does too; a clamp only guards rounding.
// The line search is the original's too, Moré & Thuente's (./more-thuente.ts). Each trial costs a
// batched model run, but it asks for the curvature condition that keeps sᵀy > 0: on the nonconvex
// losses of attacks a search that only backtracks starves the memory (pairs of negative curvature
// must be dropped) and crawls. Pairs with sᵀy ≤ ε‖y‖², which a step stopped by the box can still
// give, are not stored, as in the original code.
// Everything is float64, whatever precision the model computes in. The model and its two steps
// are in ./lbfgsb-model.ts.
import { cauchyPoint, clamp, dot, LimitedMemory, subspaceMinimum } from './lbfgsb-model.js';
import { MoreThuente } from './more-thuente.js';

export interface BoxProblemBatch {
  /**
   * The objectives at `points` [m, d] (m ≤ n), whose row j is a trial point of problem rows[j]
   * (ascending; only problems still running): values [m] and gradients [m, d].
   */
  evaluate(
    points: Float64Array,
    rows: Int32Array,
  ): Promise<{ values: Float64Array | Float32Array; gradients: Float64Array | Float32Array }>;
}

export interface LbfgsbOptions {
  /** Correction pairs kept per problem (default 10); 2·memory·d float64 per problem, allocated up front. */
  memory?: number;
  /** Most iterations (accepted steps) per problem (default 100). */
  maxIterations?: number;
  /** Converged when the projected gradient's largest component is at most this (default 1e-5). */
  gradientTolerance?: number;
  /**
   * Converged when an iteration lowers f by at most this times max(|f_prev|, |f|, 1)
   * (default 1e7·ε ≈ 2.2e-9, scipy's factr = 1e7); 0 turns the test off.
   */
  functionTolerance?: number;
  /** Trial points per line search before it fails (default 20). */
  maxLineSearchSteps?: number;
  /**
   * Asked at the start point and after every iteration; true stops that problem there (say, the
   * attack's target is reached). `x` is the problem's iterate, valid only during the call.
   */
  shouldStop?: (row: number, value: number, x: Float64Array) => boolean;
  /** Checked around every evaluate call; aborting rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Why a problem stopped. 'gradient' and 'function' count as converged. */
export type StopReason =
  | 'gradient' // projected gradient within gradientTolerance
  | 'function' // relative decrease within functionTolerance
  | 'stopped' // shouldStop said so
  | 'iterations' // maxIterations reached
  | 'line-search'; // no sufficient decrease even along the projected steepest descent

export interface BoxBatchResult {
  /** Final iterates [n, d]: the last, and lowest, point each problem accepted. */
  x: Float64Array;
  values: Float64Array;
  iterations: Int32Array;
  /** Rows evaluated over all evaluate calls, line-search trials included. */
  evaluations: number;
  converged: Uint8Array;
  reasons: StopReason[];
}

/**
 * Minimises n independent objectives over boxes: problem i starts at row i of x0 [n, d] (projected
 * into its box) and is bounded by `lower` and `upper`, each a number, d values shared by all
 * problems, or n·d values, one row per problem; ±Infinity leaves a side open.
 */
export async function minimizeBoxBatch(
  problem: BoxProblemBatch,
  x0: Float64Array | Float32Array,
  d: number,
  lower: number | Float64Array,
  upper: number | Float64Array,
  options: LbfgsbOptions = {},
): Promise<BoxBatchResult> {
  const settings = checkOptions(options);
  if (!Number.isInteger(d) || d < 1) throw new RangeError(`d must be a positive integer, got ${d}`);
  if (x0.length % d !== 0) throw new RangeError(`x0 has ${x0.length} values, not a whole number of rows of d = ${d}`);
  const n = x0.length / d;
  const bad = x0.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new RangeError(`x0 holds ${x0[bad]} at problem ${Math.floor(bad / d)}, coordinate ${bad % d}`);
  const lowerRow = boundRows('lower', lower, n, d);
  const upperRow = boundRows('upper', upper, n, d);

  const solvers = Array.from({ length: n }, (_, row) => {
    const [l, u] = [lowerRow(row), upperRow(row)];
    checkBox(l, u, row);
    const start = Float64Array.from(x0.subarray(row * d, (row + 1) * d), (v, i) => clamp(v, l[i], u[i]));
    return solveOne(row, start, l, u, settings);
  });
  const pending: Array<Float64Array | null> = solvers.map((solver) => solver.next().value as Float64Array);
  const result: BoxBatchResult = {
    x: new Float64Array(n * d),
    values: new Float64Array(n),
    iterations: new Int32Array(n),
    evaluations: 0,
    converged: new Uint8Array(n),
    reasons: new Array<StopReason>(n),
  };

  for (;;) {
    const rows = Int32Array.from(pending.flatMap((point, row) => (point ? [row] : [])));
    const m = rows.length;
    if (m === 0) return result;
    const points = new Float64Array(m * d);
    rows.forEach((row, j) => points.set(pending[row]!, j * d));
    options.signal?.throwIfAborted();
    const { values, gradients } = await problem.evaluate(points, rows);
    options.signal?.throwIfAborted();
    if (values.length !== m || gradients.length !== m * d) {
      throw new Error(`evaluate returned ${values.length} values and ${gradients.length} gradient entries for ${m} points of d = ${d}`);
    }
    result.evaluations += m;
    rows.forEach((row, j) => {
      const step = solvers[row].next({ value: values[j], gradient: gradients.subarray(j * d, (j + 1) * d) });
      if (!step.done) {
        pending[row] = step.value;
        return;
      }
      pending[row] = null;
      const { x, value, iterations, reason } = step.value;
      result.x.set(x, row * d);
      result.values[row] = value;
      result.iterations[row] = iterations;
      result.converged[row] = reason === 'gradient' || reason === 'function' ? 1 : 0;
      result.reasons[row] = reason;
    });
  }
}

type Settings = Required<Omit<LbfgsbOptions, 'shouldStop' | 'signal'>> & Pick<LbfgsbOptions, 'shouldStop'>;

function checkOptions(options: LbfgsbOptions): Settings {
  const {
    memory = 10,
    maxIterations = 100,
    gradientTolerance = 1e-5,
    functionTolerance = 1e7 * Number.EPSILON,
    maxLineSearchSteps = 20,
    shouldStop,
  } = options;
  const integer = (name: string, value: number, least: number) => {
    if (!Number.isInteger(value) || value < least) throw new RangeError(`${name} must be an integer ≥ ${least}, got ${value}`);
  };
  const tolerance = (name: string, value: number) => {
    if (!(value >= 0)) throw new RangeError(`${name} must be ≥ 0, got ${value}`);
  };
  integer('memory', memory, 1);
  integer('maxIterations', maxIterations, 0);
  integer('maxLineSearchSteps', maxLineSearchSteps, 1);
  tolerance('gradientTolerance', gradientTolerance);
  tolerance('functionTolerance', functionTolerance);
  return { memory, maxIterations, gradientTolerance, functionTolerance, maxLineSearchSteps, shouldStop };
}

/** Problem row's bounds as d values: the caller's own array, a view of it, or one filled array shared by all. */
function boundRows(name: string, bound: number | Float64Array, n: number, d: number): (row: number) => Float64Array {
  if (typeof bound === 'number') {
    const shared = new Float64Array(d).fill(bound);
    return () => shared;
  }
  if (bound.length === d) return () => bound;
  if (bound.length === n * d) return (row) => bound.subarray(row * d, (row + 1) * d);
  throw new RangeError(`${name} has ${bound.length} values; expected d = ${d} or n·d = ${n * d}`);
}

function checkBox(lower: Float64Array, upper: Float64Array, row: number): void {
  for (let i = 0; i < lower.length; i++) {
    const [l, u] = [lower[i], upper[i]];
    const where = `at problem ${row}, coordinate ${i}`;
    if (Number.isNaN(l) || Number.isNaN(u)) throw new RangeError(`bounds [${l}, ${u}] ${where} hold NaN`);
    if (l > u) throw new RangeError(`lower bound ${l} exceeds upper bound ${u} ${where}`);
    if (l === Infinity || u === -Infinity) throw new RangeError(`bounds [${l}, ${u}] ${where} hold no finite point`);
  }
}

interface Evaluation {
  value: number;
  /** A view of the batch's gradients, valid until the next evaluate call. */
  gradient: Float64Array | Float32Array;
}

interface Outcome {
  x: Float64Array;
  value: number;
  iterations: number;
  reason: StopReason;
}

/** One problem's L-BFGS-B run: it yields each point to evaluate and is resumed with the evaluation. */
function* solveOne(
  row: number,
  start: Float64Array,
  lower: Float64Array,
  upper: Float64Array,
  settings: Settings,
): Generator<Float64Array, Outcome, Evaluation> {
  const { maxIterations, gradientTolerance, functionTolerance, maxLineSearchSteps, shouldStop } = settings;
  const d = start.length;
  let x: Float64Array = start;
  let trial: Float64Array = new Float64Array(d);
  const first = yield x;
  let f = first.value;
  let g: Float64Array = Float64Array.from(first.gradient);
  if (!Number.isFinite(f) || !g.every(Number.isFinite)) {
    throw new Error(`evaluate returned a non-finite value or gradient for problem ${row} at its starting point`);
  }
  const memory = new LimitedMemory(d, settings.memory);
  const boxed = lower.every(Number.isFinite) && upper.every(Number.isFinite);
  const constrained = lower.some(Number.isFinite) || upper.some(Number.isFinite);
  let iterations = 0;
  const outcome = (reason: StopReason): Outcome => ({ x, value: f, iterations, reason });

  if (shouldStop?.(row, f, x)) return outcome('stopped');
  for (;;) {
    if (projectedGradientNorm(x, g, lower, upper) <= gradientTolerance) return outcome('gradient');
    if (iterations >= maxIterations) return outcome('iterations');

    const cauchy = cauchyPoint(x, g, lower, upper, memory);
    const target = subspaceMinimum(x, g, lower, upper, memory, cauchy);
    const direction = target.map((v, i) => v - x[i]);
    const slope = dot(g, direction);
    // As in the original: knowing no curvature yet, the first iteration tries a step of unit length
    // (the point found itself when every side is bounded) and, with any bound, goes no further
    // than that point; later ones start at the point found and may extrapolate to the box's edge.
    const stepMax = iterations === 0 && constrained ? 1 : longestStep(x, direction, lower, upper);
    const search = new MoreThuente(f, slope, iterations === 0 && !boxed ? Math.min(1 / norm2(direction), stepMax) : 1, stepMax);
    let accepted: { value: number; gradient: Float64Array } | undefined;
    for (let trials = 0; slope < 0 && trials < maxLineSearchSteps; trials++) {
      for (let i = 0; i < d; i++) trial[i] = clamp(x[i] + search.step * direction[i], lower[i], upper[i]);
      const { value, gradient } = yield trial;
      const state = search.update(value, dot(gradient, direction));
      if (state === 'converged') accepted = { value, gradient: Float64Array.from(gradient) };
      if (state !== 'continue') break;
    }
    if (!accepted) {
      // The model misled (an ascent direction, or no decrease found along it): restart from the
      // projected steepest descent, which with a nonzero projected gradient must descend.
      if (memory.size > 0) {
        memory.clear();
        continue;
      }
      return outcome('line-search');
    }

    memory.push(
      trial.map((v, i) => v - x[i]),
      accepted.gradient.map((v, i) => v - g[i]),
    );
    const previous = f;
    [x, trial] = [trial, x];
    [f, g] = [accepted.value, accepted.gradient];
    iterations++;
    if (shouldStop?.(row, f, x)) return outcome('stopped');
    if (previous - f <= functionTolerance * Math.max(Math.abs(previous), Math.abs(f), 1)) return outcome('function');
  }
}

/**
 * How far x + t·direction stays in the box. At least 1, the point the direction was made from,
 * whatever rounding says; at most 1e10, the original's cap for open sides.
 */
function longestStep(x: Float64Array, direction: Float64Array, lower: Float64Array, upper: Float64Array): number {
  let longest = 1e10;
  for (let i = 0; i < x.length; i++) {
    if (direction[i] < 0) longest = Math.min(longest, (lower[i] - x[i]) / direction[i]);
    else if (direction[i] > 0) longest = Math.min(longest, (upper[i] - x[i]) / direction[i]);
  }
  return Math.max(longest, 1);
}

/** max |P(x − g) − x|: zero exactly at a KKT point of the box-constrained problem. */
function projectedGradientNorm(x: Float64Array, g: Float64Array, lower: Float64Array, upper: Float64Array): number {
  let norm = 0;
  for (let i = 0; i < x.length; i++) norm = Math.max(norm, Math.abs(clamp(x[i] - g[i], lower[i], upper[i]) - x[i]));
  return norm;
}

const norm2 = (a: Float64Array) => Math.sqrt(dot(a, a));
