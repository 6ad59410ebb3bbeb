// `onnx-audit attack`: runs one attack of the registry on a labelled dataset and reports clean and
// robust accuracy, success rate, perturbation sizes and cost. With --surrogate it is a transfer
// attack: the inputs are crafted on the surrogate (by any attack, white- or black-box, which then
// queries only the surrogate) and the model is only scored on them.
import { Command, Option } from 'commander';

import {
  ATTACKS,
  type AttackDefinition,
  type AttackName,
  type AttackOutput,
  type AttackResult,
  type AttackSettings,
  type AttackTask,
  type Classifier,
  checkTransferable,
  evaluateAttack,
  type Threat,
  transferAttack,
  type TransferResult,
} from '@onnx-audit/attacks';
import { SeededRandom, writeNpz } from '@onnx-audit/data';
import { type Norm, perturbationNorms } from '@onnx-audit/native';
import { type InspectionReport, inspectModel, readModel } from '@onnx-audit/onnx';

import { openClassifier } from '../classifier.js';
import { addDataOptions, dataOptions, readLabelledData } from '../dataset.js';
import { parseEpsilon, parseInteger as integer } from '../numbers.js';
import { UserError } from '../errors.js';
import { progressLine } from '../progress.js';
import { addInputSpaceOptions, type InputSpaceFlags, modelInUserSpace } from '../input-space.js';
import { addRuntimeOptions, type RuntimeFlags, runtimeOptions } from '../runtime-options.js';

interface AttackFlags extends InputSpaceFlags, RuntimeFlags {
  model: string;
  data: string;
  attack: AttackName;
  norm?: Norm;
  eps?: string;
  steps?: string;
  stepSize?: string;
  restarts?: string;
  queries?: string;
  /** false only with --no-random-start; otherwise each attack's own default holds. */
  randomStart?: boolean;
  targeted?: boolean;
  targetClass?: string;
  surrogate?: string;
  seed?: string;
  batchSize?: string;
  out?: string;
  json?: boolean;
  quiet?: boolean;
  resize?: string;
}

/** ε when none is given, for the attacks that work inside a ball: the usual MNIST/CIFAR budgets. */
const DEFAULT_EPS: Record<Norm, number> = { linf: 8 / 255, l2: 0.5, l1: 10 };

export function attackCommand(): Command {
  const names = Object.keys(ATTACKS) as AttackName[];
  const width = Math.max(...names.map((n) => n.length));
  const catalogue = names.map((name) => {
    const a: AttackDefinition = ATTACKS[name];
    return `  ${name.padEnd(width)}  ${a.access}, ${a.norms.join('/')}${a.minimumNorm ? ', minimum-norm' : ''}: ${a.summary}`;
  });
  return addRuntimeOptions(addDataOptions(addInputSpaceOptions(new Command('attack')
    .description('attack a classifier on labelled data and report clean and robust accuracy, success rate, perturbation sizes and cost')
    .requiredOption('--model <file>', 'the .onnx classifier')
    .requiredOption('--data <source>', '.npz (x float32 batch first, y integer labels), .csv, an image folder, or builtin:NAME')
    .addOption(new Option('--attack <name>', 'the attack (listed below)').choices(names).makeOptionMandatory())
    .addOption(new Option('--norm <norm>', 'the threat model (default: linf when the attack has it, else its first norm)').choices(['linf', 'l2', 'l1']))
    .option('--eps <e>', 'the ε-ball, e.g. 0.3 or 8/255 (default 8/255 linf, 0.5 l2, 10 l1; minimum-norm attacks: unbounded, else a budget)')
    .option('--steps <n>', 'iterations (default: the attack\'s own)')
    .option('--step-size <a>', 'step length, e.g. 2/255 (default: the attack\'s own)')
    .option('--restarts <n>', 'random restarts on the samples not yet broken (default: the attack\'s own)')
    .option('--queries <n>', 'query budget per sample for the score-based attacks (square 5000, nes/spsa 10000)')
    .option('--no-random-start', 'start from the clean input (default: the attack\'s own choice)')
    .option('--targeted', 'aim each sample at a class: --target-class, or one drawn at random (≠ its label) from --seed')
    .addOption(new Option('--target-class <c>', 'with --targeted: the class to reach; samples of that label are left alone').implies({ targeted: true }))
    .option('--surrogate <file>', 'transfer attack: craft on this .onnx (same input space and classes), report how often it fools --model')
    .option('--seed <s>', 'seeds every random choice (default 0)')
    .option('--batch-size <n>', 'samples per model run (default 128)')
    .option('--out <file>', 'write x_adv (float32, the shape of x) and success (bool per sample) to this .npz')
    .option('--json', 'print one JSON object instead of a summary')
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', `\nAttacks:\n${catalogue.join('\n')}\n\nExamples:\n  onnx-audit attack --model cnn.onnx --data test.npz --attack pgd --eps 8/255 --json\n  onnx-audit attack --model cnn.onnx --data test.npz --attack square --eps 0.1 --queries 1000 --out adv.npz\n  onnx-audit attack --model target.onnx --data test.npz --attack pgd --eps 0.1 --surrogate proxy.onnx`))))
    .action(async (o: AttackFlags) => {
      const plan = planAttack(o);
      const session = runtimeOptions(o);
      const report = inspectModel(modelInUserSpace(await readModel(o.model), o));
      const data = await readLabelledData(o.data, report, dataOptions(o));
      const source = { source: o.data, x: data.x, sampleDims: data.sampleDims };
      const flags = { mean: o.mean, std: o.std, inputRange: o.inputRange, batchSize: plan.batchSize };
      const opened: Classifier[] = [];
      const controller = new AbortController();
      const interrupt = () => controller.abort(new UserError('interrupted; nothing was written'));
      let progress: ReturnType<typeof progressLine>;
      process.once('SIGINT', interrupt);
      try {
        const target = await openClassifier(o.model, flags, session, source, o.surrogate ? 'black-box' : plan.definition.access);
        opened.push(target);
        let surrogate: Classifier | undefined;
        if (o.surrogate) {
          checkSurrogateShape(o.surrogate, inspectModel(modelInUserSpace(await readModel(o.surrogate), o)), data.sampleDims);
          surrogate = await openClassifier(o.surrogate, flags, session, source, plan.definition.access);
          opened.push(surrogate);
          try {
            checkTransferable(surrogate, target);
          } catch (error) {
            throw new UserError(`${o.surrogate}: ${(error as Error).message}`);
          }
        }
        const labels = Int32Array.from(data.labels);
        const targets = o.targeted ? targetsFor(labels, target.classes, plan) : undefined;
        const task: AttackTask = { x: data.x, labels, ...(targets ? { targets } : {}) };
        progress = progressLine(o.attack, Boolean(process.stderr.isTTY && !o.quiet));
        const settings: AttackSettings = { ...plan.settings, signal: controller.signal, ...(progress ? { progress: progress.update } : {}) };
        const craft = (classifier: Classifier, t: AttackTask) => craftWithin(plan, classifier, t, settings);
        const result = await settingsChecked(o.attack, opened, () =>
          surrogate ? transferAttack(surrogate, target, task, craft, plan.threat) : evaluateAttack(target, task, plan.threat, () => craft(target, task)));
        progress?.finish();
        if (o.out) {
          await writeNpz(o.out, {
            x_adv: { dtype: 'float32', shape: [labels.length, ...data.sampleDims], data: result.adversarial },
            success: { dtype: 'bool', shape: [labels.length], data: result.success },
          });
        }
        print(o, plan, result);
      } finally {
        progress?.finish();
        process.off('SIGINT', interrupt);
        await Promise.all(opened.map((c) => c.release()));
      }
    });
}

interface AttackPlan {
  definition: AttackDefinition;
  norm: Norm;
  /** Undefined only for a minimum-norm attack run without a budget. */
  eps: number | undefined;
  threat: Threat | undefined;
  settings: AttackSettings;
  targetClass: number | undefined;
  seed: number;
  batchSize: number | undefined;
}

/** Every check on the flags alone, before any file is read. */
function planAttack(o: AttackFlags): AttackPlan {
  const definition: AttackDefinition = ATTACKS[o.attack];
  const norm = o.norm ?? (definition.norms.includes('linf') ? 'linf' : definition.norms[0]);
  if (!definition.norms.includes(norm)) throw new UserError(`--attack ${o.attack} works in ${definition.norms.join(', ')}, not ${norm}; pick one with --norm`);
  if (o.targeted && !definition.targeted) throw new UserError(`--attack ${o.attack} has no targeted form; drop --targeted or pick another attack`);
  const eps = o.eps !== undefined ? parseEpsilon(o.eps) : definition.minimumNorm ? undefined : DEFAULT_EPS[norm];
  const seed = o.seed === undefined ? 0 : integer('--seed', o.seed, 0);
  const settings: AttackSettings = {
    norm,
    seed,
    ...(eps !== undefined ? { eps } : {}),
    ...(o.steps !== undefined ? { steps: integer('--steps', o.steps, 1) } : {}),
    ...(o.stepSize !== undefined ? { stepSize: parseEpsilon(o.stepSize, '--step-size') } : {}),
    ...(o.restarts !== undefined ? { restarts: integer('--restarts', o.restarts, 1) } : {}),
    ...(o.queries !== undefined ? { queries: integer('--queries', o.queries, 1) } : {}),
    ...(o.randomStart === false ? { randomStart: false } : {}),
  };
  return {
    definition,
    norm,
    eps,
    threat: eps !== undefined ? { norm, eps } : undefined,
    settings,
    targetClass: o.targetClass !== undefined ? integer('--target-class', o.targetClass, 0) : undefined,
    seed,
    batchSize: o.batchSize !== undefined ? integer('--batch-size', o.batchSize, 1) : undefined,
  };
}

function checkSurrogateShape(path: string, report: InspectionReport, sampleDims: number[]): void {
  const shape = report.inputs[0]?.shape;
  if (shape && (shape.length !== sampleDims.length + 1 || sampleDims.some((d, i) => typeof shape[i + 1] === 'number' && shape[i + 1] !== d))) {
    throw new UserError(`${path}: the surrogate takes [${shape.map((d) => d ?? '?')}], the data is [N,${sampleDims}]`);
  }
}

/** --target-class for every sample, or a class ≠ its label drawn uniformly from the seed. */
function targetsFor(labels: Int32Array, classes: number, plan: AttackPlan): Int32Array {
  if (classes < 2) throw new UserError(`a targeted attack needs at least 2 classes; the model has ${classes}`);
  if (plan.targetClass !== undefined) {
    if (plan.targetClass >= classes) throw new UserError(`--target-class ${plan.targetClass} is not a class of this ${classes}-class model (0 to ${classes - 1})`);
    return new Int32Array(labels.length).fill(plan.targetClass);
  }
  const random = new SeededRandom(plan.seed);
  return Int32Array.from(labels, (label) => {
    const draw = random.below(classes - 1);
    return draw >= label ? draw + 1 : draw;
  });
}

/**
 * The attack on the samples it has work to do on (a targeted sample whose label is its target is
 * left alone), with a minimum-norm attack's perturbations beyond a given ε reverted to the clean
 * input: they count as failures, and the ball check holds.
 */
async function craftWithin(plan: AttackPlan, classifier: Classifier, task: AttackTask, settings: AttackSettings): Promise<AttackOutput> {
  const d = classifier.sampleSize;
  const rows = task.targets ? Array.from(task.labels.keys()).filter((i) => task.labels[i] !== task.targets![i]) : undefined;
  const adversarial = task.x.slice();
  let queriesPerSample: Float64Array | undefined;
  if (!rows) {
    const crafted = await plan.definition.run(classifier, task, settings);
    adversarial.set(crafted.adversarial);
    queriesPerSample = crafted.queriesPerSample;
  } else if (rows.length > 0) {
    const pick = <T extends Float32Array | Int32Array>(values: T, width: number): T => {
      const out = new (values.constructor as new (length: number) => T)(rows.length * width);
      rows.forEach((i, r) => out.set(values.subarray(i * width, (i + 1) * width), r * width));
      return out;
    };
    const crafted = await plan.definition.run(classifier, { x: pick(task.x, d), labels: pick(task.labels, 1), targets: pick(task.targets!, 1) }, settings);
    rows.forEach((i, r) => adversarial.set(crafted.adversarial.subarray(r * d, (r + 1) * d), i * d));
    if (crafted.queriesPerSample) {
      queriesPerSample = new Float64Array(task.labels.length);
      rows.forEach((i, r) => (queriesPerSample![i] = crafted.queriesPerSample![r]));
    }
  }
  if (plan.definition.minimumNorm && plan.eps !== undefined) {
    const sizes = (await perturbationNorms(Float32Array.from(adversarial, (v, e) => v - task.x[e]), d))[plan.norm];
    sizes.forEach((size, i) => size > plan.eps! && adversarial.set(task.x.subarray(i * d, (i + 1) * d), i * d));
  }
  return { adversarial, ...(queriesPerSample ? { queriesPerSample } : {}) };
}

/**
 * The attacks check their settings before touching the model, with a RangeError: one raised while
 * no classifier has been asked anything is the user's to fix. Any later one is a bug.
 */
async function settingsChecked<T>(attack: string, classifiers: Classifier[], work: () => Promise<T>): Promise<T> {
  const asked = () => classifiers.map((c) => c.usage.queries + c.usage.gradientCalls).join();
  const before = asked();
  try {
    return await work();
  } catch (error) {
    if (error instanceof RangeError && asked() === before) throw new UserError(`--attack ${attack}: ${error.message}`);
    throw error;
  }
}

function print(o: AttackFlags, plan: AttackPlan, result: AttackResult | TransferResult): void {
  const s = result.summary;
  const transferRate = 'transferRate' in result ? result.transferRate : undefined;
  if (o.json) {
    console.log(JSON.stringify({
      attack: o.attack,
      norm: plan.norm,
      eps: plan.eps ?? null,
      targeted: Boolean(o.targeted),
      samples: s.samples,
      seed: plan.seed,
      cleanAccuracy: s.cleanAccuracy,
      robustAccuracy: s.robustAccuracy,
      successRate: s.successRate,
      meanL2: s.meanL2,
      meanLinf: s.meanLinf,
      medianL2: s.medianL2,
      queries: result.queries,
      gradientCalls: result.gradientCalls,
      seconds: result.seconds,
      ...(o.surrogate ? { transferRate } : {}),
    }));
    return;
  }
  const percent = (v: number) => `${(100 * v).toFixed(2)}%`;
  const size = (v: number | null) => (v === null ? '–' : v.toPrecision(4));
  const ball = plan.eps === undefined ? 'unbounded' : `ε = ${plan.eps.toPrecision(4)}`;
  const lines = [
    `${o.attack}${o.targeted ? ' (targeted)' : ''}, ${plan.norm} ${ball}, ${s.samples} samples, seed ${plan.seed}${o.surrogate ? `, crafted on ${o.surrogate}` : ''}`,
    `clean accuracy ${percent(s.cleanAccuracy)}, robust accuracy ${percent(s.robustAccuracy)}, attack success rate ${percent(s.successRate)}`,
    `successful perturbations: mean L2 ${size(s.meanL2)}, median L2 ${size(s.medianL2)}, mean L∞ ${size(s.meanLinf)}`,
    `cost${o.surrogate ? ' (on the surrogate)' : ''}: ${result.gradientCalls} gradient calls, ${result.queries} queries, ${result.seconds.toFixed(1)} s`,
  ];
  if (o.surrogate) {
    lines.push(transferRate === null || transferRate === undefined
      ? 'transfer rate: no sample broken on the surrogate was classified correctly by the model'
      : `transfer rate ${percent(transferRate)}: of the samples broken on the surrogate (and correct on the model), the share that fool the model`);
  }
  if (o.out) lines.push(`wrote ${o.out}`);
  console.log(lines.join('\n'));
}
