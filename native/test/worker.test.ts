// The addon is context-aware: worker threads load it alongside the main thread, each with its own
// settings, and run kernels (sync and async) concurrently with correct results.
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { capabilities, randomUniform, setThreads } from '../lib/index.js';
import { loadAddon } from '../lib/loader.js';

const loaderUrl = new URL('../lib/loader.ts', import.meta.url).href;

// Plain JS run in the worker: it loads the addon through the same loader (via tsx) and reports
// its per-environment thread setting and a checksum of an async kernel's output.
const workerSource = `
  const { parentPort, workerData } = require('node:worker_threads');
  (async () => {
    const { register } = require('tsx/esm/api');
    register();
    const { loadAddon } = await import(workerData.loaderUrl);
    const addon = loadAddon();
    addon.setThreads(workerData.threads);
    const out = new Float32Array(1 << 19);
    await addon.randomFill('cpu', 'uniform', BigInt(workerData.seed), 0, out);
    let sum = 0;
    for (const v of out) sum += v;
    parentPort.postMessage({ threads: addon.capabilities().threads, sum });
  })().catch((e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
`;

function runWorker(threads: number, seed: number): Promise<{ threads: number; sum: number; error?: string }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(workerSource, { eval: true, workerData: { loaderUrl, threads, seed } });
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

describe('worker threads', () => {
  it('load the addon with per-environment state and compute the same numbers', async () => {
    setThreads(2);
    const results = await Promise.all([runWorker(1, 3), runWorker(3, 3), runWorker(1, 4)]);
    for (const r of results) expect(r.error).toBeUndefined();
    expect(results.map((r) => r.threads)).toEqual([1, 3, 1]);
    expect(capabilities().threads).toBe(2);
    const main = await randomUniform(1 << 19, { seed: 3 });
    let sum = 0;
    for (const v of main) sum += v;
    expect(results[0].sum).toBe(sum);
    expect(results[1].sum).toBe(sum);
    expect(results[2].sum).not.toBe(sum);
    expect(loadAddon().capabilities().threads).toBe(2);
  });
});
