// Progress on stderr for the long commands: one overwritten line with the fraction done and the
// time left, only on a terminal (a log file or a pipe would fill with carriage returns).

export interface Progress {
  update: (done: number, total: number) => void;
  finish: () => void;
}

/** Undefined unless enabled (callers pass stderr.isTTY && !--quiet); redrawn at most every 100 ms. */
export function progressLine(label: string, enabled: boolean): Progress | undefined {
  if (!enabled) return undefined;
  const started = performance.now();
  let shown = 0;
  return {
    update(done, total) {
      const now = performance.now();
      if (now - shown < 100 && done < total) return;
      shown = now;
      const elapsed = (now - started) / 1000;
      const left = done > 0 ? (elapsed * (total - done)) / done : Number.NaN;
      process.stderr.write(`\r${label}: ${Number.isInteger(done) ? done : done.toFixed(1)}/${total} (${((100 * done) / total).toFixed(0)}%), ${Number.isFinite(left) ? `${duration(left)} left` : 'estimating time left'}   `);
    },
    finish() {
      if (shown) process.stderr.write('\n');
      shown = 0;
    },
  };
}

function duration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(0)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

