// Rules for ∫₀¹ f(α) dα as Σ_s w_s f(α_s), for Integrated Gradients' path integral.

export type IntegrationRule = 'riemann-trapezoid' | 'gauss-legendre';

export interface Quadrature {
  nodes: Float64Array;
  /** Sum to 1. */
  weights: Float64Array;
}

/** The smallest number of points each rule is defined for. */
export const MIN_POINTS: Record<IntegrationRule, number> = { 'riemann-trapezoid': 2, 'gauss-legendre': 1 };

/** `points` nodes of `rule` on [0, 1]; the trapezoid's include both ends. */
export function quadrature(rule: IntegrationRule, points: number): Quadrature {
  return rule === 'gauss-legendre' ? gaussLegendre(points) : trapezoid(points);
}

function trapezoid(points: number): Quadrature {
  const h = 1 / (points - 1);
  const nodes = Float64Array.from({ length: points }, (_, s) => s * h);
  const weights = Float64Array.from({ length: points }, (_, s) => (s === 0 || s === points - 1 ? h / 2 : h));
  return { nodes, weights };
}

/**
 * The n-point Gauss–Legendre rule, exact for polynomials of degree < 2n: the roots of P_n by
 * Newton's method from Tricomi's estimates cos(π(i + 3/4)/(n + 1/2)), with P_n and P_n' from the
 * three-term recurrence in float64, and weights 2/((1 − t²) P_n'(t)²), mapped from [−1, 1].
 */
function gaussLegendre(n: number): Quadrature {
  const nodes = new Float64Array(n), weights = new Float64Array(n);
  for (let i = 0; i < Math.ceil(n / 2); i++) {
    let t = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    for (let iteration = 0; iteration < 100; iteration++) {
      const { value, slope } = legendre(n, t);
      t -= value / slope;
      if (Math.abs(value / slope) < 1e-15) break;
    }
    const { slope } = legendre(n, t);
    const w = 1 / ((1 - t * t) * slope * slope);
    // t_i > 0 decreases with i: (1 − t)/2 fills the nodes in increasing order from the left.
    nodes[i] = (1 - t) / 2;
    nodes[n - 1 - i] = (1 + t) / 2;
    weights[i] = weights[n - 1 - i] = w;
  }
  return { nodes, weights };
}

/** P_n(t) and P_n'(t), for n ≥ 1 and |t| < 1. */
function legendre(n: number, t: number): { value: number; slope: number } {
  let previous = 1, value = t;
  for (let k = 2; k <= n; k++) [previous, value] = [value, ((2 * k - 1) * t * value - (k - 1) * previous) / k];
  return { value, slope: (n * (t * value - previous)) / (t * t - 1) };
}
