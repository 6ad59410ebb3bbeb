// The benchmarked kernels at realistic sizes: metrics over 1M×10 (CIFAR-size audits) and
// 100k×1000 (ImageNet-size) logits, attack kernels over an ImageNet batch 256×3×224×224,
// optimizers over ResNet-18's 11.7M parameters. `bytes` counts the least traffic a kernel needs
// (every input read once, every output written once). The float64 reference runs on the first
// `referenceFraction` of the rows where the whole would take minutes.
import * as native from '@onnx-audit/native';
import * as ref from '@onnx-audit/native/reference';

export interface Case {
  kernel: string;
  shape: string;
  bytes: number;
  native: () => Promise<unknown>;
  reference: () => unknown;
  referenceFraction: number;
}

const SEED = 20261123;

async function logits(n: number, k: number): Promise<Float32Array> {
  const z = await native.randomNormal(n * k, { seed: SEED });
  for (let i = 0; i < z.length; i++) z[i] *= 4;
  return z;
}

function labels(n: number, k: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => (i * 7919) % k);
}

async function uniform(count: number, offset: number, scale = 1, shift = 0): Promise<Float32Array> {
  const u = await native.randomUniform(count, { seed: SEED, offset });
  if (scale !== 1 || shift !== 0) for (let i = 0; i < u.length; i++) u[i] = u[i] * scale + shift;
  return u;
}

const fraction = (rows: number, referenceRows: number) => Math.min(rows, referenceRows) / rows;

function probabilityCases(quick: boolean): Array<() => Promise<Case>> {
  const shapes: Array<[number, number]> = quick ? [[100_000, 10], [10_000, 1000]] : [[1_000_000, 10], [100_000, 1000]];
  const list: Array<() => Promise<Case>> = [];
  for (const [n, k] of shapes) {
    const shape = `${n}×${k}`;
    list.push(async () => {
      const z = await logits(n, k);
      const out = new Float32Array(z.length);
      const rows = Math.min(n, 100_000);
      return { kernel: 'softmax', shape, bytes: 8 * n * k, native: () => native.softmax(z, k, { temperature: 1.5, out }), reference: () => ref.softmax(z.subarray(0, rows * k), k, 1.5), referenceFraction: fraction(n, rows) };
    });
    list.push(async () => {
      const z = await logits(n, k);
      const y = labels(n, k);
      const rows = Math.min(n, 100_000);
      return { kernel: 'membership metrics', shape, bytes: 4 * n * k + 4 * n + 56 * n, native: () => native.membershipMetrics(z, y, k), reference: () => ref.membershipMetrics(z.subarray(0, rows * k), y.subarray(0, rows), k), referenceFraction: fraction(n, rows) };
    });
    list.push(async () => {
      const z = await logits(n, k);
      const y = labels(n, k);
      return { kernel: 'NLL(T) + derivatives', shape, bytes: 4 * n * k + 4 * n, native: () => native.nllTemperature(z, y, k, 1.5), reference: () => ref.nllTemperature(z, y, k, 1.5), referenceFraction: 1 };
    });
  }
  const n = quick ? 100_000 : 1_000_000;
  for (const binning of ['equal-width', 'equal-mass'] as const) {
    list.push(async () => {
      const conf = await uniform(n, 1);
      const correct = Uint8Array.from(conf, (c, i) => (c > ((i * 7) % 10) / 10 ? 1 : 0));
      return { kernel: `calibration bins (${binning})`, shape: `${n}, 15 bins`, bytes: 5 * n, native: () => native.calibrationBins(conf, correct, { binning }), reference: () => ref.calibrationBins(conf, correct, 15, binning), referenceFraction: 1 };
    });
  }
  list.push(async () => {
    const scores = await uniform(n, 2);
    const y = Uint8Array.from(scores, (s, i) => (s + ((i * 13) % 10) / 20 > 0.7 ? 1 : 0));
    return { kernel: 'ROC (AUC, TPR@FPR)', shape: `${n}`, bytes: 5 * n + 24 * (n + 1), native: () => native.roc(scores, y), reference: () => ref.roc(scores, y, [0.001, 0.01, 0.1]), referenceFraction: 1 };
  });
  return list;
}

function attackCases(quick: boolean): Array<() => Promise<Case>> {
  const n = quick ? 16 : 256;
  const d = 3 * 224 * 224;
  const shape = `${n}×3×224×224`;
  const list: Array<() => Promise<Case>> = [];
  const alpha = new Float32Array(n).fill(2 / 255);
  const eps = new Float32Array(n).fill(8 / 255);
  const referenceRows = 8;
  for (const kind of ['sign', 'l2'] as const) {
    list.push(async () => {
      const x = await uniform(n * d, 3);
      const g = await uniform(n * d, 4, 2, -1);
      const out = new Float32Array(x.length);
      const rows = kind === 'sign' ? n : referenceRows;
      return { kernel: `attack step (${kind})`, shape, bytes: 12 * n * d, native: () => native.attackStep(kind, x, g, d, alpha, { out }), reference: () => ref.attackStep(kind, x.subarray(0, rows * d), g.subarray(0, rows * d), d, alpha.subarray(0, rows)), referenceFraction: fraction(n, rows) };
    });
  }
  list.push(async () => {
    const small = 3 * 32 * 32;
    const rows = quick ? 256 : 4096;
    const x = await uniform(rows * small, 5);
    const g = await uniform(rows * small, 6, 2, -1);
    const k = Math.ceil(small / 100);
    return { kernel: 'attack step (L1 top-1%)', shape: `${rows}×3×32×32`, bytes: 12 * rows * small, native: () => native.attackStep('l1', x, g, small, 0.5, { l1TopK: k }), reference: () => ref.attackStep('l1', x.subarray(0, 256 * small), g.subarray(0, 256 * small), small, new Float32Array(256).fill(0.5), k), referenceFraction: fraction(rows, 256) };
  });
  for (const norm of ['linf', 'l2', 'l1'] as const) {
    list.push(async () => {
      const x0 = await uniform(n * d, 7);
      const v = await uniform(n * d, 8, 0.2, -0.1);
      for (let i = 0; i < v.length; i++) v[i] += x0[i];
      const radius = norm === 'linf' ? eps : new Float32Array(n).fill(norm === 'l2' ? 3 : 200);
      const out = new Float32Array(v.length);
      const rows = norm === 'linf' ? n : 2;
      return { kernel: `projection (${norm} ∩ box)`, shape, bytes: 12 * n * d, native: () => native.project(norm, v, x0, d, radius, { out }), reference: () => ref.project(norm, v.subarray(0, rows * d), x0.subarray(0, rows * d), d, radius.subarray(0, rows), 0, 1), referenceFraction: fraction(n, rows) };
    });
  }
  list.push(async () => {
    const delta = await uniform(n * d, 9, 0.1, -0.05);
    return { kernel: 'perturbation norms', shape, bytes: 4 * n * d + 32 * n, native: () => native.perturbationNorms(delta, d), reference: () => ref.perturbationNorms(delta, d), referenceFraction: 1 };
  });
  list.push(async () => {
    const [b, q, dd] = [64, 100, 3072];
    const fp = await uniform(b * q, 10), fm = await uniform(b * q, 11), u = await uniform(b * q * dd, 12, 2, -1);
    return { kernel: 'gradient estimate', shape: `${b}×${q}×${dd}`, bytes: 4 * (b * q * dd + 2 * b * q + b * dd), native: () => native.gradientEstimate(fp, fm, u, q, 0.01), reference: () => ref.gradientEstimate(fp, fm, u, q, dd, 0.01), referenceFraction: 1 };
  });
  return list;
}

function randomCases(quick: boolean): Array<() => Promise<Case>> {
  const count = quick ? 1 << 20 : 1 << 24;
  const list: Array<() => Promise<Case>> = [];
  list.push(async () => ({ kernel: 'random uniform', shape: `${count}`, bytes: 4 * count, native: () => native.randomUniform(count, { seed: 1 }), reference: () => ref.randomUniform(1n, 0, count / 16), referenceFraction: 1 / 16 }));
  list.push(async () => ({ kernel: 'random normal', shape: `${count}`, bytes: 4 * count, native: () => native.randomNormal(count, { seed: 1 }), reference: () => ref.randomNormal(1n, 0, count / 16), referenceFraction: 1 / 16 }));
  const n = quick ? 16 : 256, d = 3 * 224 * 224;
  list.push(async () => {
    const x0 = await uniform(n * d, 13);
    const eps = new Float32Array(n).fill(8 / 255);
    return { kernel: 'random L∞ ball', shape: `${n}×3×224×224`, bytes: 8 * n * d, native: () => native.randomBall('linf', x0, d, eps, { seed: 2 }), reference: () => ref.randomLinfBall(x0.subarray(0, 4 * d), d, eps.subarray(0, 4), 0, 1, 2n, 0), referenceFraction: fraction(n, 4) };
  });
  return list;
}

function optimizerCases(quick: boolean): Array<() => Promise<Case>> {
  const size = quick ? 1 << 20 : 11_689_512; // ResNet-18
  const shape = `${size}`;
  return [
    async () => {
      const p = await uniform(size, 14), g = await uniform(size, 15, 2, -1);
      const state = native.sgdState(size), p64 = Float64Array.from(p), buf64 = new Float64Array(size);
      return { kernel: 'SGD (momentum 0.9, wd)', shape, bytes: 20 * size, native: () => native.sgdStep(p, g, state, { lr: 0.01, momentum: 0.9, weightDecay: 5e-4 }), reference: () => ref.sgdStep(p64, g, buf64, { lr: 0.01, momentum: 0.9, dampening: 0, weightDecay: 5e-4, nesterov: false }, 1), referenceFraction: 1 };
    },
    async () => {
      const p = await uniform(size, 16), g = await uniform(size, 17, 2, -1);
      const state = native.adamState(size), p64 = Float64Array.from(p), m64 = new Float64Array(size), v64 = new Float64Array(size);
      const o = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true };
      return { kernel: 'AdamW', shape, bytes: 28 * size, native: () => native.adamStep(p, g, state, o), reference: () => ref.adamStep(p64, g, m64, v64, o, 1), referenceFraction: 1 };
    },
  ];
}

export function cases(quick: boolean): Array<() => Promise<Case>> {
  return [...probabilityCases(quick), ...attackCases(quick), ...randomCases(quick), ...optimizerCases(quick)];
}
