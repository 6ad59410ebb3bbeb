// `onnx-audit grad`: for each sample of D.npz, the gradient of its own cross-entropy loss (natural
// log, on the logits) with respect to its input, written as float32 in the shape of x.
import { Command } from 'commander';

import { type NdArray, readNpz, writeNpy } from '@onnx-audit/data';
import { type Device, inputGradients, inspectModel, readModel } from '@onnx-audit/onnx';

import { UserError } from '../errors.js';

function checkData(file: string, arrays: Record<string, NdArray>, modelShape: ReadonlyArray<number | string | null> | null, classes: number | null) {
  const { x, y } = arrays;
  if (!x || !y) throw new UserError(`${file}: needs arrays 'x' (inputs, batch first) and 'y' (integer labels); it holds ${Object.keys(arrays).join(', ') || 'none'}`);
  if (x.dtype !== 'float32') throw new UserError(`${file}: x is ${x.dtype}; save it as float32 (x.astype(np.float32))`);
  if (!['int32', 'int64', 'uint8'].includes(y.dtype)) throw new UserError(`${file}: y is ${y.dtype}; save integer class labels`);
  const n = x.shape[0] ?? 0;
  if (n === 0) throw new UserError(`${file}: x holds no samples`);
  if (y.shape.length !== 1 || y.shape[0] !== n) throw new UserError(`${file}: y has shape [${y.shape}], expected [${n}] (one label per sample of x)`);
  if (modelShape && (modelShape.length !== x.shape.length || modelShape.some((d, i) => i > 0 && typeof d === 'number' && d !== x.shape[i]))) {
    throw new UserError(`${file}: x has shape [${x.shape}], the model takes [${modelShape.map((d) => d ?? '?')}]`);
  }
  const data = x.data as Float32Array;
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new UserError(`${file}: x holds ${data[bad]} at flat index ${bad}; remove or fix non-finite inputs`);
  const labels = Array.from(y.data as ArrayLike<number | bigint>, Number);
  const outside = labels.findIndex((l) => !Number.isInteger(l) || l < 0 || (classes !== null && l >= classes));
  if (outside >= 0) throw new UserError(`${file}: label ${labels[outside]} at index ${outside} is outside [0, ${classes ?? '∞'})`);
  return { x: data, sampleDims: x.shape.slice(1), labels };
}

export function gradCommand(): Command {
  return new Command('grad')
    .description('per-sample input gradients of the cross-entropy loss, written as a .npy of x\'s shape')
    .requiredOption('--model <file>', 'the .onnx classifier')
    .requiredOption('--data <file>', '.npz with x (float32, batch first) and y (integer labels)')
    .requiredOption('--out <file>', 'the .npy to write')
    .option('--device <device>', 'cpu or cuda (falls back to cpu when CUDA is missing)', 'cpu')
    .option('--batch-size <n>', 'samples per run', (v) => Number.parseInt(v, 10), 64)
    .action(async (o: { model: string; data: string; out: string; device: Device; batchSize: number }) => {
      if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new UserError(`--batch-size must be a positive integer, got ${o.batchSize}`);
      if (o.device !== 'cpu' && o.device !== 'cuda') throw new UserError(`--device must be cpu or cuda, got '${o.device}'`);
      const model = await readModel(o.model);
      const report = inspectModel(model);
      if (report.unsupportedForGradients.length > 0) {
        const list = report.unsupportedForGradients.map((u) => `${u.op} (node '${u.node}')`).join(', ');
        throw new UserError(`${o.model}: not differentiable: ${list}`);
      }
      const { x, sampleDims, labels } = checkData(o.data, await readNpz(o.data), report.inputs[0]?.shape ?? null, report.classes);
      const tty = process.stderr.isTTY;
      const result = await inputGradients(model, x, sampleDims, labels, {
        device: o.device,
        batchSize: o.batchSize,
        progress: (done, total) => tty && process.stderr.write(`\rgrad: ${done}/${total} samples`),
      });
      if (tty) process.stderr.write('\n');
      if (result.strippedSoftmax) console.error(`onnx-audit: the model ends in Softmax (node '${result.strippedSoftmax}'); gradients are of the loss on the logits before it`);
      await writeNpy(o.out, { dtype: 'float32', shape: [labels.length, ...sampleDims], data: result.gradients });
      console.log(`wrote ${o.out}: float32 [${[labels.length, ...sampleDims]}], mean loss ${(result.losses.reduce((a, b) => a + b, 0) / labels.length).toFixed(4)}`);
    });
}
