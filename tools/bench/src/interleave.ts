// Side-by-side timing of several functions whose ratios matter more than their absolute times:
// each repeat runs every function once, in turn, so that a slow phase of the machine (another
// process, frequency scaling) lands on all of them alike rather than on whichever ran then.
import { median } from './timing.js';

export interface InterleaveOptions {
  /** Untimed rounds first (session first-run allocations, caches). */
  warmup: number;
  repeats: number;
}

export interface Timing {
  medianMs: number;
  minMs: number;
  runs: number;
}

export async function timeInterleaved<K extends string>(fns: Record<K, () => unknown>, o: InterleaveOptions): Promise<Record<K, Timing>> {
  const keys = Object.keys(fns) as K[];
  for (let i = 0; i < o.warmup; i++) for (const k of keys) await fns[k]();
  const times = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let r = 0; r < o.repeats; r++) {
    for (const k of keys) {
      const t0 = performance.now();
      await fns[k]();
      times[k].push(performance.now() - t0);
    }
  }
  return Object.fromEntries(keys.map((k) => [k, { medianMs: median(times[k]), minMs: Math.min(...times[k]), runs: times[k].length }])) as Record<K, Timing>;
}
