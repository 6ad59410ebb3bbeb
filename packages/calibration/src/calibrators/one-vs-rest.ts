// The frame shared by histogram binning and isotonic regression: each class k gets its own map
// from p_k = softmax(z)_k to an estimate of P(y = k | p_k), fitted one-vs-rest; the K mapped values
// of a row are then renormalised to sum to 1. A row every map sends to 0 (possible: no class's
// estimate need be positive there) has no information left and becomes uniform. The output is the
// log of the renormalised probabilities, so it feeds softmax-based metrics like logits do; a
// probability of exactly 0 gives −Infinity.
import type { ModelProto } from 'onnx-buf';

import { ModelError } from '@onnx-audit/onnx';

import { type Calibrator, type CalibratorDescription, checkShape, type FitReport } from './calibrator.js';

/** Softmax of logits [n, k] in float64, column-major: class k's probabilities are [k·n, (k+1)·n). */
function probabilityColumns(logits: Float32Array, k: number): Float64Array {
  const n = logits.length / k;
  const columns = new Float64Array(logits.length);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, logits[i * k + j]);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += Math.exp(logits[i * k + j] - max);
    for (let j = 0; j < k; j++) columns[j * n + i] = Math.exp(logits[i * k + j] - max) / sum;
  }
  return columns;
}

/** A fitted per-class map: `value` gives the calibrated estimate, `parameters` what describe() shows. */
export interface ClassMap {
  value(p: number): number;
  parameters: Record<string, unknown>;
}

const methodNames = { histogram: 'histogram binning', isotonic: 'isotonic regression' } as const;

export class OneVsRestCalibrator implements Calibrator {
  readonly output = 'log-probabilities';

  constructor(readonly method: 'histogram' | 'isotonic', readonly classes: number, readonly maps: ClassMap[], readonly settings: Record<string, unknown>, readonly fit: FitReport) {}

  apply(logits: Float32Array): Float32Array {
    checkShape(logits, this.classes);
    return mapAndRenormalise(this.maps, probabilityColumns(logits, this.classes));
  }

  describe(): CalibratorDescription {
    return {
      method: this.method,
      classes: this.classes,
      output: this.output,
      parameters: { ...this.settings, perClass: this.maps.map((m) => m.parameters) },
      fit: this.fit,
    };
  }

  toOnnx(_model: ModelProto): ModelProto {
    throw new ModelError(`${methodNames[this.method]} is not exportable as ONNX ops in this version: its per-class lookup tables and the renormalisation are not written as graph nodes yet. Run the model and calibrate its logits with apply(), or export temperature, vector or matrix scaling instead`);
  }
}

/** Log of the renormalised mapped probabilities, [n, k] row-major, from probability columns. */
function mapAndRenormalise(maps: ClassMap[], columns: Float64Array): Float32Array {
  const k = maps.length, n = columns.length / k;
  const out = new Float32Array(columns.length);
  const row = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += (row[j] = maps[j].value(columns[j * n + i]));
    for (let j = 0; j < k; j++) out[i * k + j] = sum > 0 ? Math.log(row[j] / sum) : -Math.log(k);
  }
  return out;
}

/** Fits one map per class on (p_k, 1[y = k]) and wraps them in a calibrator. */
export function fitOneVsRest(
  method: 'histogram' | 'isotonic',
  logits: Float32Array,
  labels: Int32Array,
  classes: number,
  settings: Record<string, unknown>,
  fitClass: (probabilities: Float64Array, positive: Uint8Array) => ClassMap,
): OneVsRestCalibrator {
  const n = checkShape(logits, classes, labels);
  const started = performance.now();
  const columns = probabilityColumns(logits, classes);
  const maps = Array.from({ length: classes }, (_, k) => fitClass(columns.subarray(k * n, (k + 1) * n), Uint8Array.from(labels, (y) => (y === k ? 1 : 0))));
  const calibrated = mapAndRenormalise(maps, columns);
  const fit: FitReport = {
    // No iterative optimiser: one softmax pass, then each class's fit works on its column.
    iterations: 0,
    passes: 1,
    converged: true,
    nllBefore: -labels.reduce((sum, y, i) => sum + Math.log(columns[y * n + i]), 0) / n,
    nllAfter: -labels.reduce((sum, y, i) => sum + calibrated[i * classes + y], 0) / n,
    milliseconds: performance.now() - started,
  };
  return new OneVsRestCalibrator(method, classes, maps, settings, fit);
}
