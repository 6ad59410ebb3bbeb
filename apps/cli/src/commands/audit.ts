// `onnx-audit audit`: one command for the whole audit of a model — inspection, calibration,
// robustness and (with member data) membership inference — writing results.json, the HTML report
// and the artifacts (calibrated model, adversarial examples) to one folder. A section whose inputs
// are missing is skipped with the sentence that says what to pass.
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { Command } from 'commander';

import type { SuiteName } from '@onnx-audit/attacks';
import { capabilities } from '@onnx-audit/native';
import { type AttackName, ATTACKS, type LabelledSet, METRIC_SIGNALS } from '@onnx-audit/mia';
import { type InspectionReport, inspectModel, readModel, runtimeInfo, writeFileAtomic } from '@onnx-audit/onnx';
import { type AuditResults, type ModelSummary, renderReport, RESULTS_SCHEMA, type Skipped, summarize } from '@onnx-audit/report';

import { calibrationSection } from '../audit/calibration-section.js';
import { membershipSection } from '../audit/membership-section.js';
import { robustnessSection } from '../audit/robustness-section.js';
import { openClassifier } from '../classifier.js';
import { addDataOptions, dataOptions, readLabelledData } from '../dataset.js';
import { UserError } from '../errors.js';
import { addMembershipOptions, type MembershipFlags, membershipSettings, readMembershipData, stageProgress } from '../membership-options.js';
import { parseEpsilonList, parseInteger } from '../numbers.js';
import { progressLine } from '../progress.js';
import { VERSION } from '../program.js';
import { addRuntimeOptions, type RuntimeFlags, runtimeOptions } from '../runtime-options.js';

interface AuditFlags extends RuntimeFlags, MembershipFlags {
  model: string;
  data: string;
  val?: string;
  members?: string;
  nonmembers?: string;
  aux?: string;
  twin?: string;
  eps: string;
  quick?: boolean;
  thorough?: boolean;
  samples?: string;
  seed: string;
  out: string;
  json?: boolean;
  quiet?: boolean;
  resize?: string;
}

/** How much each level does: robustness samples and suite, and the membership attacks. */
const LEVELS: Record<'quick' | 'default' | 'thorough', { samples: number; suite: SuiteName; attacks: readonly AttackName[] }> = {
  quick: { samples: 100, suite: 'fast', attacks: METRIC_SIGNALS },
  default: { samples: 200, suite: 'standard', attacks: ['seqmia', 'lira', ...METRIC_SIGNALS] },
  thorough: { samples: 1000, suite: 'standard', attacks: ATTACKS },
};

export function auditCommand(): Command {
  return addRuntimeOptions(addDataOptions(addMembershipOptions(new Command('audit')
    .description('audit a model: calibration, adversarial robustness and membership leakage, written as results.json and an HTML report')
    .requiredOption('--model <file>', 'the .onnx classifier')
    .requiredOption('--data <source>', 'labelled test data (.npz x, y; .csv; image folder; builtin:NAME)')
    .option('--val <source>', 'held-out labelled data to fit temperature scaling on (calibration is skipped without it)')
    .option('--members <source>', 'samples the model was trained on (membership inference is skipped without them)')
    .option('--nonmembers <source>', 'samples from the same distribution it was not trained on')
    .option('--aux <sources>', 'more non-member samples for the attacker\'s shadow models (comma-separated sources are joined)')
    .option('--twin <file>', 'a model trained on the same members (e.g. adversarially): its leakage goes beside the target\'s')
    .option('--eps <list>', 'L∞ radii for robustness, e.g. 0.1,0.2 or 2/255,8/255', '1/255,2/255,4/255,8/255')
    .option('--quick', 'fewer samples, the fast suite, the metric membership attacks only')
    .option('--thorough', '1000 samples and every membership attack')
    .option('--samples <n>', 'test samples attacked (default 200; --quick 100, --thorough 1000)')
    .option('--seed <n>', 'seeds every random choice', '0')
    .requiredOption('--out <dir>', 'folder for results.json, report.html and the artifacts')
    .option('--json', 'print the results as one JSON object')
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', `
Examples:
  onnx-audit audit --model model.onnx --data test.npz --val val.npz --out audit/
  onnx-audit audit --model model.onnx --data test.npz --val val.npz --members in.npz --nonmembers out.npz --aux aux.npz \\
      --shadow-epochs 30 --optimizer adam --lr 0.002 --batch-size 32 --snapshots 10 --reference-models 8 --out audit/`), { snapshots: '50', referenceModels: '16' })))
    .action(async (o: AuditFlags) => {
      if (o.quick && o.thorough) throw new UserError('--quick and --thorough ask for opposite things: give one');
      const level = LEVELS[o.quick ? 'quick' : o.thorough ? 'thorough' : 'default'];
      const eps = parseEpsilonList(o.eps);
      const seed = parseInteger('--seed', o.seed, 0);
      const samples = o.samples ? parseInteger('--samples', o.samples, 1) : level.samples;
      const memberFlags = [o.members, o.nonmembers].filter(Boolean).length;
      if (memberFlags === 1) throw new UserError('--members and --nonmembers go together: give both, or neither to skip membership inference');
      const session = runtimeOptions(o);
      const progressOn = Boolean(process.stderr.isTTY && !o.quiet && !o.json);
      await mkdir(o.out, { recursive: true });

      const started = performance.now();
      const timings: Record<string, number> = {};
      const timed = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
        const t = performance.now();
        const value = await run();
        timings[name] = (performance.now() - t) / 1000;
        return value;
      };
      const bytes = await readFile(o.model);
      const model = await readModel(o.model);
      const report = inspectModel(model);
      const read = async (source: string) => {
        const d = await readLabelledData(source, report, dataOptions(o));
        return { set: { x: d.x, sampleDims: d.sampleDims, labels: Int32Array.from(d.labels) } as LabelledSet, classNames: d.classNames, source };
      };
      const test = await read(o.data);
      const classNames = test.classNames ?? Array.from({ length: report.classes ?? 0 }, (_, c) => String(c));
      const dataUsed: AuditResults['provenance']['data'] = { test: { source: o.data, samples: test.set.labels.length } };

      // ---- calibration
      let calibration: AuditResults['calibration'] = skipped('pass --val VAL.npz (held-out labelled data) to fit temperature scaling and measure calibration before and after');
      let calibrated: { temperature: number; calibrate: (m: typeof model) => typeof model } | undefined;
      if (o.val) {
        const val = await read(o.val);
        dataUsed.val = { source: o.val, samples: val.set.labels.length };
        const done = await timed('calibration', () => calibrationSection({ model, val: { ...val.set, source: o.val! }, test: { ...test.set, source: o.data }, classNames, session, out: join(o.out, 'calibrated.onnx') }));
        calibration = done.section;
        calibrated = { temperature: done.section.temperature, calibrate: done.calibrate };
      }

      // ---- robustness
      const attacked = firstRows(test.set, samples);
      const classifier = await openClassifier(o.model, {}, { ...session, spinning: false }, { source: o.data, x: attacked.x, sampleDims: attacked.sampleDims }, 'white-box');
      const progress = progressLine('robustness', progressOn);
      let robustness: AuditResults['robustness'];
      try {
        robustness = await timed('robustness', () => robustnessSection({ classifier, test: attacked, classNames, eps, suite: level.suite, seed, out: join(o.out, 'adversarial.npz'), ...(progress ? { progress: progress.update } : {}) }));
      } finally {
        progress?.finish();
        await classifier.release();
      }

      // ---- membership inference
      let membership: AuditResults['membership'] = skipped('pass --members IN.npz and --nonmembers OUT.npz (and --aux AUX.npz for the shadow-model attacks) to measure membership leakage');
      if (o.members && o.nonmembers) {
        const data = await readMembershipData({ members: o.members, nonmembers: o.nonmembers, ...(o.aux ? { aux: o.aux } : {}) }, report, dataOptions(o));
        dataUsed.members = { source: o.members, samples: data.members.labels.length };
        dataUsed.nonMembers = { source: o.nonmembers, samples: data.nonMembers.labels.length };
        if (data.aux) dataUsed.aux = { source: o.aux!, samples: data.aux.labels.length };
        const options = { ...data, ...membershipSettings(o), target: model, seed, session, onProgress: stageProgress(progressOn) };
        const twin = o.twin ? { file: o.twin, model: await readModel(o.twin) } : undefined;
        membership = await timed('membership', () => membershipSection({ options, attacks: level.attacks, ...(calibrated ? { calibrated } : {}), ...(twin ? { twin } : {}) }));
      }

      timings.total = (performance.now() - started) / 1000;
      const sections = {
        schema: RESULTS_SCHEMA,
        provenance: {
          tool: `onnx-audit ${VERSION}`,
          createdAt: new Date().toISOString(),
          command: process.argv.slice(2),
          versions: { onnxAudit: VERSION, node: process.version, onnxRuntime: runtimeInfo().version, native: capabilities().version },
          seeds: { audit: seed },
          timings,
          data: dataUsed,
          settings: { eps, level: o.quick ? 'quick' : o.thorough ? 'thorough' : 'default', samples: attacked.labels.length, suite: level.suite, membershipAttacks: level.attacks, device: session.device ?? 'cpu' },
        },
        model: modelSummary(o.model, bytes, report, classNames),
        calibration,
        robustness,
        membership,
      } satisfies Omit<AuditResults, 'summary'>;
      const results: AuditResults = { ...sections, summary: summarize(sections) };
      const encoder = new TextEncoder();
      await writeFileAtomic(join(o.out, 'results.json'), encoder.encode(`${JSON.stringify(results, null, 1)}\n`));
      await writeFileAtomic(join(o.out, 'report.html'), encoder.encode(await renderReport(results)));
      if (o.json) {
        console.log(JSON.stringify(results));
        return;
      }
      console.log([...results.summary.map((line) => `- ${line}`), `wrote ${join(o.out, 'report.html')} and ${join(o.out, 'results.json')} in ${timings.total.toFixed(0)} s`].join('\n'));
    });
}

function skipped(reason: string): Skipped {
  return { status: 'skipped', reason };
}

function firstRows(set: LabelledSet, count: number): LabelledSet {
  const n = Math.min(count, set.labels.length);
  const size = set.sampleDims.reduce((a, b) => a * b, 1);
  return { x: set.x.slice(0, n * size), sampleDims: set.sampleDims, labels: set.labels.slice(0, n) };
}

function modelSummary(file: string, bytes: Uint8Array, report: InspectionReport, classNames: string[]): ModelSummary {
  return {
    file,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    inputShape: report.inputs[0]?.shape ?? [],
    classes: report.classes ?? classNames.length,
    classNames,
    parameterCount: report.parameterCount,
    ops: report.ops,
    ...(report.endsInSoftmax ? { strippedSoftmax: report.endsInSoftmax.node } : {}),
  };
}
