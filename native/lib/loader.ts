// Finds and loads onnx_audit.node. Order: an explicit path in ONNX_AUDIT_NATIVE, then the local
// cmake-js build (Release, then Debug), then the prebuilt platform packages (the CUDA flavour when
// it was installed, then the CPU one, which holds no CUDA code). A binary whose version differs
// from this package's is refused: its argument order may differ from binding.ts. When nothing
// loads, one error lists every attempt and the commands that fix it, building from source last.
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

const platform = `${process.platform}-${process.arch}`;
/** The prebuilt packages for this platform, preferred first. */
export const PREBUILT_PACKAGES = [`@onnx-audit/native-${platform}-cuda`, `@onnx-audit/native-${platform}`];

function candidates(): Attempt[] {
  const list: Attempt[] = [];
  const override = process.env.ONNX_AUDIT_NATIVE;
  if (override) list.push({ source: 'ONNX_AUDIT_NATIVE', path: override });
  for (const config of ['Release', 'Debug']) {
    list.push({ source: `local build (${config})`, path: join(packageRoot, 'build', config, 'onnx_audit.node') });
  }
  for (const name of PREBUILT_PACKAGES) {
    let path = '';
    try {
      path = require.resolve(`${name}/onnx_audit.node`);
    } catch {
      // not installed: said as such below
    }
    list.push({ source: `prebuilt ${name}`, path });
  }
  return list;
}

export function loadAddon(): NativeAddon {
  const failures: string[] = [];
  for (const { source, path } of candidates()) {
    if (!path || !existsSync(path)) {
      failures.push(`- ${source}: ${path ? `${path} does not exist` : 'not installed'}`);
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
      `Fix: install the prebuilt binary for this platform: npm install ${PREBUILT_PACKAGES[1]}@${version} (or ${PREBUILT_PACKAGES[0]}@${version} for the CUDA kernels);`,
      `or build from source (needs cmake and a C++17 compiler): cd ${packageRoot} && npx -y cmake-js@8 compile --CDONNX_AUDIT_VERSION=${version};`,
      'in the repository: pnpm --filter @onnx-audit/native build:native. Or point ONNX_AUDIT_NATIVE at a built onnx_audit.node of the same version.',
    ].join('\n'),
  );
}
