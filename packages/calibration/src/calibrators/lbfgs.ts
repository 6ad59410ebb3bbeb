// Limited-memory BFGS in float64 for the scaling calibrators' smooth, strictly convex objectives
// (K² + K parameters at most, where K is the number of classes). A backtracking Armijo line search
// suffices on a convex objective; a pair whose curvature sᵀy is not positive is not stored, which
// keeps the two-loop recursion's direction a descent direction.

/** Writes the gradient at x into `gradient` and returns the objective's value. */
export type Objective = (x: Float64Array, gradient: Float64Array) => number;

export interface LbfgsOptions {
  /** Correction pairs kept (default 10). */
  memory?: number;
  /** Most iterations (default 500). */
  maxIterations?: number;
  /**
   * Converged when the largest gradient component is below this (default 1e-8), or when the
   * predicted decrease is below 1e-13 of the objective, the most float64 sums can resolve.
   */
  gradientTolerance?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  iterations: number;
  /** Objective evaluations, line-search trials included. */
  evaluations: number;
  converged: boolean;
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((sum, v, i) => sum + v * b[i], 0);
const maxAbs = (a: Float64Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

export function minimiseLbfgs(objective: Objective, start: Float64Array, options: LbfgsOptions = {}): LbfgsResult {
  const { memory = 10, maxIterations = 500, gradientTolerance = 1e-8 } = options;
  const dim = start.length;
  let x = Float64Array.from(start);
  let gradient = new Float64Array(dim);
  let value = objective(x, gradient);
  let evaluations = 1;
  const pairs: Array<{ s: Float64Array; y: Float64Array; rho: number }> = [];
  const direction = new Float64Array(dim);
  const alpha = new Float64Array(memory);

  let iterations = 0;
  let converged = maxAbs(gradient) < gradientTolerance;
  while (!converged && iterations < maxIterations) {
    // Two-loop recursion: direction = −H·gradient.
    direction.set(gradient);
    for (let j = pairs.length - 1; j >= 0; j--) {
      alpha[j] = pairs[j].rho * dot(pairs[j].s, direction);
      for (let i = 0; i < dim; i++) direction[i] -= alpha[j] * pairs[j].y[i];
    }
    const last = pairs.at(-1);
    // With no curvature known yet, the first step is scaled to move x by about 1 in the largest component.
    const scale = last ? dot(last.s, last.y) / dot(last.y, last.y) : 1 / Math.max(maxAbs(gradient), 1);
    for (let i = 0; i < dim; i++) direction[i] *= scale;
    for (let j = 0; j < pairs.length; j++) {
      const beta = pairs[j].rho * dot(pairs[j].y, direction);
      for (let i = 0; i < dim; i++) direction[i] += pairs[j].s[i] * (alpha[j] - beta);
    }
    for (let i = 0; i < dim; i++) direction[i] = -direction[i];

    const slope = dot(gradient, direction);
    if (!(slope < 0)) break;
    // On the quasi-Newton model, −slope/2 is what is left to gain; below float64's resolution of
    // the objective, no line search can make progress and the optimum is reached.
    if (-slope <= 1e-13 * Math.max(1, Math.abs(value))) {
      converged = true;
      break;
    }
    let step = 1;
    const trial = new Float64Array(dim);
    const trialGradient = new Float64Array(dim);
    let trialValue: number;
    for (;;) {
      for (let i = 0; i < dim; i++) trial[i] = x[i] + step * direction[i];
      trialValue = objective(trial, trialGradient);
      evaluations++;
      if (trialValue <= value + 1e-4 * step * slope || step < 1e-12) break;
      step /= 2;
    }
    if (!(trialValue <= value)) break;

    const s = trial.map((v, i) => v - x[i]);
    const y = trialGradient.map((v, i) => v - gradient[i]);
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      pairs.push({ s, y, rho: 1 / sy });
      if (pairs.length > memory) pairs.shift();
    }
    [x, gradient, value] = [trial, trialGradient, trialValue];
    iterations++;
    converged = maxAbs(gradient) < gradientTolerance;
  }
  return { x, value, iterations, evaluations, converged };
}
