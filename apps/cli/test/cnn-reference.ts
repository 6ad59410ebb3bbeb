// A float64 forward pass of the CNN the train tests build (conv → BN → ReLU → MaxPool, twice,
// then a linear layer; Dropout is the identity at inference), written from the ONNX definitions
// of each op, as an independent reference for the logits the ONNX model gives.
import type { ModelProto } from 'onnx-buf';

import { tensorToArray } from '@onnx-audit/onnx';

type Map3 = { c: number; h: number; w: number; data: Float64Array };

export function referenceCnn(model: ModelProto): (image: ArrayLike<number>) => Float64Array {
  const weight = (name: string) => Float64Array.from(tensorToArray(model.graph!.initializer.find((t) => t.name === name)!) as Float32Array);
  const blocks = [0, 4].map((i) => ({
    w: weight(`conv${i}.weight`), b: weight(`conv${i}.bias`),
    scale: weight(`bn${i + 1}.weight`), shift: weight(`bn${i + 1}.bias`), mean: weight(`bn${i + 1}.running_mean`), variance: weight(`bn${i + 1}.running_var`),
  }));
  const fc = { w: weight('fc10.weight'), b: weight('fc10.bias') };
  return (image) => {
    let map: Map3 = { c: 1, h: 28, w: 28, data: Float64Array.from(image) };
    for (const block of blocks) map = maxPool2(bnRelu(conv3x3(map, block.w, block.b), block));
    const k = fc.b.length;
    return Float64Array.from({ length: k }, (_, o) => map.data.reduce((s, v, j) => s + v * fc.w[o * map.data.length + j], fc.b[o]));
  };
}

/** 3×3 convolution, padding 1, stride 1. */
function conv3x3(x: Map3, w: Float64Array, b: Float64Array): Map3 {
  const out = new Float64Array(b.length * x.h * x.w);
  for (let o = 0; o < b.length; o++)
    for (let i = 0; i < x.h; i++)
      for (let j = 0; j < x.w; j++) {
        let s = b[o];
        for (let c = 0; c < x.c; c++)
          for (let di = -1; di <= 1; di++)
            for (let dj = -1; dj <= 1; dj++) {
              const [r, q] = [i + di, j + dj];
              if (r >= 0 && r < x.h && q >= 0 && q < x.w) s += w[((o * x.c + c) * 3 + di + 1) * 3 + dj + 1] * x.data[(c * x.h + r) * x.w + q];
            }
        out[(o * x.h + i) * x.w + j] = s;
      }
  return { c: b.length, h: x.h, w: x.w, data: out };
}

function bnRelu(x: Map3, bn: { scale: Float64Array; shift: Float64Array; mean: Float64Array; variance: Float64Array }): Map3 {
  const area = x.h * x.w;
  return { ...x, data: x.data.map((v, i) => {
    const c = Math.floor(i / area);
    return Math.max(0, ((v - bn.mean[c]) / Math.sqrt(bn.variance[c] + 1e-5)) * bn.scale[c] + bn.shift[c]);
  }) };
}

function maxPool2(x: Map3): Map3 {
  const [h, w] = [Math.floor(x.h / 2), Math.floor(x.w / 2)];
  const out = new Float64Array(x.c * h * w);
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const at = (r: number, q: number) => x.data[(c * x.h + 2 * i + r) * x.w + 2 * j + q];
        out[(c * h + i) * w + j] = Math.max(at(0, 0), at(0, 1), at(1, 0), at(1, 1));
      }
  return { c: x.c, h, w, data: out };
}
