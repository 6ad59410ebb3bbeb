// Robust accuracy against ε: the suite at each radius, a minimum-norm attack (DeepFool or C&W)
// whose per-sample distances give the whole curve at once and the distribution of minimal
// perturbations, and the per-sample worst case of the two. Then the signs of an evaluation that
// cannot be trusted (Athalye et al. 2018; Carlini et al. 2019): robust accuracy rising with ε,
// points the minimum-norm attack broke inside ε that the suite called robust, an attack given the
// whole box that cannot reach 0%, a loss the attack could not raise, and the suite's own flags.
import type { Norm } from '@onnx-audit/native';

import { type AttackContext, type AttackTask, checkTask, evaluateAttack } from '../attack.js';
import { cw } from '../attacks/cw.js';
import { deepfool } from '../attacks/deepfool.js';
import { bim } from '../attacks/pgd.js';
import { crossEntropy, gather, range } from '../attacks/rows.js';
import { argmaxRows, type DifferentiableClassifier } from '../classifier/classifier.js';
import { runSuite, type SuiteAttack, type SuiteName } from './suite.js';

export type MinimalNormAttack = 'deepfool' | 'cw';

export interface RobustnessOptions extends AttackContext {
  /** 'linf' (default) or 'l2'. */
  norm?: 'linf' | 'l2';
  /** The radii, each > 0; evaluated in increasing order. */
  eps: number[];
  /** Default 'standard'. */
  suite?: SuiteName;
  /** The minimum-norm attack (default 'deepfool'; 'cw' is slower and L2 only); 'none' skips it. */
  minimal?: MinimalNormAttack | 'none';
  /** Samples the whole-box probe attacks (default 100). */
  probeSamples?: number;
  log?: (line: string) => void;
}

export interface RobustnessPoint {
  eps: number;
  /** The suite's robust accuracy (its own worst case over its attacks). */
  suiteAccuracy: number;
  perAttack: SuiteAttack[];
  /** Fraction of samples correct when clean whose minimal perturbation exceeds ε; null without one. */
  minimalNormAccuracy: number | null;
  /** Per-sample worst case: robust to the suite and to the minimum-norm attack. */
  robustAccuracy: number;
  /** Per sample, 1 where it is robust in that worst case. */
  robust: Uint8Array;
  /** The suite's adversarial input for each sample (the clean input where it found none). */
  adversarial: Float32Array;
  seconds: number;
}

export interface MinimalNorms {
  attack: MinimalNormAttack;
  norm: Norm;
  /** Per sample: the norm found; NaN when misclassified clean; Infinity when the attack failed. */
  norms: Float64Array;
  /** Quantiles of the finite norms over the samples correct when clean. */
  quantiles: { p10: number; p25: number; median: number; p75: number; p90: number } | null;
  seconds: number;
}

export interface RobustnessResult {
  norm: 'linf' | 'l2';
  suite: SuiteName;
  seed: number;
  samples: number;
  cleanAccuracy: number;
  curve: RobustnessPoint[];
  minimalNorms: MinimalNorms | null;
  /** The whole-box probe: BIM with ε spanning the box, on up to probeSamples correct points. */
  wholeBox: { eps: number; samples: number; robustAccuracy: number; lossIncreased: number } | null;
  warnings: string[];
  seconds: number;
}

export async function evaluateRobustness(classifier: DifferentiableClassifier, task: AttackTask, options: RobustnessOptions): Promise<RobustnessResult> {
  const norm = options.norm ?? 'linf';
  const radii = [...options.eps].sort((a, b) => a - b);
  if (radii.length === 0) throw new RangeError('give at least one ε');
  const minimal = options.minimal ?? 'deepfool';
  if (minimal === 'cw' && norm !== 'l2') throw new RangeError('C&W minimises the L2 norm; use --minimal deepfool for linf');
  const n = checkTask(classifier, task);
  const seed = options.seed ?? 0;
  const log = options.log ?? (() => {});
  const started = performance.now();
  const warnings: string[] = [];
  const correct = Uint8Array.from(argmaxRows(await classifier.scores(task.x), classifier.classes), (p, i) => (p === task.labels[i] ? 1 : 0));
  const correctCount = correct.reduce((a, b) => a + b, 0);
  const stages = radii.length + (minimal === 'none' ? 0 : 1) + 1;
  const stage = (index: number): AttackContext => ({ seed, signal: options.signal, progress: (done, total) => options.progress?.(index + done / total, stages) });

  const minimalNorms = minimal === 'none' ? null : await minimalPerturbations(classifier, task, norm, minimal, correct, stage(0));
  if (minimalNorms) log(`${minimal}: median minimal ${norm} perturbation ${minimalNorms.quantiles?.median.toPrecision(4) ?? 'none found'}`);

  const curve: RobustnessPoint[] = [];
  // the same suite warning at several radii is said once, naming them all
  const suiteWarnings = new Map<string, string[]>();
  for (const [index, eps] of radii.entries()) {
    log(`ε = ${eps}`);
    const suite = await runSuite(classifier, task, { ...stage(index + (minimalNorms ? 1 : 0)), norm, eps, suite: options.suite, log });
    for (const w of suite.warnings) suiteWarnings.set(w, [...(suiteWarnings.get(w) ?? []), formatEps(eps)]);
    let worst = 0, missed = 0;
    const robust = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const minimalBroken = minimalNorms ? minimalNorms.norms[i] <= eps : false;
      if (suite.robust[i] && !minimalBroken) {
        worst++;
        robust[i] = 1;
      }
      if (suite.robust[i] && minimalBroken) missed++;
    }
    if (missed > 0) warnings.push(`ε = ${formatEps(eps)}: ${minimal} broke ${missed} points within ε that the suite called robust: its attacks did not converge on them (the worst case counts them as broken)`);
    curve.push({
      eps,
      suiteAccuracy: suite.robustAccuracy,
      perAttack: suite.perAttack,
      minimalNormAccuracy: minimalNorms ? minimalNorms.norms.filter((v) => v > eps).length / n : null,
      robustAccuracy: worst / n,
      robust,
      adversarial: suite.adversarial,
      seconds: suite.seconds,
    });
  }
  for (const [w, at] of suiteWarnings) warnings.push(`ε = ${at.join(', ')}: ${w}`);
  for (let j = 1; j < curve.length; j++) {
    if (curve[j].robustAccuracy > curve[j - 1].robustAccuracy) {
      warnings.push(`robust accuracy rises from ${percent(curve[j - 1].robustAccuracy)} at ε = ${formatEps(curve[j - 1].eps)} to ${percent(curve[j].robustAccuracy)} at ε = ${formatEps(curve[j].eps)}: a larger ball contains the smaller one, so the attacks are failing to find adversarial inputs`);
    }
  }

  const wholeBox = correctCount === 0 ? null : await wholeBoxProbe(classifier, task, norm, correct, options.probeSamples ?? 100, stage(stages - 1));
  if (wholeBox) {
    if (wholeBox.robustAccuracy > 0) {
      warnings.push(`with ε = ${formatEps(wholeBox.eps)} (the whole input box) BIM still leaves ${percent(wholeBox.robustAccuracy)} of ${wholeBox.samples} points robust: any input is reachable, so the gradients are likely masked; trust the black-box (Square) figures more`);
    }
    if (wholeBox.lossIncreased < 0.5) {
      warnings.push(`BIM raised the loss on only ${percent(wholeBox.lossIncreased)} of the points it could not break with the whole box: the gradient does not point uphill (masked or shattered gradients)`);
    }
  }
  options.progress?.(stages, stages);
  return {
    norm,
    suite: options.suite ?? 'standard',
    seed,
    samples: n,
    cleanAccuracy: correctCount / n,
    curve,
    minimalNorms,
    wholeBox,
    warnings,
    seconds: (performance.now() - started) / 1000,
  };
}

async function minimalPerturbations(classifier: DifferentiableClassifier, task: AttackTask, norm: 'linf' | 'l2', attack: MinimalNormAttack, correct: Uint8Array, context: AttackContext): Promise<MinimalNorms> {
  const n = task.labels.length;
  const d = classifier.sampleSize;
  const norms = new Float64Array(n).fill(Number.NaN);
  const rows = Int32Array.from(range(n).filter((i) => correct[i]));
  let seconds = 0;
  if (rows.length > 0) {
    const sub: AttackTask = { x: gather(task.x, d, rows), labels: gather(task.labels, 1, rows) };
    const result = await evaluateAttack(classifier, sub, undefined, () => (attack === 'cw' ? cw(classifier, sub, context) : deepfool(classifier, sub, { ...context, norm })));
    rows.forEach((i, r) => (norms[i] = result.success[r] ? result.norms[norm][r] : Number.POSITIVE_INFINITY));
    seconds = result.seconds;
  }
  const found = Array.from(norms.filter(Number.isFinite)).sort((a, b) => a - b);
  const q = (p: number) => found[Math.min(found.length - 1, Math.floor(p * found.length))];
  return {
    attack,
    norm,
    norms,
    quantiles: found.length ? { p10: q(0.1), p25: q(0.25), median: q(0.5), p75: q(0.75), p90: q(0.9) } : null,
    seconds,
  };
}

/**
 * BIM with a ball that holds the whole box: every input is reachable, so 0% is the only honest
 * answer. BIM rather than a randomly started attack, so that a point it leaves robust has moved
 * only along its gradient and its loss says whether the gradient points uphill.
 */
async function wholeBoxProbe(classifier: DifferentiableClassifier, task: AttackTask, norm: 'linf' | 'l2', correct: Uint8Array, limit: number, context: AttackContext) {
  const d = classifier.sampleSize;
  const { lo, hi } = classifier.box;
  const eps = norm === 'linf' ? hi - lo : (hi - lo) * Math.sqrt(d);
  const rows = Int32Array.from(range(task.labels.length).filter((i) => correct[i]).slice(0, limit));
  const sub: AttackTask = { x: gather(task.x, d, rows), labels: gather(task.labels, 1, rows) };
  const { adversarial } = await bim(classifier, sub, { ...context, norm, eps, steps: 25 });
  const k = classifier.classes;
  const after = await classifier.scores(adversarial);
  const before = await classifier.scores(sub.x);
  const predicted = argmaxRows(after, k);
  const lossAfter = crossEntropy(after, k, (r) => sub.labels[r]);
  const lossBefore = crossEntropy(before, k, (r) => sub.labels[r]);
  let robust = 0, increased = 0;
  for (let r = 0; r < rows.length; r++) {
    if (predicted[r] !== sub.labels[r]) continue;
    robust++;
    if (lossAfter[r] > lossBefore[r]) increased++;
  }
  return { eps, samples: rows.length, robustAccuracy: robust / rows.length, lossIncreased: robust === 0 ? 1 : increased / robust };
}

function percent(v: number): string {
  return `${(100 * v).toFixed(2)}%`;
}

function formatEps(eps: number): string {
  const k = eps * 255;
  return Math.abs(k - Math.round(k)) < 1e-9 && k >= 1 ? `${Math.round(k)}/255` : eps.toPrecision(4);
}
