// Attacks, metrics and training work on logits. A classifier that ends in Softmax is read before
// it: the Softmax's input is the logits, and callers say so to the user.
import type { ModelProto } from 'onnx-buf';

import { ModelError } from './errors.js';
import { isDefaultDomain } from './validate.js';

export interface LogitsValue {
  /** The value holding the logits. */
  logits: string;
  /** The trailing Softmax node skipped over, when there was one. */
  strippedSoftmax?: string;
}

/** The logits of a classifier: `requested` if given, else its first output or the input of a trailing Softmax. */
export function logitsValue(model: ModelProto, requested?: string): LogitsValue {
  if (requested) return { logits: requested };
  const graph = model.graph;
  const output = graph?.output[0]?.name;
  if (!graph || !output) throw new ModelError('the model has no outputs; export it with its logits or probabilities as an output');
  const producer = graph.node.find((n) => n.output.includes(output));
  if (producer && producer.opType === 'Softmax' && isDefaultDomain(producer.domain)) {
    return { logits: producer.input[0], strippedSoftmax: producer.name || producer.output[0] };
  }
  return { logits: output };
}
