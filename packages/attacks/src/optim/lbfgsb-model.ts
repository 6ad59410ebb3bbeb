// The quadratic model of L-BFGS-B (Byrd, Lu, Nocedal & Zhu 1995) and the two steps that minimise
// it over the box: the generalized Cauchy point (§4) and the subspace minimisation (§5.1). Kept
// apart from the iteration in ./lbfgsb.ts so that tests can check each against dense algebra.
// Every step walks W row by row (a coordinate's 2m entries are contiguous), which for images of
// 10⁵ pixels and more is what keeps the optimiser's own time well below a model run's.

/**
 * The last m correction pairs sⱼ = xⱼ₊₁ − xⱼ, yⱼ = gⱼ₊₁ − gⱼ as the compact representation
 * B = θI − W·M·Wᵀ of Byrd, Nocedal & Schnabel (1994). The paper's W = [Y, θS]; here W = [Y, S] and θ
 * is folded into M instead, so θ can change without touching d-long data:
 * M = [[−D, Lᵀ/θ], [L/θ, SᵀS/θ]]⁻¹, D = diag(sⱼᵀyⱼ), Lᵢⱼ = sᵢᵀyⱼ where pair i is newer than pair j.
 * Pairs live in m slots reused round-robin, so dropping the oldest moves no data; W and M are in
 * slot order, and slots not yet filled are zero columns of W with 1 on M's diagonal, which leaves
 * B unchanged and spares every step a special case for a short memory.
 */
export class LimitedMemory {
  /** W row-major, d × 2m: row i is yⱼ[i] for each slot j, then sⱼ[i]. */
  readonly w: Float64Array;
  readonly width: number;
  theta = 1;
  /** M, 2m × 2m row-major, symmetric. */
  middle: Float64Array;
  private count = 0;
  private next = 0;
  private pushes = 0;
  /** When each slot was filled, to tell newer pairs from older. */
  private readonly filled: Float64Array;
  /** sᵢᵀsⱼ, sᵢᵀyⱼ and yᵢᵀyⱼ by slot, m × m. */
  private readonly ss: Float64Array;
  private readonly sy: Float64Array;
  private readonly yy: Float64Array;

  constructor(
    private readonly d: number,
    private readonly capacity: number,
  ) {
    this.width = 2 * capacity;
    this.w = new Float64Array(d * this.width);
    this.middle = identity(this.width);
    this.filled = new Float64Array(capacity);
    this.ss = new Float64Array(capacity * capacity);
    this.sy = new Float64Array(capacity * capacity);
    this.yy = new Float64Array(capacity * capacity);
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.w.fill(0);
    [this.count, this.next, this.theta] = [0, 0, 1];
    this.middle = identity(this.width);
  }

  /** Stores the pair unless its curvature sᵀy is too small for B to stay positive definite. */
  push(s: Float64Array, y: Float64Array): void {
    const sy = dot(s, y);
    const yy = dot(y, y);
    if (!(sy > Number.EPSILON * yy)) return;
    const { d, w, width, capacity: m, ss: ssAll, sy: syAll, yy: yyAll } = this;
    const q = this.next;
    this.next = (q + 1) % m;
    this.count = Math.min(this.count + 1, m);
    this.filled[q] = this.pushes++;
    // One pass over the rows writes the new column and its products with every slot in use.
    const [ss, sqy, spy, yy2] = [new Float64Array(m), new Float64Array(m), new Float64Array(m), new Float64Array(m)];
    for (let i = 0; i < d; i++) {
      const base = i * width;
      w[base + q] = y[i];
      w[base + m + q] = s[i];
      for (let p = 0; p < this.count; p++) {
        ss[p] += s[i] * w[base + m + p];
        sqy[p] += s[i] * w[base + p];
        spy[p] += w[base + m + p] * y[i];
        yy2[p] += y[i] * w[base + p];
      }
    }
    for (let p = 0; p < this.count; p++) {
      ssAll[q * m + p] = ssAll[p * m + q] = ss[p];
      yyAll[q * m + p] = yyAll[p * m + q] = yy2[p];
      syAll[q * m + p] = sqy[p];
      syAll[p * m + q] = spy[p];
    }
    this.theta = yy / sy;

    const middle = identity(width);
    for (let a = 0; a < this.count; a++) {
      middle[a * width + a] = -syAll[a * m + a];
      for (let b = 0; b < this.count; b++) {
        middle[(m + a) * width + m + b] = ssAll[a * m + b] / this.theta;
        if (this.filled[a] > this.filled[b]) middle[(m + a) * width + b] = middle[b * width + m + a] = syAll[a * m + b] / this.theta;
      }
    }
    const inverse = solve(middle, identity(width), width);
    // Only a pathological set of pairs makes it singular; dropping them all is the original's remedy too.
    if (inverse) this.middle = inverse;
    else this.clear();
  }

  /** WᵀW, 2m × 2m, from the products kept: [[YᵀY, YᵀS], [SᵀY, SᵀS]]. */
  gram(): Float64Array {
    const { width, capacity: m } = this;
    const gram = new Float64Array(width * width);
    for (let a = 0; a < this.count; a++) {
      for (let b = 0; b < this.count; b++) {
        gram[a * width + b] = this.yy[a * m + b];
        gram[a * width + m + b] = this.sy[b * m + a];
        gram[(m + a) * width + b] = this.sy[a * m + b];
        gram[(m + a) * width + m + b] = this.ss[a * m + b];
      }
    }
    return gram;
  }
}

export interface CauchyPoint {
  xc: Float64Array;
  /** Wᵀ(xc − x), which the subspace minimisation needs for the model's gradient at xc. */
  c: Float64Array;
}

/**
 * The generalized Cauchy point (algorithm CP of §4): the first local minimiser of the quadratic
 * model along the path x(t) = P(x − t·g), segment by segment between the breakpoints where
 * coordinates reach their bounds. f' and f'' along the current segment are updated in O(m²) per
 * breakpoint, never O(d); the breakpoints come off a heap, so only those passed are ordered.
 */
export function cauchyPoint(x: Float64Array, g: Float64Array, lower: Float64Array, upper: Float64Array, memory: LimitedMemory): CauchyPoint {
  const d = x.length;
  const { w, width, theta, middle } = memory;
  const xc = Float64Array.from(x);
  const breakpoint = new Float64Array(d);
  const direction = new Float64Array(d);
  const p = new Float64Array(width); // Wᵀ·direction
  const c = new Float64Array(width);
  const bounded: number[] = [];
  let slope = 0;
  let moving = 0;
  for (let i = 0; i < d; i++) {
    // Open sides give (x ∓ ∞)/g = +∞: the coordinate moves forever.
    const t = g[i] < 0 ? (x[i] - upper[i]) / g[i] : g[i] > 0 ? (x[i] - lower[i]) / g[i] : 0;
    if (!(t > 0)) continue; // at a bound that g pushes against, or g = 0: does not move
    breakpoint[i] = t;
    direction[i] = -g[i];
    slope -= g[i] * g[i];
    moving++;
    for (let a = 0, base = i * width; a < width; a++) p[a] += direction[i] * w[base + a];
    if (t < Infinity) bounded.push(i);
  }
  const heap = new MinHeap(Int32Array.from(bounded), breakpoint);

  const wb = new Float64Array(width);
  const mw = new Float64Array(width);
  let curvature = -theta * slope - dot(p, matVec(middle, p));
  // Rounding can drive f'' to zero or below after many breakpoints; the original keeps it above ε·f''₀.
  const minCurvature = Number.EPSILON * curvature;
  let stepToMin = -slope / curvature;
  let tOld = 0;
  for (let b = heap.pop(); b >= 0; b = heap.pop()) {
    const dt = breakpoint[b] - tOld;
    if (stepToMin < dt) break;
    // Pass breakpoint b: coordinate b stops at its bound and leaves the direction.
    xc[b] = direction[b] > 0 ? upper[b] : lower[b];
    const gb = g[b];
    const zb = xc[b] - x[b];
    for (let a = 0; a < width; a++) wb[a] = w[b * width + a];
    matVecInto(middle, wb, mw);
    axpy(c, dt, p);
    slope += dt * curvature + gb * gb + theta * gb * zb - gb * dot(mw, c);
    curvature = Math.max(curvature - theta * gb * gb - 2 * gb * dot(mw, p) - gb * gb * dot(mw, wb), minCurvature);
    axpy(p, gb, wb);
    direction[b] = 0;
    moving--;
    tOld = breakpoint[b];
    stepToMin = -slope / curvature;
  }
  // With every coordinate stopped the path ends at the last breakpoint.
  stepToMin = moving > 0 ? Math.max(stepToMin, 0) : 0;
  const t = tOld + stepToMin;
  for (let i = 0; i < d; i++) if (direction[i] !== 0) xc[i] = clamp(x[i] + t * direction[i], lower[i], upper[i]);
  axpy(c, stepToMin, p);
  return { xc, c };
}

/**
 * The model's minimiser over the variables free at the Cauchy point (direct primal method, §5.1):
 * the Newton step −B̂⁻¹r̂ of the reduced model, with B̂⁻¹ by Sherman–Morrison–Woodbury, so only a
 * 2m × 2m system is solved. Then Morales & Nocedal's projection, or the paper's truncation.
 */
export function subspaceMinimum(
  x: Float64Array,
  g: Float64Array,
  lower: Float64Array,
  upper: Float64Array,
  memory: LimitedMemory,
  { xc, c }: CauchyPoint,
): Float64Array {
  const free: number[] = [];
  const fixed: number[] = [];
  for (let i = 0; i < x.length; i++) (lower[i] < xc[i] && xc[i] < upper[i] ? free : fixed).push(i);
  if (free.length === 0) return xc;
  const { w, width, theta, middle } = memory;

  // r̂ = Zᵀ(g + θ(xc − x) − W·M·c), the model's reduced gradient at xc, and Wᵀ·Z·r̂.
  const mc = matVec(middle, c);
  const reduced = new Float64Array(free.length);
  const wr = new Float64Array(width);
  free.forEach((i, f) => {
    const base = i * width;
    let wmc = 0;
    for (let a = 0; a < width; a++) wmc += w[base + a] * mc[a];
    const r = (reduced[f] = g[i] + theta * (xc[i] - x[i]) - wmc);
    for (let a = 0; a < width; a++) wr[a] += r * w[base + a];
  });
  // WᵀZZᵀW, the costliest product (O(m²) a row): summed over the free rows, or, when fewer are
  // fixed (as in attacks, where most pixels start inside the box), WᵀW less the fixed rows.
  const fewerFixed = fixed.length < free.length;
  const gram = fewerFixed ? memory.gram() : new Float64Array(width * width);
  const sign = fewerFixed ? -1 : 1;
  for (const i of fewerFixed ? fixed : free) {
    const base = i * width;
    for (let a = 0; a < width; a++) {
      const wa = sign * w[base + a];
      for (let b = 0; b <= a; b++) gram[a * width + b] += wa * w[base + b];
    }
  }
  for (let a = 0; a < width; a++) for (let b = 0; b < a; b++) gram[b * width + a] = gram[a * width + b];
  // u = −r̂/θ − Zᵀ·W·v/θ² with (I − M·WᵀZZᵀW/θ)·v = M·WᵀZ·r̂.
  const system = identity(width);
  for (let a = 0; a < width; a++) {
    for (let b = 0; b < width; b++) {
      let sum = 0;
      for (let e = 0; e < width; e++) sum += middle[a * width + e] * gram[e * width + b];
      system[a * width + b] -= sum / theta;
    }
  }
  const v = solve(system, matVec(middle, wr), width);
  // A singular reduced system (B̂ not positive definite after rounding) leaves the Cauchy point, itself a descent step.
  if (!v) return xc;
  const step = free.map((i, f) => {
    let wv = 0;
    for (let a = 0, base = i * width; a < width; a++) wv += w[base + a] * v[a];
    return -reduced[f] / theta - wv / (theta * theta);
  });

  const projected = Float64Array.from(xc);
  free.forEach((i, f) => (projected[i] = clamp(xc[i] + step[f], lower[i], upper[i])));
  let descent = 0;
  for (let i = 0; i < x.length; i++) descent += g[i] * (projected[i] - x[i]);
  if (descent < 0) return projected;
  let longest = 1;
  free.forEach((i, f) => {
    if (step[f] > 0) longest = Math.min(longest, (upper[i] - xc[i]) / step[f]);
    else if (step[f] < 0) longest = Math.min(longest, (lower[i] - xc[i]) / step[f]);
  });
  const truncated = Float64Array.from(xc);
  free.forEach((i, f) => (truncated[i] = clamp(xc[i] + longest * step[f], lower[i], upper[i])));
  return truncated;
}

/** A binary min-heap of indices keyed by `key[index]` (the original's hpsolb plays this part). */
class MinHeap {
  private size: number;

  constructor(
    private readonly items: Int32Array,
    private readonly key: Float64Array,
  ) {
    this.size = items.length;
    for (let i = (this.size >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  /** The index with the smallest key, or −1 when empty. */
  pop(): number {
    if (this.size === 0) return -1;
    const top = this.items[0];
    this.items[0] = this.items[--this.size];
    this.siftDown(0);
    return top;
  }

  private siftDown(i: number): void {
    const { items, key, size } = this;
    for (;;) {
      const [left, right] = [2 * i + 1, 2 * i + 2];
      let least = i;
      if (left < size && key[items[left]] < key[items[least]]) least = left;
      if (right < size && key[items[right]] < key[items[least]]) least = right;
      if (least === i) return;
      [items[i], items[least]] = [items[least], items[i]];
      i = least;
    }
  }
}

export const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
}

/** y += a·x. */
function axpy(y: Float64Array, a: number, x: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] += a * x[i];
}

/** out = A·x for A n × n, row-major. */
function matVecInto(a: Float64Array, x: Float64Array, out: Float64Array): Float64Array {
  const n = x.length;
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < n; j++) sum += a[i * n + j] * x[j];
    out[i] = sum;
  }
  return out;
}

const matVec = (a: Float64Array, x: Float64Array) => matVecInto(a, x, new Float64Array(x.length));

function identity(n: number): Float64Array {
  const eye = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1;
  return eye;
}

/**
 * X with A·X = B for A n × n and B n × (B.length / n), both row-major, by Gauss–Jordan elimination
 * with partial pivoting (A is symmetric but indefinite, so no Cholesky); null when A is singular.
 */
function solve(matrix: Float64Array, rhs: Float64Array, n: number): Float64Array | null {
  const a = Float64Array.from(matrix);
  const x = Float64Array.from(rhs);
  const columns = rhs.length / n;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]) > Math.abs(a[pivot * n + col])) pivot = r;
    if (!(Math.abs(a[pivot * n + col]) > 0)) return null;
    if (pivot !== col) {
      swapRows(a, pivot, col, n);
      swapRows(x, pivot, col, columns);
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const factor = a[r * n + col] / a[col * n + col];
      if (factor === 0) continue;
      for (let j = col; j < n; j++) a[r * n + j] -= factor * a[col * n + j];
      for (let j = 0; j < columns; j++) x[r * columns + j] -= factor * x[col * columns + j];
    }
  }
  for (let r = 0; r < n; r++) for (let j = 0; j < columns; j++) x[r * columns + j] /= a[r * n + r];
  return x.every(Number.isFinite) ? x : null;
}

function swapRows(a: Float64Array, i: number, j: number, width: number): void {
  for (let k = 0; k < width; k++) [a[i * width + k], a[j * width + k]] = [a[j * width + k], a[i * width + k]];
}
