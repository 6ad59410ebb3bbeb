// SeqMIA's attack model (seqmia.md §6.1): a one-layer LSTM over the metric sequence, dot-product
// attention of the last hidden state over all of them, and a Linear layer on [h_T ; context].
// ONNX's LSTM op has no gradient rule, so the recurrence is unrolled into MatMul, Split, Sigmoid,
// Tanh, Mul and Add, which the gradient builder differentiates and the trainer therefore trains.
// Parameters keep PyTorch's names, shapes and gate order (i, f, g, o), both bias vectors
// included, so a state dict of `LSTM_Attention` maps onto the initializers one to one.
import { create } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, type NodeProto, NodeProtoSchema, type TensorProto } from 'onnx-buf';

import { randomUniform } from '@onnx-audit/native';
import { type AttrValue, attribute, INPUT_NAME, LOGITS_NAME, tensorFromArray, tensorValueInfo } from '@onnx-audit/onnx';

export interface AttentionLstmSpec {
  /** T: sequence length. */
  steps: number;
  /** Features per step (5 for SeqMIA's metrics, 1 for a loss-only sequence). */
  features: number;
  /** LSTM hidden size (default 50, as SeqMIA). */
  hidden?: number;
  /** Default true; false gives SeqMIA's 'lstm' baseline: Linear(H→2) on h_T alone. */
  attention?: boolean;
  /** Seeds the PyTorch-default initialisation (default 0). */
  seed?: number;
}

/** input 'input' float32 [N, steps, features] → output 'logits' float32 [N, 2] (symbolic batch N). */
export async function buildAttentionLstm(spec: AttentionLstmSpec): Promise<ModelProto> {
  const { steps: t, features: f, hidden: h = 50, attention = true, seed = 0 } = spec;
  for (const [value, what] of [[t, 'steps'], [f, 'features'], [h, 'hidden']] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${what} must be a positive integer, got ${value}`);
  }
  if (!Number.isInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${seed}`);

  const fcIn = attention ? 2 * h : h;
  // PyTorch's defaults: every LSTM tensor U(±1/√H); nn.Linear's weight and bias U(±1/√fan_in).
  const parameters: Array<{ name: string; dims: number[]; limit: number }> = [
    { name: 'lstm.weight_ih_l0', dims: [4 * h, f], limit: 1 / Math.sqrt(h) },
    { name: 'lstm.weight_hh_l0', dims: [4 * h, h], limit: 1 / Math.sqrt(h) },
    { name: 'lstm.bias_ih_l0', dims: [4 * h], limit: 1 / Math.sqrt(h) },
    { name: 'lstm.bias_hh_l0', dims: [4 * h], limit: 1 / Math.sqrt(h) },
    { name: 'fc.weight', dims: [2, fcIn], limit: 1 / Math.sqrt(fcIn) },
    { name: 'fc.bias', dims: [2], limit: 1 / Math.sqrt(fcIn) },
  ];
  const initializers: TensorProto[] = [];
  let offset = 0;
  for (const { name, dims, limit } of parameters) {
    const size = dims.reduce((a, b) => a * b, 1);
    // Each tensor reads its own stretch of the (seed) stream, so the draws never overlap.
    const u = await randomUniform(size, { seed, offset });
    initializers.push(tensorFromArray(name, dims, u.map((v) => (2 * v - 1) * limit)));
    offset += size;
  }
  const int64s = (name: string, values: number[]) => {
    initializers.push(tensorFromArray(name, [values.length], BigInt64Array.from(values, BigInt)));
    return name;
  };
  const axis1 = int64s('axes_1', [1]);

  const nodes: NodeProto[] = [];
  const node = (op: string, inputs: string[], outputs: string[], attrs: Record<string, AttrValue> = {}) => {
    nodes.push(create(NodeProtoSchema, { opType: op, name: outputs[0], input: inputs, output: outputs, attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)) }));
    return outputs[0];
  };

  // The input projection of every step in one MatMul, both biases folded in: [N, T, 4H].
  const wihT = node('Transpose', ['lstm.weight_ih_l0'], ['lstm/weight_ih_T'], { perm: [1, 0] });
  const whhT = node('Transpose', ['lstm.weight_hh_l0'], ['lstm/weight_hh_T'], { perm: [1, 0] });
  const bias = node('Add', ['lstm.bias_ih_l0', 'lstm.bias_hh_l0'], ['lstm/bias']);
  const projected = node('Add', [node('MatMul', [INPUT_NAME, wihT], ['lstm/x_proj']), bias], ['lstm/x_gates']);
  const perStep = Array.from({ length: t }, (_, s) => `lstm/x_gates_${s + 1}`);
  node('Split', [projected], perStep.map((name) => `${name}/3d`), { axis: 1 });

  // h_0 = c_0 = 0, so step 1 drops the recurrent MatMul and the forget term.
  const hidden: string[] = [];
  let c = '';
  for (let s = 1; s <= t; s++) {
    const p = `lstm/step_${s}`;
    const xGates = node('Squeeze', [`${perStep[s - 1]}/3d`, axis1], [perStep[s - 1]]);
    const gates = s === 1 ? xGates : node('Add', [xGates, node('MatMul', [hidden[s - 2], whhT], [`${p}/h_proj`])], [`${p}/gates`]);
    const [zi, zf, zg, zo] = ['i', 'f', 'g', 'o'].map((gate) => `${p}/${gate}_pre`);
    node('Split', [gates], [zi, zf, zg, zo], { axis: 1 });
    const i = node('Sigmoid', [zi], [`${p}/i`]);
    const g = node('Tanh', [zg], [`${p}/g`]);
    const o = node('Sigmoid', [zo], [`${p}/o`]);
    const ig = node('Mul', [i, g], [`${p}/i_g`]);
    c = s === 1 ? ig : node('Add', [node('Mul', [node('Sigmoid', [zf], [`${p}/f`]), c], [`${p}/f_c`]), ig], [`${p}/c`]);
    // The f gate of step 1 multiplies c_0 = 0: its Split output is left unread.
    hidden.push(node('Mul', [o, node('Tanh', [c], [`${p}/tanh_c`])], [`${p}/h`]));
  }
  const last = hidden[t - 1];

  let head = last;
  if (attention) {
    // e_t = h_T·h_t, α = softmax_t(e), context = Σ_t α_t h_t: a plain dot product, no weights.
    const all = node('Concat', hidden.map((hs, s) => node('Unsqueeze', [hs, axis1], [`attention/h_${s + 1}`])), ['attention/h_all'], { axis: 1 });
    const query = node('Unsqueeze', [last, int64s('axes_2', [2])], ['attention/query']);
    const scores = node('MatMul', [all, query], ['attention/scores']);
    const alpha = node('Softmax', [scores], ['attention/alpha'], { axis: 1 });
    const context = node('ReduceSum', [node('Mul', [all, alpha], ['attention/weighted']), axis1], ['attention/context'], { keepdims: 0 });
    head = node('Concat', [last, context], ['attention/features'], { axis: 1 });
  }
  node('Gemm', [head, 'fc.weight', 'fc.bias'], [LOGITS_NAME], { transB: 1 });

  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'onnx-audit',
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: attention ? 'lstm_attention' : 'lstm',
      node: nodes,
      initializer: initializers,
      input: [tensorValueInfo(INPUT_NAME, ['batch', t, f])],
      output: [tensorValueInfo(LOGITS_NAME, ['batch', 2])],
    },
  });
}
