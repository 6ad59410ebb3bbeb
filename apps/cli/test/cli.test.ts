// doctor and the usage errors, through the CLI as a user runs it.
import { describe, expect, it } from 'vitest';

import { capabilities } from '@onnx-audit/native';
import { runtimeInfo } from '@onnx-audit/onnx';

import { cli as run } from './run-cli.js';

function cli(...args: string[]) {
  const r = run(...args);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('onnx-audit doctor', () => {
  it('reports the native addon and ONNX Runtime as the libraries do', () => {
    const r = cli('doctor', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.native).toEqual(capabilities());
    expect(report.onnxRuntime).toEqual(runtimeInfo());
    expect(report.node).toBe(process.version);
  });

  it('prints a readable summary with the CUDA state and the reason when absent', () => {
    const r = cli('doctor');
    expect(r.code).toBe(0);
    const caps = capabilities();
    expect(r.stdout).toContain(`native kernels: ${caps.version}`);
    expect(r.stdout).toContain(caps.cuda ? `cuda: yes, ${caps.device}` : `cuda: no (`);
    expect(r.stdout).toMatch(/onnx runtime: 1\.29\.0/);
    expect(r.stdout).toMatch(/^ {2}cpu: bundled$/m);
  });
});

describe('usage errors', () => {
  it('exits 2 with one line of help for an unknown command or option', () => {
    const r = cli('frobnicate');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command 'frobnicate'/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
    expect(cli('doctor', '--jsn').code).toBe(2);
  });

  it('exits 0 for --help and --version', () => {
    expect(cli('--help').stdout).toMatch(/doctor/);
    expect(cli('--version').stdout.trim()).toBe('0.1.0');
  });
});

describe('every command', () => {
  it('documents examples and offers --json in its help', async () => {
    const { buildProgram } = await import('../src/program.js');
    const commands = buildProgram().commands;
    expect(commands.length).toBe(15);
    for (const command of commands) {
      expect(command.options.some((option) => option.long === '--json'), command.name()).toBe(true);
      // The examples are help text added after the options: only the printed help holds them.
      expect(run(command.name(), '--help').stdout, command.name()).toMatch(/Examples?:\n {2}onnx-audit /);
    }
  }, 60_000);
});
