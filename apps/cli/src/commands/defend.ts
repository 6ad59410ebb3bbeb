// `onnx-audit defend`: prepends input-transformation defences (median smoothing, bit-depth
// reduction, Gaussian noise) to a model as standard ONNX ops, so the defended model is one file
// anyone can deploy. They run on the user's input, before any --mean/--std normalisation.
import { Command, Option } from 'commander';

import { evaluateDefence, parseTransforms, withInputTransforms } from '@onnx-audit/attacks';
import { inspectModel, readModel, writeModel } from '@onnx-audit/onnx';

import { addDataOptions, dataOptions, readLabelledData } from '../dataset.js';
import { UserError } from '../errors.js';
import { addInputSpaceOptions, checkInputRange, type InputSpaceFlags, modelInUserSpace } from '../input-space.js';
import { parseEpsilon, parseInteger } from '../numbers.js';
import { addRuntimeOptions, type RuntimeFlags, runtimeOptions } from '../runtime-options.js';

interface DefendFlags extends InputSpaceFlags, RuntimeFlags {
  model: string;
  transform: string;
  out: string;
  data?: string;
  eps?: string;
  norm: 'linf' | 'l2';
  steps: string;
  seed: string;
  json?: boolean;
  resize?: string;
}

export function defendCommand(): Command {
  return addRuntimeOptions(addDataOptions(addInputSpaceOptions(new Command('defend')
    .description('prepend input-transformation defences to a model, written as one ONNX file')
    .requiredOption('--model <file>', 'the .onnx classifier')
    .requiredOption('--transform <list>', 'in order, comma-separated: median:K (K×K median, reflect padding), bits:B (B-bit depth, inputs in [0, 1]), noise:SIGMA[:SEED] (Gaussian), jpeg:Q (JPEG quality 1–100, per channel, inputs in [0, 1])')
    .requiredOption('--out <file>', 'the defended .onnx to write')
    .option('--data <source>', 'also evaluate the defence on this labelled data: PGD with the defended graph\'s own gradients (naive), with BPDA and EOT (adaptive), Square, and PGD on the undefended model')
    .option('--eps <e>', 'with --data: the ε-ball, e.g. 0.3 or 8/255', '8/255')
    .addOption(new Option('--norm <norm>', 'with --data: the threat model').choices(['linf', 'l2']).default('linf'))
    .option('--steps <n>', 'with --data: PGD steps', '40')
    .option('--seed <s>', 'with --data: seeds the attacks', '0')
    .option('--json', 'with --data: print one JSON object')
    .addHelpText('after', `
Examples:
  onnx-audit defend --model cnn.onnx --transform median:3,bits:5 --out defended.onnx
  onnx-audit defend --model cnn.onnx --transform bits:3 --out defended.onnx --data test.npz --eps 0.3
  onnx-audit defend --model resnet.onnx --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --transform noise:0.05 --out noisy.onnx`))))
    .action(async (o: DefendFlags) => {
      const eps = parseEpsilon(o.eps ?? '8/255');
      const steps = parseInteger('--steps', o.steps, 1);
      const seed = parseInteger('--seed', o.seed, 0);
      const model = modelInUserSpace(await readModel(o.model), o);
      let defended, transforms;
      try {
        transforms = parseTransforms(o.transform);
        defended = withInputTransforms(model, transforms);
      } catch (error) {
        if (error instanceof RangeError) throw new UserError(`--transform ${o.transform}: ${error.message}`);
        throw error;
      }
      await writeModel(o.out, defended);
      if (!o.data) {
        console.log(`wrote ${o.out}: ${o.model} behind ${o.transform}`);
        return;
      }
      const data = await readLabelledData(o.data, inspectModel(model), dataOptions(o));
      const [lo, hi] = checkInputRange(o.data, data.x, o) ?? [0, 1];
      const task = { x: data.x, labels: Int32Array.from(data.labels) };
      const r = await evaluateDefence(model, transforms, task, { ...runtimeOptions(o), sampleDims: data.sampleDims, box: { lo, hi }, eps, norm: o.norm, steps, seed });
      if (o.json) {
        console.log(JSON.stringify({ model: o.model, transform: o.transform, out: o.out, norm: o.norm, eps, steps, seed, samples: task.labels.length, ...r }));
        return;
      }
      const percent = (v: number | null) => (v === null ? '–' : `${(100 * v).toFixed(2)}%`);
      console.log([
        `wrote ${o.out}: ${o.model} behind ${o.transform}`,
        `on ${o.data} (${task.labels.length} samples), ${o.norm} ε = ${eps.toPrecision(4)}: clean accuracy ${percent(r.cleanAccuracy)}`,
        `robust accuracy: naive PGD ${percent(r.naive)}${r.naiveUnavailable ? ` (${r.naiveUnavailable})` : ''}, BPDA${transforms.some((t) => t.kind === 'noise') ? ' + EOT' : ''} PGD ${percent(r.bpda)}, adaptive (worst of both) ${percent(r.adaptive)}, Square ${percent(r.blackBox)}`,
        `undefended model under PGD ${percent(r.undefended)}; its adversarial inputs against the defence ${percent(r.transfer)}`,
        ...(r.naive !== null && r.naive > r.adaptive + 0.02 ? [`warning: the naive attack overstates robustness by ${percent(r.naive - r.adaptive)}: the defence masks gradients; report the adaptive figure`] : []),
      ].join('\n'));
    });
}
