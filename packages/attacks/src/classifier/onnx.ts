// A classifier backed by an ONNX model: scores from its logits (before a trailing Softmax), and,
// when white-box, losses and input gradients from gradient graphs built by @onnx-audit/onnx.
// Sessions are opened once per (loss, run size) and kept until release().
import {
  buildGradientModel,
  createSession,
  dataInput,
  encodeModel,
  fixedBatchSize,
  type GradientModel,
  inspectModel,
  logitsModel,
  type SessionOptions,
} from '@onnx-audit/onnx';
import type { ModelProto } from 'onnx-buf';
import * as ort from 'onnxruntime-node';

import { planRuns, runSlice } from './batches.js';
import type { AttackLoss, Box, Classifier, DifferentiableClassifier, LossGradient, Usage } from './classifier.js';

export interface OnnxClassifierOptions extends SessionOptions {
  /** Dimensions of one sample; required when the model's input leaves them symbolic. */
  sampleDims?: readonly number[];
  /** The valid input box (default [0, 1]). */
  box?: Box;
  /** Samples per run (default 128), unless the model fixes its batch size. */
  batchSize?: number;
}

/** The model is not differentiable by our gradient builder: names the ops, and says what still works. */
export class NotDifferentiableError extends Error {
  override name = 'NotDifferentiableError';
}

/** A white-box classifier: gradients of any AttackLoss with respect to the input. */
export async function onnxClassifier(model: ModelProto, options: OnnxClassifierOptions = {}): Promise<DifferentiableClassifier> {
  const unsupported = inspectModel(model).unsupportedForGradients;
  if (unsupported.length > 0) {
    const list = unsupported.map((u) => `${u.op} (node '${u.node}')`).join(', ');
    throw new NotDifferentiableError(`no gradient rule for ${list}; the black-box attacks (square, nes, spsa, transfer) still work on this model`);
  }
  return OnnxClassifier.open(WhiteBoxOnnxClassifier, model, options);
}

/** A black-box classifier: the model is only run forward, as a remote model would be. */
export async function onnxPredictor(model: ModelProto, options: OnnxClassifierOptions = {}): Promise<Classifier> {
  return OnnxClassifier.open(OnnxClassifier, model, options);
}

interface GradientSession {
  graph: GradientModel;
  session: ort.InferenceSession;
}

class OnnxClassifier implements Classifier {
  readonly usage: Usage = { queries: 0, gradientCalls: 0 };
  readonly sampleSize: number;
  classes = 0;
  private readonly gradientSessions = new Map<string, Promise<GradientSession>>();

  constructor(
    private readonly model: ModelProto,
    private readonly input: string,
    private readonly scoring: ort.InferenceSession,
    readonly sampleDims: readonly number[],
    readonly box: Box,
    private readonly chunk: number,
    private readonly fixedBatch: number | undefined,
    private readonly options: SessionOptions,
  ) {
    this.sampleSize = sampleDims.reduce((a, b) => a * b, 1);
  }

  static async open<C extends OnnxClassifier>(kind: new (...args: ConstructorParameters<typeof OnnxClassifier>) => C, model: ModelProto, options: OnnxClassifierOptions): Promise<C> {
    const input = dataInput(model);
    const sampleDims = options.sampleDims ?? declaredSampleDims(model, input);
    const box = options.box ?? { lo: 0, hi: 1 };
    if (!(box.lo < box.hi)) throw new RangeError(`the input box [${box.lo}, ${box.hi}] is empty`);
    const chunk = options.batchSize ?? 128;
    if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`batchSize must be a positive integer, got ${chunk}`);
    // attack steps run on the same cores between model runs: idle ORT threads must not spin on them
    const sessionOptions: SessionOptions = { device: options.device, threads: options.threads, spinning: options.spinning ?? false };
    const session = await createSession(encodeModel(logitsModel(model).model), sessionOptions);
    const classifier = new kind(model, input, session, sampleDims, box, chunk, fixedBatchSize(model, input), sessionOptions);
    const probe = await classifier.scores(new Float32Array(classifier.sampleSize).fill(box.lo));
    classifier.classes = probe.length;
    classifier.usage.queries = 0;
    return classifier;
  }

  async scores(x: Float32Array): Promise<Float32Array> {
    const n = this.samplesIn(x);
    const pieces: Float32Array[] = [];
    for (const run of planRuns(n, this.chunk, this.fixedBatch)) {
      const feed = new ort.Tensor('float32', runSlice(x, this.sampleSize, run), [run.size, ...this.sampleDims]);
      const result = (await this.scoring.run({ [this.input]: feed }))[this.scoring.outputNames[0]];
      if (result.type !== 'float32' || result.dims.length !== 2) {
        throw new Error(`the model's logits are ${result.type} [${result.dims}]; expected float32 [batch, classes]`);
      }
      const classes = result.dims[1];
      pieces.push((result.data as Float32Array).subarray(0, run.count * classes));
    }
    this.usage.queries += n;
    return concat(pieces);
  }

  protected async gradients(x: Float32Array, loss: AttackLoss): Promise<LossGradient> {
    const n = this.samplesIn(x);
    const k = this.classes;
    const losses: Float32Array[] = [], gradients: Float32Array[] = [], logits: Float32Array[] = [];
    for (const run of planRuns(n, this.chunk, this.fixedBatch)) {
      const { graph, session } = await this.gradientSession(loss.kind, run.size);
      const feeds: Record<string, ort.Tensor> = {
        [this.input]: new ort.Tensor('float32', runSlice(x, this.sampleSize, run), [run.size, ...this.sampleDims]),
      };
      const labelsOf = (values: Int32Array) => {
        const padded = new BigInt64Array(run.size);
        for (let i = 0; i < run.count; i++) padded[i] = BigInt(values[run.start + i]);
        return new ort.Tensor('int64', padded, [run.size]);
      };
      if (loss.kind === 'dot') {
        feeds[graph.cotangent!] = new ort.Tensor('float32', runSlice(loss.cotangent, k, run), [run.size, k]);
      } else {
        feeds[graph.labels!] = labelsOf(loss.labels);
        if (loss.kind === 'targeted-dlr') feeds[graph.targets!] = labelsOf(loss.targets);
      }
      const result = await session.run(feeds);
      losses.push((result[graph.loss].data as Float32Array).subarray(0, run.count));
      gradients.push((result[graph.gradients[this.input]].data as Float32Array).subarray(0, run.count * this.sampleSize));
      logits.push((result[graph.logits].data as Float32Array).subarray(0, run.count * k));
    }
    this.usage.gradientCalls += n;
    return { loss: concat(losses), gradient: concat(gradients), logits: concat(logits) };
  }

  async release(): Promise<void> {
    const sessions = await Promise.all(this.gradientSessions.values());
    await Promise.all([this.scoring.release(), ...sessions.map((s) => s.session.release())]);
    this.gradientSessions.clear();
  }

  private gradientSession(kind: AttackLoss['kind'], size: number): Promise<GradientSession> {
    const key = `${kind}:${size}`;
    let entry = this.gradientSessions.get(key);
    if (!entry) {
      entry = (async () => {
        const feeds = { [this.input]: new ort.Tensor('float32', new Float32Array(size * this.sampleSize), [size, ...this.sampleDims]) };
        const graph = await buildGradientModel(this.model, { wrt: [this.input], head: { kind }, feeds });
        return { graph, session: await createSession(encodeModel(graph.model), this.options) };
      })();
      this.gradientSessions.set(key, entry);
    }
    return entry;
  }

  private samplesIn(x: Float32Array): number {
    if (x.length === 0 || x.length % this.sampleSize !== 0) {
      throw new RangeError(`x holds ${x.length} values, not a whole number of samples of [${this.sampleDims}]`);
    }
    return x.length / this.sampleSize;
  }
}

class WhiteBoxOnnxClassifier extends OnnxClassifier implements DifferentiableClassifier {
  readonly differentiable = true;
  lossGradient(x: Float32Array, loss: AttackLoss): Promise<LossGradient> {
    return this.gradients(x, loss);
  }
}

function declaredSampleDims(model: ModelProto, input: string): number[] {
  const info = model.graph!.input.find((i) => i.name === input);
  const dims = info?.type?.value.case === 'tensorType' ? (info.type.value.value.shape?.dim ?? []) : [];
  const sample = dims.slice(1).map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : Number.NaN));
  if (dims.length < 2 || sample.some((d) => !(d > 0))) {
    throw new RangeError(`the model's input '${input}' does not fix the dimensions of one sample; pass sampleDims`);
  }
  return sample;
}

/** The pieces end to end; a single piece is returned as it is (ORT's fresh output buffer: no copy). */
function concat(pieces: Float32Array[]): Float32Array {
  if (pieces.length === 1) return pieces[0];
  const out = new Float32Array(pieces.reduce((a, p) => a + p.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}
