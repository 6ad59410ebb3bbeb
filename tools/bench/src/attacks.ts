// What PGD costs beyond the ONNX Runtime passes it cannot avoid. For a small MNIST CNN and a ResNet
// basic block, PGD-10 (L∞) on a batch is timed side by side with the same ORT runs made directly
// (1 clean forward, 10 forward + input-gradient runs, 1 final forward, prebuilt tensors), and its
// time is split into the classifier's calls (ORT plus our feeds and copies) and the rest (native
// step and projection, success bookkeeping). Writes results/attacks.json and prints a table.
// Both sides run with ORT's thread spinning off, as the attack classifier does (--spinning: on).
//   pnpm --filter @onnx-audit/bench bench:attacks [-- --quick] [--batch 128] [--threads N] [--spinning] [--out FILE]
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as ort from 'onnxruntime-node';

import { type DifferentiableClassifier, onnxClassifier, pgd } from '@onnx-audit/attacks';
import { buildGradientModel, createSession, dataInput, encodeModel, logitsModel, runtimeInfo } from '@onnx-audit/onnx';

import { timeInterleaved } from './interleave.js';
import { median } from './timing.js';
import { RESNET_BLOCK, SMALL_CNN } from './models.js';
import { writeJsonAtomic } from './write.js';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    quick: { type: 'boolean', default: false },
    batch: { type: 'string', default: '128' },
    threads: { type: 'string' },
    spinning: { type: 'boolean', default: false },
    out: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'attacks.json') },
  },
});

const SEED = 20261123;
const STEPS = 10;
const batch = Number(values.batch);
const threads = values.threads ? Number(values.threads) : undefined;
const timing = values.quick ? { warmup: 1, repeats: 3 } : { warmup: 2, repeats: 15 };

const MODELS = [SMALL_CNN, RESNET_BLOCK];

/** Times every call the attack makes to the classifier, so the rest of its time is ours alone. */
function timed(classifier: DifferentiableClassifier): { classifier: DifferentiableClassifier; elapsed: () => number; reset: () => void } {
  let ms = 0;
  const wrap = <A extends unknown[], R>(fn: (...a: A) => Promise<R>) => async (...a: A): Promise<R> => {
    const t0 = performance.now();
    try {
      return await fn(...a);
    } finally {
      ms += performance.now() - t0;
    }
  };
  const proxy = Object.create(classifier) as DifferentiableClassifier;
  Object.assign(proxy, { scores: wrap(classifier.scores.bind(classifier)), lossGradient: wrap(classifier.lossGradient.bind(classifier)) });
  return { classifier: proxy, elapsed: () => ms, reset: () => void (ms = 0) };
}

const rows = [];
for (const spec of MODELS) {
  const model = await spec.build(SEED);
  const d = spec.sampleDims.reduce((a, b) => a * b, 1);
  const x = Float32Array.from({ length: batch * d }, (_, i) => ((i * 2654435761) % 1000) / 1000);
  const session = { ...(threads ? { threads } : {}), spinning: values.spinning };
  const base = await onnxClassifier(model, { ...session, batchSize: batch, sampleDims: spec.sampleDims });
  // labels = the model's own predictions and a tiny ε: no sample breaks, so all 10 steps run on the full batch
  const scores = await base.scores(x);
  const labels = Int32Array.from({ length: batch }, (_, i) => {
    let best = 0;
    for (let k = 1; k < 10; k++) if (scores[i * 10 + k] > scores[i * 10 + best]) best = k;
    return best;
  });
  const eps = 1e-4;

  const input = dataInput(model);
  const xs = new ort.Tensor('float32', x, [batch, ...spec.sampleDims]);
  const graph = await buildGradientModel(model, { wrt: [input], head: { kind: 'cross-entropy' }, feeds: { [input]: xs } });
  const gradientSession = await createSession(encodeModel(graph.model), session);
  const forwardSession = await createSession(encodeModel(logitsModel(model).model), session);
  const y = new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [batch]);
  const ortPasses = async () => {
    await forwardSession.run({ [input]: xs });
    for (let s = 0; s < STEPS; s++) await gradientSession.run({ [input]: xs, [graph.labels!]: y });
    await forwardSession.run({ [input]: xs });
  };
  const probe = timed(base);
  const attack = () => pgd(probe.classifier, { x, labels }, { eps, steps: STEPS, seed: SEED });
  const check = await attack();
  if (check.adversarial.some((v, i) => Math.abs(v - x[i]) > eps * 1.001)) throw new Error('PGD left the ball');

  const t = await timeInterleaved({ ortPasses, pgd: attack }, timing);
  // the split, from runs of PGD alone: per run, the time inside the classifier and the rest
  const inside: number[] = [], outside: number[] = [];
  for (let r = 0; r < timing.repeats; r++) {
    probe.reset();
    const t0 = performance.now();
    await attack();
    const total = performance.now() - t0;
    inside.push(probe.elapsed());
    outside.push(total - probe.elapsed());
  }
  const classifierMs = median(inside);
  const ours = t.pgd.medianMs, ortMs = t.ortPasses.medianMs;
  rows.push({
    model: spec.name,
    sampleDims: spec.sampleDims,
    batch,
    steps: STEPS,
    pgdMs: ours,
    ortPassesMs: ortMs,
    overhead: ours / ortMs - 1,
    classifierCallsMs: classifierMs,
    stepsAndBookkeepingMs: median(outside),
    samplesPerSecond: (batch / ours) * 1000,
  });
  await Promise.all([base.release(), gradientSession.release(), forwardSession.release()]);
}

const info = runtimeInfo();
await writeJsonAtomic(values.out, {
  benchmark: 'PGD-10 (L∞) against the ONNX Runtime passes alone',
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model },
  onnxruntime: info.version,
  threads: threads ?? 'ORT default',
  spinning: values.spinning,
  timing,
  rows,
});
console.table(rows.map((r) => ({
  model: r.model,
  'PGD-10 ms': r.pgdMs.toFixed(1),
  'ORT alone ms': r.ortPassesMs.toFixed(1),
  overhead: `${(r.overhead * 100).toFixed(1)}%`,
  'classifier calls ms': r.classifierCallsMs.toFixed(1),
  'steps+bookkeeping ms': r.stepsAndBookkeepingMs.toFixed(1),
  'samples/s': r.samplesPerSecond.toFixed(0),
})));
console.log(`wrote ${values.out}`);
