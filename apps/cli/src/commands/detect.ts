// `onnx-audit detect`: feature-squeezing detection (Xu, Evans & Qi 2018) of the adversarial
// examples `attack --out` wrote. The threshold is chosen on one half of the clean data (a seeded
// split) for the target false-positive rate and judged on the other half, so the reported rate is
// not the one the threshold was fitted to.
import { Command } from 'commander';

import { defaultSqueezers, featureSqueezing, type FeatureSqueezingDetector, formatSqueezer, type InputTransform, parseTransforms, thresholdForFpr } from '@onnx-audit/attacks';
import { type NdArray, readNpz, SeededRandom } from '@onnx-audit/data';
import { inspectModel, readModel } from '@onnx-audit/onnx';

import { addDataOptions, dataOptions, readLabelledData } from '../dataset.js';
import { UserError } from '../errors.js';
import { addInputSpaceOptions, checkInputRange, type InputSpaceFlags, modelInUserSpace } from '../input-space.js';
import { parseInteger } from '../numbers.js';
import { addRuntimeOptions, type RuntimeFlags, runtimeOptions } from '../runtime-options.js';

interface DetectFlags extends InputSpaceFlags, RuntimeFlags {
  model: string;
  data: string;
  adversarial: string;
  squeezers?: string;
  fpr: string;
  seed: string;
  json?: boolean;
  resize?: string;
}

export function detectCommand(): Command {
  return addRuntimeOptions(addDataOptions(addInputSpaceOptions(new Command('detect')
    .description('feature-squeezing detection: threshold at a target false-positive rate on clean data, detection rate on adversarial examples')
    .requiredOption('--model <file>', 'the .onnx classifier')
    .requiredOption('--data <source>', 'clean data: .npz (x float32 batch first, y integer labels), .csv, an image folder, or builtin:NAME')
    .requiredOption('--adversarial <file>', 'the .npz `onnx-audit attack --out` wrote (x_adv, success)')
    .option('--squeezers <list>', 'squeezers separated by ";", each a chain as defend --transform takes it (default: bits:1;median:2;median:3 for greyscale images, bits:5;median:2 for colour)')
    .option('--fpr <rate>', 'target false-positive rate on clean data, in (0, 1)', '0.05')
    .option('--seed <s>', 'seeds the split of the clean data into calibration and held-out halves', '0')
    .option('--json', 'print one JSON object instead of a summary')
    .addHelpText('after', `
The score of an input is the largest L1 distance between the model's softmax on it and on any
squeezed copy; it is flagged when the score exceeds the threshold. Bit-depth squeezers assume
inputs in [0, 1]; squeezers run on the input before any --mean/--std normalisation.

Example:
  onnx-audit attack --model cnn.onnx --data test.npz --attack pgd --eps 0.1 --out adv.npz
  onnx-audit detect --model cnn.onnx --data test.npz --adversarial adv.npz --fpr 0.05`))))
    .action(async (o: DetectFlags) => {
      const fpr = Number(o.fpr);
      if (!(fpr > 0 && fpr < 1)) throw new UserError(`--fpr must be a rate in (0, 1), got '${o.fpr}'`);
      const seed = parseInteger('--seed', o.seed, 0);
      const session = runtimeOptions(o);
      const model = modelInUserSpace(await readModel(o.model), o);
      const clean = await readLabelledData(o.data, inspectModel(model), dataOptions(o));
      checkInputRange(o.data, clean.x, o);
      const adversarial = await readAdversarial(o.adversarial, clean.sampleDims);
      checkInputRange(o.adversarial, adversarial.x, o);
      const squeezers = parseSqueezers(o.squeezers, clean.sampleDims);
      const n = clean.labels.length;
      if (n < 2) throw new UserError(`${o.data}: holds ${n} sample; the clean data is split in two halves, so it needs at least 2`);

      let detector: FeatureSqueezingDetector;
      try {
        detector = await featureSqueezing(model, squeezers, { ...session, sampleDims: clean.sampleDims });
      } catch (error) {
        if (error instanceof RangeError) throw new UserError(`--squeezers: ${error.message}`);
        throw error;
      }
      try {
        const cleanScores = await detector.evaluate(clean.x);
        const adversarialScores = await detector.evaluate(adversarial.x);
        const { calibration, heldOut } = split(n, seed);
        const threshold = thresholdForFpr(Array.from(calibration, (i) => cleanScores.score[i]), fpr);
        const rate = (rows: ArrayLike<number>, values: Float64Array) => (rows.length === 0 ? null : Array.from(rows).filter((i) => values[i] > threshold).length / rows.length);
        const all = Array.from(adversarial.success.keys());
        const successful = all.filter((i) => adversarial.success[i]);
        const detected = successful.filter((i) => adversarialScores.score[i] > threshold);
        print(o, {
          squeezers: squeezers.map(formatSqueezer),
          fpr,
          seed,
          threshold,
          calibrationSamples: calibration.length,
          heldOutSamples: heldOut.length,
          calibrationFpr: rate(calibration, cleanScores.score)!,
          heldOutFpr: rate(heldOut, cleanScores.score)!,
          adversarialSamples: all.length,
          successfulAdversarial: successful.length,
          detectionRate: rate(successful, adversarialScores.score),
          detectionRateAll: rate(all, adversarialScores.score)!,
          perSqueezer: squeezers.map((chain, s) => {
            const distance = adversarialScores.distances[s];
            return {
              squeezer: formatSqueezer(chain),
              heldOutFpr: rate(heldOut, cleanScores.distances[s])!,
              detectionRate: rate(successful, distance),
              // the detected examples whose score is this squeezer's distance (ties count for each)
              decisive: detected.length === 0 ? null : detected.filter((i) => distance[i] === adversarialScores.score[i]).length / detected.length,
            };
          }),
        });
      } finally {
        await detector.release();
      }
    });
}

interface Adversarial {
  x: Float32Array;
  success: Uint8Array;
}

async function readAdversarial(file: string, sampleDims: number[]): Promise<Adversarial> {
  const arrays: Record<string, NdArray> = await readNpz(file);
  const { x_adv: x, success } = arrays;
  if (!x || !success) throw new UserError(`${file}: needs arrays 'x_adv' and 'success' (as onnx-audit attack --out writes); it holds ${Object.keys(arrays).join(', ') || 'none'}`);
  if (x.dtype !== 'float32') throw new UserError(`${file}: x_adv is ${x.dtype}; save it as float32`);
  if (x.shape.length !== sampleDims.length + 1 || x.shape.slice(1).some((d, i) => d !== sampleDims[i])) {
    throw new UserError(`${file}: x_adv has shape [${x.shape}], the clean data's samples are [${sampleDims}]`);
  }
  if (x.shape[0] === 0) throw new UserError(`${file}: x_adv holds no samples`);
  if (success.dtype !== 'bool' || success.shape.length !== 1 || success.shape[0] !== x.shape[0]) {
    throw new UserError(`${file}: success is ${success.dtype} [${success.shape}]; expected bool [${x.shape[0]}], one per sample of x_adv`);
  }
  const data = x.data as Float32Array;
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new UserError(`${file}: x_adv holds ${data[bad]} at flat index ${bad}`);
  return { x: data, success: success.data as Uint8Array };
}

function parseSqueezers(spec: string | undefined, sampleDims: number[]): InputTransform[][] {
  try {
    return spec === undefined ? defaultSqueezers(sampleDims) : spec.split(';').map((chain) => parseTransforms(chain));
  } catch (error) {
    if (error instanceof RangeError) throw new UserError(`--squeezers: ${error.message}`);
    throw error;
  }
}

/** The clean rows shuffled by `seed`: the first ⌈n/2⌉ choose the threshold, the rest judge it. */
function split(n: number, seed: number): { calibration: Int32Array; heldOut: Int32Array } {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  new SeededRandom(seed).shuffle(order);
  const half = Math.ceil(n / 2);
  return { calibration: order.slice(0, half), heldOut: order.slice(half) };
}

interface DetectReport {
  squeezers: string[];
  fpr: number;
  seed: number;
  threshold: number;
  calibrationSamples: number;
  heldOutSamples: number;
  calibrationFpr: number;
  heldOutFpr: number;
  adversarialSamples: number;
  successfulAdversarial: number;
  /** Over the successful adversarial examples; null when there are none. */
  detectionRate: number | null;
  detectionRateAll: number;
  perSqueezer: Array<{ squeezer: string; heldOutFpr: number; detectionRate: number | null; decisive: number | null }>;
}

function print(o: DetectFlags, r: DetectReport): void {
  if (o.json) {
    console.log(JSON.stringify(r));
    return;
  }
  const percent = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(2)}%`);
  console.log([
    `feature squeezing (${r.squeezers.join('; ')}), target false-positive rate ${percent(r.fpr)}, seed ${r.seed}`,
    `threshold ${r.threshold.toPrecision(6)}, chosen on ${r.calibrationSamples} clean samples (false positives there ${percent(r.calibrationFpr)})`,
    `false-positive rate on the ${r.heldOutSamples} held-out clean samples: ${percent(r.heldOutFpr)}`,
    `detection rate: ${percent(r.detectionRate)} of the ${r.successfulAdversarial} successful adversarial examples, ${percent(r.detectionRateAll)} of all ${r.adversarialSamples}`,
    'per squeezer, at the same threshold (held-out FPR, detection of successful examples, share of detections it decides):',
    ...r.perSqueezer.map((p) => `  ${p.squeezer}: ${percent(p.heldOutFpr)}, ${percent(p.detectionRate)}, ${percent(p.decisive)}`),
  ].join('\n'));
}
