// BatchNormalization, LayerNormalization and Dropout. The normalisations share one shape of
// gradient: with x̂ the normalised input, g = dY·scale and `mean` over the normalised axes,
// dX = inv·(g − mean(g) − x̂·mean(g·x̂)) when the statistics come from X itself (training-mode
// BatchNormalization, LayerNormalization), and dX = inv·g when they are fixed (inference-mode
// BatchNormalization). Means are ReduceSum times a constant 1/m: the sizes are concrete, and
// ReduceMean's axes move from attribute to input at opset 18, which ReduceSum did at 13.
import { unbroadcast } from '../broadcast.js';
import { constantValues } from '../constants.js';
import { Attributes } from '../graph.js';
import type { GradientRule, RuleContext } from '../rule.js';

const numel = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

const sumOver = (c: RuleContext, x: string, axes: number[]) => c.g.node('ReduceSum', [x, c.g.int64s(axes)], { keepdims: 1 });
const meanOver = (c: RuleContext, x: string, axes: number[], count: number) => c.g.node('Mul', [sumOver(c, x, axes), c.g.float(1 / count)]);

/** inv·(g − Σg/m − x̂·Σ(g·x̂)/m), given the two sums (keepdims) over the normalised axes. */
function normalisedGradient(c: RuleContext, g: string, xhat: string, inv: string, sumG: string, sumGx: string, count: number): string {
  const scale = c.g.float(1 / count);
  const centred = c.g.node('Sub', [g, c.g.node('Mul', [sumG, scale])]);
  const projected = c.g.node('Sub', [centred, c.g.node('Mul', [xhat, c.g.node('Mul', [sumGx, scale])])]);
  return c.g.node('Mul', [inv, projected]);
}

function batchNormalization(c: RuleContext): void {
  // The running statistics are a momentum update, not part of Y; nothing in a classifier reads them.
  if (c.dY(1) || c.dY(2)) throw c.unsupported('a gradient through the running mean/variance outputs');
  const dY = c.dY(0);
  if (!dY) return;
  const x = c.input(0), xDims = c.dims(x), rank = xDims.length;
  if (rank < 2) throw c.unsupported(`an input of rank ${rank} (BatchNormalization needs [N, C, ...])`);
  const channels = xDims[1];
  const column = xDims.map((d, i) => (i === 1 ? d : 1));
  const asColumn = (v: string) => c.g.node('Reshape', [v, c.g.int64s(column)]);
  const axes = [0, ...range(2, rank)];
  const count = numel(xDims) / channels;
  const epsilon = c.g.float(c.attrs.float('epsilon', 1e-5));
  // training_mode exists from opset 14; a BatchNormalization-9 node simply has no such attribute.
  const training = c.attrs.int('training_mode', 0) !== 0;

  let centred: string, inv: string;
  if (training) {
    // Batch statistics with the biased variance, as the forward computes them.
    centred = c.g.node('Sub', [x, meanOver(c, x, axes, count)]);
    const variance = meanOver(c, c.g.node('Mul', [centred, centred]), axes, count);
    inv = c.g.node('Reciprocal', [c.g.node('Sqrt', [c.g.node('Add', [variance, epsilon])])]);
  } else {
    centred = c.g.node('Sub', [x, asColumn(c.input(3))]);
    inv = asColumn(c.g.node('Reciprocal', [c.g.node('Sqrt', [c.g.node('Add', [c.input(4), epsilon])])]));
  }
  const needXhat = c.wants(1) || (training && c.wants(0));
  const xhat = needXhat ? c.g.node('Mul', [centred, inv]) : '';
  // Σ dY and Σ dY·x̂ serve dB and dScale, and the training-mode dX (where g = dY·scale and the
  // per-channel scale factors out of both sums).
  const sumDy = c.wants(2) || (training && c.wants(0)) ? sumOver(c, dY, axes) : '';
  const sumDyXhat = needXhat ? sumOver(c, c.g.node('Mul', [dY, xhat]), axes) : '';
  const flat = (v: string) => c.g.node('Reshape', [v, c.g.int64s([channels])]);

  if (c.wants(0)) {
    const factor = c.g.node('Mul', [asColumn(c.input(1)), inv]);
    c.give(0, training ? normalisedGradient(c, dY, xhat, factor, sumDy, sumDyXhat, count) : c.g.node('Mul', [dY, factor]));
  }
  if (c.wants(1)) c.give(1, flat(sumDyXhat));
  if (c.wants(2)) c.give(2, flat(sumDy));
}

/** Mean or InvStdDev of a LayerNormalization in X's element type (they are in stash_type's). */
function inXType(c: RuleContext, value: string, x: string): string {
  const type = c.dtypeCode(x);
  return c.dtypeCode(value) === type ? value : c.g.node('Cast', [value], { to: type });
}

function layerNormalization(c: RuleContext): void {
  if (c.dY(1) || c.dY(2)) throw c.unsupported('a gradient through the Mean/InvStdDev outputs');
  const dY = c.dY(0);
  if (!dY) return;
  const x = c.input(0), xDims = c.dims(x), rank = xDims.length;
  const attrAxis = c.attrs.int('axis', -1);
  const axis = attrAxis < 0 ? attrAxis + rank : attrAxis;
  if (axis < 0 || axis >= rank) throw c.unsupported(`axis ${attrAxis} for rank ${rank}`);
  const axes = range(axis, rank);
  // prepare() gave the node its Mean and InvStdDev outputs, so the statistics are not recomputed.
  const mean = inXType(c, c.output(1), x), inv = inXType(c, c.output(2), x);
  const xhat = c.g.node('Mul', [c.g.node('Sub', [x, mean]), inv]);

  if (c.wants(0)) {
    const g = c.g.node('Mul', [dY, c.input(1)]);
    const sumG = sumOver(c, g, axes), sumGx = sumOver(c, c.g.node('Mul', [g, xhat]), axes);
    c.give(0, normalisedGradient(c, g, xhat, inv, sumG, sumGx, numel(xDims.slice(axis))));
  }
  if (c.wants(1)) c.give(1, unbroadcast(c, c.g.node('Mul', [dY, xhat]), xDims, c.input(1)));
  if (c.input(2) && c.wants(2)) c.give(2, unbroadcast(c, dY, xDims, c.input(2)));
}

export const normRules: Record<string, GradientRule> = {
  // Running mean and variance (inputs 3, 4) feed only the running-statistics outputs in training
  // mode and are fixed statistics in inference mode: neither is trained by gradient.
  BatchNormalization: {
    differentiable: [0, 1, 2],
    // ONNX requires all three outputs in training mode, and ONNX Runtime 1.29's CPU kernel crashes
    // the process (SIGSEGV) when the running statistics are left unnamed (''): name them.
    prepare: (node, g) => {
      if (new Attributes(node).int('training_mode', 0) === 0) return;
      while (node.output.length < 3) node.output.push('');
      if (!node.output[1]) node.output[1] = g.fresh('batchnorm_running_mean');
      if (!node.output[2]) node.output[2] = g.fresh('batchnorm_running_var');
    },
    vjp: batchNormalization,
  },
  LayerNormalization: {
    differentiable: [0, 1, 2],
    prepare: (node, g) => {
      while (node.output.length < 3) node.output.push('');
      if (!node.output[1]) node.output[1] = g.fresh('layernorm_mean');
      if (!node.output[2]) node.output[2] = g.fresh('layernorm_inv_std');
    },
    vjp: layerNormalization,
  },
  // Inference-mode Dropout is the identity. A training-mode mask is drawn afresh on every run, so
  // the trainer replaces Dropout by a Mul with a mask it feeds, before differentiating.
  Dropout: {
    differentiable: [0],
    vjp: (c) => {
      const dY = c.dY(0);
      if (!dY) return;
      if (c.input(2)) {
        const mode = constantValues(c, c.input(2));
        if (mode === undefined) throw c.unsupported('a training_mode computed at run time');
        if (mode[0]) throw c.unsupported('training_mode=true (training with dropout feeds the mask as an input: the trainer rewrites Dropout into a Mul before differentiating)');
      }
      c.give(0, dY);
    },
  },
};
