// The public API of @onnx-audit/native: typed, documented wrappers over the addon (binding.ts).
// Every kernel is async: large calls run off the JS thread, small ones resolve at once. Each
// takes a `device` ('cpu' by default); asking for 'cuda' where no CUDA device is usable falls back
// to the CPU kernels after a one-line notice. Shapes are given by the trailing dimension (k
// classes, d features per sample); the leading one is inferred from the buffer's length.
import type { DeviceName, NativeAddon, NativeCapabilities, Seed } from './binding.js';
import { loadAddon } from './loader.js';

export type { DeviceName, NativeCapabilities, Seed } from './binding.js';

let addon: NativeAddon | undefined;
function native(): NativeAddon {
  addon ??= loadAddon();
  return addon;
}

export interface DeviceOption {
  /** Where the kernel runs: 'cpu' (default) or 'cuda'. */
  device?: DeviceName;
}

let warnedNoCuda = false;
/** The device a call will really use: 'cuda' only where a CUDA device answered. */
export function resolveDevice(device: DeviceName = 'cpu'): DeviceName {
  if (device === 'cpu') return 'cpu';
  const caps = native().capabilities();
  if (caps.cuda) return 'cuda';
  if (!warnedNoCuda) {
    warnedNoCuda = true;
    console.warn(`onnx-audit: CUDA is not available (${caps.cudaReason ?? 'unknown reason'}); using the CPU kernels`);
  }
  return 'cpu';
}

/** What the loaded addon can do: version, threads, whether CUDA was built and a device found. */
export function capabilities(): NativeCapabilities {
  return native().capabilities();
}

/**
 * The device's memory copy bandwidth in GB/s (bytes read + written per second): the best of
 * `repeats` copies of `bytes` with this environment's threads (CPU) or device to device (CUDA).
 * Memory-bound kernels are judged as a fraction of it.
 */
export async function copyBandwidth(bytes = 256 << 20, repeats = 5, options: DeviceOption = {}): Promise<number> {
  return native().copyBandwidth(resolveDevice(options.device), bytes, repeats);
}

/** Sets the CPU worker threads per kernel call for this thread's environment (default: all cores). */
export function setThreads(threads: number): void {
  native().setThreads(threads);
}

function perSample(value: number | Float32Array, n: number): Float32Array {
  return typeof value === 'number' ? new Float32Array(n).fill(value) : value;
}

function rowsOf(length: number, width: number, what: string): number {
  if (!Number.isInteger(width) || width < 1) throw new RangeError(`${what} must be a positive integer, got ${width}`);
  return Math.floor(length / width);
}

// ---- softmax -----------------------------------------------------------------------------------

export interface SoftmaxOptions extends DeviceOption {
  /** Divides the logits before the softmax (default 1). */
  temperature?: number;
  /** Return log-probabilities (default false). */
  log?: boolean;
  out?: Float32Array;
}

/** Row-wise softmax (or log-softmax) of logits [n, k] at a temperature, max-subtracted. */
export async function softmax(logits: Float32Array, k: number, options: SoftmaxOptions = {}): Promise<Float32Array> {
  const out = options.out ?? new Float32Array(logits.length);
  await native().softmax(resolveDevice(options.device), logits, k, options.temperature ?? 1, options.log ?? false, out);
  return out;
}

// ---- membership metrics -------------------------------------------------------------------------

export const METRICS = ['loss', 'maxProb', 'stdDev', 'entropy', 'modifiedEntropy', 'margin', 'logitConfidence'] as const;
export type MetricName = (typeof METRICS)[number];
export type MembershipMetrics = Record<MetricName, Float64Array>;

/**
 * Per-sample metrics of logits [n, k] with integer labels, in one float64 pass: cross-entropy
 * loss, max probability, population SD of the probabilities, entropy, modified entropy (Song &
 * Mittal 2021), margin z_y − max_{j≠y} z_j and logit-scaled confidence log p_y − log(1 − p_y).
 */
export async function membershipMetrics(logits: Float32Array, labels: Int32Array, k: number, options: DeviceOption = {}): Promise<MembershipMetrics> {
  const n = rowsOf(logits.length, k, 'k');
  const out = new Float64Array(METRICS.length * n);
  await native().membershipMetrics(resolveDevice(options.device), logits, labels, k, out);
  return Object.fromEntries(METRICS.map((name, m) => [name, out.subarray(m * n, (m + 1) * n)])) as MembershipMetrics;
}

// ---- calibration --------------------------------------------------------------------------------

export interface NllDerivatives {
  /** Mean negative log-likelihood of softmax(z / T). */
  nll: number;
  /** d NLL / dT. */
  d1: number;
  /** d² NLL / dT². */
  d2: number;
}

/** Mean NLL of logits [n, k] at temperature T with its first and second derivatives in T. */
export async function nllTemperature(logits: Float32Array, labels: Int32Array, k: number, temperature: number, options: DeviceOption = {}): Promise<NllDerivatives> {
  return native().nllTemperature(resolveDevice(options.device), logits, labels, k, temperature);
}

export type Binning = 'equal-width' | 'equal-mass';
export interface CalibrationBinsOptions extends DeviceOption {
  /** Number of bins (default 15). */
  bins?: number;
  /** 'equal-width' (default) or 'equal-mass' (bins of equal count, ties broken by index). */
  binning?: Binning;
}
export interface CalibrationBins {
  count: Float64Array;
  meanConfidence: Float64Array;
  accuracy: Float64Array;
  lower: Float64Array;
  upper: Float64Array;
}

/** Bins confidences in [0, 1] with 0/1 correctness flags: per bin count, mean confidence, accuracy and edges. */
export async function calibrationBins(confidence: Float32Array, correct: Uint8Array, options: CalibrationBinsOptions = {}): Promise<CalibrationBins> {
  const bins = options.bins ?? 15;
  const out = new Float64Array(5 * bins);
  await native().calibrationBins(resolveDevice(options.device), confidence, correct, bins, options.binning ?? 'equal-width', out);
  const column = (c: number) => out.subarray(c * bins, (c + 1) * bins);
  return { count: column(0), meanConfidence: column(1), accuracy: column(2), lower: column(3), upper: column(4) };
}

// ---- ROC ----------------------------------------------------------------------------------------

export interface RocOptions extends DeviceOption {
  /** FPRs at which to read the TPR (default 0.001, 0.01, 0.1). */
  fprTargets?: ArrayLike<number>;
}
export interface RocCurve {
  /** Exact area under the curve, ties counted ½. */
  auc: number;
  fprTargets: Float64Array;
  /** TPR at each target FPR, by linear interpolation on the curve. */
  tprAt: Float64Array;
  fpr: Float64Array;
  tpr: Float64Array;
  /** Score thresholds of the curve's points ("positive when score ≥ threshold"); the first is +∞. */
  thresholds: Float64Array;
}

/** ROC curve, AUC and TPR at fixed FPRs for scores (higher = more likely positive) and 0/1 labels. */
export async function roc(scores: Float32Array, labels: Uint8Array, options: RocOptions = {}): Promise<RocCurve> {
  const fprTargets = Float64Array.from(options.fprTargets ?? [0.001, 0.01, 0.1]);
  const tprAt = new Float64Array(fprTargets.length);
  const n = scores.length;
  const fpr = new Float64Array(n + 1), tpr = new Float64Array(n + 1), thresholds = new Float64Array(n + 1);
  const { auc, points } = await native().roc(resolveDevice(options.device), scores, labels, fprTargets, tprAt, fpr, tpr, thresholds);
  return { auc, fprTargets, tprAt, fpr: fpr.slice(0, points), tpr: tpr.slice(0, points), thresholds: thresholds.slice(0, points) };
}

// ---- attack steps, projections, norms -------------------------------------------------------------

export type StepKind = 'sign' | 'l2' | 'l1';
export type Norm = 'linf' | 'l2' | 'l1';
export interface Box {
  lo: number;
  hi: number;
}

export interface AttackStepOptions extends DeviceOption {
  /** For 'l1': how many coordinates of largest |g| move (default 1). */
  l1TopK?: number;
  out?: Float32Array;
}

/**
 * One ascent step on x [n, d] along g: 'sign' x + α·sign(g); 'l2' x + α·g/‖g‖₂; 'l1' moves the k
 * coordinates of largest |g| by α/k each (‖step‖₁ = α). α is a number or one per sample.
 */
export async function attackStep(kind: StepKind, x: Float32Array, grad: Float32Array, d: number, alpha: number | Float32Array, options: AttackStepOptions = {}): Promise<Float32Array> {
  const out = options.out ?? new Float32Array(x.length);
  const n = rowsOf(x.length, d, 'd');
  await native().attackStep(resolveDevice(options.device), kind, x, grad, d, perSample(alpha, n), options.l1TopK ?? 1, out);
  return out;
}

export interface ProjectOptions extends DeviceOption {
  /** The valid input box (default [0, 1]). */
  box?: Box;
  out?: Float32Array;
}

/**
 * Euclidean projection of v [n, d] onto the ε-ball around x0 in the given norm intersected with
 * the box; exact for all three norms (L2 and L1 solve the KKT condition by bisection in float64).
 */
export async function project(norm: Norm, v: Float32Array, x0: Float32Array, d: number, eps: number | Float32Array, options: ProjectOptions = {}): Promise<Float32Array> {
  const out = options.out ?? new Float32Array(v.length);
  const { lo, hi } = options.box ?? { lo: 0, hi: 1 };
  await native().project(resolveDevice(options.device), norm, v, x0, d, perSample(eps, rowsOf(v.length, d, 'd')), lo, hi, out);
  return out;
}

export interface PerturbationNorms {
  l0: Float64Array;
  l1: Float64Array;
  l2: Float64Array;
  linf: Float64Array;
}

/** Per-sample L0, L1, L2 and L∞ norms of a perturbation batch [n, d]. */
export async function perturbationNorms(delta: Float32Array, d: number, options: DeviceOption = {}): Promise<PerturbationNorms> {
  const n = rowsOf(delta.length, d, 'd');
  const out = new Float64Array(4 * n);
  await native().perturbationNorms(resolveDevice(options.device), delta, d, out);
  const column = (c: number) => out.subarray(c * n, (c + 1) * n);
  return { l0: column(0), l1: column(1), l2: column(2), linf: column(3) };
}

/**
 * Antithetic black-box gradient estimate for b samples with q queries each: from the scores of
 * x ± σ·u_i, Σ_i (f(x+σu_i) − f(x−σu_i))·u_i / (2σq). fPlus, fMinus [b, q]; directions [b, q, d].
 */
export async function gradientEstimate(fPlus: Float32Array, fMinus: Float32Array, directions: Float32Array, queries: number, sigma: number, options: DeviceOption = {}): Promise<Float32Array> {
  const b = rowsOf(fPlus.length, queries, 'queries');
  const d = b > 0 ? Math.floor(directions.length / (b * queries)) : 0;
  const out = new Float32Array(b * d);
  await native().gradientEstimate(resolveDevice(options.device), fPlus, fMinus, directions, queries, sigma, out);
  return out;
}

// ---- random numbers -------------------------------------------------------------------------------

export interface RandomOptions extends DeviceOption {
  seed: Seed;
  /** Position in the stream of the first number (default 0): disjoint offsets give independent draws. */
  offset?: Seed;
}

export interface RandomFillOptions extends RandomOptions {
  /** Where to write the `count` numbers (default: a new array); reusing one spares the garbage collector. */
  out?: Float32Array;
}

function outputOf(count: number, out: Float32Array | undefined): Float32Array {
  if (out && out.length !== count) throw new RangeError(`out holds ${out.length} numbers, expected ${count}`);
  return out ?? new Float32Array(count);
}

/** `count` uniform numbers in [0, 1) from the Philox-4x32-10 stream of (seed, offset); the same on CPU and CUDA. */
export async function randomUniform(count: number, options: RandomFillOptions): Promise<Float32Array> {
  const out = outputOf(count, options.out);
  await native().randomFill(resolveDevice(options.device), 'uniform', options.seed, options.offset ?? 0, out);
  return out;
}

/** `count` standard normal numbers (Box–Muller on Philox-4x32-10) from the stream of (seed, offset). */
export async function randomNormal(count: number, options: RandomFillOptions): Promise<Float32Array> {
  const out = outputOf(count, options.out);
  await native().randomFill(resolveDevice(options.device), 'normal', options.seed, options.offset ?? 0, out);
  return out;
}

export interface RandomBallOptions extends RandomOptions {
  /** The valid input box the samples are clipped to (default [0, 1]). */
  box?: Box;
}

/** Uniform random points in the L∞ or L2 ball of radius ε around each row of x0 [n, d], clipped to the box. */
export async function randomBall(norm: 'linf' | 'l2', x0: Float32Array, d: number, eps: number | Float32Array, options: RandomBallOptions): Promise<Float32Array> {
  const out = new Float32Array(x0.length);
  const { lo, hi } = options.box ?? { lo: 0, hi: 1 };
  await native().randomBall(resolveDevice(options.device), norm, x0, d, perSample(eps, rowsOf(x0.length, d, 'd')), lo, hi, options.seed, options.offset ?? 0, out);
  return out;
}

/** n random unit vectors of dimension d (uniform on the sphere). */
export async function unitDirections(n: number, d: number, options: RandomOptions): Promise<Float32Array> {
  const out = new Float32Array(n * d);
  await native().unitDirections(resolveDevice(options.device), d, options.seed, options.offset ?? 0, out);
  return out;
}

// ---- optimizers -------------------------------------------------------------------------------------

export interface SgdOptions extends DeviceOption {
  lr: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}
export interface SgdState {
  momentumBuffer: Float32Array;
  /** Steps taken so far; sgdStep increments it. */
  step: number;
}

export function sgdState(size: number): SgdState {
  return { momentumBuffer: new Float32Array(size), step: 0 };
}

/** One SGD step in place (PyTorch semantics: momentum, dampening, Nesterov, L2 weight decay). */
export async function sgdStep(params: Float32Array, grad: Float32Array, state: SgdState, o: SgdOptions): Promise<void> {
  await native().sgdStep(resolveDevice(o.device), params, grad, state.momentumBuffer, o.lr, o.momentum ?? 0, o.dampening ?? 0, o.weightDecay ?? 0, o.nesterov ?? false, state.step);
  state.step += 1;
}

export interface AdamOptions extends DeviceOption {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  /** AdamW: decay the weights directly instead of adding weightDecay·p to the gradient. */
  decoupled?: boolean;
}
export interface AdamState {
  m: Float32Array;
  v: Float32Array;
  /** Steps taken so far; adamStep increments it. */
  step: number;
}

export function adamState(size: number): AdamState {
  return { m: new Float32Array(size), v: new Float32Array(size), step: 0 };
}

/** One Adam or AdamW step in place, with bias correction (PyTorch semantics; defaults 0.9, 0.999, 1e-8). */
export async function adamStep(params: Float32Array, grad: Float32Array, state: AdamState, o: AdamOptions): Promise<void> {
  await native().adamStep(resolveDevice(o.device), params, grad, state.m, state.v, o.lr, o.beta1 ?? 0.9, o.beta2 ?? 0.999, o.eps ?? 1e-8, o.weightDecay ?? 0, o.decoupled ?? false, state.step);
  state.step += 1;
}
