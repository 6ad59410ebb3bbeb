// Input-transformation ("passive") defences written into the model itself: the transforms become
// standard ONNX nodes in front of the original graph, so the defended model is one file that any
// ONNX runtime serves, and an attack on it sees exactly what a deployment would.
import { clone } from '@bufbuild/protobuf';
import { dataInput, GraphEditor, isDefaultDomain, tensorFromArray } from '@onnx-audit/onnx';
import { type ModelProto, ModelProtoSchema, TensorProto_DataType } from 'onnx-buf';

export type InputTransform =
  /** Median filter over a size×size window in each channel (ART SpatialSmoothing, Xu et al. 2018). */
  | { kind: 'median'; size: number }
  /** Round(x·(2^depth − 1)) / (2^depth − 1), for inputs in [0, 1] (ART FeatureSqueezing). */
  | { kind: 'bits'; depth: number }
  /** x + N(0, σ²); the seed defaults to 0 so that a defended model is reproducible. */
  | { kind: 'noise'; sigma: number; seed?: number }
  /** Baseline JPEG's lossy step at an IJG quality of 1–100, per channel, for inputs in [0, 1] (see `jpeg`). */
  | { kind: 'jpeg'; quality: number };

/** Round needs opset 11; older models are refused rather than moved to an opset whose ops differ. */
const MIN_OPSET = 11;

/** `'median:3,bits:5,noise:0.05,jpeg:75'` (a noise seed may follow: `noise:0.05:7`) → the transforms in order. */
export function parseTransforms(spec: string): InputTransform[] {
  return spec.split(',').map((part) => {
    const [kind, ...args] = part.trim().split(':');
    const numbers = args.map((a) => (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(a.trim()) ? Number(a) : NaN));
    const arity = kind === 'noise' ? [1, 2] : [1, 1];
    const usage: Record<string, string> = { median: 'median:SIZE', bits: 'bits:DEPTH', noise: 'noise:SIGMA[:SEED]', jpeg: 'jpeg:QUALITY' };
    if (!Object.hasOwn(usage, kind)) throw new RangeError(`unknown input transform '${part.trim()}': use median:SIZE, bits:DEPTH, noise:SIGMA[:SEED] or jpeg:QUALITY`);
    if (numbers.length < arity[0] || numbers.length > arity[1] || numbers.some(Number.isNaN)) {
      throw new RangeError(`malformed input transform '${part.trim()}': use ${usage[kind]}`);
    }
    const transform: InputTransform = kind === 'median' ? { kind, size: numbers[0] }
      : kind === 'bits' ? { kind, depth: numbers[0] }
      : kind === 'jpeg' ? { kind, quality: numbers[0] }
      : { kind: 'noise', sigma: numbers[0], ...(numbers.length > 1 ? { seed: numbers[1] } : {}) };
    checkTransform(transform);
    return transform;
  });
}

function checkTransform(t: InputTransform): void {
  switch (t.kind) {
    case 'median':
      if (!Number.isInteger(t.size) || t.size < 2) throw new RangeError(`the median window size must be an integer ≥ 2, got ${t.size}`);
      return;
    case 'bits':
      if (!Number.isInteger(t.depth) || t.depth < 1 || t.depth > 16) throw new RangeError(`bit depth must be 1–16, got ${t.depth}`);
      return;
    case 'noise':
      if (!(Number.isFinite(t.sigma) && t.sigma > 0)) throw new RangeError(`the noise sigma must be a positive number, got ${t.sigma}`);
      if (t.seed !== undefined && !Number.isInteger(t.seed)) throw new RangeError(`the noise seed must be an integer, got ${t.seed}`);
      return;
    case 'jpeg':
      if (!Number.isInteger(t.quality) || t.quality < 1 || t.quality > 100) throw new RangeError(`JPEG quality must be 1–100, got ${t.quality}`);
      return;
    default:
      throw new RangeError(`unknown input transform kind '${(t as { kind: unknown }).kind}'`);
  }
}

/** The model with `transforms` applied, in order, to its data input; the input keeps its name and shape. */
export function withInputTransforms(model: ModelProto, transforms: InputTransform[]): ModelProto {
  transforms.forEach(checkTransform);
  const copy = clone(ModelProtoSchema, model);
  const graph = copy.graph!;
  const input = dataInput(copy);
  const type = graph.input.find((i) => i.name === input)?.type?.value;
  if (type?.case !== 'tensorType' || type.value.elemType !== TensorProto_DataType.FLOAT) throw new RangeError(`input transforms need a float32 tensor input; '${input}' is not one`);
  const dims = (type.value.shape?.dim ?? []).map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : undefined));
  const opset = copy.opsetImport.find((o) => isDefaultDomain(o.domain));
  if (transforms.length > 0 && (!opset || opset.version < MIN_OPSET)) throw new RangeError(`input transforms need opset ≥ ${MIN_OPSET}; the model imports opset ${opset?.version ?? 'none'}`);

  const g = new GraphEditor(graph, 'defence');
  const existing = graph.node.length;
  let value = input;
  for (const t of transforms) {
    if (t.kind === 'median') value = median(g, value, dims, t.size, input);
    else if (t.kind === 'bits') {
      const levels = g.float(2 ** t.depth - 1);
      value = g.node('Div', [g.node('Round', [g.node('Mul', [value, levels])]), levels]);
    } else if (t.kind === 'jpeg') value = jpeg(g, value, dims, t.quality, input);
    else {
      // ORT seeds the kernel once per session and draws on from there (see the tests): every run
      // gets fresh noise, and a new session with the same seed replays the same sequence.
      value = g.node('Add', [value, g.node('RandomNormalLike', [value], { mean: { float: 0 }, scale: { float: t.sigma }, seed: { float: t.seed ?? 0 } })]);
    }
  }
  // The new nodes were appended; they must come first to keep the graph topologically sorted.
  const added = graph.node.splice(existing);
  for (const node of graph.node) node.input.forEach((name, i) => { if (name === input) node.input[i] = value; });
  graph.node.unshift(...added);
  return copy;
}

/**
 * Median of each size×size window, padded by reflection as ART (scipy.ndimage 'reflect') does:
 * the edge sample is repeated (d c b a | a b c d | d c b a), unlike ONNX Pad's 'reflect', so the
 * output keeps H×W. An even window reaches one further back than forward, and its median is the
 * upper of the two middle values, both as in scipy. There is no ReduceMedian in ONNX: two Gathers
 * lay every window out along a last axis of size², and the smallest of its ⌈size²/2⌉ largest
 * values is the median.
 */
function median(g: GraphEditor, x: string, dims: Array<number | undefined>, size: number, input: string): string {
  if (dims.length !== 4) throw new RangeError(`a median filter needs [N, C, H, W] images; input '${input}' has ${dims.length} dims`);
  const [h, w] = [dims[2], dims[3]];
  if (h === undefined || w === undefined) throw new RangeError(`a median filter needs a fixed image size; input '${input}' has a symbolic height or width`);
  if (h < size || w < size) throw new RangeError(`a ${size}×${size} median window does not fit ${h}×${w} images`);
  const reflect = (p: number, n: number) => (p < 0 ? -p - 1 : p >= n ? 2 * n - 1 - p : p);
  // windowIndices[i][o]: the row (or column) read by output i at window offset o.
  const windowIndices = (n: number) => {
    const name = g.fresh('window');
    g.graph.initializer.push(tensorFromArray(name, [n, size], BigInt64Array.from({ length: n * size }, (_, e) => BigInt(reflect(Math.floor(e / size) + (e % size) - Math.floor(size / 2), n)))));
    return name;
  };
  const rows = g.node('Gather', [x, windowIndices(h)], { axis: 2 }); // [N, C, H, k, W]
  const windows = g.node('Gather', [rows, windowIndices(w)], { axis: 4 }); // [N, C, H, k, W, k]
  const flat = g.node('Reshape', [g.node('Transpose', [windows], { perm: [0, 1, 2, 4, 3, 5] }), g.int64s([0, 0, h, w, size * size])]);
  const upper = size * size - Math.floor((size * size) / 2);
  const [largest] = g.nodeN('TopK', [flat, g.int64s([upper])], 2, { axis: -1, largest: 1, sorted: 1 });
  return g.node('Gather', [largest, g.int64s([upper - 1], true)], { axis: 4 });
}

/** JPEG Annex K Table K.1, the luminance quantisation table, row-major (row = vertical frequency). */
const LUMINANCE_TABLE = [
  16, 11, 10, 16, 24, 40, 51, 61,
  12, 12, 14, 19, 26, 58, 60, 55,
  14, 13, 16, 24, 40, 57, 69, 56,
  14, 17, 22, 29, 51, 87, 80, 62,
  18, 22, 37, 56, 68, 109, 103, 77,
  24, 35, 55, 64, 81, 104, 113, 92,
  49, 64, 78, 87, 103, 121, 120, 101,
  72, 92, 95, 98, 112, 100, 103, 99,
];

/** K.1 scaled as libjpeg's jpeg_quality_scaling does, integer divisions included; baseline caps steps at 255. */
function jpegQuantisationTable(quality: number): number[] {
  const scale = quality < 50 ? Math.floor(5000 / quality) : 200 - 2 * quality;
  return LUMINANCE_TABLE.map((t) => Math.min(255, Math.max(1, Math.floor((t * scale + 50) / 100))));
}

/**
 * The lossy core of baseline JPEG, applied to each channel alone: no colour conversion and no
 * chroma subsampling, so every channel (a single one being luminance) uses the luminance table.
 * Pixels in [0, 1] become 0..255 shifted by −128; each 8×8 block gets the orthonormal type-II DCT
 * (D·B·Dᵀ), is divided by the scaled table, rounded (ONNX Round: half to even), multiplied back
 * and inverted (Dᵀ·F·D); then +128, /255 and a clip to [0, 1]. Entropy coding is lossless and
 * left out, and so is a codec's rounding of pixels to 8 bits on the way in and out: the result
 * is a decoder's before that last rounding. Sizes that are not multiples of 8 are padded by
 * repeating the last row and column, as encoders do, and cropped back afterwards.
 */
function jpeg(g: GraphEditor, x: string, dims: Array<number | undefined>, quality: number, input: string): string {
  if (dims.length !== 4) throw new RangeError(`JPEG compression needs [N, C, H, W] images; input '${input}' has ${dims.length} dims`);
  const [h, w] = [dims[2], dims[3]];
  if (h === undefined || w === undefined) throw new RangeError(`JPEG compression needs a fixed image size; input '${input}' has a symbolic height or width`);
  const [ph, pw] = [Math.ceil(h / 8) * 8, Math.ceil(w / 8) * 8];
  const dct = Array.from({ length: 64 }, (_, e) => {
    const [u, k] = [Math.floor(e / 8), e % 8];
    return (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * k + 1) * u * Math.PI) / 16);
  });
  const d = g.floats(dct, [8, 8]);
  const dt = g.floats(dct.map((_, e) => dct[(e % 8) * 8 + Math.floor(e / 8)]), [8, 8]);
  const table = g.floats(jpegQuantisationTable(quality), [8, 8]);

  const shifted = g.node('Sub', [g.node('Mul', [x, g.float(255)]), g.float(128)]);
  const padded = ph === h && pw === w ? shifted : g.node('Pad', [shifted, g.int64s([0, 0, 0, 0, 0, 0, ph - h, pw - w])], { mode: 'edge' });
  // [N, C, H/8, 8, W/8, 8] → [N, C, H/8, W/8, 8, 8]: one 8×8 block per trailing matrix.
  const blocks = g.node('Transpose', [g.node('Reshape', [padded, g.int64s([0, 0, ph / 8, 8, pw / 8, 8])])], { perm: [0, 1, 2, 4, 3, 5] });
  const coefficients = g.node('MatMul', [g.node('MatMul', [d, blocks]), dt]);
  const quantised = g.node('Mul', [g.node('Round', [g.node('Div', [coefficients, table])]), table]);
  const restored = g.node('MatMul', [g.node('MatMul', [dt, quantised]), d]);
  const image = g.node('Reshape', [g.node('Transpose', [restored], { perm: [0, 1, 2, 4, 3, 5] }), g.int64s([0, 0, ph, pw])]);
  const cropped = ph === h && pw === w ? image : g.node('Slice', [image, g.int64s([0, 0]), g.int64s([h, w]), g.int64s([2, 3])]);
  return g.node('Clip', [g.node('Div', [g.node('Add', [cropped, g.float(128)]), g.float(255)]), g.float(0), g.float(1)]);
}
