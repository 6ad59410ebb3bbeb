// Finds and loads onnx_audit.node. Order: an explicit path in ONNX_AUDIT_NATIVE, then the local
// cmake-js build (Release, then Debug). A binary whose version differs from this package's is
// refused: its argument order may differ from binding.ts. When nothing loads, one error lists
// every attempt and the commands that fix it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { NativeAddon } from './binding.js';

const require = createRequire(import.meta.url);
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = require('../package.json') as { version: string };

interface Attempt {
  source: string;
  path: string;
}

function candidates(): Attempt[] {
  const list: Attempt[] = [];
  const override = process.env.ONNX_AUDIT_NATIVE;
  if (override) list.push({ source: 'ONNX_AUDIT_NATIVE', path: override });
  for (const config of ['Release', 'Debug']) {
    list.push({ source: `local build (${config})`, path: join(packageRoot, 'build', config, 'onnx_audit.node') });
  }
  return list;
}

export function loadAddon(): NativeAddon {
  const failures: string[] = [];
  for (const { source, path } of candidates()) {
    if (!existsSync(path)) {
      failures.push(`- ${source}: ${path} does not exist`);
      continue;
    }
    try {
      const addon = require(path) as NativeAddon;
      const built = addon.capabilities().version;
      if (built !== version) {
        failures.push(`- ${source}: ${path} was built for ${built}, this package is ${version}`);
        continue;
      }
      return addon;
    } catch (error) {
      failures.push(`- ${source}: ${path}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    [
      `Could not load the onnx-audit native addon (${process.platform}-${process.arch}, Node ${process.version}). Tried:`,
      ...failures,
      'Fix: build it with `pnpm --filter @onnx-audit/native build:native` (needs cmake and a C++17 compiler),',
      'or point ONNX_AUDIT_NATIVE at a built onnx_audit.node of the same version.',
    ].join('\n'),
  );
}
