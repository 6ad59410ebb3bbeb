// A plausible results document for an MNIST CNN, built in code: ROC curves from seeded Gaussian
// scores, reliability bins of an over-confident model, digit-like images with a sign perturbation.
// The report depends on none of our packages, so this fixture has its own small seeded generator.
import { type AuditResults, RESULTS_SCHEMA, type MembershipAttackResult, type ReliabilityBin } from '../src/schema.js';
import { summarize } from '../src/summary.js';

/** mulberry32: a tiny seeded PRNG, enough for fixture data. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** An attack whose member scores are shifted by `shift` standard deviations; ROC and metrics computed from the scores. */
export function membershipAttack(attack: string, shift: number, seed: number, members = 1000, nonMembers = 1000): MembershipAttackResult {
  const random = seeded(seed);
  const scores = [
    ...Array.from({ length: members }, () => ({ s: normal(random) + shift, member: true })),
    ...Array.from({ length: nonMembers }, () => ({ s: normal(random), member: false })),
  ].sort((a, b) => b.s - a.s);
  const fpr = [0];
  const tpr = [0];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  for (const { member } of scores) {
    if (member) tp++;
    else {
      fp++;
      auc += tp / members / nonMembers;
    }
    fpr.push(fp / nonMembers);
    tpr.push(tp / members);
  }
  const tprAt = (alpha: number): number => Math.max(...tpr.filter((_, i) => fpr[i]! <= alpha));
  const balancedAccuracy = Math.max(...tpr.map((t, i) => (t + 1 - fpr[i]!) / 2));
  return {
    attack,
    auc,
    tprAtFpr: { '0.001': tprAt(0.001), '0.01': tprAt(0.01) },
    balancedAccuracy,
    advantage: 2 * balancedAccuracy - 1,
    members,
    nonMembers,
    seconds: 1 + 10 * shift,
    roc: { fpr, tpr },
  };
}

/** Bins of a model whose accuracy is confidence^power (power > 1: over-confident). */
function reliability(power: number, total: number): ReliabilityBin[] {
  const bins = 10;
  return Array.from({ length: bins }, (_, i) => {
    const lower = i / bins;
    const upper = (i + 1) / bins;
    const meanConfidence = (lower + upper) / 2;
    const count = i < 1 ? 0 : Math.round(total * 0.02 * 1.6 ** i);
    return count === 0
      ? { lower, upper, count, meanConfidence: null, accuracy: null }
      : { lower, upper, count, meanConfidence, accuracy: meanConfidence ** power };
  });
}

/** A 28×28 ring ("0"-like digit) in [0,1], and its sign perturbation of size eps, clipped to the box. */
function digitExample(index: number, eps: number): { clean: number[]; adversarial: number[] } {
  const random = seeded(100 + index);
  const clean: number[] = [];
  const adversarial: number[] = [];
  for (let y = 0; y < 28; y++) {
    for (let x = 0; x < 28; x++) {
      const r = Math.hypot(x - 13.5, (y - 13.5) * (0.8 + 0.1 * index));
      const v = Math.max(0, 1 - Math.abs(r - 8) / 2.5);
      clean.push(v);
      adversarial.push(Math.min(1, Math.max(0, v + (random() < 0.5 ? -eps : eps))));
    }
  }
  return { clean, adversarial };
}

export function fixture(): AuditResults {
  const eps = [2 / 255, 4 / 255, 8 / 255];
  const attacks = ['apgd-ce', 'apgd-dlr', 'square'];
  const examples = [0, 1, 2].map((i) => {
    const { clean, adversarial } = digitExample(i, eps[2]!);
    return { shape: [1, 28, 28], clean, adversarial, box: { lo: 0, hi: 1 }, label: '0', cleanPrediction: '0', adversarialPrediction: String(6 + i), eps: eps[2]! };
  });
  const random = seeded(7);
  const normValues = Array.from({ length: 200 }, (_, i) => (i % 25 === 0 ? Infinity : 0.02 + 0.05 * random() + 0.03 * random()));
  const finite = normValues.filter(Number.isFinite).sort((a, b) => a - b);
  const rest: Omit<AuditResults, 'summary'> = {
    schema: RESULTS_SCHEMA,
    provenance: {
      tool: 'onnx-audit 0.1.0',
      createdAt: '2025-01-15T10:20:30.000Z',
      command: ['onnx-audit', 'audit', 'models/mnist-cnn.onnx', '--members', 'data/train.npz', '--out', 'out dir/'],
      versions: { 'onnx-audit': '0.1.0', 'onnxruntime-node': '1.29.0', node: 'v20.20.2' },
      seeds: { calibration: 0, robustness: 1, membership: 2 },
      timings: { calibration: 1.2, robustness: 84.5, membership: 312.7 },
      data: { calibration: { source: 'data/val.npz', samples: 5000 }, members: { source: 'data/train.npz', samples: 1000 } },
      settings: { eps, quick: false, pgd: { steps: 100, restarts: 1 } },
    },
    model: {
      file: 'models/mnist-cnn.onnx',
      sha256: '3f786850e387550fdab836ed7e6dc881de23001b2b9f4bd4c0a6b2f8d8e8a6c1',
      inputShape: ['batch', 1, 28, 28],
      classes: 10,
      classNames: Array.from({ length: 10 }, (_, i) => String(i)),
      parameterCount: 421642,
      ops: { Conv: 2, Relu: 3, MaxPool: 2, Flatten: 1, Gemm: 2 },
      strippedSoftmax: 'probabilities',
    },
    calibration: {
      status: 'done',
      temperature: 2.3,
      fittedOn: 'data/val.npz (first half)',
      measuredOn: 'data/val.npz (second half)',
      samples: 2500,
      bins: 10,
      before: { accuracy: 0.912, nll: 0.41, brier: 0.14, ece: 0.118, mce: 0.31, classwiseEce: 0.027, ace: 0.112 },
      after: { accuracy: 0.912, nll: 0.29, brier: 0.12, ece: 0.021, mce: 0.09, classwiseEce: 0.011, ace: 0.024 },
      reliabilityBefore: reliability(2, 2500),
      reliabilityAfter: reliability(1.1, 2500),
      confidenceHistogram: Array.from({ length: 20 }, (_, i) => ({ lower: i / 20, upper: (i + 1) / 20, count: i < 2 ? 0 : Math.round(5 * 1.28 ** i) })),
      perClass: Array.from({ length: 10 }, (_, i) => ({ label: String(i), samples: 250, accuracy: 0.88 + 0.006 * i, meanConfidence: 0.97 - 0.002 * i })),
      calibratedModel: 'out dir/mnist-cnn.calibrated.onnx',
    },
    robustness: {
      status: 'done',
      norm: 'linf',
      suite: 'standard',
      samples: 200,
      cleanAccuracy: 0.985,
      curve: eps.map((e, j) => {
        const perAttack = attacks.map((attack, a) => ({ attack, robustAccuracy: Math.max(0, 0.985 - (0.3 + 0.1 * a) * (j + 1)) + 0.02 * a }));
        return { eps: e, robustAccuracy: Math.min(...perAttack.map((p) => p.robustAccuracy)) - 0.01 * (j > 0 ? 1 : 0), perAttack };
      }),
      minimalNorms: { attack: 'fab', norm: 'linf', values: normValues, median: finite[Math.floor(finite.length / 2)]! },
      examples,
      perClass: Array.from({ length: 10 }, (_, i) => ({ label: String(i), samples: 20, cleanAccuracy: 0.95 + 0.005 * i, robustAccuracy: 0.01 * (i % 3) })),
      warnings: ['square: 3 samples reached the query budget without success'],
      adversarialExamples: 'out dir/adversarial.npz',
    },
    membership: {
      status: 'done',
      attacks: [membershipAttack('loss', 0.3, 11), membershipAttack('lira', 1.2, 12), membershipAttack('seqmia', 1.6, 13)],
      skipped: [{ attack: 'shokri', reason: 'pass --shadow-data to train shadow models' }],
      calibrated: {
        temperature: 2.3,
        attackerUnaware: [membershipAttack('loss', 0.25, 21), membershipAttack('lira', 1.0, 22), membershipAttack('seqmia', 1.4, 23)],
        attackerAware: [membershipAttack('loss', 0.3, 31), membershipAttack('lira', 1.2, 32), membershipAttack('seqmia', 1.6, 33)],
      },
      twin: { model: 'models/mnist-cnn-adv.onnx', attacks: [membershipAttack('loss', 0.5, 41), membershipAttack('seqmia', 1.9, 43)] },
    },
  };
  return { ...rest, summary: summarize(rest) };
}
