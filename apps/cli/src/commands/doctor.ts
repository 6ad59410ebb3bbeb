// `onnx-audit doctor`: what this installation can do — versions, the native kernels (threads,
// CUDA build and device) and ONNX Runtime (version, execution providers) — and, for whatever is
// missing, why.
import { Command } from 'commander';

import { capabilities, type NativeCapabilities } from '@onnx-audit/native';
import { runtimeInfo, type RuntimeInfo } from '@onnx-audit/onnx';

import { VERSION } from '../program.js';

export interface DoctorReport {
  onnxAudit: string;
  node: string;
  platform: string;
  native: NativeCapabilities | { error: string };
  onnxRuntime: RuntimeInfo | { error: string };
}

function attempt<T>(probe: () => T): T | { error: string } {
  try {
    return probe();
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export function doctor(): DoctorReport {
  return {
    onnxAudit: VERSION,
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    native: attempt(capabilities),
    onnxRuntime: attempt(runtimeInfo),
  };
}

function describe(report: DoctorReport): string {
  const lines = [`onnx-audit ${report.onnxAudit} on Node ${report.node} (${report.platform})`];
  const n = report.native;
  if ('error' in n) {
    lines.push(`native kernels: NOT LOADED\n${n.error.replace(/^/gm, '  ')}`);
  } else {
    lines.push(`native kernels: ${n.version}, N-API ${n.napiVersion}, ${n.threads} threads of ${n.hardwareThreads}`);
    lines.push(n.cuda
      ? `  cuda: yes, ${n.device} (runtime ${n.cudaRuntimeVersion}, driver ${n.cudaDriverVersion})`
      : `  cuda: no (${n.cudaCompiled ? 'built with CUDA; ' : ''}${n.cudaReason})`);
  }
  const ort = report.onnxRuntime;
  if ('error' in ort) {
    lines.push(`onnx runtime: NOT LOADED (${ort.error})`);
  } else {
    lines.push(`onnx runtime: ${ort.version} (${ort.binaryDir})`);
    for (const p of ort.providers) {
      const state = p.bundled ? 'bundled' : p.available ? `found at ${p.library}` : `missing (${p.library ?? 'no library known'})`;
      lines.push(`  ${p.name}: ${state}`);
    }
  }
  return lines.join('\n');
}

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('show versions, native kernel capabilities (threads, CUDA) and ONNX Runtime providers')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  onnx-audit doctor\n  onnx-audit doctor --json')
    .action((options: { json?: boolean }) => {
      const report = doctor();
      console.log(options.json ? JSON.stringify(report, null, 2) : describe(report));
      if ('error' in report.native || 'error' in report.onnxRuntime) process.exitCode = 1;
    });
}
