export interface SgdOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

export interface AdamOptions {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  decoupled: boolean; // AdamW
}

/**
 * One SGD step in place (PyTorch semantics); `step` counts the steps already taken, so the
 * momentum buffer starts as the first gradient itself (no dampening on step 0).
 */
export function sgdStep(params: Float64Array, grad: ArrayLike<number>, momentumBuffer: Float64Array, o: SgdOptions, step: number): void {
  for (let i = 0; i < params.length; i++) {
    let g = grad[i] + o.weightDecay * params[i];
    if (o.momentum !== 0) {
      momentumBuffer[i] = step === 0 ? g : o.momentum * momentumBuffer[i] + (1 - o.dampening) * g;
      g = o.nesterov ? g + o.momentum * momentumBuffer[i] : momentumBuffer[i];
    }
    params[i] -= o.lr * g;
  }
}

/**
 * One Adam (L2 decay added to the gradient) or AdamW (decay applied to the parameters) step in
 * place with bias correction, PyTorch semantics; t = step + 1.
 */
export function adamStep(params: Float64Array, grad: ArrayLike<number>, m: Float64Array, v: Float64Array, o: AdamOptions, step: number): void {
  const t = step + 1;
  const correction1 = 1 - o.beta1 ** t;
  const correction2 = 1 - o.beta2 ** t;
  for (let i = 0; i < params.length; i++) {
    let g = grad[i];
    if (o.decoupled) params[i] *= 1 - o.lr * o.weightDecay;
    else g += o.weightDecay * params[i];
    m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
    v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
    params[i] -= (o.lr * (m[i] / correction1)) / (Math.sqrt(v[i] / correction2) + o.eps);
  }
}
