// Temperature scaling (Guo et al. 2017): one T > 0 dividing every logit, chosen to minimise the
// mean NLL on held-out data. It never changes the predicted label.
//
// The search is Newton's method on u = log T, which keeps T positive and makes steps scale-free,
// safeguarded by a bracket: the NLL is convex in 1/T, so dNLL/dT changes sign once, and a bracket
// [lo, hi] on u with the derivative negative at lo and positive at hi always holds the optimum.
// Every evaluation moves one end of the bracket. A Newton step is taken when the curvature in u is
// positive and the step stays in the bracket and is at most 1 long; otherwise (far from the
// optimum the NLL in u can be concave) a step of at most 1 goes downhill, halving the bracket when
// that is shorter. Near the optimum the convergence is Newton's, quadratic.
// Each step calls the native kernel once, i.e. one pass over the data; it returns the NLL and its
// first two derivatives in T in float64. On synthetic data the fit takes 4–7 passes for optimal T
// in [0.1, 5] from the start T = 1. Far above that it creeps, about one unit of log T per pass
// (10 passes at T ≈ 10, 14 at T ≈ 130); Newton steps on 1/T, where the NLL is convex, were tried
// and do better there (8 passes) but no better for T ≤ 5, so log T, scale-free, was kept.
import type { ModelProto } from 'onnx-buf';

import { type DeviceOption, nllTemperature } from '@onnx-audit/native';

import { appendToLogits } from '../export.js';
import { type Calibrator, type CalibratorDescription, checkShape, type FitReport } from './calibrator.js';

// The longest step in log T: T changes by at most a factor e per pass, which keeps a step taken
// where the NLL in log T is concave (large T, where it flattens towards log K) from overshooting.
const MAX_STEP = 1;

export interface TemperatureOptions extends DeviceOption {
  /** The smallest T searched (default 1e-4). An optimum outside the range is reported as not converged. */
  minTemperature?: number;
  /** The largest T searched (default 1e4). */
  maxTemperature?: number;
  /** Stop when a step moves log T by less than this (default 1e-10). */
  tolerance?: number;
  /** Most kernel passes (default 100; the worst case over the default range is about 40). */
  maxIterations?: number;
}

export class TemperatureCalibrator implements Calibrator {
  readonly method = 'temperature';
  readonly output = 'logits';

  constructor(readonly classes: number, readonly temperature: number, readonly fit: FitReport) {}

  /** logits / T. */
  apply(logits: Float32Array): Float32Array {
    checkShape(logits, this.classes);
    return logits.map((z) => z / this.temperature);
  }

  describe(): CalibratorDescription {
    return { method: this.method, classes: this.classes, output: this.output, parameters: { temperature: this.temperature }, fit: this.fit };
  }

  /** A Div by T on the logits. */
  toOnnx(model: ModelProto): ModelProto {
    return appendToLogits(model, this.describe(), (g, logits) => g.node('Div', [logits, g.float(this.temperature)]));
  }
}

/** The temperature minimising the mean NLL of softmax(logits / T) on (logits, labels). */
export async function fitTemperature(logits: Float32Array, labels: Int32Array, classes: number, options: TemperatureOptions = {}): Promise<TemperatureCalibrator> {
  checkShape(logits, classes, labels);
  const { minTemperature = 1e-4, maxTemperature = 1e4, tolerance = 1e-10, maxIterations = 100 } = options;
  if (!(minTemperature > 0 && maxTemperature > minTemperature)) throw new RangeError(`the temperature range [${minTemperature}, ${maxTemperature}] must be positive and non-empty`);
  const started = performance.now();

  let passes = 0;
  // f(u) = NLL(e^u): f' = T·d1 and f'' = T²·d2 + T·d1 by the chain rule.
  const evaluate = async (u: number) => {
    passes++;
    const T = Math.exp(u);
    const { nll, d1, d2 } = await nllTemperature(logits, labels, classes, T, options);
    return { nll, slope: T * d1, curvature: T * T * d2 + T * d1 };
  };

  let lo = Math.log(minTemperature), hi = Math.log(maxTemperature);
  let u = Math.min(Math.max(0, lo), hi);
  let current = await evaluate(u);
  const nllBefore = current.nll;
  let converged = false, iterations = 0;
  while (passes < maxIterations) {
    // A zero slope is the optimum, unless the loss is zero too: every label's probability rounds
    // to 1, which is flat only in float64, and the optimum lies at a smaller T (a positive slope).
    if (current.slope === 0 && current.nll > 0) {
      converged = true;
      break;
    }
    if (current.slope < 0) lo = u;
    else hi = u;

    const newton = -current.slope / current.curvature;
    const newtonUsable = current.curvature > 0 && u + newton >= lo && u + newton <= hi && Math.abs(newton) <= MAX_STEP;
    // Otherwise downhill, towards the bracket's far end, by at most MAX_STEP or half the bracket.
    const step = newtonUsable ? newton : (current.slope < 0 ? 1 : -1) * Math.min(MAX_STEP, (hi - lo) / 2);
    u += step;
    iterations++;
    if (Math.abs(step) < tolerance || hi - lo < tolerance) {
      // The last step is smaller than the tolerance, so u is as good as one more pass would make it.
      converged = true;
      break;
    }
    current = await evaluate(u);
  }

  // An optimum at an end of the range means the true one lies beyond it.
  const atBound = Math.min(Math.abs(u - Math.log(minTemperature)), Math.abs(u - Math.log(maxTemperature))) < 1e3 * tolerance;
  const fit: FitReport = { iterations, passes, converged: converged && !atBound, nllBefore, nllAfter: current.nll, milliseconds: performance.now() - started };
  return new TemperatureCalibrator(classes, Math.exp(u), fit);
}
