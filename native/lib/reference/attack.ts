// sign(0) = 0; NaN also maps to 0 (no direction), as the C++ (v > 0) - (v < 0) does.
const sign = (v: number): number => (v > 0 ? 1 : v < 0 ? -1 : 0);

/**
 * One attack step on x [n, d] along gradient g with per-sample step size alpha:
 * 'sign': x + alpha sign(g); 'l2': x + alpha g / ||g||_2 (unchanged where g = 0);
 * 'l1': x + (alpha / k) sign(g) on the k coordinates of largest |g| (ties to the lower index).
 */
export function attackStep(kind: 'sign' | 'l2' | 'l1', x: ArrayLike<number>, grad: ArrayLike<number>, d: number, alpha: ArrayLike<number>, l1k = 1): Float64Array {
  const n = x.length / d;
  const out = Float64Array.from(x);
  if (kind === 'l1' && !(l1k >= 1 && l1k <= d)) throw new RangeError(`attackStep: l1k ${l1k} outside [1, ${d}]`);
  for (let i = 0; i < n; i++) {
    const g = Array.from({ length: d }, (_, j) => grad[i * d + j]);
    if (kind === 'sign') {
      for (let j = 0; j < d; j++) out[i * d + j] += alpha[i] * sign(g[j]);
    } else if (kind === 'l2') {
      const norm = Math.sqrt(g.reduce((s, v) => s + v * v, 0));
      if (norm > 0) for (let j = 0; j < d; j++) out[i * d + j] += (alpha[i] * g[j]) / norm;
    } else {
      const order = g.map((_, j) => j).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]) || a - b);
      for (const j of order.slice(0, l1k)) out[i * d + j] += (alpha[i] / l1k) * sign(g[j]);
    }
  }
  return out;
}

type ProjectionNorm = 'linf' | 'l2' | 'l1';

const clip = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

// The KKT minimiser for multiplier λ: shrink v - x0 toward 0, then clip into the box (exact
// because the problem separates per coordinate once λ is fixed).
function candidate(norm: 'l2' | 'l1', v: number[], c: number[], lambda: number, lo: number, hi: number): number[] {
  // λ = 0 keeps v itself: c + (v - c) can be an ulp off v.
  if (lambda === 0) return v.map((vj) => clip(vj, lo, hi));
  return v.map((vj, j) => {
    const t = vj - c[j];
    const shrunk = norm === 'l2' ? t / (1 + lambda) : Math.sign(t) * Math.max(Math.abs(t) - lambda, 0);
    return clip(c[j] + shrunk, lo, hi);
  });
}

function distance(norm: 'l2' | 'l1', z: number[], c: number[]): number {
  const s = z.reduce((acc, zj, j) => acc + (norm === 'l2' ? (zj - c[j]) ** 2 : Math.abs(zj - c[j])), 0);
  return norm === 'l2' ? Math.sqrt(s) : s;
}

/**
 * Euclidean projection of v onto {z : ||z - x0||_p <= eps_i} ∩ [lo, hi]^d per sample (x0 in the
 * box). L∞ is separable; L2 and L1 bisect the KKT multiplier λ, whose candidate's distance to x0
 * decreases in λ, down to adjacent doubles, and return the feasible end.
 */
export function project(norm: ProjectionNorm, v: ArrayLike<number>, x0: ArrayLike<number>, d: number, eps: ArrayLike<number>, lo: number, hi: number): Float64Array {
  const n = v.length / d;
  const out = new Float64Array(n * d);
  for (let i = 0; i < n; i++) {
    const vi = Array.from({ length: d }, (_, j) => v[i * d + j]);
    const ci = Array.from({ length: d }, (_, j) => x0[i * d + j]);
    let z: number[];
    if (norm === 'linf') {
      z = vi.map((vj, j) => clip(clip(vj, ci[j] - eps[i], ci[j] + eps[i]), lo, hi));
    } else if (eps[i] <= 0) {
      z = ci.map((cj) => clip(cj, lo, hi)); // the ball is the single point x0; no finite λ reaches it for L2
    } else {
      // Outside the box no λ brings the candidate back to x0 and the bracket search would not end.
      if (ci.some((cj) => !(cj >= lo && cj <= hi))) throw new RangeError('project: x0 must lie in [lo, hi]');
      const dist = (lambda: number) => distance(norm, candidate(norm, vi, ci, lambda, lo, hi), ci);
      let lambda = 0;
      if (dist(0) > eps[i]) {
        let below = 0;
        let above = norm === 'l1' ? vi.reduce((a, vj, j) => Math.max(a, Math.abs(vj - ci[j])), 0) : 1;
        while (dist(above) > eps[i]) [below, above] = [above, above * 2];
        for (let it = 0; it < 200; it++) {
          const mid = (below + above) / 2;
          if (mid <= below || mid >= above) break;
          if (dist(mid) > eps[i]) below = mid;
          else above = mid;
        }
        lambda = above;
      }
      z = candidate(norm, vi, ci, lambda, lo, hi);
    }
    out.set(z, i * d);
  }
  return out;
}

/** Per-sample L0 (nonzero count), L1, L2 and L∞ norms of delta [n, d]. */
export function perturbationNorms(delta: ArrayLike<number>, d: number): { l0: Float64Array; l1: Float64Array; l2: Float64Array; linf: Float64Array } {
  const n = delta.length / d;
  const l0 = new Float64Array(n);
  const l1 = new Float64Array(n);
  const l2 = new Float64Array(n);
  const linf = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let squares = 0;
    for (let j = 0; j < d; j++) {
      const a = Math.abs(delta[i * d + j]);
      if (a !== 0) l0[i] += 1;
      l1[i] += a;
      squares += a * a;
      linf[i] = Math.max(linf[i], a);
    }
    l2[i] = Math.sqrt(squares);
  }
  return { l0, l1, l2, linf };
}
