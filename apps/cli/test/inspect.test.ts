// `onnx-audit inspect` on model files written here: the report equals the library's, a trailing
// Softmax is named, and a broken file ends in one line and exit code 1.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { create } from '@bufbuild/protobuf';
import { ModelProtoSchema, NodeProtoSchema, TensorProto_DataType, ValueInfoProtoSchema } from 'onnx-buf';
import { describe, expect, it } from 'vitest';

import { encodeModel, inspectModel, tensorFromArray } from '@onnx-audit/onnx';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const cli = (...args: string[]) => spawnSync(process.execPath, ['--conditions=@onnx-audit/source', '--import', 'tsx', main, ...args], { encoding: 'utf8' });

function linearSoftmax() {
  const io = (name: string, dims: Array<number | string>) => create(ValueInfoProtoSchema, {
    name,
    type: { value: { case: 'tensorType', value: { elemType: TensorProto_DataType.FLOAT, shape: { dim: dims.map((d) => ({ value: typeof d === 'number' ? { case: 'dimValue' as const, value: BigInt(d) } : { case: 'dimParam' as const, value: d } })) } } } },
  });
  return create(ModelProtoSchema, {
    irVersion: 8n,
    producerName: 'test',
    opsetImport: [{ domain: '', version: 17n }],
    graph: {
      name: 'linear',
      input: [io('x', ['N', 4])],
      output: [io('p', ['N', 3])],
      initializer: [tensorFromArray('W', [4, 3], new Float32Array(12).fill(0.1)), tensorFromArray('b', [3], new Float32Array(3))],
      node: [
        create(NodeProtoSchema, { opType: 'Gemm', name: 'fc', input: ['x', 'W', 'b'], output: ['z'] }),
        create(NodeProtoSchema, { opType: 'Softmax', name: 'sm', input: ['z'], output: ['p'] }),
      ],
    },
  });
}

describe('onnx-audit inspect', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-inspect-'));
  const path = join(dir, 'linear.onnx');
  const model = linearSoftmax();
  writeFileSync(path, encodeModel(model));

  it('prints the library report as JSON', () => {
    const r = cli('inspect', path, '--json');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toEqual(JSON.parse(JSON.stringify(inspectModel(model))));
    expect(report.parameterCount).toBe(15);
    expect(report.classes).toBe(3);
    expect(report.endsInSoftmax).toMatchObject({ node: 'sm' });
    expect(report.unsupportedForGradients).toEqual([]);
  });

  it('says in text that the logits before the Softmax are used', () => {
    const r = cli('inspect', path);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/ends in Softmax \(node 'sm'\)/);
    expect(r.stdout).toMatch(/x float32 \[N,4\]/);
  });

  it('refuses a truncated file and a missing one with one line and exit code 1', () => {
    const bytes = encodeModel(model);
    const truncated = join(dir, 'truncated.onnx');
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 7));
    for (const file of [truncated, join(dir, 'missing.onnx')]) {
      const r = cli('inspect', file);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^onnx-audit: .*(truncated|missing)\.onnx/);
    }
  });
});
