// `onnx-audit attack` on linear softmax models, against closed forms computed here in float64:
// FGSM is x' = clip(x + ε·sign(W(p − e_y))), so its robust accuracy, its adversarial inputs and
// a transfer rate between two linear models can all be checked exactly.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { create } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, NodeProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { ATTACKS } from '@onnx-audit/attacks';
import { readNpz, writeNpz } from '@onnx-audit/data';
import { encodeModel, tensorFromArray, tensorValueInfo } from '@onnx-audit/onnx';

import { linearSoftmax } from './linear-model.js';
import { cli } from './run-cli.js';

const [D, K, N] = [4, 3, 24];
const W = Float32Array.from({ length: D * K }, (_, i) => 2 * Math.sin(i + 1));
const B = Float32Array.from({ length: K }, (_, i) => 0.1 * i);
// a second model close to the first, so that some adversarial inputs transfer and some do not
const W2 = Float32Array.from(W, (w, i) => w + 0.5 * Math.cos(7 * i));
const X = Float32Array.from({ length: N * D }, (_, i) => 0.5 + 0.45 * Math.cos(3 * i + 1));
const row = (x: ArrayLike<number>, i: number) => Array.from({ length: D }, (_, j) => x[i * D + j]);
// mostly the model's own predictions, every fifth label wrong: the attacks leave those alone
const Y = Int32Array.from({ length: N }, (_, i) => (predict(W, row(X, i)) + (i % 5 === 0 ? 1 : 0)) % K);

function logits(w: Float32Array, x: number[]): number[] {
  return Array.from({ length: K }, (_, k) => B[k] + x.reduce((s, v, j) => s + v * w[j * K + k], 0));
}

/** argmax, ties to the lower class as ArgMax. */
function predict(w: Float32Array, x: number[]): number {
  const z = logits(w, x);
  return z.indexOf(Math.max(...z));
}

/** FGSM on the model of weights w: x + ε·sign(∂CE/∂x) clipped to [0, 1]; a misclassified x stays. */
function fgsm(w: Float32Array, x: number[], y: number, eps: number): number[] {
  if (predict(w, x) !== y) return x;
  const z = logits(w, x);
  const e = z.map((v) => Math.exp(v - Math.max(...z)));
  const p = e.map((v) => v / e.reduce((a, b) => a + b));
  const g = x.map((_, j) => p.reduce((s, pk, k) => s + w[j * K + k] * (pk - (k === y ? 1 : 0)), 0));
  return x.map((v, j) => Math.min(1, Math.max(0, v + eps * Math.sign(g[j]))));
}

/** Gemm then LpNormalization, which runs but has no gradient rule. */
function notDifferentiable(): ModelProto {
  return create(ModelProtoSchema, {
    irVersion: 8n,
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'lp',
      input: [tensorValueInfo('x', ['N', D])],
      output: [tensorValueInfo('p', ['N', K])],
      initializer: [tensorFromArray('W', [D, K], W), tensorFromArray('b', [K], B)],
      node: [
        create(NodeProtoSchema, { opType: 'Gemm', name: 'fc', input: ['x', 'W', 'b'], output: ['z'] }),
        create(NodeProtoSchema, { opType: 'LpNormalization', name: 'lp', input: ['z'], output: ['p'] }),
      ],
    },
  });
}

interface Report {
  [key: string]: unknown;
  cleanAccuracy: number;
  robustAccuracy: number;
  successRate: number;
  eps: number | null;
  transferRate?: number | null;
}

describe('onnx-audit attack', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-attack-'));
  const file = (name: string) => join(dir, name);
  writeFileSync(file('linear.onnx'), encodeModel(linearSoftmax(W, B)));
  writeFileSync(file('second.onnx'), encodeModel(linearSoftmax(W2, B)));
  writeFileSync(file('four.onnx'), encodeModel(linearSoftmax(new Float32Array(D * 4), new Float32Array(4))));
  writeFileSync(file('lp.onnx'), encodeModel(notDifferentiable()));
  await writeNpz(file('d.npz'), { x: { dtype: 'float32', shape: [N, D], data: X }, y: { dtype: 'int32', shape: [N], data: Y } });
  const attack = (...args: string[]) => cli('attack', '--model', file('linear.onnx'), '--data', file('d.npz'), ...args);
  const json = (...args: string[]): Report => {
    const r = attack(...args, '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    return JSON.parse(r.stdout) as Report;
  };

  it('FGSM: robust accuracy, success rate and x_adv equal the closed form', async () => {
    const eps = 0.15;
    const report = json('--attack', 'fgsm', '--eps', String(eps), '--out', file('fgsm.npz'));
    const clean = Array.from(Y, (y, i) => predict(W, row(X, i)) === y);
    const adversarial = Array.from(Y, (y, i) => fgsm(W, row(X, i), y, eps));
    const fooled = adversarial.map((x, i) => predict(W, x) !== Y[i]);
    const correct = clean.filter(Boolean).length;
    expect(report).toMatchObject({ attack: 'fgsm', norm: 'linf', eps, targeted: false, samples: N, gradientCalls: correct });
    expect(report.cleanAccuracy).toBeCloseTo(correct / N, 12);
    expect(report.robustAccuracy).toBeCloseTo(clean.filter((c, i) => c && !fooled[i]).length / N, 12);
    expect(report.successRate).toBeCloseTo(clean.filter((c, i) => c && fooled[i]).length / correct, 12);
    expect(report.robustAccuracy).toBeGreaterThan(0);
    expect(report.robustAccuracy).toBeLessThan(report.cleanAccuracy);

    const out = await readNpz(file('fgsm.npz'));
    expect(Object.keys(out).sort()).toEqual(['success', 'x_adv']);
    expect(out.x_adv).toMatchObject({ dtype: 'float32', shape: [N, D] });
    expect(out.success).toMatchObject({ dtype: 'bool', shape: [N] });
    adversarial.flat().forEach((v, e) => expect(out.x_adv.data[e]).toBeCloseTo(v, 6));
    expect(Array.from(out.success.data as Uint8Array)).toEqual(fooled.map(Number));
  });

  it('reads ε as a fraction and prints a summary without --json', () => {
    expect(json('--attack', 'fgsm', '--eps', '8/255').eps).toBe(8 / 255);
    const r = attack('--attack', 'bim', '--eps', '0.1');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^bim, linf ε = 0\.1000, 24 samples, seed 0\nclean accuracy [\d.]+%, robust accuracy [\d.]+%/);
  });

  it('--targeted --target-class 2: every success is classified as 2, samples labelled 2 are left alone', async () => {
    const eps = 0.3;
    const report = json('--attack', 'pgd', '--eps', String(eps), '--targeted', '--target-class', '2', '--out', file('targeted.npz'));
    expect(report.targeted).toBe(true);
    const out = await readNpz(file('targeted.npz'));
    const xAdv = out.x_adv.data as Float32Array;
    const success = out.success.data as Uint8Array;
    expect(success.filter((s, i) => s && Y[i] !== 2).length).toBeGreaterThan(0);
    for (let i = 0; i < N; i++) {
      expect(success[i], `sample ${i}`).toBe(predict(W, row(xAdv, i)) === 2 ? 1 : 0);
      row(xAdv, i).forEach((v, j) => expect(Math.abs(v - X[i * D + j])).toBeLessThanOrEqual(Y[i] === 2 ? 0 : eps + 1e-6));
    }
  });

  it('random targets come from --seed: the same seed gives the same adversarial inputs', async () => {
    const run = async (name: string) => {
      expect(attack('--attack', 'pgd', '--targeted', '--seed', '5', '--out', file(name), '--quiet').status).toBe(0);
      return (await readNpz(file(name))).x_adv.data;
    };
    expect(await run('seed-a.npz')).toEqual(await run('seed-b.npz'));
  });

  it('--surrogate: crafts on the surrogate, and its transfer rate equals one computed independently', () => {
    const eps = 0.2;
    // the target is black-box here: a model without gradient rules is fine
    for (const model of ['linear.onnx', 'lp.onnx']) {
      const r = cli('attack', '--model', file(model), '--data', file('d.npz'), '--surrogate', file('second.onnx'), '--attack', 'fgsm', '--eps', String(eps), '--json');
      expect(r.status, r.stderr).toBe(0);
      const report = JSON.parse(r.stdout) as Report;
      let broken = 0, transferred = 0;
      for (let i = 0; i < N; i++) {
        const x = row(X, i);
        const adversarial = fgsm(W2, x, Y[i], eps);
        if (predict(W2, x) !== Y[i] || predict(W2, adversarial) === Y[i] || predict(W, x) !== Y[i]) continue;
        broken++;
        if (predict(W, adversarial) !== Y[i]) transferred++;
      }
      expect(broken).toBeGreaterThan(transferred);
      expect(transferred).toBeGreaterThan(0);
      expect(report.transferRate).toBeCloseTo(transferred / broken, 12);
    }
  });

  const refuses = (cases: Array<[string[], RegExp]>) => {
    for (const [args, message] of cases) {
      const r = cli('attack', '--data', file('d.npz'), ...(args.includes('--model') ? [] : ['--model', file('linear.onnx')]), ...args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stdout, args.join(' ')).toBe('');
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr.trim(), args.join(' ')).toMatch(message);
    }
  };

  it('refuses bad settings before any work: one line on stderr, exit code 1', () => {
    refuses([
      [['--attack', 'pgd', '--eps', '-0.1'], /--eps must be a number > 0 or a fraction such as 8\/255, got '-0\.1'$/],
      [['--attack', 'pgd', '--eps', 'big'], /--eps must be a number > 0 .*, got 'big'$/],
      [['--attack', 'pgd', '--steps', '0'], /--steps must be an integer ≥ 1, got '0'$/],
      [['--attack', 'pgd', '--eps', '0.1', '--step-size', '0.5'], /--attack pgd: the step size 0\.5 is larger than the ε-ball \(diameter 2ε = 0\.2\)$/],
      [['--attack', 'fgsm', '--norm', 'l2'], /--attack fgsm works in linf, not l2; pick one with --norm$/],
    ]);
    expect(attack('--attack', 'no-such-attack').status).toBe(2);
  });

  it('refuses a target class, data, surrogate or model that does not fit, with one line and exit code 1', () => {
    refuses([
      [['--attack', 'pgd', '--targeted', '--target-class', '3'], /--target-class 3 is not a class of this 3-class model \(0 to 2\)$/],
      [['--attack', 'fgsm', '--input-range', '0,0.5'], /d\.npz: x holds [\d.]+ at flat index \d+, outside --input-range 0,0\.5; fix the data or the range$/],
      [['--attack', 'fgsm', '--surrogate', file('four.onnx')], /four\.onnx: the surrogate has 4 classes, the target 3$/],
      [['--attack', 'pgd', '--model', file('lp.onnx')], /lp\.onnx: no gradient rule for LpNormalization \(node 'lp'\); the black-box attacks .* still work on this model$/],
    ]);
  });

  const minimumNorm = Object.entries(ATTACKS).filter(([, a]) => a.minimumNorm && (a.norms as readonly string[]).includes('l2')).map(([name]) => name);
  it.skipIf(minimumNorm.length === 0).each(minimumNorm)('%s with --eps: perturbations beyond the budget are reverted to the clean input', async (name) => {
    const eps = 0.05;
    const report = json('--attack', name, '--norm', 'l2', '--eps', String(eps), '--out', file(`${name}.npz`));
    expect(report.eps).toBe(eps);
    const out = await readNpz(file(`${name}.npz`));
    for (let i = 0; i < N; i++) {
      const size = Math.hypot(...row(out.x_adv.data as Float32Array, i).map((v, j) => v - X[i * D + j]));
      expect(size, `sample ${i}`).toBeLessThanOrEqual(eps * (1 + 1e-5));
    }
    expect(json('--attack', name, '--norm', 'l2').eps).toBeNull();
  });
});
