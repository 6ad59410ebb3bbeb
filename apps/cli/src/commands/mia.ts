// `onnx-audit mia`: membership inference against a target model — one attack, or the whole set
// side by side (--compare) — reported as AUC, TPR at 0.1% and 1% FPR and balanced accuracy, with
// the leakage before and after temperature scaling (--calibrate) or of a twin model (--twin).
import { Command, Option } from 'commander';

import { fitTemperature } from '@onnx-audit/calibration';
import { writeNpy } from '@onnx-audit/data';
import { type AttackName, type AttackResult, ATTACKS, type AuditOptions } from '@onnx-audit/mia';
import { inspectModel, predictLogits, readModel } from '@onnx-audit/onnx';

import { addDataOptions, dataOptions } from '../dataset.js';
import { UserError } from '../errors.js';
import { addMembershipOptions, type AuditOutcome, auditInterplay, type MembershipFlags, membershipSettings, readMembershipData, stageProgress } from '../membership-options.js';
import { parseInteger } from '../numbers.js';
import { addRuntimeOptions, type RuntimeFlags, runtimeOptions } from '../runtime-options.js';

interface MiaFlags extends RuntimeFlags, MembershipFlags {
  target: string;
  members: string;
  nonmembers: string;
  aux?: string;
  attack: AttackName;
  compare?: boolean;
  seed: string;
  scoresOut?: string;
  json?: boolean;
  parity?: boolean;
  calibrate?: 'temperature';
  twin?: string;
  quiet?: boolean;
  resize?: string;
}


export function miaCommand(): Command {
  return addRuntimeOptions(addDataOptions(addMembershipOptions(new Command('mia')
    .description('membership inference: how well an attacker tells the target\'s training samples (members) from others')
    .requiredOption('--target <file>', 'the .onnx model under audit')
    .requiredOption('--members <source>', 'samples the target was trained on (.npz x, y; .csv; image folder)')
    .requiredOption('--nonmembers <source>', 'samples from the same distribution it was not trained on')
    .option('--aux <sources>', 'more non-member samples for the attacker (shadow members/non-members, distillation set); several sources separated by commas are joined, e.g. the shadowIn, shadowOut and distillation parts of `split --membership`')
    .addOption(new Option('--attack <name>', 'the attack').choices([...ATTACKS]).default('seqmia'))
    .option('--compare', 'run every attack on the same split and tabulate them')
    .option('--seed <n>', 'seeds the split, every model and the attack models', '0')
    .option('--scores-out <file.npy>', 'write the membership scores (members first, then non-members; one row per attack with --compare)')
    .option('--json', 'print one JSON object instead of a table')
    .option('--parity', 'the official SeqMIA code\'s choices: snapshots queried in training mode, float32 metrics, raw member logit, interpolated TPR')
    .addOption(new Option('--calibrate <method>', 'also measure the leakage of the target after temperature scaling fitted on --aux').choices(['temperature']))
    .option('--twin <file>', 'also audit this model trained on the same members (e.g. the adversarially trained twin)')
    .option('--quiet', 'no progress on stderr')
    .addHelpText('after', `
Examples:
  onnx-audit mia --target model.onnx --members in.npz --nonmembers out.npz --aux aux.npz --attack lira --json
  onnx-audit mia --target model.onnx --members in.npz --nonmembers out.npz --aux aux.npz --compare --calibrate temperature`))))
    .action(async (o: MiaFlags) => {
      const seed = parseInteger('--seed', o.seed, 0);
      const target = await readModel(o.target);
      const report = inspectModel(target);
      const data = await readMembershipData(o, report, dataOptions(o));
      if (o.calibrate && !data.aux) throw new UserError('--calibrate fits the temperature on the auxiliary data: pass --aux');
      const session = runtimeOptions(o);
      const settings = membershipSettings(o);
      const { work } = settings;
      const options: AuditOptions = {
        ...data,
        ...settings,
        target,
        seed,
        parity: o.parity ?? false,
        session,
        onProgress: stageProgress(Boolean(process.stderr.isTTY && !o.quiet && !o.json)),
      };
      const attacks = o.compare ? [...ATTACKS] : [o.attack];
      let calibrated;
      if (o.calibrate) {
        const { logits, classes } = await predictLogits(target, data.aux!.x, data.aux!.sampleDims, session);
        const calibrator = await fitTemperature(logits, data.aux!.labels, classes);
        calibrated = { temperature: calibrator.temperature, calibrate: (model: typeof target) => calibrator.toOnnx(model) };
      }
      const { main, calibrated: scaled, twin } = await auditInterplay(options, attacks, { ...(calibrated ? { calibrated } : {}), ...(o.twin ? { twin: await readModel(o.twin) } : {}) });
      const compare = o.compare ?? false;
      const output: Record<string, unknown> = { target: o.target, ...summary(main, compare) };
      const tables = [table(main.results, main.skipped, o.target)];
      if (scaled) {
        const { temperature, attackerUnaware, attackerAware } = scaled;
        output.calibrated = { temperature, attackerUnaware: summary(attackerUnaware, compare), attackerAware: summary(attackerAware, compare) };
        const heading = `after temperature scaling (T = ${temperature.toFixed(3)}, fitted on the auxiliary data)`;
        tables.push(table(attackerUnaware.results, attackerUnaware.skipped, `${heading}, attacker unaware of T`), table(attackerAware.results, attackerAware.skipped, `${heading}, attacker scaling its own models by T`));
      }
      if (twin) {
        output.twin = { target: o.twin, ...summary(twin, compare) };
        tables.push(table(twin.results, twin.skipped, `twin ${o.twin}`));
      }
      if (o.scoresOut) {
        const rows = main.results.map((r) => r.scores);
        const n = rows[0].length;
        const flat = new Float64Array(rows.length * n);
        rows.forEach((row, i) => flat.set(row, i * n));
        await writeNpy(o.scoresOut, { dtype: 'float64', shape: o.compare ? [rows.length, n] : [n], data: flat });
      }
      output.settings = {
        seed,
        recipe: options.training,
        snapshots: options.snapshots,
        referenceModels: options.referenceModels,
        parity: options.parity,
        metricPrecision: options.parity ? 'float32 (official code)' : 'float64',
        snapshotQueries: options.parity ? 'training mode, batches of 100 holding only members or only non-members (official code)' : 'inference mode',
        score: options.parity ? 'member logit z1 (official code)' : 'z1 − z0 (SeqMIA, TrajectoryMIA); larger = member for every attack',
        tprAtFpr: 'max TPR over ROC points with FPR ≤ α, no interpolation (tprAtFprInterpolated: linear interpolation, as SeqMIA\'s code)',
        work: o.work,
        reusedStages: work.reused,
      };
      if (o.json) console.log(JSON.stringify(output));
      else console.log(tables.join('\n\n'));
    });
}

function summary(outcome: AuditOutcome, compare: boolean): Record<string, unknown> {
  const strip = ({ scores: _scores, ...rest }: AttackResult) => rest;
  const base = { stageSeconds: outcome.stages };
  if (compare) return { attacks: outcome.results.map(strip), skipped: outcome.skipped, ...base };
  return { ...strip(outcome.results[0]), ...base };
}

function table(results: AttackResult[], skipped: AuditOutcome['skipped'], title: string): string {
  const first = results[0];
  const fp = (alpha: string) => `${first.falsePositivesAllowed[alpha]} FP`;
  const head = `${'attack'.padEnd(12)}${'AUC'.padStart(8)}${`TPR@0.1% (${fp('0.001')})`.padStart(20)}${`TPR@1% (${fp('0.01')})`.padStart(18)}${'bal. acc'.padStart(10)}${'seconds'.padStart(10)}`;
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  const lines = [
    `${title}: ${first.members} members, ${first.nonMembers} non-members`,
    head,
    ...results.map((r) => `${r.attack.padEnd(12)}${r.auc.toFixed(4).padStart(8)}${pct(r.tprAtFpr['0.001']).padStart(20)}${pct(r.tprAtFpr['0.01']).padStart(18)}${pct(r.balancedAccuracy).padStart(10)}${r.seconds.toFixed(1).padStart(10)}`),
  ];
  for (const r of results) {
    if (r.thresholds) lines.push(`${r.attack}: thresholds chosen on shadow data give balanced accuracy ${pct(r.thresholds.global.accuracy)} (global), ${pct(r.thresholds.classDependent.accuracy)} (per class)`);
    if (r.variants?.offline) lines.push(`${r.attack} offline (OUT reference models only): AUC ${r.variants.offline.auc.toFixed(4)}, TPR@0.1% ${pct(r.variants.offline.tprAtFpr['0.001'])}`);
    for (const note of r.notes) lines.push(`${r.attack}: ${note}`);
  }
  for (const s of skipped) lines.push(`skipped ${s.attack}: ${s.reason}`);
  return lines.join('\n');
}
