// The attacks by name, with one settings shape, for the CLI and the robustness evaluation. Each
// entry maps the common settings onto the attack's own options and says what it needs: gradients
// or only scores, which norms, whether it searches for the smallest perturbation (then ε, when
// given, is a budget: a sample whose perturbation exceeds it counts as not broken).
import type { Norm } from '@onnx-audit/native';

import type { AttackContext, AttackOutput, AttackTask } from './attack.js';
import { fgm, fgsm } from './attacks/fgsm.js';
import { mifgsm } from './attacks/mifgsm.js';
import { bim, pgd } from './attacks/pgd.js';
import { type Classifier, type DifferentiableClassifier, isDifferentiable } from './classifier/classifier.js';

export interface AttackSettings extends AttackContext {
  norm?: Norm;
  eps?: number;
  steps?: number;
  stepSize?: number;
  restarts?: number;
  randomStart?: boolean;
}

export interface AttackDefinition {
  summary: string;
  /** 'white-box' attacks need input gradients; 'black-box' ones only scores. */
  access: 'white-box' | 'black-box';
  norms: readonly Norm[];
  /** Searches for the smallest perturbation rather than working inside a given ε-ball. */
  minimumNorm: boolean;
  targeted: boolean;
  run(classifier: Classifier, task: AttackTask, settings: AttackSettings): Promise<AttackOutput>;
}

function whiteBox(classifier: Classifier, name: string): DifferentiableClassifier {
  if (!isDifferentiable(classifier)) throw new TypeError(`${name} needs input gradients; this classifier only gives scores`);
  return classifier;
}

export const ATTACKS = {
  fgsm: {
    summary: 'one signed-gradient step of size ε (Goodfellow et al. 2015)',
    access: 'white-box',
    norms: ['linf'],
    minimumNorm: false,
    targeted: true,
    run: (c, task, s) => fgsm(whiteBox(c, 'fgsm'), task, s),
  },
  fgm: {
    summary: 'one normalised-gradient step of length ε in L2 (or L1)',
    access: 'white-box',
    norms: ['l2', 'l1'],
    minimumNorm: false,
    targeted: true,
    run: (c, task, s) => fgm(whiteBox(c, 'fgm'), task, s),
  },
  bim: {
    summary: 'iterated FGSM from the clean input, 10 steps of 0.2·ε (Kurakin et al. 2017)',
    access: 'white-box',
    norms: ['linf', 'l2', 'l1'],
    minimumNorm: false,
    targeted: true,
    run: (c, task, s) => bim(whiteBox(c, 'bim'), task, s),
  },
  pgd: {
    summary: 'projected gradient descent from a random start, 40 steps of 2.5·ε/40 (Madry et al. 2018)',
    access: 'white-box',
    norms: ['linf', 'l2', 'l1'],
    minimumNorm: false,
    targeted: true,
    run: (c, task, s) => pgd(whiteBox(c, 'pgd'), task, s),
  },
  mifgsm: {
    summary: 'BIM with momentum μ = 1 on the L1-normalised gradient (Dong et al. 2018)',
    access: 'white-box',
    norms: ['linf', 'l2'],
    minimumNorm: false,
    targeted: true,
    run: (c, task, s) => mifgsm(whiteBox(c, 'mifgsm'), task, s),
  },
} satisfies Record<string, AttackDefinition>;

export type AttackName = keyof typeof ATTACKS;
