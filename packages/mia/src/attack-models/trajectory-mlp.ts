// TrajectoryMIA's attack model (seqmia.md §9.6): an MLP over the loss trajectory. The official
// code ends it in a Softmax and then applies CrossEntropyLoss, a double softmax; this graph
// ends at the logits and the trainer's cross-entropy head applies the single softmax (the clean
// mode of §9.7). Weights start from buildClassifier's seeded Glorot-uniform weights and zero
// biases, not PyTorch's U(±1/√fan_in): both are fan-scaled uniform draws, and the attack only
// needs a trainable start, not PyTorch's exact one.
import type { ModelProto } from 'onnx-buf';

import { buildClassifier } from '@onnx-audit/onnx';

/** TrajectoryMIA's MLP: [N, steps] → 512 → 128 → 32 → 2 with ReLU (single softmax: the loss head applies it). */
export async function buildTrajectoryMlp(steps: number, seed = 0): Promise<ModelProto> {
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  return buildClassifier({
    input: [steps],
    layers: [
      { kind: 'linear', units: 512 },
      { kind: 'relu' },
      { kind: 'linear', units: 128 },
      { kind: 'relu' },
      { kind: 'linear', units: 32 },
      { kind: 'relu' },
      { kind: 'linear', units: 2 },
    ],
    seed,
  });
}
