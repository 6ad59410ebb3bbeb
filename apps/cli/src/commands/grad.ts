// `onnx-audit grad`: for each sample of D.npz, the gradient of its own cross-entropy loss (natural
// log, on the logits) with respect to its input, written as float32 in the shape of x.
import { Command } from 'commander';

import { writeNpy } from '@onnx-audit/data';
import { inputGradients, inspectModel, readModel } from '@onnx-audit/onnx';

import { addDataOptions, dataOptions, readLabelledData } from '../dataset.js';
import { UserError } from '../errors.js';
import { addRuntimeOptions, type RuntimeFlags, runtimeOptions } from '../runtime-options.js';
import { addInputSpaceOptions, checkInputRange, type InputSpaceFlags, modelInUserSpace } from '../input-space.js';

export function gradCommand(): Command {
  return addRuntimeOptions(addDataOptions(addInputSpaceOptions(new Command('grad')
    .description('per-sample input gradients of the cross-entropy loss, written as a .npy of x\'s shape')
    .requiredOption('--model <file>', 'the .onnx classifier')
    .requiredOption('--data <source>', '.npz (x float32 batch first, y integer labels), .csv, an image folder, or builtin:NAME')
    .requiredOption('--out <file>', 'the .npy to write')
    .option('--batch-size <n>', 'samples per run', (v) => Number.parseInt(v, 10), 64))))
    .option('--json', 'print one JSON object instead of a line')
    .addHelpText('after', '\nExamples:\n  onnx-audit grad --model model.onnx --data batch.npz --out gradients.npy\n  onnx-audit grad --model model.onnx --data batch.npz --out gradients.npy --device cuda --json')
    .action(async (o: { model: string; data: string; out: string; batchSize: number; resize?: string; json?: boolean } & InputSpaceFlags & RuntimeFlags) => {
      if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new UserError(`--batch-size must be a positive integer, got ${o.batchSize}`);
      const model = modelInUserSpace(await readModel(o.model), o);
      const report = inspectModel(model);
      if (report.unsupportedForGradients.length > 0) {
        const list = report.unsupportedForGradients.map((u) => `${u.op} (node '${u.node}')`).join(', ');
        throw new UserError(`${o.model}: not differentiable: ${list}`);
      }
      const { x, sampleDims, labels } = await readLabelledData(o.data, report, dataOptions(o));
      checkInputRange(o.data, x, o);
      const tty = process.stderr.isTTY;
      const result = await inputGradients(model, x, sampleDims, labels, {
        ...runtimeOptions(o),
        batchSize: o.batchSize,
        progress: (done, total) => tty && process.stderr.write(`\rgrad: ${done}/${total} samples`),
      });
      if (tty) process.stderr.write('\n');
      if (result.strippedSoftmax) console.error(`onnx-audit: the model ends in Softmax (node '${result.strippedSoftmax}'); gradients are of the loss on the logits before it`);
      await writeNpy(o.out, { dtype: 'float32', shape: [labels.length, ...sampleDims], data: result.gradients });
      const meanLoss = result.losses.reduce((a, b) => a + b, 0) / labels.length;
      if (o.json) console.log(JSON.stringify({ out: o.out, shape: [labels.length, ...sampleDims], meanLoss }));
      else console.log(`wrote ${o.out}: float32 [${[labels.length, ...sampleDims]}], mean loss ${meanLoss.toFixed(4)}`);
    });
}
