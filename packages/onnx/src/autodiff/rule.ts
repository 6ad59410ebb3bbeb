// What a per-op gradient rule sees and may do. A rule reads the forward node (its inputs,
// outputs, attributes and the concrete shapes of every value), the gradients flowing into its
// outputs, and emits standard ONNX nodes that give gradients to the inputs that want them.
import type { NodeProto } from 'onnx-buf';

import type { Attributes, GraphEditor } from './graph.js';

export interface RuleContext {
  readonly node: NodeProto;
  readonly attrs: Attributes;
  readonly g: GraphEditor;
  /** The default-domain opset the model imports. */
  readonly opset: number;
  /** Name of input i ('' when the optional input is absent). */
  input(i: number): string;
  output(i: number): string;
  /** Concrete dims of a value (from the shape probe). */
  dims(name: string): number[];
  /** The ONNX element type (TensorProto.DataType) of a value. */
  dtypeCode(name: string): number;
  /** The gradient flowing into output i, or undefined when nothing downstream needs it. */
  dY(i: number): string | undefined;
  /** Whether input i needs a gradient. */
  wants(i: number): boolean;
  /** Adds a contribution to input i's gradient (summed with the others). */
  give(i: number, gradient: string): void;
  /** An error naming this node, for attribute values the rule cannot differentiate. */
  unsupported(what: string): Error;
}

export interface GradientRule {
  /** Input indices that can carry a gradient; every other input is a stop edge (shapes, indices). */
  differentiable: readonly number[] | 'all';
  /**
   * Runs before shapes are probed, on every node that will be differentiated: lets a rule change
   * the forward node, e.g. give MaxPool its Indices output for the backward to read.
   */
  prepare?: (node: NodeProto, g: GraphEditor) => void;
  vjp: (c: RuleContext) => void;
}

/** Ops whose outputs never carry gradients: shape plumbing, comparisons, integer producers. */
export const NON_DIFFERENTIABLE = new Set([
  'Shape', 'Size', 'Constant', 'ConstantOfShape', 'Range', 'Equal', 'Less', 'LessOrEqual', 'Greater',
  'GreaterOrEqual', 'Not', 'And', 'Or', 'Xor', 'NonZero', 'ArgMax', 'ArgMin', 'Floor', 'Ceil', 'Round',
  'Sign', 'IsNaN', 'IsInf', 'OneHot', 'EyeLike', 'RandomNormal', 'RandomUniform', 'RandomNormalLike',
  'RandomUniformLike', 'Bernoulli',
]);
