// `onnx-audit defend`: prepends input-transformation defences (median smoothing, bit-depth
// reduction, Gaussian noise) to a model as standard ONNX ops, so the defended model is one file
// anyone can deploy. They run on the user's input, before any --mean/--std normalisation.
import { Command } from 'commander';

import { parseTransforms, withInputTransforms } from '@onnx-audit/attacks';
import { readModel, writeModel } from '@onnx-audit/onnx';

import { UserError } from '../errors.js';
import { addInputSpaceOptions, type InputSpaceFlags, modelInUserSpace } from '../input-space.js';

export function defendCommand(): Command {
  return addInputSpaceOptions(new Command('defend')
    .description('prepend input-transformation defences to a model, written as one ONNX file')
    .requiredOption('--model <file>', 'the .onnx classifier')
    .requiredOption('--transform <list>', 'in order, comma-separated: median:K (K×K median, reflect padding), bits:B (B-bit depth, inputs in [0, 1]), noise:SIGMA[:SEED] (Gaussian)')
    .requiredOption('--out <file>', 'the defended .onnx to write')
    .addHelpText('after', `
Examples:
  onnx-audit defend --model cnn.onnx --transform median:3,bits:5 --out defended.onnx
  onnx-audit defend --model resnet.onnx --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --transform noise:0.05 --out noisy.onnx`))
    .action(async (o: { model: string; transform: string; out: string } & InputSpaceFlags) => {
      const model = modelInUserSpace(await readModel(o.model), o);
      let defended;
      try {
        defended = withInputTransforms(model, parseTransforms(o.transform));
      } catch (error) {
        if (error instanceof RangeError) throw new UserError(`--transform ${o.transform}: ${error.message}`);
        throw error;
      }
      await writeModel(o.out, defended);
      console.log(`wrote ${o.out}: ${o.model} behind ${o.transform}`);
    });
}
