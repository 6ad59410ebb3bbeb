// Gradient attribution: which inputs a white-box classifier's logit for a class depends on.
export type { AttributionContext } from './gradients.js';
export { saliency } from './saliency.js';
export type { SaliencyOptions, SaliencyResult } from './saliency.js';
export { smoothGrad, smoothGradSettings } from './smoothgrad.js';
export type { SmoothGradOptions, SmoothGradResult, SmoothGradSettings } from './smoothgrad.js';
export { integratedGradients, integratedGradientsSettings } from './integrated-gradients.js';
export type { IntegratedGradientsOptions, IntegratedGradientsResult, IntegratedGradientsSettings, IntegrationRule } from './integrated-gradients.js';
