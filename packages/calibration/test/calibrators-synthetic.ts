// Logits from a distribution calibrated by construction: z is drawn at random and each label is
// drawn from softmax(z), so softmax(z) is the true conditional distribution and T = 1 is optimal
// in the limit. Scaling z afterwards makes a model over- or under-confident by a known factor.
import { randomNormal, randomUniform } from '@onnx-audit/native';

export interface Synthetic {
  logits: Float32Array;
  labels: Int32Array;
}

/** n rows of k logits with spread `spread`, labels drawn from softmax(z), then z multiplied by `scale`. */
export async function calibratedLogits(n: number, k: number, options: { seed: number; spread?: number; scale?: number }): Promise<Synthetic> {
  const { seed, spread = 2, scale = 1 } = options;
  const z = await randomNormal(n * k, { seed });
  const u = await randomUniform(n, { seed: seed + 1 });
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const row = z.subarray(i * k, (i + 1) * k);
    for (let j = 0; j < k; j++) row[j] *= spread;
    const max = Math.max(...row);
    const weights = Array.from(row, (v) => Math.exp(v - max));
    let target = u[i] * weights.reduce((a, b) => a + b, 0);
    let label = 0;
    while (label < k - 1 && (target -= weights[label]) > 0) label++;
    labels[i] = label;
  }
  return { logits: z.map((v) => v * scale), labels };
}

/** Mean NLL of softmax(logits / T) in float64, summed with Kahan compensation: the reference for fits. */
export function referenceNll(logits: Float32Array, labels: Int32Array, k: number, temperature = 1): number {
  let sum = 0, compensation = 0;
  labels.forEach((y, i) => {
    const row = Array.from(logits.subarray(i * k, (i + 1) * k), (v) => v / temperature);
    const max = Math.max(...row);
    const term = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) - row[y] - compensation;
    const next = sum + term;
    compensation = next - sum - term;
    sum = next;
  });
  return sum / labels.length;
}
