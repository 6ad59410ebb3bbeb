// `onnx-audit calibrate`: fits a post-hoc calibrator on a validation set, reports the calibration
// metrics before and after on a test set (or on the validation set, and says so), and writes the
// model with the calibrator appended as ONNX ops.
import { Command, Option } from 'commander';

import { CALIBRATION_METHODS, type CalibrationMethod, type CalibrationReport, calibrationReport, fitCalibrator } from '@onnx-audit/calibration';
import { inspectModel, predictLogits, readModel, writeModel } from '@onnx-audit/onnx';

import { addDataOptions, dataOptions, readLabelledData, streamLabelledNpz } from '../dataset.js';
import { UserError } from '../errors.js';
import { addRuntimeOptions, type RuntimeFlags, runtimeOptions } from '../runtime-options.js';
import { addInputSpaceOptions, checkInputRange, type InputSpaceFlags, modelInUserSpace } from '../input-space.js';

interface CalibrateFlags extends InputSpaceFlags, RuntimeFlags {
  resize?: string;
  model: string;
  data: string;
  test?: string;
  method: CalibrationMethod;
  bins: number;
  binning: 'equal-width' | 'equal-mass';
  out?: string;
  json?: boolean;
  batchSize: number;
}

const METRICS = ['accuracy', 'nll', 'brier', 'ece', 'mce', 'classwiseEce', 'ace'] as const;

export function calibrateCommand(): Command {
  return addRuntimeOptions(addDataOptions(addInputSpaceOptions(new Command('calibrate')
    .description('fit a calibrator on validation data, report calibration before and after, and export the calibrated model')
    .requiredOption('--model <file>', 'the .onnx classifier')
    .requiredOption('--data <source>', 'validation data to fit on: .npz (x, y), .csv, an image folder, or builtin:NAME')
    .option('--test <source>', 'test data to report on (default: the validation data, which flatters the calibrator)')
    .addOption(new Option('--method <name>', 'calibrator').choices([...CALIBRATION_METHODS]).default('temperature'))
    .option('--bins <n>', 'bins of the binned metrics', (v) => Number.parseInt(v, 10), 15)
    .addOption(new Option('--binning <kind>', 'bins of ECE, MCE and the reliability data').choices(['equal-width', 'equal-mass']).default('equal-width'))
    .option('--out <file>', 'write the calibrated model (temperature, vector and matrix scaling)')
    .option('--json', 'print one JSON object instead of a table')
    .option('--batch-size <n>', 'samples per run', (v) => Number.parseInt(v, 10), 256))))
    .addHelpText('after', '\nExamples:\n  onnx-audit calibrate --model model.onnx --data val.npz --test test.npz --out calibrated.onnx\n  onnx-audit calibrate --model model.onnx --data val.npz --test test.npz --method vector --binning equal-mass --json')
    .action(async (o: CalibrateFlags) => {
      if (!Number.isInteger(o.bins) || o.bins < 1) throw new UserError(`--bins must be a positive integer, got ${o.bins}`);
      if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new UserError(`--batch-size must be a positive integer, got ${o.batchSize}`);
      if (o.out && (o.method === 'histogram' || o.method === 'isotonic')) {
        throw new UserError(`--out: ${o.method} calibration cannot be written as ONNX ops; use --method temperature, vector or matrix to export`);
      }
      const model = modelInUserSpace(await readModel(o.model), o);
      const report = inspectModel(model);
      const run = { ...runtimeOptions(o), batchSize: o.batchSize };
      const logitsOf = async (source: string) => {
        if (source.toLowerCase().endsWith('.npz')) {
          // Read a batch at a time: a .npz larger than memory can be evaluated.
          const data = await streamLabelledNpz(source, report, 16 * o.batchSize, (x, offset) => checkInputRange(source, x, o, offset));
          return { ...(await predictLogits(model, data.batches, data.sampleDims, run)), labels: data.labels };
        }
        const data = await readLabelledData(source, report, dataOptions(o));
        checkInputRange(source, data.x, o);
        return { ...(await predictLogits(model, data.x, data.sampleDims, run)), labels: Int32Array.from(data.labels) };
      };
      const validation = await logitsOf(o.data);
      if (validation.strippedSoftmax && !o.json) console.error(`onnx-audit: the model ends in Softmax (node '${validation.strippedSoftmax}'); calibrating the logits before it`);
      const calibrator = await fitCalibrator(o.method, validation.logits, validation.labels, validation.classes, { bins: o.bins });
      const evaluated = o.test ? await logitsOf(o.test) : validation;
      const binning = { bins: o.bins, binning: o.binning };
      const before = await calibrationReport(evaluated.logits, evaluated.labels, evaluated.classes, binning);
      const after = await calibrationReport(calibrator.apply(evaluated.logits), evaluated.labels, evaluated.classes, binning);
      if (o.out) await writeModel(o.out, calibrator.toOnnx(model));

      const description = calibrator.describe();
      const pick = (r: CalibrationReport) => Object.fromEntries(METRICS.map((m) => [m, r[m]]));
      if (o.json) {
        console.log(JSON.stringify({
          method: o.method,
          ...(o.method === 'temperature' ? { temperature: description.parameters.temperature } : {}),
          parameters: description.parameters,
          fit: description.fit,
          split: o.test ? 'test' : 'val',
          samples: evaluated.labels.length,
          before: pick(before),
          after: pick(after),
          bins: after.reliability,
          binsBefore: before.reliability,
          ...(o.out ? { out: o.out } : {}),
        }));
        return;
      }
      console.log(table(o, description.parameters, before, after, evaluated.labels.length));
    });
}

function table(o: CalibrateFlags, parameters: Record<string, unknown>, before: CalibrationReport, after: CalibrationReport, samples: number): string {
  const head = o.method === 'temperature' ? `temperature T = ${Number(parameters.temperature).toFixed(4)}` : `${o.method} calibration`;
  const lines = [
    `${head}, fitted on ${o.data}; measured on ${o.test ? `${o.test} (test)` : `${o.data} (the fitting data: expect it to look better than on new data)`}, ${samples} samples, ${o.bins} ${o.binning} bins`,
    `${'metric'.padEnd(14)}${'before'.padStart(10)}${'after'.padStart(10)}`,
    ...METRICS.map((m) => `${m.padEnd(14)}${before[m].toFixed(4).padStart(10)}${after[m].toFixed(4).padStart(10)}`),
  ];
  if (o.out) lines.push(`wrote ${o.out}`);
  return lines.join('\n');
}
