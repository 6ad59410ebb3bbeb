// Vector scaling (z' = w∘z + b) and matrix scaling (z' = Wz + b) on logits, Guo et al. 2017.
// Both minimise the mean NLL plus (λ/2)·(‖W − I‖² + ‖b‖²): an L2 pull toward the identity map,
// which leaves a model alone where the data say nothing and makes the optimum unique (without it,
// adding one constant to every bias changes no probability). λ defaults to 1e-3 on the mean-NLL
// scale; matrix scaling has K² + K parameters and overfits with many classes (Guo's CIFAR-100
// rows), so raise λ there, choosing it on data the calibrator was not fitted on.
// The fit is L-BFGS in float64 from the identity; each evaluation is one pass over the data.
import type { ModelProto } from 'onnx-buf';

import { appendToLogits } from '../export.js';
import { type Calibrator, type CalibratorDescription, checkShape, type FitReport } from './calibrator.js';
import { type LbfgsOptions, minimiseLbfgs, type Objective } from './lbfgs.js';

export interface LinearScalingOptions extends LbfgsOptions {
  /** Weight of the L2 pull toward the identity map (default 1e-3). */
  l2?: number;
}

type Kind = 'vector' | 'matrix';

export class LinearScalingCalibrator implements Calibrator {
  readonly output = 'logits';

  /**
   * `weights` is w [K] for vector scaling or W [K, K] row-major (row j gives output j) for matrix
   * scaling; `bias` is b [K].
   */
  constructor(readonly method: Kind, readonly classes: number, readonly weights: Float64Array, readonly bias: Float64Array, readonly l2: number, readonly fit: FitReport) {}

  apply(logits: Float32Array): Float32Array {
    const n = checkShape(logits, this.classes);
    const out = new Float32Array(logits.length);
    const row = new Float64Array(this.classes);
    for (let i = 0; i < n; i++) {
      transform(this.method, this.weights, this.bias, logits, i * this.classes, row);
      out.set(row, i * this.classes);
    }
    return out;
  }

  describe(): CalibratorDescription {
    return {
      method: this.method,
      classes: this.classes,
      output: this.output,
      parameters: { weights: Array.from(this.weights), bias: Array.from(this.bias), l2: this.l2 },
      fit: this.fit,
    };
  }

  /** Vector scaling as Mul then Add; matrix scaling as one Gemm (z·Wᵀ + b). */
  toOnnx(model: ModelProto): ModelProto {
    const k = this.classes;
    return appendToLogits(model, this.describe(), (g, logits) => {
      const bias = g.floats(Array.from(this.bias), [k]);
      if (this.method === 'vector') return g.node('Add', [g.node('Mul', [logits, g.floats(Array.from(this.weights), [k])]), bias]);
      return g.node('Gemm', [logits, g.floats(Array.from(this.weights), [k, k]), bias], { transB: 1 });
    });
  }
}

/** Writes the scaled logits of the row starting at `offset` into `out`. */
function transform(kind: Kind, weights: Float64Array, bias: Float64Array, logits: Float32Array, offset: number, out: Float64Array): void {
  const k = bias.length;
  for (let j = 0; j < k; j++) {
    let v = bias[j];
    if (kind === 'vector') v += weights[j] * logits[offset + j];
    else for (let m = 0; m < k; m++) v += weights[j * k + m] * logits[offset + m];
    out[j] = v;
  }
}

/** Mean NLL of the scaled logits plus the L2 pull, over parameters [weights..., bias...]. */
function objective(kind: Kind, logits: Float32Array, labels: Int32Array, k: number, l2: number): Objective {
  const n = labels.length;
  const weightCount = kind === 'vector' ? k : k * k;
  const row = new Float64Array(k);
  return (x, gradient) => {
    const weights = x.subarray(0, weightCount), bias = x.subarray(weightCount);
    gradient.fill(0);
    let nll = 0;
    for (let i = 0; i < n; i++) {
      const offset = i * k;
      transform(kind, weights, bias, logits, offset, row);
      let max = -Infinity;
      for (let j = 0; j < k; j++) max = Math.max(max, row[j]);
      nll += max - row[labels[i]];
      let sum = 0;
      for (let j = 0; j < k; j++) sum += (row[j] = Math.exp(row[j] - max));
      nll += Math.log(sum);
      // d NLL / d z'_j = p_j − [j = y], then the chain rule through z' = Wz + b.
      for (let j = 0; j < k; j++) {
        const residual = row[j] / sum - (j === labels[i] ? 1 : 0);
        gradient[weightCount + j] += residual;
        if (kind === 'vector') gradient[j] += residual * logits[offset + j];
        else for (let m = 0; m < k; m++) gradient[j * k + m] += residual * logits[offset + m];
      }
    }
    let penalty = 0;
    for (let p = 0; p < x.length; p++) {
      const target = p < weightCount && (kind === 'vector' || p % (k + 1) === 0) ? 1 : 0;
      penalty += (x[p] - target) ** 2;
      gradient[p] = gradient[p] / n + l2 * (x[p] - target);
    }
    return nll / n + (l2 / 2) * penalty;
  };
}

async function fitLinearScaling(kind: Kind, logits: Float32Array, labels: Int32Array, classes: number, options: LinearScalingOptions): Promise<LinearScalingCalibrator> {
  checkShape(logits, classes, labels);
  const { l2 = 1e-3, ...lbfgs } = options;
  if (!(l2 >= 0)) throw new RangeError(`l2 must be ≥ 0, got ${l2}`);
  const started = performance.now();
  const weightCount = kind === 'vector' ? classes : classes * classes;
  const identity = new Float64Array(weightCount + classes);
  for (let j = 0; j < classes; j++) identity[kind === 'vector' ? j : j * (classes + 1)] = 1;

  const unregularised = objective(kind, logits, labels, classes, 0);
  const scratch = new Float64Array(identity.length);
  const nllBefore = unregularised(identity, scratch);
  const result = minimiseLbfgs(objective(kind, logits, labels, classes, l2), identity, lbfgs);
  const fit: FitReport = {
    iterations: result.iterations,
    // The optimiser's evaluations and the two that measure the NLL before and after.
    passes: result.evaluations + 2,
    converged: result.converged,
    nllBefore,
    nllAfter: unregularised(result.x, scratch),
    milliseconds: performance.now() - started,
  };
  const weights = result.x.slice(0, weightCount), bias = result.x.slice(weightCount);
  return new LinearScalingCalibrator(kind, classes, weights, bias, l2, fit);
}

/** Vector scaling: one weight and one bias per class. */
export function fitVectorScaling(logits: Float32Array, labels: Int32Array, classes: number, options: LinearScalingOptions = {}): Promise<LinearScalingCalibrator> {
  return fitLinearScaling('vector', logits, labels, classes, options);
}

/** Matrix scaling: a full K×K weight matrix and a bias per class. */
export function fitMatrixScaling(logits: Float32Array, labels: Int32Array, classes: number, options: LinearScalingOptions = {}): Promise<LinearScalingCalibrator> {
  return fitLinearScaling('matrix', logits, labels, classes, options);
}
