// What a gradient costs next to the forward pass it differentiates, for a small MNIST CNN and a
// ResNet basic block: ONNX Runtime's forward pass, forward + input gradient (what white-box
// attacks pay per step), the real training step (forward in BatchNorm training mode + weight
// gradients, weights fed as inputs, then the native Adam step on the flat parameter vector) and
// the trainer's end-to-end throughput, all per sample and as ratios to the forward pass. Writes
// results/training.json and prints a table.
//   pnpm --filter @onnx-audit/bench bench:training [-- --quick] [--threads N] [--batch 64,1] [--profile] [--spinning] [--out FILE]
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { clone, create } from '@bufbuild/protobuf';
import { AttributeProto_AttributeType as AT, AttributeProtoSchema, type ModelProto, ModelProtoSchema, ValueInfoProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';

import * as native from '@onnx-audit/native';
import {
  buildGradientModel,
  buildTrainingGraph,
  dataInput,
  encodeModel,
  logitsModel,
  parameterLayout,
  type ParameterLayout,
  runtimeInfo,
  type Slot,
  slotsAsInputs,
  tensorToArray,
  train,
  type TrainingGraph,
} from '@onnx-audit/onnx';

import { type Timing, timeInterleaved } from './interleave.js';
import { type BenchModel, RESNET_BLOCK, SMALL_CNN } from './models.js';
import { median } from './timing.js';
import { writeJsonAtomic } from './write.js';

const { values } = parseArgs({
  // pnpm forwards a literal '--' before script arguments
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    quick: { type: 'boolean', default: false },
    threads: { type: 'string' },
    batch: { type: 'string' },
    profile: { type: 'boolean', default: false },
    spinning: { type: 'boolean', default: false },
    out: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'training.json') },
  },
});

const SEED = 20261123;
const CLASSES = 10;
const quick = values.quick;
const threads = values.threads ? Number(values.threads) : undefined;
const batchSizes = (values.batch ?? (quick ? '64' : '64,1')).split(',').map(Number);
const timing = quick ? { warmup: 2, repeats: 5 } : { warmup: 5, repeats: 61 };
// train() runs alone, not interleaved: repeated, and the median taken, so that one slow phase of
// the machine does not make the figure (on a 2-vCPU VM, phases of seconds where ONNX Runtime's
// two-thread runs take 3× as long, while single-threaded work is unaffected; see the README on
// --single-threaded-gc).
const trainer = quick ? { samples: 256, epochs: 1, runs: 1 } : { samples: 2048, epochs: 2, runs: 5 };
const LR = 1e-3;

const BENCHES = [SMALL_CNN, RESNET_BLOCK];

/** The measured variants, in the order they run within each repeat. */
const VARIANTS = {
  forward: 'ORT forward (weights as initializers, eval mode)',
  forwardFed: 'forward, weights fed as inputs (eval mode)',
  forwardFedTrainMode: 'forward, weights fed as inputs, BatchNorm training mode',
  inputGradient: 'forward + input gradient (cross-entropy, buildGradientModel wrt input)',
  weightGradients: 'forward + weight gradients (buildTrainingGraph: BN training mode, weights fed)',
  adam: 'native Adam step on the flat parameter vector',
  trainingStep: 'training step: weight-gradient run + copy gradients/statistics out + Adam',
} as const;
type Variant = keyof typeof VARIANTS;

interface VariantRow extends Timing {
  variant: Variant;
  what: string;
  usPerSample: number;
  /** medianMs over the forward pass's medianMs. */
  ratioToForward: number;
  /** minMs over the forward pass's minMs: the same ratio on the machine's quietest runs. */
  minRatioToForward: number;
}

interface TrainerEpoch {
  epoch: number;
  seconds: number;
  samplesPerSecond: number;
  loss: number;
}

interface TrainerRow {
  samples: number;
  batchSize: number;
  /** Each run's epochs, as train() reported them. */
  runs: TrainerEpoch[][];
  /** Median over the runs of the last epoch's (the first includes ONNX Runtime's first-run allocations). */
  samplesPerSecond: number;
  /** The fastest run's last epoch. */
  bestSamplesPerSecond: number;
  usPerSample: number;
  ratioToForward: number;
  /** Trainer µs/sample over the isolated training step's: the trainer's own overhead (batch gathering, labels, accuracy), or noise. */
  ratioToTrainingStep: number;
}

interface ProfileRow {
  op: string;
  nodes: number;
  /** Mean per run. */
  ms: number;
  share: number;
}

interface ProfileNode {
  node: string;
  op: string;
  /** Input shapes, as ONNX Runtime logged them. */
  inputs: string;
  ms: number;
  share: number;
}

interface Profile {
  byOp: ProfileRow[];
  /** The slowest nodes. */
  top: ProfileNode[];
}

/**
 * Sessions as `createSession` opens them on the CPU (all graph optimisations, the thread count),
 * except that the intra-op threads do not spin after a run (ORT's default is to spin): with several
 * sessions run in turn on a small machine, the pool of the session that just ran would otherwise
 * keep spinning on the cores the next one needs, and inflate whichever runs next (measured on 2
 * cores: interleaved medians up to 2× the times of each run alone). `--spinning` restores the default.
 */
function benchSession(model: ModelProto, extra: Partial<ort.InferenceSession.SessionOptions> = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(encodeModel(model), {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    ...(threads ? { intraOpNumThreads: threads } : {}),
    ...(values.spinning ? {} : { extra: { session: { intra_op: { allow_spinning: '0' } } } }),
    ...extra,
  });
}

/** Deterministic uniform [0, 1) samples and labels. */
async function data(n: number, sampleSize: number, offset: number): Promise<{ x: Float32Array; labels: Int32Array }> {
  const x = await native.randomUniform(n * sampleSize, { seed: SEED, offset: BigInt(offset) });
  const u = await native.randomUniform(n, { seed: SEED + 1, offset: BigInt(offset) });
  return { x, labels: Int32Array.from(u, (v) => Math.min(CLASSES - 1, Math.floor(v * CLASSES))) };
}

function gather(model: ModelProto, slots: Slot[], count: number): Float32Array {
  const byName = new Map(model.graph!.initializer.map((t) => [t.name, t]));
  const out = new Float32Array(count);
  for (const slot of slots) out.set(tensorToArray(byName.get(slot.name)!) as Float32Array, slot.offset);
  return out;
}

/** The logits-only model with parameters and BatchNorm statistics as graph inputs, optionally in BN training mode. */
function fedModel(model: ModelProto, layout: ParameterLayout, trainingMode: boolean): ModelProto {
  const copy = clone(ModelProtoSchema, logitsModel(model).model);
  slotsAsInputs(copy, [...layout.parameters, ...layout.statistics]);
  if (trainingMode) {
    const graph = copy.graph!;
    for (const node of graph.node) {
      if (node.opType !== 'BatchNormalization') continue;
      node.attribute = node.attribute.filter((a) => a.name !== 'training_mode');
      node.attribute.push(create(AttributeProtoSchema, { name: 'training_mode', type: AT.INT, i: 1n }));
      node.output.splice(1, node.output.length - 1, `${node.output[0]}/running_mean`, `${node.output[0]}/running_var`);
      // Listed as outputs, as the training graph lists them, so the forward computes them too.
      for (const name of node.output.slice(1)) graph.output.push(create(ValueInfoProtoSchema, { name }));
    }
  }
  return copy;
}

function slotFeeds(layout: ParameterLayout, parameters: Float32Array, statistics: Float32Array): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const s of layout.parameters) feeds[s.name] = new ort.Tensor('float32', parameters.subarray(s.offset, s.offset + s.size), s.dims);
  for (const s of layout.statistics) feeds[s.name] = new ort.Tensor('float32', statistics.subarray(s.offset, s.offset + s.size), s.dims);
  return feeds;
}

/** Per-op time of a session's runs from ONNX Runtime's profiler (node events, averaged per run). */
async function profileOps(model: ModelProto, feeds: Record<string, ort.Tensor>, runs: number): Promise<Profile> {
  const dir = await mkdtemp(join(tmpdir(), 'onnx-audit-profile-'));
  try {
    const session = await benchSession(model, { enableProfiling: true, profileFilePrefix: join(dir, 'run') });
    await session.run(feeds); // first run: allocations
    for (let i = 0; i < runs; i++) await session.run(feeds);
    session.endProfiling();
    await session.release();
    const file = (await readdir(dir)).find((f) => f.endsWith('.json'));
    if (!file) throw new Error(`ONNX Runtime wrote no profile in ${dir}`);
    const events = JSON.parse(await readFile(join(dir, file), 'utf8')) as Array<{ cat: string; name: string; ts: number; dur: number; args?: { op_name?: string; input_type_shape?: Array<Record<string, number[]>> } }>;
    // The first run (allocations) is in the profile too: only node events after it ends count.
    const firstRunEnd = Math.min(...events.filter((e) => e.name === 'model_run').map((e) => e.ts + e.dur));
    const byOp = new Map<string, { us: number; nodes: Set<string> }>();
    const byNode = new Map<string, { op: string; inputs: string; us: number }>();
    let total = 0;
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !e.args?.op_name || e.ts < firstRunEnd) continue;
      const entry = byOp.get(e.args.op_name) ?? { us: 0, nodes: new Set<string>() };
      entry.us += e.dur;
      entry.nodes.add(e.name);
      byOp.set(e.args.op_name, entry);
      const node = byNode.get(e.name) ?? { op: e.args.op_name, inputs: (e.args.input_type_shape ?? []).map((t) => `[${Object.values(t)[0]}]`).join(' '), us: 0 };
      node.us += e.dur;
      byNode.set(e.name, node);
      total += e.dur;
    }
    return {
      byOp: [...byOp].map(([op, { us, nodes }]) => ({ op, nodes: nodes.size, ms: us / 1000 / runs, share: us / total })).sort((a, b) => b.ms - a.ms),
      top: [...byNode].map(([name, n]) => ({ node: name.replace(/_kernel_time$/, ''), op: n.op, inputs: n.inputs, ms: n.us / 1000 / runs, share: n.us / total })).sort((a, b) => b.ms - a.ms).slice(0, 10),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function measure(bench: BenchModel, model: ModelProto, batchSize: number): Promise<{ rows: VariantRow[]; profile?: Record<string, Profile> }> {
  const sampleSize = bench.sampleDims.reduce((a, b) => a * b, 1);
  const input = dataInput(model);
  const dims = [batchSize, ...bench.sampleDims];
  const { x, labels } = await data(batchSize, sampleSize, 0);
  const xT = new ort.Tensor('float32', x, dims);
  const yT = new ort.Tensor('int64', BigInt64Array.from(labels, BigInt), [batchSize]);

  const layout = parameterLayout(model);
  const parameters = gather(model, layout.parameters, layout.parameterCount);
  const statistics = gather(model, layout.statistics, layout.statisticCount);
  const gradient = new Float32Array(layout.parameterCount);
  const adam = native.adamState(layout.parameterCount);
  const fed = slotFeeds(layout, parameters, statistics);

  const forward = await benchSession(logitsModel(model).model);
  const forwardFed = await benchSession(fedModel(model, layout, false));
  const forwardFedTrainMode = await benchSession(fedModel(model, layout, true));
  const inputGraph = await buildGradientModel(model, { wrt: [input], head: { kind: 'cross-entropy' }, feeds: { [input]: xT } });
  const inputGradient = await benchSession(inputGraph.model);
  const step: TrainingGraph = await buildTrainingGraph(model, layout, input, dims, { kind: 'cross-entropy' });
  const weightGradients = await benchSession(step.model);
  const stepFeeds = { [step.input]: xT, [step.labels!]: yT, ...fed };
  try {
    const fns: Record<Variant, () => Promise<unknown>> = {
      forward: () => forward.run({ [input]: xT }),
      forwardFed: () => forwardFed.run({ [input]: xT, ...fed }),
      forwardFedTrainMode: () => forwardFedTrainMode.run({ [input]: xT, ...fed }),
      inputGradient: () => inputGradient.run({ [input]: xT, [inputGraph.labels!]: yT }),
      weightGradients: () => weightGradients.run(stepFeeds),
      adam: () => native.adamStep(parameters, gradient, adam, { lr: LR }),
      // As the trainer's step does it, less batch gathering and bookkeeping.
      trainingStep: async () => {
        const out = await weightGradients.run(stepFeeds);
        layout.parameters.forEach((s, i) => gradient.set(out[step.gradients[i]].data as Float32Array, s.offset));
        layout.statistics.forEach((s, i) => statistics.set(out[step.updatedStatistics[i]].data as Float32Array, s.offset));
        await native.adamStep(parameters, gradient, adam, { lr: LR });
      },
    };
    const timings = await timeInterleaved(fns, timing);
    const base = timings.forward.medianMs;
    const rows = (Object.keys(VARIANTS) as Variant[]).map((variant): VariantRow => ({
      variant,
      what: VARIANTS[variant],
      ...timings[variant],
      usPerSample: (timings[variant].medianMs * 1000) / batchSize,
      ratioToForward: timings[variant].medianMs / base,
      minRatioToForward: timings[variant].minMs / timings.forward.minMs,
    }));
    if (!values.profile) return { rows };
    const runs = quick ? 3 : 20;
    return {
      rows,
      profile: {
        forward: await profileOps(logitsModel(model).model, { [input]: xT }, runs),
        forwardFedTrainMode: await profileOps(fedModel(model, layout, true), { [input]: xT, ...fed }, runs),
        inputGradient: await profileOps(inputGraph.model, { [input]: xT, [inputGraph.labels!]: yT }, runs),
        weightGradients: await profileOps(step.model, stepFeeds, runs),
      },
    };
  } finally {
    for (const s of [forward, forwardFed, forwardFedTrainMode, inputGradient, weightGradients]) await s.release();
  }
}

async function measureTrainer(bench: BenchModel, model: ModelProto, batchSize: number, forwardUs: number, stepUs: number): Promise<TrainerRow> {
  const sampleSize = bench.sampleDims.reduce((a, b) => a * b, 1);
  const { x, labels } = await data(trainer.samples, sampleSize, 1 << 24);
  const runs: TrainerEpoch[][] = [];
  for (let r = 0; r < trainer.runs; r++) {
    const result = await train(model, { x, sampleDims: bench.sampleDims, labels }, { epochs: trainer.epochs, batchSize, optimizer: 'adam', lr: LR, seed: SEED, ...(threads ? { threads } : {}) });
    runs.push(result.history.map((e) => ({ epoch: e.epoch, seconds: e.seconds, samplesPerSecond: e.samplesPerSecond, loss: e.loss })));
  }
  const samplesPerSecond = median(runs.map((epochs) => epochs.at(-1)!.samplesPerSecond));
  const usPerSample = 1e6 / samplesPerSecond;
  const bestSamplesPerSecond = Math.max(...runs.map((epochs) => epochs.at(-1)!.samplesPerSecond));
  return { samples: trainer.samples, batchSize, runs, samplesPerSecond, bestSamplesPerSecond, usPerSample, ratioToForward: usPerSample / forwardUs, ratioToTrainingStep: usPerSample / stepUs };
}

function table(rows: Array<{ model: string; batch: number; what: string; us: number; ratio: number; minRatio?: number; spread?: string }>): string {
  const header = ['model', 'batch', 'measurement', 'µs/sample', '× forward', '(of mins)', 'min–median ms'];
  const lines = rows.map((r) => [r.model, String(r.batch), r.what, r.us.toFixed(1), `${r.ratio.toFixed(2)}×`, r.minRatio === undefined ? '' : `${r.minRatio.toFixed(2)}×`, r.spread ?? '']);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

const SHORT: Record<Variant, string> = {
  forward: 'a. forward (initializers, eval)',
  forwardFed: 'd. forward, weights fed (eval)',
  forwardFedTrainMode: 'd\'. forward, weights fed, BN train mode',
  inputGradient: 'b. forward + input gradient',
  weightGradients: 'c1. forward + weight gradients',
  adam: 'c2. Adam step',
  trainingStep: 'c. training step (c1 + copies + c2)',
};

async function main(): Promise<void> {
  if (threads) native.setThreads(threads);
  const started = Date.now();
  const printed: Parameters<typeof table>[0] = [];
  const results = [];
  for (const bench of BENCHES) {
    const model = await bench.build(SEED);
    const layout = parameterLayout(model);
    console.log(`${bench.name}: ${bench.description}; ${layout.parameterCount} parameters`);
    const perBatch = [];
    for (const batchSize of batchSizes) {
      const { rows, profile } = await measure(bench, model, batchSize);
      const byVariant = Object.fromEntries(rows.map((r) => [r.variant, r])) as Record<Variant, VariantRow>;
      const trainerRow = batchSize === batchSizes[0] ? await measureTrainer(bench, model, batchSize, byVariant.forward.usPerSample, byVariant.trainingStep.usPerSample) : undefined;
      for (const r of rows) printed.push({ model: bench.name, batch: batchSize, what: SHORT[r.variant], us: r.usPerSample, ratio: r.ratioToForward, minRatio: r.minRatioToForward, spread: `${r.minMs.toFixed(2)}–${r.medianMs.toFixed(2)}` });
      if (trainerRow) {
        const spread = trainerRow.runs.map((epochs) => Math.round(epochs.at(-1)!.samplesPerSecond)).join(', ');
        printed.push({ model: bench.name, batch: batchSize, what: `e. train(), ${Math.round(trainerRow.samplesPerSecond)} samples/s`, us: trainerRow.usPerSample, ratio: trainerRow.ratioToForward, spread: `runs: ${spread}/s` });
      }
      if (profile) {
        for (const [variant, { byOp, top }] of Object.entries(profile)) {
          console.log(`  profile, batch ${batchSize}, ${variant}, by op (ms per run, share, nodes): ${byOp.slice(0, 8).map((o) => `${o.op} ${o.ms.toFixed(2)} (${(100 * o.share).toFixed(0)}%, ${o.nodes})`).join(', ')}`);
          if (variant === 'weightGradients' || variant === 'inputGradient') for (const n of top.slice(0, 6)) console.log(`    ${n.op} ${n.node} ${n.inputs}: ${n.ms.toFixed(2)} ms (${(100 * n.share).toFixed(0)}%)`);
        }
      }
      console.log(`  batch ${batchSize}: forward ${byVariant.forward.usPerSample.toFixed(1)} µs/sample, training step ${byVariant.trainingStep.ratioToForward.toFixed(2)}× forward${trainerRow ? `, trainer ${Math.round(trainerRow.samplesPerSecond)} samples/s` : ''}`);
      perBatch.push({ batchSize, variants: rows, ...(trainerRow ? { trainer: trainerRow } : {}), ...(profile ? { profile } : {}) });
    }
    results.push({ model: bench.name, description: bench.description, sampleDims: bench.sampleDims, parameterCount: layout.parameterCount, batches: perBatch });
  }
  console.log(`\n${table(printed)}`);
  const ortInfo = runtimeInfo();
  const result = {
    benchmark: 'training',
    date: new Date().toISOString(),
    config: { quick, threads: threads ?? null, batchSizes, timing, trainer: { ...trainer, optimizer: 'adam', lr: LR }, seed: SEED, profile: values.profile, spinning: values.spinning },
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryBytes: totalmem(), platform: `${process.platform}-${process.arch}`, node: process.version, nodeFlags: process.execArgv },
    native: native.capabilities(),
    onnxruntime: {
      version: ortInfo.version,
      provider: 'cpu',
      graphOptimizationLevel: 'all',
      intraOpThreads: threads ?? 'default (all cores)',
      // Side-by-side sessions only; train() opens its own with ONNX Runtime's default (spinning).
      allowSpinning: values.spinning,
    },
    variants: VARIANTS,
    models: results,
    wallSeconds: (Date.now() - started) / 1000,
  };
  await writeJsonAtomic(values.out, result);
  console.log(`\nwrote ${values.out}`);
}

await main();
