// Wall-clock timing of a (possibly async) function: one untimed warm-up, then runs until both the
// minimum count and the time budget are met (or the maximum count), reported as a median.
export interface TimingOptions {
  minRuns: number;
  maxRuns: number;
  budgetMs: number;
}

export async function timeRuns(fn: () => unknown, o: TimingOptions): Promise<number[]> {
  await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < o.maxRuns && (times.length < o.minRuns || performance.now() - start < o.budgetMs)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return times;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
