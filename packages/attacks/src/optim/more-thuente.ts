// Moré & Thuente's line search ("Line search algorithms with guaranteed sufficient decrease", ACM
// TOMS 20(3):286–307, 1994) as MINPACK-2's dcsrch and dcstep carry it out and L-BFGS-B calls it,
// keeping dcsrch's reverse communication: the caller evaluates φ(step) = f(x + step·d) and its
// slope and hands them to `update`, which says whether to stop or which step to try next.
// It looks for a step with sufficient decrease, φ(step) ≤ φ(0) + ftol·step·φ'(0), and small
// curvature, |φ'(step)| ≤ gtol·|φ'(0)|; the second is what guarantees sᵀy > 0 for the quasi-Newton
// update, so unlike plain backtracking it also extrapolates (up to stepMax) when φ still falls.

export type SearchState = 'converged' | 'continue' | 'failed';

/** While no minimiser is bracketed the next step goes beyond the current one by 1.1 to 4 times the last increase. */
const EXTRAPOLATE_MIN = 1.1;
const EXTRAPOLATE_MAX = 4;

export class MoreThuente {
  /** The step to evaluate next. */
  step: number;
  private readonly gtest: number;
  private bracketed = false;
  /** Stage 1 works on the modified function ψ(t) = φ(t) − φ(0) − ftol·φ'(0)·t until a step has ψ ≤ 0 and φ' ≥ 0. */
  private stage1 = true;
  private width: number;
  private previousWidth: number;
  // The best step so far (x) and the other end of the interval (y), with φ and φ' there.
  private stx = 0;
  private fx: number;
  private gx: number;
  private sty = 0;
  private fy: number;
  private gy: number;
  private stmin = 0;
  private stmax: number;

  /** φ(0) and φ'(0) < 0, the first step to try, and the longest allowed. L-BFGS-B's constants by default. */
  constructor(
    private readonly f0: number,
    private readonly g0: number,
    step: number,
    private stepMax: number,
    ftol = 1e-3,
    private readonly gtol = 0.9,
    private readonly xtol = 0.1,
  ) {
    this.step = step;
    this.gtest = ftol * g0;
    this.width = stepMax;
    this.previousWidth = 2 * stepMax;
    [this.fx, this.gx, this.fy, this.gy] = [f0, g0, f0, g0];
    this.stmax = step + EXTRAPOLATE_MAX * step;
  }

  /** φ and φ' at `step`. After 'continue', `step` holds the next trial; after 'converged' it is the answer. */
  update(f: number, g: number): SearchState {
    const stp = this.step;
    if (!Number.isFinite(f) || !Number.isFinite(g)) {
      // Past the objective's domain nothing models φ: retreat halfway to the best step and never go further.
      if (!(stp > this.stx)) return 'failed';
      this.step = this.stepMax = this.stx + (stp - this.stx) / 2;
      return 'continue';
    }
    const ftest = this.f0 + stp * this.gtest;
    const sufficient = f <= ftest;
    if (sufficient && Math.abs(g) <= -this.gtol * this.g0) return 'converged';
    // dcsrch's warnings: the bracket has shrunk to rounding or to xtol, or the step is pinned at
    // stepMax while φ still falls. Its step is then the best there is, taken if it decreases f enough.
    const collapsed = this.bracketed && (stp <= this.stmin || stp >= this.stmax || this.stmax - this.stmin <= this.xtol * this.stmax);
    if (collapsed || (stp === this.stepMax && sufficient && g <= this.gtest)) return sufficient && stp > 0 ? 'converged' : 'failed';
    if (this.stage1 && sufficient && g >= 0) this.stage1 = false;

    if (this.stage1 && f <= this.fx && !sufficient) {
      // Stage 1 steps are chosen on ψ, whose values and slopes are φ's less the Armijo line.
      const shift = (t: number) => t * this.gtest;
      this.fx -= shift(this.stx);
      this.fy -= shift(this.sty);
      this.gx -= this.gtest;
      this.gy -= this.gtest;
      this.safeguardedStep(f - shift(stp), g - this.gtest);
      this.fx += shift(this.stx);
      this.fy += shift(this.sty);
      this.gx += this.gtest;
      this.gy += this.gtest;
    } else {
      this.safeguardedStep(f, g);
    }

    let next = this.step;
    if (this.bracketed) {
      // Bisect when the interval has not shrunk by a third in two steps.
      if (Math.abs(this.sty - this.stx) >= 0.66 * this.previousWidth) next = this.stx + (this.sty - this.stx) / 2;
      this.previousWidth = this.width;
      this.width = Math.abs(this.sty - this.stx);
      this.stmin = Math.min(this.stx, this.sty);
      this.stmax = Math.max(this.stx, this.sty);
    } else {
      this.stmin = next + EXTRAPOLATE_MIN * (next - this.stx);
      this.stmax = next + EXTRAPOLATE_MAX * (next - this.stx);
    }
    next = Math.min(Math.max(next, 0), this.stepMax);
    if (this.bracketed && (next <= this.stmin || next >= this.stmax || this.stmax - this.stmin <= this.xtol * this.stmax)) next = this.stx;
    // Rounding can leave no step worth trying (the best is still 0).
    if (!(next > 0)) return 'failed';
    this.step = next;
    return 'continue';
  }

  /**
   * dcstep: a new trial step from the cubic and quadratic interpolants of the best step, the other
   * end and the current step (f, g at this.step), and the interval updated to keep a minimiser.
   */
  private safeguardedStep(fp: number, dp: number): void {
    const { stx, fx, gx: dx, sty, fy, gy: dy, step: stp } = this;
    const [stpmin, stpmax] = [this.stmin, this.stmax];
    const signsDiffer = Math.sign(dp) * Math.sign(dx) < 0;
    let next: number;
    if (fp > fx) {
      // A higher value: the minimiser is bracketed. Cubic step, or halfway to the quadratic one if that is closer to stx.
      const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
      const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
      let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
      if (stp < stx) gamma = -gamma;
      const r = (gamma - dx + theta) / (gamma - dx + gamma + dp);
      const cubic = stx + r * (stp - stx);
      const quadratic = stx + (dx / ((fx - fp) / (stp - stx) + dx) / 2) * (stp - stx);
      next = Math.abs(cubic - stx) < Math.abs(quadratic - stx) ? cubic : cubic + (quadratic - cubic) / 2;
      this.bracketed = true;
    } else if (signsDiffer) {
      // Lower, and the slope changed sign: bracketed. The step farther from stp of cubic and secant.
      const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
      const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
      let gamma = s * Math.sqrt((theta / s) ** 2 - (dx / s) * (dp / s));
      if (stp > stx) gamma = -gamma;
      const r = (gamma - dp + theta) / (gamma - dp + gamma + dx);
      const cubic = stp + r * (stx - stp);
      const secant = stp + (dp / (dp - dx)) * (stx - stp);
      next = Math.abs(cubic - stp) > Math.abs(secant - stp) ? cubic : secant;
      this.bracketed = true;
    } else if (Math.abs(dp) < Math.abs(dx)) {
      // Lower, same slope sign, slope shrinking: the cubic's minimiser when it lies beyond stp, else the far limit.
      const theta = (3 * (fx - fp)) / (stp - stx) + dx + dp;
      const s = Math.max(Math.abs(theta), Math.abs(dx), Math.abs(dp));
      let gamma = s * Math.sqrt(Math.max(0, (theta / s) ** 2 - (dx / s) * (dp / s)));
      if (stp > stx) gamma = -gamma;
      const r = (gamma - dp + theta) / (gamma + (dx - dp) + gamma);
      const cubic = r < 0 && gamma !== 0 ? stp + r * (stx - stp) : stp > stx ? stpmax : stpmin;
      const secant = stp + (dp / (dp - dx)) * (stx - stp);
      if (this.bracketed) {
        next = Math.abs(cubic - stp) < Math.abs(secant - stp) ? cubic : secant;
        const limit = stp + 0.66 * (sty - stp);
        next = stp > stx ? Math.min(limit, next) : Math.max(limit, next);
      } else {
        next = Math.abs(cubic - stp) > Math.abs(secant - stp) ? cubic : secant;
        next = Math.min(Math.max(next, stpmin), stpmax);
      }
    } else if (this.bracketed) {
      // Lower, same slope sign, slope not shrinking: the cubic through stp and sty.
      const theta = (3 * (fp - fy)) / (sty - stp) + dy + dp;
      const s = Math.max(Math.abs(theta), Math.abs(dy), Math.abs(dp));
      let gamma = s * Math.sqrt((theta / s) ** 2 - (dy / s) * (dp / s));
      if (stp > sty) gamma = -gamma;
      const r = (gamma - dp + theta) / (gamma - dp + gamma + dy);
      next = stp + r * (sty - stp);
    } else {
      next = stp > stx ? stpmax : stpmin;
    }

    if (fp > fx) {
      [this.sty, this.fy, this.gy] = [stp, fp, dp];
    } else {
      if (signsDiffer) [this.sty, this.fy, this.gy] = [stx, fx, dx];
      [this.stx, this.fx, this.gx] = [stp, fp, dp];
    }
    this.step = next;
  }
}
