/**
 * Antithetic finite-difference gradient estimate for b samples of q queries each:
 * out[s, :] = Σ_i (fPlus[s, i] - fMinus[s, i]) u[s, i, :] / (2 σ q), with fPlus, fMinus [b, q]
 * the scores at x ± σ u_i and u [b, q, d]; b = fPlus.length / q.
 */
export function gradientEstimate(fPlus: ArrayLike<number>, fMinus: ArrayLike<number>, u: ArrayLike<number>, q: number, d: number, sigma: number): Float64Array {
  const b = fPlus.length / q;
  const out = new Float64Array(b * d);
  for (let s = 0; s < b; s++) {
    for (let i = 0; i < q; i++) {
      const weight = (fPlus[s * q + i] - fMinus[s * q + i]) / (2 * sigma * q);
      for (let j = 0; j < d; j++) out[s * d + j] += weight * u[(s * q + i) * d + j];
    }
  }
  return out;
}
