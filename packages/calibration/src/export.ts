// Calibrators written into the model they calibrate. The nodes go right after the node that
// produces the logits and take over the logits' name, so every consumer downstream (a trailing
// Softmax, an ArgMax, the graph output itself) sees calibrated logits and every output keeps
// its name: code that ran the model before runs the calibrated one unchanged.
import { clone, create } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, StringStringEntryProtoSchema } from 'onnx-buf';

import { GraphEditor, logitsValue, ModelError } from '@onnx-audit/onnx';

import type { CalibratorDescription } from './calibrators/calibrator.js';

/** Where the calibrator's description is stored in the exported model's metadata. */
export const CALIBRATION_METADATA_KEY = 'onnx-audit.calibration';

/**
 * A copy of `model` whose logits pass through the nodes `build` appends (it gets the raw logits'
 * name and returns the calibrated value's). The description goes into the model's metadata.
 */
export function appendToLogits(model: ModelProto, description: CalibratorDescription, build: (g: GraphEditor, rawLogits: string) => string): ModelProto {
  const copy = clone(ModelProtoSchema, model);
  const graph = copy.graph;
  if (!graph) throw new ModelError('the model has no graph');
  const { logits } = logitsValue(copy);
  const producerIndex = graph.node.findIndex((n) => n.output.includes(logits));
  if (producerIndex < 0) throw new ModelError(`the logits '${logits}' are not computed by any node (a graph input or initializer?); there is nothing to calibrate`);
  if (graph.node.some((n) => n.opType === 'Loop' || n.opType === 'If' || n.opType === 'Scan')) {
    // Subgraphs may read the logits by name from the outer scope, which a rename would miss.
    throw new ModelError('models with Loop, If or Scan nodes are not supported by the calibration export');
  }

  const g = new GraphEditor(graph, 'calibration');
  const producer = graph.node[producerIndex];
  const raw = g.fresh('uncalibrated_logits');
  producer.output[producer.output.indexOf(logits)] = raw;

  const existing = graph.node.length;
  const calibrated = build(g, raw);
  const added = graph.node.splice(existing);
  const last = added.at(-1);
  if (!last || last.output[0] !== calibrated) throw new Error('the calibration nodes must end with the one computing the calibrated logits');
  last.output[0] = logits;
  // Right after the producer rather than at the end, so the nodes stay topologically sorted.
  graph.node.splice(producerIndex + 1, 0, ...added);

  copy.metadataProps = copy.metadataProps.filter((p) => p.key !== CALIBRATION_METADATA_KEY);
  copy.metadataProps.push(create(StringStringEntryProtoSchema, { key: CALIBRATION_METADATA_KEY, value: JSON.stringify(description) }));
  return copy;
}
