// Image folders through the CLI: real digits written as PNG files (lossless, so decoding gives
// back k/255 exactly) must give the same gradients as the same digits in a .npz; images of mixed
// sizes need --resize, as the error says.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

import { loadBuiltin, readNpy, writeNpz } from '@onnx-audit/data';
import { buildClassifier, writeModel } from '@onnx-audit/onnx';

import { cli } from './run-cli.js';

describe('image folders', () => {
  it('give the gradients the same digits give from a .npz, and need --resize when sizes differ', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-images-'));
    const digits = await loadBuiltin('mnist', { perClass: 2 });
    const model = join(dir, 'cnn.onnx');
    await writeModel(model, await buildClassifier({ input: [1, 28, 28], layers: [{ kind: 'conv', channels: 4, kernel: 3 }, { kind: 'relu' }, { kind: 'flatten' }, { kind: 'linear', units: 10 }], seed: 2 }));
    const folder = join(dir, 'images');
    // Folder order is class, then file name: the names keep the dataset's order.
    for (let i = 0; i < digits.y.length; i++) {
      mkdirSync(join(folder, String(digits.y[i])), { recursive: true });
      const pixels = Buffer.from(Array.from(digits.x.subarray(i * 784, (i + 1) * 784), (v) => Math.round(v * 255)));
      await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } }).png().toFile(join(folder, String(digits.y[i]), `${String(i).padStart(2, '0')}.png`));
    }
    const npz = join(dir, 'digits.npz');
    await writeNpz(npz, { x: { dtype: 'float32', shape: digits.shape, data: digits.x }, y: { dtype: 'int32', shape: [digits.y.length], data: digits.y } });

    expect(cli('grad', '--model', model, '--data', folder, '--out', join(dir, 'from-images.npy')).status).toBe(0);
    expect(cli('grad', '--model', model, '--data', npz, '--out', join(dir, 'from-npz.npy')).status).toBe(0);
    expect((await readNpy(join(dir, 'from-images.npy'))).data).toEqual((await readNpy(join(dir, 'from-npz.npy'))).data);

    await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 0, g: 0, b: 0 } } }).png().toFile(join(folder, '9', 'large.png'));
    const mixed = cli('grad', '--model', model, '--data', folder, '--out', join(dir, 'x.npy'));
    expect(mixed.status).toBe(1);
    expect(mixed.stderr).toMatch(/is 28x28 but 9\/large\.png is 32x32 .*--resize HxW/);
    const resized = cli('grad', '--model', model, '--data', folder, '--resize', '28x28', '--out', join(dir, 'resized.npy'));
    expect(resized.status, resized.stderr).toBe(0);
    expect((await readNpy(join(dir, 'resized.npy'))).shape).toEqual([21, 1, 28, 28]);
  });
});
