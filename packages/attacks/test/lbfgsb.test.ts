// L-BFGS-B against answers known without it: its two model steps against dense algebra, its line
// search against Moré & Thuente's published tables, box-constrained quadratics solved by hand or by
// enumerating every active set, Rosenbrock functions whose constrained minimisers are analytic, and
// KKT conditions (projected gradient ≈ 0) checked by the test's own code.
import { describe, expect, it } from 'vitest';

import { type BoxProblemBatch, type LbfgsbOptions, minimizeBoxBatch } from '../src/optim/lbfgsb.js';
import { cauchyPoint, LimitedMemory, subspaceMinimum } from '../src/optim/lbfgsb-model.js';
import { MoreThuente } from '../src/optim/more-thuente.js';

type Objective = (x: Float64Array, row: number) => { value: number; gradient: ArrayLike<number> };

/** A batch whose rows are evaluated one by one, recording which rows each call received. */
function batchOf(objective: Objective, d: number, check?: (points: Float64Array, rows: Int32Array) => void) {
  const calls: number[][] = [];
  const problem: BoxProblemBatch = {
    async evaluate(points, rows) {
      check?.(points, rows);
      calls.push(Array.from(rows));
      const values = new Float64Array(rows.length);
      const gradients = new Float64Array(points.length);
      rows.forEach((row, j) => {
        const { value, gradient } = objective(points.subarray(j * d, (j + 1) * d), row);
        values[j] = value;
        gradients.set(gradient, j * d);
      });
      return { values, gradients };
    },
  };
  return { problem, calls };
}

/** One problem of dimension d. */
const solveOne = (objective: Objective, x0: ArrayLike<number>, lower: number | number[], upper: number | number[], options?: LbfgsbOptions) =>
  minimizeBoxBatch(
    batchOf(objective, x0.length).problem,
    Float64Array.from(x0),
    x0.length,
    typeof lower === 'number' ? lower : Float64Array.from(lower),
    typeof upper === 'number' ? upper : Float64Array.from(upper),
    options,
  );

/** ½xᵀAx − bᵀx, A symmetric, rows of A as arrays. */
function quadratic(a: number[][], b: number[]): Objective {
  return (x) => {
    const gradient = b.map((bi, i) => a[i].reduce((sum, aij, j) => sum + aij * x[j], 0) - bi);
    const value = b.reduce((sum, bi, i) => sum + 0.5 * x[i] * (gradient[i] - bi), 0);
    return { value, gradient };
  };
}

/** Σ 100(x_{i+1} − x_i²)² + (1 − x_i)² over consecutive pairs (chained) or disjoint pairs (extended). */
function rosenbrock(kind: 'chained' | 'extended'): Objective {
  return (x) => {
    const gradient = new Float64Array(x.length);
    let value = 0;
    for (let i = 0; i + 1 < x.length; i += kind === 'chained' ? 1 : 2) {
      const [a, b] = [x[i + 1] - x[i] * x[i], 1 - x[i]];
      value += 100 * a * a + b * b;
      gradient[i] += -400 * x[i] * a - 2 * b;
      gradient[i + 1] += 200 * a;
    }
    return { value, gradient };
  };
}

/** max |P(x − ∇f) − x|, zero exactly at a KKT point; written here apart from the optimiser's own. */
function projectedGradient(objective: Objective, x: ArrayLike<number>, lower: number[], upper: number[]): number {
  const { gradient } = objective(Float64Array.from(x), 0);
  return Math.max(...Array.from(x, (xi, i) => Math.abs(Math.min(Math.max(xi - gradient[i], lower[i]), upper[i]) - xi)));
}

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussians(random: () => number, count: number): number[] {
  return Array.from({ length: count }, () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
}

/** A symmetric positive-definite d × d matrix with eigenvalues `spectrum` and random eigenvectors. */
function spdMatrix(random: () => number, spectrum: number[]): number[][] {
  const d = spectrum.length;
  const q: number[][] = [];
  for (let k = 0; k < d; k++) {
    // Modified Gram–Schmidt of Gaussian vectors: a random orthonormal basis.
    const v = gaussians(random, d);
    for (const u of q) {
      const proj = v.reduce((s, vi, i) => s + vi * u[i], 0);
      for (let i = 0; i < d; i++) v[i] -= proj * u[i];
    }
    const norm = Math.hypot(...v);
    q.push(v.map((vi) => vi / norm));
  }
  return Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => q.reduce((s, u, k) => s + spectrum[k] * u[i] * u[j], 0)));
}

/** x with A·x = b by Gaussian elimination with partial pivoting. */
function linearSolve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    const p = m.reduce((best, _, r) => (r >= c && Math.abs(m[r][c]) > Math.abs(m[best][c]) ? r : best), c);
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = c + 1; r < n; r++) {
      const f = m[r][c] / m[c][c];
      for (let k = c; k <= n; k++) m[r][k] -= f * m[c][k];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) x[r] = (m[r][n] - m[r].slice(r + 1, n).reduce((s, v, k) => s + v * x[r + 1 + k], 0)) / m[r][r];
  return x;
}

/**
 * The minimiser of ½xᵀAx − bᵀx over the box by brute force: for every assignment of each coordinate
 * to its lower bound, its upper bound or free, the minimiser over that face's affine hull; the best
 * feasible one is the answer, since the optimum minimises over the hull of the face it lies in.
 */
function boxQuadraticByEnumeration(a: number[][], b: number[], lower: number[], upper: number[]): { x: number[]; active: number } {
  const d = b.length;
  const f = quadratic(a, b);
  let best = { x: [] as number[], value: Infinity, active: 0 };
  for (let code = 0; code < 3 ** d; code++) {
    const state = Array.from({ length: d }, (_, i) => Math.floor(code / 3 ** i) % 3); // 0 free, 1 lower, 2 upper
    const x = state.map((s, i) => (s === 1 ? lower[i] : s === 2 ? upper[i] : 0));
    if (!x.every(Number.isFinite)) continue;
    const free = state.flatMap((s, i) => (s === 0 ? [i] : []));
    const rhs = free.map((i) => b[i] - state.reduce((sum, s, j) => sum + (s === 0 ? 0 : a[i][j] * x[j]), 0));
    linearSolve(
      free.map((i) => free.map((j) => a[i][j])),
      rhs,
    ).forEach((v, k) => (x[free[k]] = v));
    if (free.some((i) => x[i] < lower[i] - 1e-12 || x[i] > upper[i] + 1e-12)) continue;
    const { value } = f(Float64Array.from(x), 0);
    if (value < best.value) best = { x, value, active: d - free.length };
  }
  return { x: best.x, active: best.active };
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
const dotProduct = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((sum, v, i) => sum + v * b[i], 0);
const matVec = (m: number[][], v: ArrayLike<number>) => m.map((row) => dotProduct(row, v));

describe('the L-BFGS-B model steps, against dense algebra', () => {
  /**
   * A point in a box (some coordinates on bounds, some sides open), a gradient, and a memory of
   * capacity 3 fed 5 pairs y = H·s; with it the dense BFGS matrix built from θI by the recursive
   * update over the 3 pairs kept, which the compact representation must equal.
   */
  function setup(seed: number) {
    const d = 8;
    const random = mulberry32(seed);
    const lower = Array.from({ length: d }, (_, i) => (i === 1 ? -Infinity : -1 - random()));
    const upper = Array.from({ length: d }, (_, i) => (i === 2 ? Infinity : 1 + random()));
    const x = Array.from({ length: d }, (_, i) => (i === 3 ? lower[i] : i === 4 ? upper[i] : 2 * random() - 1));
    // Large gradients pass many breakpoints before the model turns up, small ones few.
    const g = gaussians(random, d).map((v) => (seed % 2 ? 20 : 1) * v);
    const h = spdMatrix(
      random,
      Array.from({ length: d }, () => 0.5 + 10 * random()),
    );
    const memory = new LimitedMemory(d, 3);
    const pairs = Array.from({ length: 5 }, () => {
      const s = gaussians(random, d);
      return { s, y: matVec(h, s) };
    });
    for (const { s, y } of pairs) memory.push(Float64Array.from(s), Float64Array.from(y));
    const kept = pairs.slice(2);
    const { s: sLast, y: yLast } = kept[2];
    const theta = dotProduct(yLast, yLast) / dotProduct(sLast, yLast);
    let b = Array.from({ length: d }, (_, i) => Array.from({ length: d }, (_, j) => (i === j ? theta : 0)));
    for (const { s, y } of kept) {
      const bs = matVec(b, s);
      const [sbs, sy] = [dotProduct(s, bs), dotProduct(s, y)];
      b = b.map((row, i) => row.map((v, j) => v - (bs[i] * bs[j]) / sbs + (y[i] * y[j]) / sy));
    }
    const f64 = (a: number[]) => Float64Array.from(a);
    return { lower, upper, x, g, b, memory, args: [f64(x), f64(g), f64(lower), f64(upper), memory] as const };
  }

  /** The first minimiser of gᵀz + ½zᵀBz along P(x − t·g), segment by segment, with B dense; and how many breakpoints it passed. */
  function denseCauchyPoint({ lower, upper, x, g, b }: ReturnType<typeof setup>): { xc: number[]; passed: number } {
    const hits = g.map((gi, i) => (gi < 0 ? (x[i] - upper[i]) / gi : gi > 0 ? (x[i] - lower[i]) / gi : Infinity));
    const times = [...new Set(hits.filter((t) => t > 0 && t < Infinity))].sort((p, q) => p - q);
    const path = (t: number) => x.map((xi, i) => Math.min(Math.max(xi - t * g[i], lower[i]), upper[i]));
    let start = 0;
    for (const [passed, end] of [...times, Infinity].entries()) {
      const xs = path(start);
      const direction = g.map((gi, i) => (hits[i] > start ? -gi : 0));
      const slope = dotProduct(g, direction) + dotProduct(direction, matVec(b, xs.map((v, i) => v - x[i])));
      const curvature = dotProduct(direction, matVec(b, direction));
      if (slope >= 0) return { xc: xs, passed };
      if (start - slope / curvature < end) return { xc: xs.map((v, i) => v - (slope / curvature) * direction[i]), passed };
      start = end;
    }
    throw new Error('the model is unbounded below along the path');
  }

  it('finds the generalized Cauchy point', () => {
    const passed: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const problem = setup(seed);
      const reference = denseCauchyPoint(problem);
      passed.push(reference.passed);
      expect(maxDiff(cauchyPoint(...problem.args).xc, reference.xc)).toBeLessThan(1e-12);
    }
    // The segment recurrences were exercised: paths that stopped after several breakpoints, and at the first.
    expect(Math.max(...passed)).toBeGreaterThanOrEqual(3);
    expect(passed).toContain(0);
  });

  it('minimises the model over the variables free at the Cauchy point', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const problem = setup(seed);
      const { lower, upper, x, g, b } = problem;
      const cauchy = cauchyPoint(...problem.args);
      const xc = Array.from(cauchy.xc);
      const free = xc.flatMap((v, i) => (lower[i] < v && v < upper[i] ? [i] : []));
      // Newton step on the free variables: B_FF·u = −(g + B·(xc − x))_F.
      const r = matVec(b, xc.map((v, i) => v - x[i])).map((v, i) => v + g[i]);
      const u = linearSolve(
        free.map((i) => free.map((j) => b[i][j])),
        free.map((i) => -r[i]),
      );
      // Morales & Nocedal: the projected step if it descends from x, else the step cut at the box.
      const projected = [...xc];
      free.forEach((i, k) => (projected[i] = Math.min(Math.max(xc[i] + u[k], lower[i]), upper[i])));
      const cut = Math.min(1, ...free.map((i, k) => (u[k] > 0 ? (upper[i] - xc[i]) / u[k] : u[k] < 0 ? (lower[i] - xc[i]) / u[k] : 1)));
      const truncated = [...xc];
      free.forEach((i, k) => (truncated[i] = xc[i] + cut * u[k]));
      const expected = dotProduct(g, projected.map((v, i) => v - x[i])) < 0 ? projected : truncated;
      expect(maxDiff(subspaceMinimum(...problem.args, cauchy), expected)).toBeLessThan(1e-10);
    }
  });
});

describe('the Moré–Thuente line search', () => {
  // The paper's test functions (5.1)–(5.3) from its four starting steps, with its ftol and gtol (and
  // xtol = 1e-10 for the last two, so that the interval test does not end them first). Counts and
  // steps are those of MINPACK-2's dcsrch as scipy 1.17 ships it; the counts are also the paper's
  // Tables 1–3, which print the steps to two digits.
  type Phi = (a: number) => [value: number, slope: number];
  const phi3: Phi = (a) => {
    const [b, l] = [0.01, 39];
    const base = a <= 1 - b ? 1 - a : a >= 1 + b ? a - 1 : (a - 1) ** 2 / (2 * b) + b / 2;
    const slope = a <= 1 - b ? -1 : a >= 1 + b ? 1 : (a - 1) / b;
    return [base + ((2 * (1 - b)) / (l * Math.PI)) * Math.sin((l * Math.PI * a) / 2), slope + (1 - b) * Math.cos((l * Math.PI * a) / 2)];
  };
  const cases: Array<[string, Phi, [ftol: number, gtol: number, xtol: number], Array<[start: number, step: number, evaluations: number]>]> = [
    [
      '−α/(α² + 2)',
      (a) => [-a / (a * a + 2), (a * a - 2) / (a * a + 2) ** 2],
      [1e-3, 0.1, 0.1],
      [
        [1e-3, 1.365, 6],
        [1e-1, 1.4413720790892741, 3],
        [10, 10, 1],
        [1000, 36.88760696396662, 4],
      ],
    ],
    [
      '(α + 0.004)⁵ − 2(α + 0.004)⁴',
      (a) => [(a + 0.004) ** 5 - 2 * (a + 0.004) ** 4, (a + 0.004) ** 3 * (5 * (a + 0.004) - 8)],
      [0.1, 0.1, 1e-10],
      [
        [1e-3, 1.596000000186075, 12],
        [1e-1, 1.5960000000049348, 8],
        [10, 1.5959999997572036, 8],
        [1000, 1.595999998872531, 11],
      ],
    ],
    [
      'a wiggly |α − 1|',
      phi3,
      [0.1, 0.1, 1e-10],
      [
        [1e-3, 0.9999996797968318, 12],
        [1e-1, 0.9999988033548208, 12],
        [10, 0.9999999876178056, 10],
        [1000, 0.9999999017146377, 13],
      ],
    ],
  ];
  it.each(cases)('finds the published steps on %s', (_, phi, [ftol, gtol, xtol], runs) => {
    const [f0, g0] = phi(0);
    for (const [start, step, evaluations] of runs) {
      const search = new MoreThuente(f0, g0, start, 1e10, ftol, gtol, xtol);
      let count = 0;
      let state: string;
      do {
        count++;
        state = search.update(...phi(search.step));
      } while (state === 'continue' && count < 50);
      expect(state).toBe('converged');
      expect(count).toBe(evaluations);
      expect(search.step).toBeCloseTo(step, 12);
      const [f, g] = phi(search.step);
      expect(f).toBeLessThanOrEqual(f0 + ftol * search.step * g0);
      expect(Math.abs(g)).toBeLessThanOrEqual(gtol * Math.abs(g0));
    }
  });

  it('retreats halfway to the best step from steps where φ is not finite', () => {
    // The first function, undefined past α = 1: from α = 10 the search halves to 5, 2.5, 1.25, then
    // 0.625, the longest step it now allows, where φ still falls: it stops there.
    const phi: Phi = (a) => (a > 1 ? [NaN, NaN] : [-a / (a * a + 2), (a * a - 2) / (a * a + 2) ** 2]);
    const search = new MoreThuente(0, -0.5, 10, 1e10);
    const steps: number[] = [];
    let state: string;
    do {
      steps.push(search.step);
      state = search.update(...phi(search.step));
    } while (state === 'continue');
    expect(state).toBe('converged');
    expect(steps).toEqual([10, 5, 2.5, 1.25, 0.625]);
  });
});

describe('minimizeBoxBatch on convex quadratics', () => {
  it('finds clip(b/a) for a diagonal quadratic, every kind of bound included', async () => {
    const d = 20;
    const a = Array.from({ length: d }, (_, i) => 10 ** (i / 10)); // condition 10^1.9
    const b = Array.from({ length: d }, (_, i) => a[i] * (i % 5) * (i % 2 ? 1 : -1)); // unconstrained optimum 0, ±1 … ±4
    const lower = Array.from({ length: d }, (_, i) => (i % 3 === 0 ? -Infinity : -2.5));
    const upper = Array.from({ length: d }, (_, i) => (i % 4 === 0 ? Infinity : 1.5));
    const expected = b.map((bi, i) => Math.min(Math.max(bi / a[i], lower[i]), upper[i]));
    const diagonal = a.map((ai, i) => a.map((_, j) => (i === j ? ai : 0)));

    // Run to float64's limit: stopped when f no longer decreases, before the unreachable gradient tolerance.
    const result = await solveOne(quadratic(diagonal, b), new Array(d).fill(0.25), lower, upper, { gradientTolerance: 1e-12, functionTolerance: 0 });
    expect(result.reasons[0]).toBe('function');
    expect(maxDiff(result.x, expected)).toBeLessThan(1e-6);
    expect(expected.filter((x, i) => x === lower[i] || x === upper[i]).length).toBeGreaterThanOrEqual(6); // bounds bite
    expect(Array.from(result.x).filter((x, i) => x === lower[i] || x === upper[i]).length).toBe(expected.filter((x, i) => x === lower[i] || x === upper[i]).length);
    expect(result.iterations[0]).toBeLessThanOrEqual(50);
  });

  it('solves 2-D quadratics with a coupling term whose KKT points are derived by hand', async () => {
    // A = [[2, 1], [1, 2]] on [0, 1]². b = (4, −1): g(1, 0) = (−2, 2) points out of the box at the
    // corner (1, 0), so both bounds are active. b = (4, 2): with x₁ = 1 fixed, 2x₂ + 1 = 2 gives
    // x₂ = 0.5 free, and g₁ = 2 + 0.5 − 4 < 0 keeps x₁ at its upper bound.
    const a = [
      [2, 1],
      [1, 2],
    ];
    const corner = await solveOne(quadratic(a, [4, -1]), [0.5, 0.5], 0, 1);
    expect(Array.from(corner.x)).toEqual([1, 0]);
    expect(corner.values[0]).toBe(-3);
    const edge = await solveOne(quadratic(a, [4, 2]), [0, 1], 0, 1);
    expect(edge.x[0]).toBe(1);
    expect(edge.x[1]).toBeCloseTo(0.5, 8);
    expect(corner.converged[0] && edge.converged[0]).toBe(1);
  });

  it('matches an exhaustive active-set enumeration on random 5-D quadratics', async () => {
    const random = mulberry32(5);
    const lower = [-1, -1, -Infinity, 0, -0.5];
    const upper = [1, 0.5, 1, Infinity, 0.5];
    const actives: number[] = [];
    for (let trial = 0; trial < 8; trial++) {
      const a = spdMatrix(
        random,
        Array.from({ length: 5 }, () => 0.5 + 10 * random()),
      );
      const b = gaussians(random, 5).map((v) => 6 * v);
      const reference = boxQuadraticByEnumeration(a, b, lower, upper);
      actives.push(reference.active);
      const result = await solveOne(quadratic(a, b), [0, 0, 0, 0, 0], lower, upper, { gradientTolerance: 1e-9, functionTolerance: 0 });
      expect(result.converged[0]).toBe(1);
      expect(maxDiff(result.x, reference.x)).toBeLessThan(1e-8);
    }
    expect(new Set(actives).size).toBeGreaterThanOrEqual(3); // faces of several dimensions were tested
  });

  it('converges in few iterations at condition number 1e4, where projected gradient descent needs thousands', async () => {
    const d = 50;
    const random = mulberry32(50);
    const spectrum = Array.from({ length: d }, (_, i) => 10 ** ((4 * i) / (d - 1)));
    const a = spdMatrix(random, spectrum);
    const b = gaussians(random, d).map((v) => 300 * v);
    const [lower, upper] = [new Array(d).fill(-1), new Array(d).fill(1)];
    const f = quadratic(a, b);

    const result = await solveOne(f, new Array(d).fill(0), lower, upper, { functionTolerance: 0 });
    expect(result.converged[0]).toBe(1);
    expect(projectedGradient(f, result.x, lower, upper)).toBeLessThanOrEqual(1e-4);
    const active = Array.from(result.x).filter((x) => Math.abs(x) === 1).length;
    expect(active).toBeGreaterThan(5);
    expect(active).toBeLessThan(d - 5);
    expect(result.iterations[0]).toBeLessThan(150);

    // The baseline: projected gradient descent with step 1/λmax, after 2000 iterations.
    const x = new Float64Array(d);
    for (let k = 0; k < 2000; k++) {
      const { gradient } = f(x, 0);
      for (let i = 0; i < d; i++) x[i] = Math.min(Math.max(x[i] - gradient[i] / 1e4, -1), 1);
    }
    expect(projectedGradient(f, x, lower, upper)).toBeGreaterThan(1e-3);
  });

  it('accepts float32 gradients, converging as far as they resolve', async () => {
    const f = quadratic(
      [
        [3, 1],
        [1, 2],
      ],
      [10, -10],
    );
    const problem: BoxProblemBatch = {
      async evaluate(points) {
        const { value, gradient } = f(points, 0);
        return { values: Float64Array.of(value), gradients: Float32Array.from(gradient) };
      },
    };
    const result = await minimizeBoxBatch(problem, new Float64Array(2), 2, -1, 1);
    // KKT by hand: (1, −1) with g = (3 − 1 − 10, 1 − 2 + 10) = (−8, 9), both pointing out of the box.
    expect(Array.from(result.x)).toEqual([1, -1]);
  });
});

describe('minimizeBoxBatch on Rosenbrock functions', () => {
  it('stops on the bound x₁ = 0.5 in 2-D, at (0.5, 0.25)', async () => {
    // With x₁ ≤ 0.5 the best x₂ is x₁², leaving (1 − x₁)², which falls until x₁ = 0.5: f = 0.25 there.
    const f = rosenbrock('chained');
    const [lower, upper] = [
      [-1.5, -1.5],
      [0.5, 2],
    ];
    const result = await solveOne(f, [-1.2, 1], lower, upper);
    expect(result.converged[0]).toBe(1);
    expect(result.x[0]).toBe(0.5);
    expect(result.x[1]).toBeCloseTo(0.25, 6);
    expect(result.values[0]).toBeCloseTo(0.25, 10);
    expect(projectedGradient(f, result.x, lower, upper)).toBeLessThanOrEqual(1e-5);
    expect(result.iterations[0]).toBeLessThan(40);
  });

  it('finds the analytic minimiser of each pair of the 10-D extended Rosenbrock function', async () => {
    // Each pair (u, v) is a 2-D Rosenbrock on its own box. u ≤ c < 1 or u ≥ c > 1 puts its minimiser
    // at (c, c²), with ∂f/∂u = −2(1 − c) pressing on the bound; u ≤ 0.5, v ≥ 0.5 at the corner
    // (0.5, 0.5), where ∂f/∂u = −51 and ∂f/∂v = 50 both press outward; a loose box keeps (1, 1).
    const f = rosenbrock('extended');
    const lower = [-2, -2, 1.5, -2, -2, 0.5, -2, -2, -3, -2];
    const upper = [0.5, 2, 3, 3, 0.5, 2, 2, 2, -0.5, 2];
    const expected = [0.5, 0.25, 1.5, 2.25, 0.5, 0.5, 1, 1, -0.5, 0.25];
    const result = await solveOne(f, [-1.2, 1, 2, 1, 0, 0, -1.2, 1, -1, 1], lower, upper, { gradientTolerance: 1e-7, functionTolerance: 0 });
    expect(result.converged[0]).toBe(1);
    expect(maxDiff(result.x, expected)).toBeLessThan(1e-7);
    expect(projectedGradient(f, result.x, lower, upper)).toBeLessThanOrEqual(1e-7);
  });

  it('reaches a KKT point of the 10-D chained Rosenbrock function cut off at 0.5', async () => {
    const f = rosenbrock('chained');
    const [lower, upper] = [new Array(10).fill(-1.5), new Array(10).fill(0.5)];
    const result = await solveOne(f, new Array(10).fill(-1), lower, upper, { gradientTolerance: 1e-7, functionTolerance: 0 });
    expect(result.converged[0]).toBe(1);
    expect(projectedGradient(f, result.x, lower, upper)).toBeLessThanOrEqual(1e-6);
    expect(result.x[0]).toBe(0.5);
    // scipy 1.17's L-BFGS-B (Fortran-derived, gtol 1e-9, ftol 0) from the same start.
    expect(result.values[0]).toBeCloseTo(7.594812948946874, 9);
  });
});

describe('minimizeBoxBatch on a batch', () => {
  const n = 6;
  const d = 6;
  const random = mulberry32(6);
  // Gradient scales from 0.05 (optimum inside the box) to 20 (nearly every bound active).
  const scales = [0.05, 0.5, 1, 2, 5, 20];
  const problems = scales.map((scale) => ({
    a: spdMatrix(
      random,
      Array.from({ length: d }, () => 1 + 20 * random()),
    ),
    b: gaussians(random, d).map((v) => scale * 10 * v),
    lower: Array.from({ length: d }, () => -0.5 - random()),
    upper: Array.from({ length: d }, () => 0.5 + random()),
  }));
  const objective: Objective = (x, row) => quadratic(problems[row].a, problems[row].b)(x, row);
  const lower = Float64Array.from(problems.flatMap((p) => p.lower));
  const upper = Float64Array.from(problems.flatMap((p) => p.upper));
  const x0 = new Float64Array(n * d);
  x0.fill(5, 2 * d, 3 * d); // outside its box: projected before the first evaluation
  const references = problems.map((p) => boxQuadraticByEnumeration(p.a, p.b, p.lower, p.upper));
  const valueAt = (row: number, x: ArrayLike<number>) => objective(Float64Array.from(x), row).value;
  // Rows 1 and 4 stop once they have come 90% of the way from the start to the optimum.
  const target = (row: number) => valueAt(row, [0, 0, 0, 0, 0, 0]) - 0.9 * (valueAt(row, [0, 0, 0, 0, 0, 0]) - valueAt(row, references[row].x));
  const shouldStop = (row: number, value: number) => (row === 1 || row === 4) && value <= target(row);

  it('advances problems with different active sets in lockstep, evaluating only the active rows, always inside the box', async () => {
    expect(new Set(references.map((r) => r.active)).size).toBeGreaterThanOrEqual(4);
    const finished = new Set<number>();
    let evaluatedRows = 0;
    const { problem, calls } = batchOf(objective, d, (points, rows) => {
      expect(points.length).toBe(rows.length * d);
      evaluatedRows += rows.length;
      rows.forEach((row, j) => {
        if (j > 0) expect(row).toBeGreaterThan(rows[j - 1]);
        expect(finished.has(row)).toBe(false);
        for (let i = 0; i < d; i++) {
          const v = points[j * d + i];
          expect(v >= lower[row * d + i] && v <= upper[row * d + i]).toBe(true);
        }
      });
      // A row left out of this call has finished and may never come back.
      for (let row = 0; row < n; row++) if (!rows.includes(row)) finished.add(row);
    });
    const result = await minimizeBoxBatch(problem, x0, d, lower, upper, { gradientTolerance: 1e-9, functionTolerance: 0, shouldStop });

    expect(calls[0]).toEqual([0, 1, 2, 3, 4, 5]);
    expect(calls.at(-1)!.length).toBeLessThan(n);
    expect(result.evaluations).toBe(evaluatedRows);
    for (let row = 0; row < n; row++) {
      const x = result.x.subarray(row * d, (row + 1) * d);
      expect(result.values[row]).toBe(valueAt(row, x));
      if (row === 1 || row === 4) {
        expect(result.reasons[row]).toBe('stopped');
        expect(result.converged[row]).toBe(0);
        expect(result.values[row]).toBeLessThanOrEqual(target(row));
      } else {
        expect(result.converged[row]).toBe(1);
        expect(maxDiff(x, references[row].x)).toBeLessThan(1e-8);
      }
    }

    // Lockstep changes nothing: each row as its own batch of one gives the same bits.
    const unstopped = await minimizeBoxBatch(batchOf(objective, d).problem, x0, d, lower, upper, { gradientTolerance: 1e-9, functionTolerance: 0 });
    for (let row = 0; row < n; row++) {
      const solo = await minimizeBoxBatch(
        batchOf((x) => objective(x, row), d).problem,
        x0.subarray(row * d, (row + 1) * d),
        d,
        lower.subarray(row * d, (row + 1) * d),
        upper.subarray(row * d, (row + 1) * d),
        { gradientTolerance: 1e-9, functionTolerance: 0, shouldStop: (_, value) => shouldStop(row, value) },
      );
      expect(solo.x).toEqual(result.x.subarray(row * d, (row + 1) * d));
      expect(solo.iterations[0]).toBe(result.iterations[row]);
      if (row === 1 || row === 4) expect(result.iterations[row]).toBeLessThan(unstopped.iterations[row]);
    }
  });

  it('is deterministic', async () => {
    const run = () => minimizeBoxBatch(batchOf(objective, d).problem, x0, d, lower, upper, { shouldStop, memory: 3 });
    const [first, second] = [await run(), await run()];
    expect(second).toEqual(first);
  });

  it('stops at maxIterations, and rejects with the reason when aborted', async () => {
    const capped = await minimizeBoxBatch(batchOf(objective, d).problem, x0, d, lower, upper, { maxIterations: 2 });
    capped.reasons.forEach((reason, row) => {
      expect(capped.iterations[row]).toBeLessThanOrEqual(2);
      if (reason !== 'iterations') expect(capped.converged[row]).toBe(1);
    });
    expect(capped.reasons.filter((reason) => reason === 'iterations').length).toBeGreaterThanOrEqual(4);

    const controller = new AbortController();
    const { problem, calls } = batchOf(objective, d, () => {
      if (calls.length === 2) controller.abort(new Error('enough'));
    });
    await expect(minimizeBoxBatch(problem, x0, d, lower, upper, { signal: controller.signal })).rejects.toThrow('enough');
    expect(calls.length).toBe(3);
  });
});

describe('minimizeBoxBatch argument errors', () => {
  const never: BoxProblemBatch = {
    evaluate: () => {
      throw new Error('evaluate must not be called');
    },
  };
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['x0 not whole rows', () => minimizeBoxBatch(never, new Float64Array(7), 3, 0, 1), /^x0 has 7 values, not a whole number of rows of d = 3$/],
    ['d not a positive integer', () => minimizeBoxBatch(never, new Float64Array(4), 0, 0, 1), /^d must be a positive integer, got 0$/],
    ['lower above upper', () => minimizeBoxBatch(never, new Float64Array(4), 2, Float64Array.of(0, 2), 1), /^lower bound 2 exceeds upper bound 1 at problem 0, coordinate 1$/],
    ['NaN in x0', () => minimizeBoxBatch(never, Float64Array.of(0, 0, NaN, 0), 2, 0, 1), /^x0 holds NaN at problem 1, coordinate 0$/],
    ['NaN bound', () => minimizeBoxBatch(never, new Float64Array(2), 2, NaN, 1), /^bounds \[NaN, 1\] at problem 0, coordinate 0 hold NaN$/],
    ['bounds of the wrong size', () => minimizeBoxBatch(never, new Float64Array(4), 2, 0, new Float64Array(3)), /^upper has 3 values; expected d = 2 or n·d = 4$/],
    ['an empty box', () => minimizeBoxBatch(never, new Float64Array(2), 2, Infinity, Infinity), /^bounds \[Infinity, Infinity\] at problem 0, coordinate 0 hold no finite point$/],
    ['memory 0', () => minimizeBoxBatch(never, new Float64Array(2), 2, 0, 1, { memory: 0 }), /^memory must be an integer ≥ 1, got 0$/],
    ['negative tolerance', () => minimizeBoxBatch(never, new Float64Array(2), 2, 0, 1, { gradientTolerance: -1 }), /^gradientTolerance must be ≥ 0, got -1$/],
  ];
  it.each(cases)('%s', async (_, call, message) => {
    await expect(call()).rejects.toThrow(message);
  });

  it('rejects evaluations of the wrong size or not finite at the start', async () => {
    const short: BoxProblemBatch = { evaluate: async () => ({ values: new Float64Array(1), gradients: new Float64Array(3) }) };
    await expect(minimizeBoxBatch(short, new Float64Array(4), 2, 0, 1)).rejects.toThrow(/^evaluate returned 1 values and 3 gradient entries for 2 points of d = 2$/);
    const nan: BoxProblemBatch = { evaluate: async () => ({ values: Float64Array.of(NaN), gradients: new Float64Array(2) }) };
    await expect(minimizeBoxBatch(nan, new Float64Array(2), 2, 0, 1)).rejects.toThrow(/^evaluate returned a non-finite value or gradient for problem 0 at its starting point$/);
  });
});
