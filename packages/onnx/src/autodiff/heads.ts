// Loss heads appended after the logits. Each writes the per-sample loss and, in closed form, the
// gradient of the total loss with respect to the logits: the seed of the backward pass. Writing
// the seed directly (softmax − one-hot rather than differentiating LogSoftmax and GatherElements)
// is both cheaper and exactly what the stable formulas give.
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
  | { kind: 'dot' };

export interface HeadInputs {
  labels?: string;
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
  switch (head.kind) {
    case 'cross-entropy': {
      const labels = required(inputs.labels, 'labels');
      const logp = g.node('LogSoftmax', [logits], { axis: 1 });
      const picked = g.node('GatherElements', [logp, g.node('Unsqueeze', [labels, g.int64s([1])])], { axis: 1 });
      const loss = g.node('Neg', [g.node('Squeeze', [picked, g.int64s([1])])]);
      const oneHot = g.node('OneHot', [labels, g.int64s([logitsDims[1]], true), g.floats([0, 1], [2])], { axis: -1 });
      return { loss, seed: scale(g.node('Sub', [g.node('Exp', [logp]), oneHot]), mean ? 1 / n : 1) };
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
  }
}

function required(name: string | undefined, what: string): string {
  if (!name) throw new Error(`the loss head needs the ${what} input`);
  return name;
}
