// The attacks by name, with one settings shape, for the CLI and the robustness evaluation. Each
// entry maps the common settings onto the attack's own options and says what it needs: gradients
// or only scores, which norms, whether it searches for the smallest perturbation (then ε, when
// given, is a budget: a sample whose perturbation exceeds it counts as not broken).
import type { Norm } from '@onnx-audit/native';

import type { AttackContext, AttackOutput, AttackTask } from './attack.js';
import { apgd } from './attacks/apgd.js';
import { cw } from './attacks/cw.js';
import { deepfool } from './attacks/deepfool.js';
import { fgm, fgsm } from './attacks/fgsm.js';
import { nes, spsa } from './attacks/gradient-estimation.js';
import { lbfgs } from './attacks/lbfgs.js';
import { mifgsm } from './attacks/mifgsm.js';
import { bim, pgd } from './attacks/pgd.js';
import { square } from './attacks/square.js';
import { type Classifier, type DifferentiableClassifier, isDifferentiable } from './classifier/classifier.js';

export interface AttackSettings extends AttackContext {
  norm?: Norm;
  eps?: number;
  steps?: number;
  stepSize?: number;
  restarts?: number;
  randomStart?: boolean;
  /** Query budget per sample, for the score-based attacks. */
  queries?: number;
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
  lbfgs: {
    summary: 'smallest L2 perturbation reaching a class: L-BFGS-B on ‖r‖² + c·loss over the box, search on c (Szegedy et al. 2013)',
    access: 'white-box',
    norms: ['l2'],
    minimumNorm: true,
    targeted: true,
    run: (c, task, s) => lbfgs(whiteBox(c, 'lbfgs'), task, { seed: s.seed, signal: s.signal, progress: s.progress, ...(s.steps ? { steps: s.steps } : {}) }),
  },
  cw: {
    summary: 'Carlini–Wagner L2: smallest perturbation by Adam in tanh space, binary search on c (Carlini & Wagner 2017)',
    access: 'white-box',
    norms: ['l2'],
    minimumNorm: true,
    targeted: true,
    // the step size is Adam's learning rate in tanh space
    run: (c, task, s) => cw(whiteBox(c, 'cw'), task, { seed: s.seed, signal: s.signal, progress: s.progress, ...(s.steps ? { steps: s.steps } : {}), ...(s.stepSize ? { learningRate: s.stepSize } : {}) }),
  },
  deepfool: {
    summary: 'steps to the nearest linearised decision boundary, overshoot 0.02 (Moosavi-Dezfooli et al. 2016)',
    access: 'white-box',
    norms: ['l2', 'linf'],
    minimumNorm: true,
    targeted: false,
    run: (c, task, s) => deepfool(whiteBox(c, 'deepfool'), task, { norm: s.norm === 'linf' ? 'linf' : 'l2', seed: s.seed, signal: s.signal, progress: s.progress, ...(s.steps ? { steps: s.steps } : {}) }),
  },
  'apgd-ce': {
    summary: 'APGD on cross-entropy: 100 steps with adaptive step size and momentum (Croce & Hein 2020)',
    access: 'white-box',
    norms: ['linf', 'l2'],
    minimumNorm: false,
    targeted: true,
    run: (c, task, s) => apgd(whiteBox(c, 'apgd-ce'), task, { ...s, norm: s.norm === 'l2' ? 'l2' : 'linf' }),
  },
  'apgd-dlr': {
    summary: 'APGD on the scale-invariant DLR loss; targeted: APGD-T over the 9 runner-up classes (Croce & Hein 2020)',
    access: 'white-box',
    norms: ['linf', 'l2'],
    minimumNorm: false,
    targeted: true,
    run: (c, task, s) => apgd(whiteBox(c, 'apgd-dlr'), task, { ...s, norm: s.norm === 'l2' ? 'l2' : 'linf', loss: task.targets ? 'targeted-dlr' : 'dlr' }),
  },
  square: {
    summary: 'score-based random search over squares, 5000 queries (Andriushchenko et al. 2020)',
    access: 'black-box',
    norms: ['linf', 'l2'],
    minimumNorm: false,
    targeted: true,
    run: (c, task, s) => square(c, task, { ...s, norm: s.norm === 'l2' ? 'l2' : 'linf' }),
  },
  nes: {
    summary: 'PGD on NES gradient estimates from scores (antithetic Gaussian directions; Ilyas et al. 2018)',
    access: 'black-box',
    norms: ['linf', 'l2'],
    minimumNorm: false,
    targeted: true,
    run: (c, task, s) => nes(c, task, s),
  },
  spsa: {
    summary: 'Adam on SPSA gradient estimates from scores (Rademacher directions; Uesato et al. 2018)',
    access: 'black-box',
    norms: ['linf', 'l2'],
    minimumNorm: false,
    targeted: true,
    run: (c, task, s) => spsa(c, task, s),
  },
} satisfies Record<string, AttackDefinition>;

export type AttackName = keyof typeof ATTACKS;
