// Runs the publish check by hand and prints what it found:
//   pnpm --filter @onnx-audit/publish-check check
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { checkPublished, removeWork } from './check.js';

const work = await mkdtemp(join(tmpdir(), 'publish-check-'));
try {
  const report = await checkPublished(work, (line) => console.log(line));
  let failed = false;
  for (const p of report.packages) {
    for (const line of [...p.lint, ...p.types]) {
      failed = true;
      console.log(`${p.name}: ${line}`);
    }
  }
  for (const s of report.smoke.filter((s) => !s.ok)) {
    failed = true;
    console.log(`${s.name} smoke test failed:\n${s.output}`);
  }
  process.exitCode = failed ? 1 : 0;
} finally {
  await removeWork(work);
}
