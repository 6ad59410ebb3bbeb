// Finite-difference checks of gradient graphs. A model's output Y is reduced by a fixed random
// cotangent R to L = ⟨R, Y⟩ (the 'dot' head), so the gradient graph returns the vector-Jacobian
// product Rᵀ·J for each value differentiated. For a random direction V, the central difference
// (L(x + εV) − L(x − εV)) / 2ε, from forward runs summed in float64, must match ⟨gradient, V⟩.
import { create, toBinary } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema, TensorProto_DataType, TensorProtoSchema, ValueInfoProtoSchema } from 'onnx-buf';
import * as ort from 'onnxruntime-node';
import { expect } from 'vitest';

import { buildGradientModel } from '../../src/autodiff/gradient.js';
import { tensorValueInfo } from '../../src/model/tensor.js';
import { type AttrValue, attribute } from '../../src/autodiff/graph.js';

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);

export function randomTensor(dims: number[], seed: number, lo = -1, hi = 1): ort.Tensor {
  const r = rng(seed);
  return new ort.Tensor('float32', Float32Array.from({ length: size(dims) }, () => lo + (hi - lo) * r()), dims);
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

export interface ModelSpec {
  /** Float graph inputs (perturbed by the finite differences). */
  inputs: Record<string, number[]>;
  /** Constant initializers: int64 (shapes, axes, indices) or float (weights not differentiated). */
  int64?: Record<string, { dims: number[]; values: number[] }>;
  floats?: Record<string, { dims: number[]; values: number[] }>;
  nodes: NodeSpec[];
  output: string;
  opset?: number;
}

export function buildModel(spec: ModelSpec): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: BigInt(spec.opset ?? 17) }],
    graph: {
      name: 'test',
      input: Object.entries(spec.inputs).map(([name, dims]) => tensorValueInfo(name, dims)),
      initializer: [
        ...Object.entries(spec.int64 ?? {}).map(([name, t]) => create(TensorProtoSchema, { name, dataType: TensorProto_DataType.INT64, dims: t.dims.map(BigInt), int64Data: t.values.map(BigInt) })),
        ...Object.entries(spec.floats ?? {}).map(([name, t]) => create(TensorProtoSchema, { name, dataType: TensorProto_DataType.FLOAT, dims: t.dims.map(BigInt), floatData: t.values })),
      ],
      node: spec.nodes.map((n, i) => create(NodeProtoSchema, {
        opType: n.op, name: `${n.op}_${i}`, input: n.inputs, output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      output: [create(ValueInfoProtoSchema, { name: spec.output })],
    },
  });
}

export interface CheckOptions {
  /** Inputs and `floats` initializers to differentiate (default: every float input). */
  wrt?: string[];
  /** Finite-difference step (default 1e-2; smaller near kinks such as MaxPool). */
  eps?: number;
  seed?: number;
  /** Custom input values (default: uniform in [-1, 1]). */
  feeds?: Record<string, ort.Tensor>;
  /** Take the differences on the linear piece x lies on (see `frozenAtKinks`). */
  freezeKinks?: boolean;
}

export interface CheckResult {
  analytic: number;
  numeric: number;
  relativeError: number;
}

/**
 * The finite differences move the initializers in `wrt` as well, so the forward model they run
 * takes those as inputs, fed their initial values; the gradient model keeps them initializers.
 */
function initializersAsInputs(spec: ModelSpec, wrt: string[]): { forwardSpec: ModelSpec; initializerFeeds: Record<string, ort.Tensor> } {
  const floats = spec.floats ?? {};
  const moved = wrt.filter((name) => name in floats);
  const forwardSpec: ModelSpec = {
    ...spec,
    inputs: { ...spec.inputs, ...Object.fromEntries(moved.map((name) => [name, floats[name].dims])) },
    floats: Object.fromEntries(Object.entries(floats).filter(([name]) => !moved.includes(name))),
  };
  const initializerFeeds = Object.fromEntries(moved.map((name) => [name, new ort.Tensor('float32', Float32Array.from(floats[name].values), floats[name].dims)]));
  return { forwardSpec, initializerFeeds };
}

/**
 * A network of Relu and MaxPool is piecewise linear, and with hundreds of units some unit is
 * often within 1e-4 of its kink along a random direction, where float32 differences are noise.
 * This returns the piece x lies on: each Relu becomes a product with its 0/1 mask at x and each
 * MaxPool a Gather of the elements it picked at x (its Indices), both constants. Its derivative at
 * x is the network's, and its differences are exact at any step.
 */
async function frozenAtKinks(spec: ModelSpec, feeds: Record<string, ort.Tensor>): Promise<ModelSpec> {
  const indicesOf = (n: NodeSpec) => n.outputs[1] || `${n.outputs[0]}/indices`;
  const probeSpec = { ...spec, nodes: spec.nodes.map((n) => (n.op === 'MaxPool' ? { ...n, outputs: [n.outputs[0], indicesOf(n)] } : n)) };
  const probed = probeSpec.nodes.flatMap((n) => (n.op === 'Relu' ? [n.outputs[0]] : n.op === 'MaxPool' ? [n.outputs[1]] : []));
  const probe = buildModel(probeSpec);
  probe.graph!.output.push(...probed.map((name) => create(ValueInfoProtoSchema, { name })));
  const session = await ort.InferenceSession.create(toBinary(ModelProtoSchema, probe));
  const at = await session.run(feeds);
  await session.release();
  const int64: NonNullable<ModelSpec['int64']> = { ...spec.int64, 'frozen/flat': { dims: [1], values: [-1] } };
  const floats = { ...spec.floats };
  const nodes = spec.nodes.flatMap((n): NodeSpec[] => {
    const [y] = n.outputs;
    if (n.op === 'Relu') {
      floats[`${y}/mask`] = { dims: [...at[y].dims], values: Array.from(at[y].data as Float32Array, (v) => Number(v > 0)) };
      return [{ op: 'Mul', inputs: [n.inputs[0], `${y}/mask`], outputs: [y] }];
    }
    if (n.op !== 'MaxPool') return [n];
    const indices = indicesOf(n);
    int64[indices] = { dims: [...at[indices].dims], values: Array.from(at[indices].data as BigInt64Array, Number) };
    return [
      { op: 'Reshape', inputs: [n.inputs[0], 'frozen/flat'], outputs: [`${y}/flat`] },
      { op: 'Gather', inputs: [`${y}/flat`, indices], outputs: [y], attrs: { axis: 0 } },
    ];
  });
  return { ...spec, nodes, int64, floats };
}

/** ⟨gradient, V⟩ against the central difference along V, for each value in wrt. */
export async function checkGradients(spec: ModelSpec, options: CheckOptions = {}): Promise<Record<string, CheckResult>> {
  const seed = options.seed ?? 1;
  const model = buildModel(spec);
  const feeds: Record<string, ort.Tensor> = { ...options.feeds };
  Object.entries(spec.inputs).forEach(([name, dims], i) => { feeds[name] ??= randomTensor(dims, seed * 100 + i); });
  const wrt = options.wrt ?? Object.keys(spec.inputs);
  const { forwardSpec, initializerFeeds } = initializersAsInputs(options.freezeKinks ? await frozenAtKinks(spec, feeds) : spec, wrt);
  const forwardFeeds = { ...feeds, ...initializerFeeds };
  const forward = await ort.InferenceSession.create(toBinary(ModelProtoSchema, buildModel(forwardSpec)));
  const y0 = (await forward.run(forwardFeeds))[spec.output];
  const cotangent = randomTensor([...y0.dims], seed + 7);
  const built = await buildGradientModel(model, { wrt, head: { kind: 'dot' }, feeds, logits: spec.output });
  const gradSession = await ort.InferenceSession.create(toBinary(ModelProtoSchema, built.model));
  const outputs = await gradSession.run({ ...feeds, [built.cotangent!]: cotangent });
  const loss = async (name: string, direction: Float32Array, step: number) => {
    const base = forwardFeeds[name].data as Float32Array;
    const moved = new ort.Tensor('float32', base.map((v, i) => v + step * direction[i]), forwardFeeds[name].dims);
    const y = (await forward.run({ ...forwardFeeds, [name]: moved }))[spec.output].data as Float32Array;
    const r = cotangent.data as Float32Array;
    let sum = 0;
    for (let i = 0; i < y.length; i++) sum += r[i] * y[i];
    return sum;
  };
  const eps = options.eps ?? 1e-2;
  const results: Record<string, CheckResult> = {};
  for (const [i, name] of wrt.entries()) {
    const direction = randomTensor([...forwardFeeds[name].dims], seed * 31 + i).data as Float32Array;
    const gradient = outputs[built.gradients[name]].data as Float32Array;
    let analytic = 0;
    for (let j = 0; j < direction.length; j++) analytic += gradient[j] * direction[j];
    const numeric = ((await loss(name, direction, eps)) - (await loss(name, direction, -eps))) / (2 * eps);
    results[name] = { analytic, numeric, relativeError: Math.abs(analytic - numeric) / Math.max(Math.abs(numeric), Math.abs(analytic), 1e-2) };
  }
  await forward.release();
  await gradSession.release();
  return results;
}

/**
 * Asserts every relative error is below `tolerance`; GRADIENT_ERRORS=1 prints them, which is how
 * the figures quoted in each test file were measured.
 */
export async function expectGradientsWithin(spec: ModelSpec, options: CheckOptions & { tolerance: number }): Promise<void> {
  const results = await checkGradients(spec, options);
  // every value asked for is checked: a check that found nothing to compare must fail, not pass
  expect(Object.keys(results)).toHaveLength((options.wrt ?? Object.keys(spec.inputs)).length);
  for (const [name, r] of Object.entries(results)) {
    if (process.env.GRADIENT_ERRORS) console.log(`${spec.nodes.map((n) => n.op).join('+')} opset ${spec.opset ?? 17} ${name}: ${r.relativeError.toExponential(1)}`);
    expect(r.relativeError, `${name}: analytic ${r.analytic}, numeric ${r.numeric}`).toBeLessThan(options.tolerance);
  }
}
