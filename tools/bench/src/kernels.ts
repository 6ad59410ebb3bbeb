// Benchmarks every native kernel at realistic sizes against the float64 TypeScript reference and
// against the machine's copy bandwidth measured in the same run, so each kernel shows both its
// speed-up over plain TS and the fraction of the memory bandwidth it reaches. Writes
// results/kernels.json and prints a table.
//   pnpm bench [-- --quick] [--threads N] [--out FILE]
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import * as native from '@onnx-audit/native';

import { type Case, cases } from './cases.js';
import { median, timeRuns } from './timing.js';
import { writeJsonAtomic } from './write.js';

const { values } = parseArgs({
  // pnpm forwards a literal '--' before script arguments
  args: process.argv.slice(2).filter((a) => a !== '--'),
  options: {
    quick: { type: 'boolean', default: false },
    threads: { type: 'string' },
    out: { type: 'string', default: join(dirname(fileURLToPath(import.meta.url)), '..', 'results', 'kernels.json') },
  },
});

interface Row {
  kernel: string;
  shape: string;
  bytes: number;
  nativeMs: number;
  nativeGBs: number;
  fractionOfCopy: number;
  referenceMs: number;
  /** The reference ran on this fraction of the rows; its time is scaled up by the inverse. */
  referenceFraction: number;
  referenceGBs: number;
  speedup: number;
}

async function measure(c: Case, copyGBs: number): Promise<Row> {
  const nativeTimes = await timeRuns(c.native, { minRuns: 3, maxRuns: 15, budgetMs: 1500 });
  const referenceTimes = await timeRuns(c.reference, { minRuns: 1, maxRuns: 3, budgetMs: 3000 });
  const nativeMs = median(nativeTimes);
  const referenceMs = median(referenceTimes) / c.referenceFraction;
  const nativeGBs = c.bytes / (nativeMs * 1e6);
  return {
    kernel: c.kernel,
    shape: c.shape,
    bytes: c.bytes,
    nativeMs,
    nativeGBs,
    fractionOfCopy: nativeGBs / copyGBs,
    referenceMs,
    referenceFraction: c.referenceFraction,
    referenceGBs: c.bytes / (referenceMs * 1e6),
    speedup: referenceMs / nativeMs,
  };
}

function table(rows: Row[]): string {
  const header = ['kernel', 'shape', 'native ms', 'GB/s', '% of copy', 'TS ms', 'native/TS'];
  const lines = rows.map((r) => [r.kernel, r.shape, r.nativeMs.toFixed(2), r.nativeGBs.toFixed(2), `${(100 * r.fractionOfCopy).toFixed(0)}%`, r.referenceMs.toFixed(1), `${r.speedup.toFixed(1)}×`]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(fmt)].join('\n');
}

async function main(): Promise<void> {
  if (values.threads) native.setThreads(Number(values.threads));
  const caps = native.capabilities();
  const started = Date.now();
  const copyBytes = 512 << 20;
  const copyGBs = await native.copyBandwidth(copyBytes, 7);
  console.log(`copy bandwidth: ${copyGBs.toFixed(2)} GB/s (read + write, ${caps.threads} threads, ${copyBytes >> 20} MiB buffers)`);
  const rows: Row[] = [];
  for (const build of cases(values.quick)) {
    // Inputs are built per case and dropped after it, so that peak memory stays at one case's.
    const c = await build();
    process.stdout.write(`${c.kernel} ${c.shape} ... `);
    const row = await measure(c, copyGBs);
    console.log(`${row.nativeMs.toFixed(2)} ms, ${row.nativeGBs.toFixed(2)} GB/s, ${row.speedup.toFixed(1)}× TS`);
    rows.push(row);
  }
  console.log(`\n${table(rows)}`);
  const result = {
    benchmark: 'kernels',
    date: new Date().toISOString(),
    config: { quick: values.quick, threads: caps.threads },
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryBytes: totalmem(), platform: `${process.platform}-${process.arch}`, node: process.version },
    native: caps,
    copyBandwidthGBs: copyGBs,
    kernels: rows,
    wallSeconds: (Date.now() - started) / 1000,
  };
  await writeJsonAtomic(values.out, result);
  console.log(`\nwrote ${values.out}`);
}

await main();
