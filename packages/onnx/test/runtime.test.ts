import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { runtimeInfo } from '@onnx-audit/onnx';

describe('runtimeInfo', () => {
  it('reports the pinned ONNX Runtime with its CPU provider, and CUDA only where its library is', () => {
    const info = runtimeInfo();
    expect(info.version).toBe('1.29.0');
    expect(existsSync(join(info.binaryDir, 'onnxruntime_binding.node'))).toBe(true);
    const cpu = info.providers.find((p) => p.name === 'cpu');
    expect(cpu).toMatchObject({ bundled: true, available: true });
    const cuda = info.providers.find((p) => p.name === 'cuda');
    expect(cuda?.available).toBe(existsSync(cuda?.library ?? '/nonexistent'));
  });
});
