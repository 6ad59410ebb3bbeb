// Temperature scaling at scale: the fit on 1M × 100 logits (safeguarded Newton on log T over the
// native NLL-derivative kernel) against plain gradient descent on log T written in TypeScript,
// in the same run on the same data. Reports time and passes over the data for each, and the
// ratios. Writes results/calibration.json.
//   pnpm --filter @onnx-audit/bench bench:calibration [-- --quick] [--out FILE]
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { fitTemperature } from '@onnx-audit/calibration';
import * as native from '@onnx-audit/native';

import { median } from './timing.js';
import { writeJsonAtomic } from './write.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'calibration.json') },
  },
});

const n = values.quick ? 100_000 : 1_000_000;
const classes = 100;
const trueTemperature = 2.5;
const seed = 20261123n;

/** Logits N(0, 3²) and labels drawn from softmax(z / 2.5): the optimal T is close to 2.5. */
async function overconfidentLogits(): Promise<{ logits: Float32Array; labels: Int32Array }> {
  const logits = (await native.randomNormal(n * classes, { seed })).map((v) => 3 * v);
  const u = await native.randomUniform(n, { seed, offset: BigInt(n * classes) });
  const labels = new Int32Array(n);
  const p = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, logits[i * classes + k] / trueTemperature);
    let total = 0;
    for (let k = 0; k < classes; k++) total += p[k] = Math.exp(logits[i * classes + k] / trueTemperature - max);
    let left = u[i] * total;
    let k = 0;
    while (k < classes - 1 && (left -= p[k]) >= 0) k++;
    labels[i] = k;
  }
  return { logits, labels };
}

/** Mean NLL of softmax(z / T) and its derivative in log T, in float64: one pass. */
function nllAndSlope(logits: Float32Array, labels: Int32Array, t: number): { nll: number; slope: number } {
  let nll = 0;
  let slope = 0;
  for (let i = 0; i < n; i++) {
    const row = i * classes;
    let max = -Infinity;
    for (let k = 0; k < classes; k++) max = Math.max(max, logits[row + k]);
    let total = 0;
    let weighted = 0;
    for (let k = 0; k < classes; k++) {
      const e = Math.exp((logits[row + k] - max) / t);
      total += e;
      weighted += e * logits[row + k];
    }
    const mean = weighted / total; // E_p[z]
    nll += Math.log(total) - (logits[row + labels[i]] - max) / t;
    // d/du (u = log T) of [log Σ exp(z/T) − z_y/T] = (z_y − E_p[z]) / T
    slope += (logits[row + labels[i]] - mean) / t;
  }
  return { nll: nll / n, slope: slope / n };
}

/**
 * Gradient descent on log T, with Barzilai–Borwein step sizes after a first step of 1 (a fixed
 * step is either slow or unstable here: the NLL is very flat in log T near its optimum), until
 * within `target` of T* or out of passes.
 */
function gradientDescent(logits: Float32Array, labels: Int32Array, optimum: number, target: number, maxPasses: number) {
  const began = performance.now();
  let u = 0;
  let step = 1;
  let previous: { u: number; slope: number } | undefined;
  let passes = 0;
  while (passes < maxPasses && Math.abs(Math.exp(u) - optimum) / optimum > target) {
    const { slope } = nllAndSlope(logits, labels, Math.exp(u));
    passes++;
    if (previous && slope !== previous.slope) step = Math.abs((u - previous.u) / (slope - previous.slope));
    previous = { u, slope };
    u -= step * slope;
  }
  return { temperature: Math.exp(u), passes, seconds: (performance.now() - began) / 1000, relativeError: Math.abs(Math.exp(u) - optimum) / optimum };
}

const { logits, labels } = await overconfidentLogits();
const fits = [];
for (let r = 0; r < 3; r++) {
  const began = performance.now();
  const calibrator = await fitTemperature(logits, labels, classes);
  const { fit } = calibrator.describe();
  fits.push({ temperature: calibrator.temperature, passes: fit.passes, seconds: (performance.now() - began) / 1000 });
}
const newton = { ...fits[0], seconds: median(fits.map((f) => f.seconds)) };
const perPassTs = (() => {
  const began = performance.now();
  nllAndSlope(logits, labels, newton.temperature);
  return (performance.now() - began) / 1000;
})();
const descent = gradientDescent(logits, labels, newton.temperature, 1e-6, 60);

const result = {
  benchmark: 'calibration',
  date: new Date().toISOString(),
  config: { quick: values.quick, samples: n, classes, trueTemperature, seed: String(seed), descent: 'Barzilai–Borwein steps on log T, first step 1' },
  machine: { cpu: cpus()[0]?.model.trim(), cores: cpus().length, memoryBytes: totalmem(), node: process.version },
  native: native.capabilities(),
  newton: { ...newton, secondsPerPass: newton.seconds / newton.passes },
  typescriptDescent: { ...descent, secondsPerPass: perPassTs },
  ratios: {
    perPass: perPassTs / (newton.seconds / newton.passes),
    passes: descent.passes / newton.passes,
    total: descent.seconds / newton.seconds,
  },
};
await writeJsonAtomic(values.out, result);
console.log(`temperature fit on ${n} × ${classes} logits (true T ${trueTemperature})`);
console.log(`  Newton (native kernel): T = ${newton.temperature.toFixed(6)} in ${newton.passes} passes, ${newton.seconds.toFixed(3)} s (${(newton.seconds / newton.passes).toFixed(3)} s/pass)`);
console.log(`  gradient descent (TS):  T = ${descent.temperature.toFixed(6)} in ${descent.passes} passes, ${descent.seconds.toFixed(2)} s (${perPassTs.toFixed(3)} s/pass), relative error ${descent.relativeError.toExponential(1)}`);
console.log(`  ratios: ${result.ratios.perPass.toFixed(1)}× per pass, ${result.ratios.passes.toFixed(1)}× passes, ${result.ratios.total.toFixed(1)}× total`);
console.log(`wrote ${values.out}`);
