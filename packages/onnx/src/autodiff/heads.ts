// Loss heads appended after the logits. Each writes the per-sample loss and, in closed form, the
// gradient of the total loss with respect to the logits: the seed of the backward pass. Writing
// the seed directly (softmax − one-hot rather than differentiating LogSoftmax and GatherElements)
// is both cheaper and exactly what the stable formulas give.
import { TensorProto_DataType } from 'onnx-buf';

import type { GraphEditor } from './graph.js';

export type LossHead =
  /** Cross-entropy of softmax(logits) with integer labels (natural log). Input: `labels` int64 [N]. */
  | { kind: 'cross-entropy' }
  /**
   * Distillation: KL(targets ‖ softmax(logits / τ)) · τ², the soft-target loss of Hinton et al.
   * Input: `targets` float [N, K], probabilities (a teacher's softmax at τ).
   */
  | { kind: 'soft-cross-entropy'; temperature: number }
  /** Mean squared error over the classes. Input: `targets` float [N, K]. */
  | { kind: 'mse' }
  /** ⟨cotangent, output⟩ summed per sample: its gradient is the vector-Jacobian product with `cotangent`. */
  | { kind: 'dot' }
  /**
   * Carlini–Wagner margin z_y − max_{j≠y} z_j: negative once the sample is misclassified.
   * Input: `labels` int64 [N]. Needs K ≥ 2.
   */
  | { kind: 'margin' }
  /**
   * AutoAttack's difference of logits ratio (Croce & Hein 2020),
   * −(z_y − max_{j≠y} z_j) / (z_π1 − z_π3 + 1e−12) with π the classes by descending logit: the
   * margin made invariant to shifting and scaling the logits. Input: `labels` int64 [N]. Needs K ≥ 3.
   */
  | { kind: 'dlr' }
  /**
   * Targeted DLR, −(z_y − z_t) / (z_π1 − (z_π3 + z_π4)/2 + 1e−12), increasing as z_t overtakes z_y.
   * Inputs: `labels` and `targets`, both int64 [N] class indices. Needs K ≥ 4.
   */
  | { kind: 'targeted-dlr' }
  /**
   * TRADES (Zhang et al. 2019) on a batch of 2B rows: rows 0..B−1 clean, row B + i the adversarial
   * copy of row i. Sample i's loss CE(z_i, y_i) + β·KL(softmax(z_i) ‖ softmax(z_{B+i})) is its
   * clean row's; the adversarial rows' per-sample losses are 0, so the batch total counts B
   * samples (and `mean` divides by B). Input: `labels` int64 [2B], only the first B read.
   */
  | { kind: 'trades'; beta: number };

export interface HeadInputs {
  labels?: string;
  /** Float [N, K] for 'soft-cross-entropy' and 'mse'; int64 [N] target classes for 'targeted-dlr'. */
  targets?: string;
  cotangent?: string;
}

export interface HeadNodes {
  /** Per-sample loss [N]. */
  loss: string;
  /** d(total loss)/d(logits). */
  seed: string;
}

/**
 * Appends the head. `logitsDims` are the logits' concrete dims ([N, K] except for 'dot');
 * `mean` divides the total (and the seed) by N, for training; otherwise the total is the sum of
 * per-sample losses, so the gradient with respect to sample i's input is that of its own loss.
 */
export function appendHead(g: GraphEditor, head: LossHead, logits: string, logitsDims: number[], inputs: HeadInputs, mean: boolean): HeadNodes {
  const n = logitsDims[0];
  const scale = (seed: string, factor: number) => (factor === 1 ? seed : g.node('Mul', [seed, g.float(factor)]));
  const sumClasses = (x: string) => g.node('ReduceSum', [x, g.int64s([1])], { keepdims: 0 });
  const oneHot = (classes: string) => g.node('OneHot', [classes, g.int64s([logitsDims[1]], true), g.floats([0, 1], [2])], { axis: -1 });
  /** z_{i, classes_i} as [N]. */
  const pick = (classes: string) => g.node('Squeeze', [g.node('GatherElements', [logits, g.node('Unsqueeze', [classes, g.int64s([1])])], { axis: 1 }), g.int64s([1])]);
  /** Column j of an [N, k] value, as [N]. */
  const column = (x: string, j: number) => g.node('Gather', [x, g.int64s([j], true)], { axis: 1 });
  /** Σ_r coefficient_r ⊗ one-hot rows_r: one class may appear in several terms, and adding rows sums its parts. */
  const combine = (terms: Array<[coefficient: string, rows: string]>) =>
    g.node('Sum', terms.map(([coefficient, rows]) => g.node('Mul', [g.node('Unsqueeze', [coefficient, g.int64s([1])]), rows])));
  /**
   * The highest-scoring class other than the label (lowest index on ties, as ArgMax). The label's
   * logit is masked with the lowest float, not zeroed: a zero would win whenever every other logit
   * is negative, and the margin would then be measured against the label itself.
   */
  const runnerUp = (labels: string) => {
    const isLabel = g.node('Cast', [oneHot(labels)], { to: TensorProto_DataType.BOOL });
    return g.node('ArgMax', [g.node('Where', [isLabel, g.float(-FLOAT32_MAX), logits])], { axis: 1, keepdims: 0 });
  };
  /** The k largest logits, descending (lower index first on ties, as ArgMax), as [N] columns of values and classes. */
  const ranked = (k: number): Array<Ranked> => {
    const [values, indices] = g.nodeN('TopK', [logits, g.int64s([k])], 2, { axis: 1, largest: 1, sorted: 1 });
    return Array.from({ length: k }, (_, j) => ({ value: column(values, j), classes: column(indices, j) }));
  };
  /**
   * −u/d with u = z_y − z_other and d = Σ_r w_r z_{π_r} + 1e−12, and its gradient by the quotient
   * rule, −(e_y − e_other)/d + (u/d²) Σ_r w_r e_{π_r}, on one-hot rows.
   */
  const ratio = (labels: string, other: string, spread: Array<[Ranked, number]>) => {
    const weighted = (x: string, w: number) => (w === 1 ? x : g.node('Mul', [x, g.float(w)]));
    const u = g.node('Sub', [pick(labels), pick(other)]);
    const d = g.node('Add', [g.node('Sum', spread.map(([r, w]) => weighted(r.value, w))), g.float(1e-12)]);
    const loss = g.node('Neg', [g.node('Div', [u, d])]);
    const uOverD2 = g.node('Neg', [g.node('Div', [loss, d])]);
    const seed = combine([
      [g.node('Neg', [g.node('Reciprocal', [d])]), g.node('Sub', [oneHot(labels), oneHot(other)])],
      ...spread.map(([r, w]): [string, string] => [weighted(uOverD2, w), oneHot(r.classes)]),
    ]);
    return { loss, seed: scale(seed, mean ? 1 / n : 1) };
  };
  switch (head.kind) {
    case 'cross-entropy': {
      const labels = required(inputs.labels, 'labels');
      const logp = g.node('LogSoftmax', [logits], { axis: 1 });
      const picked = g.node('GatherElements', [logp, g.node('Unsqueeze', [labels, g.int64s([1])])], { axis: 1 });
      const loss = g.node('Neg', [g.node('Squeeze', [picked, g.int64s([1])])]);
      return { loss, seed: scale(g.node('Sub', [g.node('Exp', [logp]), oneHot(labels)]), mean ? 1 / n : 1) };
    }
    case 'soft-cross-entropy': {
      const targets = required(inputs.targets, 'targets');
      const t = head.temperature;
      const logq = g.node('LogSoftmax', [g.node('Div', [logits, g.float(t)])], { axis: 1 });
      // Σ p log p with 0 log 0 = 0, so that one-hot targets are allowed
      const plogp = g.node('Where', [g.node('Greater', [targets, g.float(0)]), g.node('Mul', [targets, g.node('Log', [targets])]), g.float(0)]);
      const kl = sumClasses(g.node('Sub', [plogp, g.node('Mul', [targets, logq])]));
      const loss = g.node('Mul', [kl, g.float(t * t)]);
      // d/dz [τ² KL] = τ (softmax(z/τ) − p)
      const seed = g.node('Mul', [g.node('Sub', [g.node('Exp', [logq]), targets]), g.float(t)]);
      return { loss, seed: scale(seed, mean ? 1 / n : 1) };
    }
    case 'mse': {
      const targets = required(inputs.targets, 'targets');
      const k = logitsDims[1];
      const diff = g.node('Sub', [logits, targets]);
      const loss = g.node('Div', [sumClasses(g.node('Mul', [diff, diff])), g.float(k)]);
      return { loss, seed: scale(diff, (2 / k) * (mean ? 1 / n : 1)) };
    }
    case 'dot': {
      const cotangent = required(inputs.cotangent, 'cotangent');
      const axes = logitsDims.map((_, i) => i).slice(1);
      const product = g.node('Mul', [logits, cotangent]);
      const loss = axes.length ? g.node('ReduceSum', [product, g.int64s(axes)], { keepdims: 0 }) : product;
      return { loss, seed: scale(cotangent, mean ? 1 / n : 1) };
    }
    case 'margin': {
      classesAtLeast(head, logitsDims, 2);
      const labels = required(inputs.labels, 'labels');
      const other = runnerUp(labels);
      const loss = g.node('Sub', [pick(labels), pick(other)]);
      return { loss, seed: scale(g.node('Sub', [oneHot(labels), oneHot(other)]), mean ? 1 / n : 1) };
    }
    case 'dlr': {
      classesAtLeast(head, logitsDims, 3);
      const labels = required(inputs.labels, 'labels');
      const [first, , third] = ranked(3);
      return ratio(labels, runnerUp(labels), [[first, 1], [third, -1]]);
    }
    case 'targeted-dlr': {
      classesAtLeast(head, logitsDims, 4);
      const labels = required(inputs.labels, 'labels');
      const targets = required(inputs.targets, 'targets');
      const [first, , third, fourth] = ranked(4);
      return ratio(labels, targets, [[first, 1], [third, -0.5], [fourth, -0.5]]);
    }
    case 'trades': {
      if (n % 2 !== 0) throw new Error(`the 'trades' loss head needs clean and adversarial rows in equal numbers, got ${n} rows`);
      const b = n / 2;
      const labels = g.node('Slice', [required(inputs.labels, 'labels'), g.int64s([0]), g.int64s([b])]);
      const half = (start: number) => g.node('Slice', [logits, g.int64s([start]), g.int64s([start + b]), g.int64s([0])]);
      const logp = g.node('LogSoftmax', [half(0)], { axis: 1 });
      const logq = g.node('LogSoftmax', [half(b)], { axis: 1 });
      const p = g.node('Exp', [logp]);
      const logRatio = g.node('Sub', [logp, logq]);
      const kl = sumClasses(g.node('Mul', [p, logRatio]));
      const picked = g.node('GatherElements', [logp, g.node('Unsqueeze', [labels, g.int64s([1])])], { axis: 1 });
      const ce = g.node('Neg', [g.node('Squeeze', [picked, g.int64s([1])])]);
      const beta = g.float(head.beta);
      const loss = g.node('Concat', [g.node('Add', [ce, g.node('Mul', [kl, beta])]), g.floats(new Array<number>(b).fill(0), [b])], { axis: 0 });
      // d KL(p ‖ q)/d z_clean = p ⊙ (log p − log q − KL), d KL/d z_adv = q − p
      const klClean = g.node('Mul', [p, g.node('Sub', [logRatio, g.node('Unsqueeze', [kl, g.int64s([1])])])]);
      const seedClean = g.node('Add', [g.node('Sub', [p, oneHot(labels)]), g.node('Mul', [klClean, beta])]);
      const seedAdv = g.node('Mul', [g.node('Sub', [g.node('Exp', [logq]), p]), beta]);
      return { loss, seed: scale(g.node('Concat', [seedClean, seedAdv], { axis: 0 }), mean ? 1 / b : 1) };
    }
  }
}

interface Ranked {
  value: string;
  classes: string;
}

const FLOAT32_MAX = 3.4028234663852886e38;

function classesAtLeast(head: LossHead, logitsDims: number[], min: number): void {
  if (logitsDims.length !== 2) throw new Error(`the '${head.kind}' loss head needs [N, classes] logits, got [${logitsDims}]`);
  if (logitsDims[1] < min) throw new Error(`the '${head.kind}' loss head needs at least ${min} classes; the logits have ${logitsDims[1]}`);
}

function required(name: string | undefined, what: string): string {
  if (!name) throw new Error(`the loss head needs the ${what} input`);
  return name;
}
