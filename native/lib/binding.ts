// The native addon's surface, declared by hand in one place: every export of onnx_audit.node with
// its exact argument order. Only lib/ talks to it; the rest of the project uses the typed wrappers
// in lib/index.ts. Kernel calls touching over about 1 MB return a Promise (they run off the JS
// thread); smaller ones finish synchronously and return their result directly.

export type DeviceName = 'cpu' | 'cuda';
export type Pending<T = void> = T | Promise<T>;
export type Seed = bigint | number;

export interface NativeCapabilities {
  version: string;
  napiVersion: number;
  /** CPU worker threads per kernel call in this environment. */
  threads: number;
  hardwareThreads: number;
  /** Built with ONNX_AUDIT_CUDA. */
  cudaCompiled: boolean;
  /** A CUDA device answered. */
  cuda: boolean;
  device?: string;
  cudaReason?: string;
  cudaRuntimeVersion?: number;
  cudaDriverVersion?: number;
}

export interface NativeAddon {
  capabilities(): NativeCapabilities;
  setThreads(threads: number): void;

  softmax(device: DeviceName, logits: Float32Array, k: number, temperature: number, log: boolean, out: Float32Array): Pending;
  /** out: Float64Array(7n), column-major in the order of METRICS. */
  membershipMetrics(device: DeviceName, logits: Float32Array, labels: Int32Array, k: number, out: Float64Array): Pending;
  nllTemperature(device: DeviceName, logits: Float32Array, labels: Int32Array, k: number, temperature: number): Pending<{ nll: number; d1: number; d2: number }>;
  /** out: Float64Array(5 bins): count, mean confidence, accuracy, lower edge, upper edge. */
  calibrationBins(device: DeviceName, confidence: Float32Array, correct: Uint8Array, bins: number, binning: 'equal-width' | 'equal-mass', out: Float64Array): Pending;
  roc(device: DeviceName, scores: Float32Array, labels: Uint8Array, fprTargets: Float64Array, tprAt: Float64Array, curveFpr: Float64Array, curveTpr: Float64Array, curveThreshold: Float64Array): Pending<{ auc: number; points: number }>;

  attackStep(device: DeviceName, kind: 'sign' | 'l2' | 'l1', x: Float32Array, grad: Float32Array, d: number, alpha: Float32Array, l1k: number, out: Float32Array): Pending;
  project(device: DeviceName, norm: 'linf' | 'l2' | 'l1', v: Float32Array, x0: Float32Array, d: number, eps: Float32Array, lo: number, hi: number, out: Float32Array): Pending;
  /** out: Float64Array(4n), column-major: L0, L1, L2, L∞. */
  perturbationNorms(device: DeviceName, delta: Float32Array, d: number, out: Float64Array): Pending;
  gradientEstimate(device: DeviceName, fPlus: Float32Array, fMinus: Float32Array, u: Float32Array, queries: number, sigma: number, out: Float32Array): Pending;
  randomFill(device: DeviceName, distribution: 'uniform' | 'normal', seed: Seed, offset: Seed, out: Float32Array): Pending;
  randomBall(device: DeviceName, norm: 'linf' | 'l2', x0: Float32Array, d: number, eps: Float32Array, lo: number, hi: number, seed: Seed, offset: Seed, out: Float32Array): Pending;
  unitDirections(device: DeviceName, d: number, seed: Seed, offset: Seed, out: Float32Array): Pending;

  sgdStep(device: DeviceName, params: Float32Array, grad: Float32Array, momentumBuffer: Float32Array, lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean, step: number): Pending;
  /** Best-of-`repeats` copy bandwidth in GB/s (read + write) over buffers of `bytes`. */
  copyBandwidth(device: DeviceName, bytes: number, repeats: number): Promise<number>;
  adamStep(device: DeviceName, params: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: boolean, step: number): Pending;
}
