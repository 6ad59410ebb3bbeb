// Builds the addon for a prebuilt platform package and copies it in: the CPU flavour with CUDA
// switched off at build time (so it holds no CUDA code at all), the CUDA flavour with CUDA on.
// Each is built in its own folder, apart from the local build the tests load, and checked by
// loading it before it is copied: the right version, and CUDA compiled in exactly when expected.
//   node --import tsx script/prebuild.ts --flavour=cpu|cuda
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import type { NativeAddon } from '../lib/binding.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { flavour: { type: 'string', default: 'cpu' } } });
const flavour = values.flavour;
if (flavour !== 'cpu' && flavour !== 'cuda') {
  console.error(`--flavour must be cpu or cuda, got '${flavour}'`);
  process.exit(2);
}
const platform = `${process.platform}-${process.arch}${flavour === 'cuda' ? '-cuda' : ''}`;
const out = `build-${platform}`;
const built = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'script', 'build.ts'), `--cuda=${flavour === 'cuda' ? 'ON' : 'OFF'}`, `--out=${out}`], { stdio: 'inherit', cwd: root });
if (built.status !== 0) process.exit(built.status ?? 1);

const binary = join(root, out, 'Release', 'onnx_audit.node');
const addon = createRequire(import.meta.url)(binary) as NativeAddon;
const { version, cudaCompiled } = addon.capabilities();
const expected = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
if (version !== expected || cudaCompiled !== (flavour === 'cuda')) {
  console.error(`${binary}: version ${version}, CUDA compiled ${cudaCompiled}; expected ${expected} and ${flavour === 'cuda'}`);
  process.exit(1);
}
const target = join(root, 'npm', platform, 'onnx_audit.node');
copyFileSync(binary, target);
console.log(`prebuilt ${target}: ${version}, CUDA ${cudaCompiled ? 'compiled in' : 'absent'}`);
