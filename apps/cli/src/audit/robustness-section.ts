// The audit's robustness section: the standard (or fast) suite over the ε list with DeepFool's
// minimal perturbations, a grid of examples broken at the largest ε, per-class robust accuracy,
// and the adversarial inputs of the largest ε written as an artifact.
import { type DifferentiableClassifier, evaluateRobustness, type SuiteName } from '@onnx-audit/attacks';
import { writeNpz } from '@onnx-audit/data';
import type { LabelledSet } from '@onnx-audit/mia';
import type { AdversarialExample, RobustnessSection } from '@onnx-audit/report';

export interface RobustnessInputs {
  classifier: DifferentiableClassifier;
  test: LabelledSet;
  classNames: string[];
  eps: number[];
  suite: SuiteName;
  seed: number;
  /** Where to write the adversarial inputs of the largest ε (.npz). */
  out: string;
  progress?: (done: number, total: number) => void;
}

const EXAMPLES = 8;

export async function robustnessSection(inputs: RobustnessInputs): Promise<RobustnessSection> {
  const { classifier, test, classNames } = inputs;
  const name = (c: number) => classNames[c] ?? String(c);
  const result = await evaluateRobustness(classifier, { x: test.x, labels: test.labels }, { eps: inputs.eps, suite: inputs.suite, seed: inputs.seed, ...(inputs.progress ? { progress: inputs.progress } : {}) });
  const last = result.curve.at(-1)!;
  const d = classifier.sampleSize;
  const k = classifier.classes;
  const argmax = (scores: Float32Array, i: number) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (scores[i * k + c] > scores[i * k + best]) best = c;
    return best;
  };
  const clean = await classifier.scores(test.x);
  const adversarial = await classifier.scores(last.adversarial);
  await writeNpz(inputs.out, {
    x: { dtype: 'float32', shape: [test.labels.length, ...test.sampleDims], data: last.adversarial },
    y: { dtype: 'int32', shape: [test.labels.length], data: test.labels },
  });

  const examples: AdversarialExample[] = [];
  for (let i = 0; i < test.labels.length && examples.length < EXAMPLES; i++) {
    if (argmax(clean, i) !== test.labels[i] || argmax(adversarial, i) === test.labels[i]) continue;
    examples.push({
      shape: test.sampleDims,
      clean: Array.from(test.x.subarray(i * d, (i + 1) * d)),
      adversarial: Array.from(last.adversarial.subarray(i * d, (i + 1) * d)),
      box: classifier.box,
      label: name(test.labels[i]),
      cleanPrediction: name(argmax(clean, i)),
      adversarialPrediction: name(argmax(adversarial, i)),
      eps: last.eps,
    });
  }
  const perClass = Array.from({ length: k }, (_, c) => ({ label: name(c), samples: 0, cleanAccuracy: 0, robustAccuracy: 0 }));
  test.labels.forEach((y, i) => {
    perClass[y].samples++;
    perClass[y].cleanAccuracy += argmax(clean, i) === y ? 1 : 0;
    perClass[y].robustAccuracy += last.robust[i];
  });
  for (const row of perClass) {
    row.cleanAccuracy = row.samples ? row.cleanAccuracy / row.samples : 0;
    row.robustAccuracy = row.samples ? row.robustAccuracy / row.samples : 0;
  }
  const minimal = result.minimalNorms;
  return {
    status: 'done',
    norm: result.norm,
    suite: result.suite,
    samples: result.samples,
    cleanAccuracy: result.cleanAccuracy,
    curve: result.curve.map((p) => ({ eps: p.eps, robustAccuracy: p.robustAccuracy, perAttack: p.perAttack.map((a) => ({ attack: a.attack, robustAccuracy: a.robustAccuracy })) })),
    minimalNorms: minimal && { attack: minimal.attack, norm: minimal.norm as 'linf' | 'l2', values: Array.from(minimal.norms).filter(Number.isFinite), median: minimal.quantiles?.median ?? null },
    examples,
    perClass: perClass.filter((row) => row.samples > 0),
    warnings: result.warnings,
    adversarialExamples: inputs.out,
  };
}
