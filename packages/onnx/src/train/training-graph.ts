// The model one training step runs: the classifier in training mode, the loss head and the
// backward pass, with every parameter, BatchNormalization statistic and dropout mask fed as an
// input. Training mode means BatchNormalization normalises with batch statistics (and outputs the
// updated running statistics) and Dropout multiplies by a mask the trainer draws from its own
// seeded stream: ONNX Runtime's Dropout reseeds on every run, so its masks cannot be reproduced.
import { clone } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';

import { buildGradientModel } from '../autodiff/gradient.js';
import type { LossHead } from '../autodiff/heads.js';
import { probeShapes } from '../autodiff/shapes.js';
import { Attributes, attribute } from '../autodiff/graph.js';
import { logitsValue } from '../model/logits.js';
import { tensorToArray, tensorValueInfo } from '../model/tensor.js';
import { isDefaultDomain } from '../model/validate.js';
import { TrainingError } from './errors.js';
import { type ParameterLayout, type Slot, slotsAsInputs } from './parameters.js';

export interface DropoutMask {
  /** The graph input the mask is fed to. */
  name: string;
  dims: number[];
  /** Probability of dropping a unit; kept units are scaled by 1 / (1 − ratio). */
  ratio: number;
}

export interface TrainingGraph {
  model: ModelProto;
  input: string;
  /** The head's extra input: int64 labels (cross-entropy) or float soft targets (distillation). */
  labels?: string;
  targets?: string;
  loss: string;
  logits: string;
  classes: number;
  /** Gradient output per parameter, in the layout's order. */
  gradients: string[];
  /** For each statistic slot, the output holding its updated value. */
  updatedStatistics: string[];
  masks: DropoutMask[];
}

export async function buildTrainingGraph(source: ModelProto, layout: ParameterLayout, input: string, batchDims: number[], head: LossHead): Promise<TrainingGraph> {
  const model = clone(ModelProtoSchema, source);
  const graph = model.graph!;
  const exampleX = new ort.Tensor('float32', new Float32Array(batchDims.reduce((a, b) => a * b, 1)), batchDims);
  const shapes = await probeShapes(source, { [input]: exampleX });

  const logitsDims = shapes.get(logitsValue(source).logits)?.dims ?? [];
  if (logitsDims.length !== 2) throw new TrainingError(`the model's logits have shape [${logitsDims}]; training needs [batch, classes]`);
  const updatedStatistics = trainBatchNorms(model, layout.statistics);
  const masks = maskDropouts(model, (name) => shapes.get(name)?.dims);
  slotsAsInputs(model, [...layout.parameters, ...layout.statistics]);
  for (const mask of masks) graph.input.push(tensorValueInfo(mask.name, mask.dims));

  const zeros = (dims: number[]) => new ort.Tensor('float32', new Float32Array(dims.reduce((a, b) => a * b, 1)), dims);
  const feeds: Record<string, ort.Tensor> = { [input]: exampleX };
  for (const slot of layout.parameters) feeds[slot.name] = zeros(slot.dims);
  // Variances of 1, not 0: the probe runs the forward pass and must not divide by zero.
  for (const slot of layout.statistics) feeds[slot.name] = new ort.Tensor('float32', new Float32Array(slot.size).fill(1), slot.dims);
  for (const mask of masks) feeds[mask.name] = zeros(mask.dims);

  const built = await buildGradientModel(model, {
    wrt: layout.parameters.map((p) => p.name),
    head,
    feeds,
    mean: true,
    outputs: updatedStatistics,
  });
  return {
    model: built.model,
    input,
    ...(built.labels ? { labels: built.labels } : {}),
    ...(built.targets ? { targets: built.targets } : {}),
    loss: built.loss,
    logits: built.logits,
    classes: logitsDims[1],
    gradients: layout.parameters.map((p) => built.gradients[p.name]),
    updatedStatistics,
    masks,
  };
}

/**
 * The classifier's forward pass in training mode and nothing else: BatchNormalization on the
 * batch's statistics, each Dropout a multiplication by a fed mask; the weights stay initializers.
 * It computes what a PyTorch model left in train() mode answers (SeqMIA's official code queries
 * its distilled snapshots so).
 */
export async function trainingModeModel(source: ModelProto, input: string, batchDims: number[]): Promise<{ model: ModelProto; masks: DropoutMask[] }> {
  const model = clone(ModelProtoSchema, source);
  const shapes = await probeShapes(source, { [input]: new ort.Tensor('float32', new Float32Array(batchDims.reduce((a, b) => a * b, 1)), batchDims) });
  trainBatchNorms(model, []);
  // Left unread, the running-statistics outputs are pruned and ONNX Runtime then normalises with
  // the running statistics, as in inference: keep them as (unused) graph outputs.
  for (const node of model.graph!.node) {
    if (node.opType === 'BatchNormalization' && isDefaultDomain(node.domain)) model.graph!.output.push(...[node.output[1], node.output[2]].map((name) => tensorValueInfo(name, [`${name}_channels`])));
  }
  const masks = maskDropouts(model, (name) => shapes.get(name)?.dims);
  for (const mask of masks) model.graph!.input.push(tensorValueInfo(mask.name, mask.dims));
  return { model, masks };
}

/**
 * Switches every BatchNormalization to training mode (batch statistics) and names its running
 * statistics outputs; returns, for each statistic slot, the output that holds its update
 * (ONNX: running = input · momentum + batch statistic · (1 − momentum)).
 */
function trainBatchNorms(model: ModelProto, statistics: Slot[]): string[] {
  const updated = new Map<string, string>();
  for (const node of model.graph!.node) {
    if (node.opType !== 'BatchNormalization' || !isDefaultDomain(node.domain)) continue;
    const mode = node.attribute.find((a) => a.name === 'training_mode');
    if (mode) mode.i = 1n;
    else node.attribute.push(attribute('training_mode', 1));
    while (node.output.length < 3) node.output.push('');
    for (const i of [1, 2]) {
      if (!node.output[i]) node.output[i] = `${node.output[0]}/running_${i === 1 ? 'mean' : 'var'}`;
      updated.set(node.input[i + 2], node.output[i]);
    }
  }
  return statistics.map((s) => {
    const output = updated.get(s.name);
    if (!output) throw new TrainingError(`BatchNormalization statistic '${s.name}' has no running output`);
    return output;
  });
}

/** Replaces each Dropout with a multiplication by a fed mask; returns the masks to feed. */
function maskDropouts(model: ModelProto, dimsOf: (value: string) => number[] | undefined): DropoutMask[] {
  const graph = model.graph!;
  const masks: DropoutMask[] = [];
  for (const node of graph.node) {
    if (node.opType !== 'Dropout' || !isDefaultDomain(node.domain)) continue;
    const where = `Dropout node '${node.name}'`;
    if (node.output[1] && graph.node.some((n) => n.input.includes(node.output[1]))) {
      throw new TrainingError(`${where}: its mask output is read by other nodes, which training cannot reproduce; re-export the model without using it`);
    }
    const ratio = dropoutRatio(model, node.input[1], new Attributes(node), where);
    const dims = dimsOf(node.input[0]);
    if (!dims) throw new TrainingError(`${where}: no shape known for its input '${node.input[0]}'`);
    const name = `${node.output[0]}/dropout_mask`;
    masks.push({ name, dims, ratio });
    const ratioInput = node.input[1];
    node.opType = 'Mul';
    node.input.splice(0, node.input.length, node.input[0], name);
    node.output.splice(1);
    node.attribute.splice(0);
    if (ratioInput && !graph.node.some((n) => n.input.includes(ratioInput))) {
      // ONNX Runtime warns about every initializer left unread
      const i = graph.initializer.findIndex((t) => t.name === ratioInput);
      if (i >= 0) graph.initializer.splice(i, 1);
    }
  }
  return masks;
}

function dropoutRatio(model: ModelProto, input: string | undefined, attrs: Attributes, where: string): number {
  if (!input) return attrs.float('ratio', 0.5); // opset < 12 kept the ratio as an attribute
  const init = model.graph!.initializer.find((t) => t.name === input);
  const constant = model.graph!.node.find((n) => n.opType === 'Constant' && n.output[0] === input);
  const tensor = init ?? (constant ? new Attributes(constant).tensor('value') : undefined);
  if (!tensor) throw new TrainingError(`${where}: its ratio is computed at run time; training needs a constant ratio`);
  const ratio = Number(tensorToArray(tensor)[0]);
  if (!(ratio >= 0 && ratio < 1)) throw new TrainingError(`${where}: ratio ${ratio} is outside [0, 1)`);
  return ratio;
}
