// The audit's results as one JSON document (results.json): plain data, so that the report renders
// any saved run without the packages that computed it. Every section is either done or skipped
// with the sentence that says what to pass to get it.

export const RESULTS_SCHEMA = 'onnx-audit/results@1';

export interface Skipped {
  status: 'skipped';
  /** What to pass to get the section, e.g. "pass --members, --nonmembers and --aux to measure membership leakage". */
  reason: string;
}

export interface AuditResults {
  schema: typeof RESULTS_SCHEMA;
  provenance: Provenance;
  model: ModelSummary;
  /** Plain-language findings, most important first (the report's opening list). */
  summary: string[];
  calibration: CalibrationSection | Skipped;
  robustness: RobustnessSection | Skipped;
  membership: MembershipSection | Skipped;
}

export interface Provenance {
  /** e.g. 'onnx-audit 0.1.0'. */
  tool: string;
  createdAt: string;
  /** The command line that produced the results. */
  command: string[];
  versions: Record<string, string>;
  /** Every seed used, by what it seeded. */
  seeds: Record<string, number>;
  /** Seconds per section. */
  timings: Record<string, number>;
  /** The data each part was read from, with its sample count. */
  data: Record<string, { source: string; samples: number }>;
  /** The settings of the run (ε list, quick/thorough, attack settings...). */
  settings: Record<string, unknown>;
}

export interface ModelSummary {
  file: string;
  sha256: string;
  inputShape: (number | string | null)[];
  classes: number;
  classNames?: string[];
  parameterCount: number;
  ops: Record<string, number>;
  /** Name of the trailing Softmax, when the model ends in one (the audit reads the logits before it). */
  strippedSoftmax?: string;
}

// ---- calibration --------------------------------------------------------------------------------

export interface CalibrationMetrics {
  accuracy: number;
  nll: number;
  brier: number;
  ece: number;
  mce: number;
  classwiseEce: number;
  ace: number;
}

export interface ReliabilityBin {
  lower: number | null;
  upper: number | null;
  count: number;
  meanConfidence: number | null;
  accuracy: number | null;
}

export interface CalibrationSection {
  status: 'done';
  temperature: number;
  /** Where T was fitted and where the metrics were measured. */
  fittedOn: string;
  measuredOn: string;
  samples: number;
  bins: number;
  before: CalibrationMetrics;
  after: CalibrationMetrics;
  reliabilityBefore: ReliabilityBin[];
  reliabilityAfter: ReliabilityBin[];
  /** Top-label confidence counts in equal-width bins (before scaling). */
  confidenceHistogram: { lower: number; upper: number; count: number }[];
  /** Accuracy and mean confidence per class, before scaling. */
  perClass: { label: string; samples: number; accuracy: number; meanConfidence: number }[];
  /** Path of the calibrated model written by the audit. */
  calibratedModel?: string;
}

// ---- robustness ---------------------------------------------------------------------------------

export interface RobustnessSection {
  status: 'done';
  norm: 'linf' | 'l2';
  suite: string;
  samples: number;
  cleanAccuracy: number;
  curve: {
    eps: number;
    robustAccuracy: number;
    perAttack: { attack: string; robustAccuracy: number }[];
  }[];
  /** Per sample correct when clean: the smallest perturbation found (Infinity where none was). */
  minimalNorms: { attack: string; norm: 'linf' | 'l2'; values: number[]; median: number | null } | null;
  /** A few samples: clean image, perturbation and adversarial image at the largest ε with their labels. */
  examples: AdversarialExample[];
  /** Per class: clean and robust accuracy at the largest ε. */
  perClass: { label: string; samples: number; cleanAccuracy: number; robustAccuracy: number }[];
  warnings: string[];
  /** Path of the adversarial examples written by the audit (.npz). */
  adversarialExamples?: string;
}

export interface AdversarialExample {
  /** [channels, height, width] of the image arrays. */
  shape: number[];
  /** Row-major values in the model's input box. */
  clean: number[];
  adversarial: number[];
  box: { lo: number; hi: number };
  label: string;
  cleanPrediction: string;
  adversarialPrediction: string;
  eps: number;
}

// ---- membership inference -------------------------------------------------------------------------

export interface MembershipAttackResult {
  attack: string;
  auc: number;
  tprAtFpr: Record<string, number>;
  balancedAccuracy: number;
  advantage: number;
  members: number;
  nonMembers: number;
  seconds: number;
  roc: { fpr: number[]; tpr: number[] };
}

export interface MembershipSection {
  status: 'done';
  attacks: MembershipAttackResult[];
  /** Attacks that could not run, with the reason. */
  skipped: { attack: string; reason: string }[];
  /** The same attacks against the temperature-scaled target: T, and the attacker unaware and aware of it. */
  calibrated?: { temperature: number; attackerUnaware: MembershipAttackResult[]; attackerAware: MembershipAttackResult[] };
  /** The same attacks against a twin (e.g. adversarially trained on the same members). */
  twin?: { model: string; attacks: MembershipAttackResult[] };
}
