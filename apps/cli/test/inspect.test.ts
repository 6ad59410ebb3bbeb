// `onnx-audit inspect` on model files written here: the report equals the library's, a trailing
// Softmax is named, and a broken file or graph ends in one line and exit code 1.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { clone, create } from '@bufbuild/protobuf';
import { type ModelProto, ModelProtoSchema, OperatorSetIdProtoSchema } from 'onnx-buf';

import { encodeModel, inspectModel } from '@onnx-audit/onnx';

import { linearSoftmax } from './linear-model.js';
import { cli } from './run-cli.js';

describe('onnx-audit inspect', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-audit-inspect-'));
  const path = join(dir, 'linear.onnx');
  const model = linearSoftmax(new Float32Array(12).fill(0.1), new Float32Array(3));
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

  it('names an op the gradient builder cannot differentiate, and a node reading a missing value, in one line', () => {
    const unknownOp = clone(ModelProtoSchema, model);
    unknownOp.graph!.node[0].opType = 'FancyGemm';
    unknownOp.graph!.node[0].domain = 'com.example';
    unknownOp.opsetImport.push(create(OperatorSetIdProtoSchema, { domain: 'com.example', version: 1n }));
    const missing = clone(ModelProtoSchema, model);
    missing.graph!.node[0].input[1] = 'W_missing';
    const cases: Array<[string, ModelProto, RegExp]> = [
      ['unknown-op.onnx', unknownOp, /not differentiable: com\.example\.FancyGemm \(node 'fc'\)$/],
      ['missing.onnx', missing, /node 'fc'.*'W_missing'/],
    ];
    for (const [name, broken, message] of cases) {
      writeFileSync(join(dir, name), encodeModel(broken));
      const r = cli('grad', '--model', join(dir, name), '--data', join(dir, 'unused.npz'), '--out', join(dir, 'g.npy'));
      expect(r.status, name).toBe(1);
      expect(r.stderr.trim().split('\n'), name).toHaveLength(1);
      expect(r.stderr.trim(), name).toMatch(message);
    }
  });
});
