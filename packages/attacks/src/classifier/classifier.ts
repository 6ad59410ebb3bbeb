// The one interface every attack talks to. A black-box classifier answers scores for a batch; a
// white-box one also answers a loss and its gradient with respect to the input. Both know the
// valid input box and count what they were asked, in samples, so that an attack's cost is
// reported the same way whatever it is run on.
import type { Box } from '@onnx-audit/native';

export type { Box } from '@onnx-audit/native';

/** The loss whose input gradient a white-box classifier returns; every one is per sample. */
export type AttackLoss =
  /** Cross-entropy of the logits with `labels` (natural log). */
  | { kind: 'cross-entropy'; labels: Int32Array }
  /** Z_y − max_{j≠y} Z_j with y = `labels` (Carlini–Wagner's margin, before the hinge). */
  | { kind: 'margin'; labels: Int32Array }
  /** AutoAttack's difference-of-logits-ratio loss with y = `labels` (needs ≥ 3 classes). */
  | { kind: 'dlr'; labels: Int32Array }
  /** Targeted DLR towards `targets` (needs ≥ 4 classes). */
  | { kind: 'targeted-dlr'; labels: Int32Array; targets: Int32Array }
  /** ⟨cotangent_i, Z_i⟩: its gradient is the vector-Jacobian product (DeepFool's class differences). */
  | { kind: 'dot'; cotangent: Float32Array };

export interface LossGradient {
  /** Per-sample loss [n]. */
  loss: Float32Array;
  /** d loss_i / d x_i, [n, d]. */
  gradient: Float32Array;
  /** The logits at the same inputs [n, classes], from the same run. */
  logits: Float32Array;
}

export interface Usage {
  /** Samples scored (forward passes). */
  queries: number;
  /** Samples differentiated (forward + backward passes). */
  gradientCalls: number;
}

export interface Classifier {
  /** Dimensions of one sample, e.g. [1, 28, 28]. */
  readonly sampleDims: readonly number[];
  /** Values per sample: the product of sampleDims. */
  readonly sampleSize: number;
  readonly classes: number;
  /** The valid input box: every attack keeps its inputs in it. */
  readonly box: Box;
  /** Counts since creation; attacks read the difference. */
  readonly usage: Readonly<Usage>;
  /** Scores [n, classes] for inputs [n, sampleSize]: logits, or whatever monotone scores a black box gives. */
  scores(x: Float32Array): Promise<Float32Array>;
  release(): Promise<void>;
}

export interface DifferentiableClassifier extends Classifier {
  readonly differentiable: true;
  lossGradient(x: Float32Array, loss: AttackLoss): Promise<LossGradient>;
}

export function isDifferentiable(classifier: Classifier): classifier is DifferentiableClassifier {
  return (classifier as Partial<DifferentiableClassifier>).differentiable === true;
}

/** Class of the highest score per row, ties to the lower index (as ArgMax). */
export function argmaxRows(scores: Float32Array, classes: number): Int32Array {
  const n = scores.length / classes;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (scores[i * classes + k] > scores[i * classes + best]) best = k;
    out[i] = best;
  }
  return out;
}
