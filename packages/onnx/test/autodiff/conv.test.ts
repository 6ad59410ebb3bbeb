// Conv and ConvTranspose: input, weight and bias gradients against central finite differences.
// Both ops are affine in each operand, so the central difference has no truncation error at any
// step and only the float32 rounding of the forward runs remains, which shrinks as the step grows:
// ε = 1 (at ε = 1e-2 the rounding alone reached 1e-3 on some directions). The one non-linear
// chain (through Tanh) uses ε = 1e-2, where the O(ε²) truncation is about 1e-5. Tolerance:
// relative 1e-3; run with GRADIENT_ERRORS=1 to print the measured errors.
import { describe, expect, it } from 'vitest';

import { type AttrValue } from '../../src/autodiff/graph.js';
import { checkGradients, type ModelSpec, randomTensor } from './harness.js';

const TOLERANCE = 1e-3;
const EPS = 1;

async function expectGradients(label: string, spec: ModelSpec, options: Parameters<typeof checkGradients>[1] = {}): Promise<void> {
  const results = await checkGradients(spec, { eps: EPS, ...options });
  for (const [name, r] of Object.entries(results)) {
    if (process.env.GRADIENT_ERRORS) console.log(`${label} ${name}: ${r.relativeError.toExponential(1)}`);
    expect(r.relativeError, `${name}: analytic ${r.analytic}, numeric ${r.numeric}`).toBeLessThan(TOLERANCE);
  }
}

/** x, w (and b when `bias`) as graph inputs, all differentiated. */
function convSpec(op: 'Conv' | 'ConvTranspose', x: number[], w: number[], attrs: Record<string, AttrValue>, bias: number | undefined): ModelSpec {
  const inputs: Record<string, number[]> = { x, w, ...(bias ? { b: [bias] } : {}) };
  return { inputs, nodes: [{ op, inputs: Object.keys(inputs), outputs: ['y'], attrs }], output: 'y' };
}

describe('Conv', () => {
  const cases: Array<[string, number[], number[], Record<string, AttrValue>]> = [
    ['3×3, pads 1, group 1', [2, 3, 7, 8], [4, 3, 3, 3], { pads: [1, 1, 1, 1] }],
    ['group 2, strides [2,3], dilations [2,1], pads [1,0,2,1]', [2, 4, 9, 10], [6, 2, 3, 2], { group: 2, strides: [2, 3], dilations: [2, 1], pads: [1, 0, 2, 1] }],
    ['depthwise (group = C = 4), stride 2, pads 1', [2, 4, 8, 7], [4, 1, 3, 3], { group: 4, strides: [2, 2], pads: [1, 1, 1, 1] }],
    ['depthwise with channel multiplier 2', [2, 3, 6, 6], [6, 1, 3, 3], { group: 3 }],
    ['stride 3 over a 2×2 kernel (the last input rows fall in no window)', [1, 2, 10, 11], [3, 2, 2, 2], { strides: [3, 3] }],
    ['dilation 3 with stride 2 and no pads', [1, 2, 11, 9], [2, 2, 3, 2], { strides: [2, 2], dilations: [3, 2] }],
  ];
  for (const [label, x, w, attrs] of cases) {
    it(`${label}, with bias`, async () => expectGradients(`Conv ${label}`, convSpec('Conv', x, w, attrs, w[0])));
  }

  for (const autoPad of ['SAME_UPPER', 'SAME_LOWER', 'VALID']) {
    it(`auto_pad ${autoPad} with stride 2, odd sizes and an even kernel width`, async () => {
      await expectGradients(`Conv ${autoPad}`, convSpec('Conv', [2, 2, 7, 9], [3, 2, 3, 4], { auto_pad: autoPad, strides: [2, 2] }, 3));
    });
  }
  // (ORT refuses auto_pad SAME_* together with dilations > 1, so that combination has no forward.)
  it('auto_pad SAME_LOWER with stride 3 and a 1-D-like kernel', async () => {
    await expectGradients('Conv SAME_LOWER s3', convSpec('Conv', [1, 2, 8, 10], [2, 2, 1, 4], { auto_pad: 'SAME_LOWER', strides: [3, 3] }, undefined));
  });

  it('1-D: stride 2, dilation 2, pads [2,1], group 3, bias', async () => {
    await expectGradients('Conv 1-D', convSpec('Conv', [2, 6, 13], [3, 2, 3], { strides: [2], dilations: [2], pads: [2, 1], group: 3 }, 3));
  });
  it('3-D: strides [2,1,2], pads [1,0,1,0,1,1]', async () => {
    await expectGradients('Conv 3-D', convSpec('Conv', [1, 2, 5, 6, 5], [3, 2, 2, 3, 2], { strides: [2, 1, 2], pads: [1, 0, 1, 0, 1, 1] }, 3));
  });

  it('input gradient only, with the weight and bias as initializers', async () => {
    const w = randomTensor([4, 2, 3, 3], 3).data as Float32Array;
    await expectGradients('Conv dX only', {
      inputs: { x: [2, 4, 7, 7] },
      floats: { w: { dims: [4, 2, 3, 3], values: Array.from(w) }, b: { dims: [4], values: [0.1, 0.2, 0.3, 0.4] } },
      nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] } }],
      output: 'y',
    });
  });

  it('a Conv → Tanh → Conv chain', async () => {
    await expectGradients('Conv chain', {
      inputs: { x: [2, 3, 9, 9], w1: [4, 3, 3, 3], w2: [2, 4, 3, 3] },
      nodes: [
        { op: 'Conv', inputs: ['x', 'w1'], outputs: ['h'], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] } },
        { op: 'Tanh', inputs: ['h'], outputs: ['r'] },
        { op: 'Conv', inputs: ['r', 'w2'], outputs: ['y'], attrs: { pads: [0, 1, 0, 1] } },
      ],
      output: 'y',
    }, { eps: 1e-2 });
  });
});

describe('ConvTranspose', () => {
  const cases: Array<[string, number[], number[], Record<string, AttrValue>]> = [
    ['stride 2, pads [1,0,0,1], output_padding [1,0]', [2, 4, 4, 5], [4, 3, 3, 3], { strides: [2, 2], pads: [1, 0, 0, 1], output_padding: [1, 0] }],
    ['group 2, strides [2,3], dilations [1,2], output_padding [1,2]', [2, 4, 3, 4], [4, 2, 3, 2], { group: 2, strides: [2, 3], dilations: [1, 2], output_padding: [1, 2] }],
    ['stride 3 over a 2×2 kernel (gaps in the output)', [1, 2, 3, 4], [2, 3, 2, 2], { strides: [3, 3] }],
    ['output_shape with odd total padding (NOTSET)', [1, 2, 4, 5], [2, 3, 3, 3], { strides: [2, 2], output_shape: [8, 10] }],
    ['output_shape with SAME_UPPER', [1, 2, 4, 5], [2, 3, 3, 3], { strides: [2, 2], output_shape: [8, 10], auto_pad: 'SAME_UPPER' }],
    ['auto_pad SAME_UPPER', [1, 2, 4, 5], [2, 3, 3, 3], { strides: [2, 2], auto_pad: 'SAME_UPPER' }],
    ['auto_pad SAME_LOWER', [1, 2, 4, 5], [2, 3, 3, 3], { strides: [2, 2], auto_pad: 'SAME_LOWER' }],
    ['auto_pad VALID', [1, 2, 4, 5], [2, 3, 3, 3], { strides: [2, 2], auto_pad: 'VALID' }],
  ];
  for (const [label, x, w, attrs] of cases) {
    it(`${label}, with bias`, async () => expectGradients(`ConvTranspose ${label}`, convSpec('ConvTranspose', x, w, attrs, w[1] * (Number(attrs.group ?? 1)))));
  }
  it('1-D: stride 2, pads [1,2], output_padding [1], group 2', async () => {
    await expectGradients('ConvTranspose 1-D', convSpec('ConvTranspose', [2, 4, 6], [4, 3, 3], { strides: [2], pads: [1, 2], output_padding: [1], group: 2 }, 6));
  });
});
