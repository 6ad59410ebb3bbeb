// How a batch of any size is cut into runs. Gradient graphs are built for concrete shapes, so each
// distinct run size costs a graph build and a session; attacks shrink their batches as samples
// succeed, which would make a new size almost every step. Runs are therefore full chunks plus a
// remainder padded up to a power of two: at most log2(chunk) + 1 sizes, and at most half of one
// run wasted on padding. A model that fixes its batch size is always run at that size.

export interface Run {
  /** First sample of the run. */
  start: number;
  /** Real samples in it. */
  count: number;
  /** Its size once padded. */
  size: number;
}

export function planRuns(n: number, chunk: number, fixed: number | undefined): Run[] {
  const runs: Run[] = [];
  const full = fixed ?? chunk;
  for (let start = 0; start < n; start += full) {
    const count = Math.min(full, n - start);
    runs.push({ start, count, size: fixed ?? (count === full ? full : Math.min(full, 2 ** Math.ceil(Math.log2(count)))) });
  }
  return runs;
}

/** Samples [start, start + count) of x, zero-padded to `size` samples. */
export function runSlice(x: Float32Array, sampleSize: number, run: Run): Float32Array {
  const slice = x.subarray(run.start * sampleSize, (run.start + run.count) * sampleSize);
  if (run.size === run.count) return slice;
  const padded = new Float32Array(run.size * sampleSize);
  padded.set(slice);
  return padded;
}
