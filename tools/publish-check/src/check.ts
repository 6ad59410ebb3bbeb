// What a user who installs single packages gets. Every publishable package is linted by publint,
// packed with pnpm (workspace:^ ranges become real versions), its tarball's types resolved the
// way Node's ESM and bundlers resolve them (@arethetypeswrong/core), and all tarballs installed
// with npm into an empty folder outside the workspace, where a smoke script per package runs
// against the installed copy: the native addon loads from its prebuilt platform package there,
// since the installed package has no local build.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { checkPackage, createPackageFromTarballData } from '@arethetypeswrong/core';
import { publint } from 'publint';
import { formatMessage } from 'publint/utils';

import { SMOKE_SCRIPTS } from './smoke.js';

export const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Every package users install, by folder; the native platform package carries the prebuilt binary. */
export const PUBLISHED = ['native', 'native/npm/linux-x64', 'packages/data', 'packages/onnx', 'packages/calibration', 'packages/attacks', 'packages/mia', 'packages/report', 'apps/cli'] as const;

export interface PackageReport {
  folder: string;
  name: string;
  tarball: string;
  /** publint's warnings and errors, formatted. */
  lint: string[];
  /** Type-resolution problems under node16 (ESM) and bundler resolution. */
  types: string[];
}

export interface CheckReport {
  packages: PackageReport[];
  /** The folder the tarballs were installed into with npm. */
  install: string;
  /** Smoke script results in the npm-installed folder, by package. */
  smoke: { name: string; ok: boolean; output: string }[];
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed with ${result.status}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

const PNPM = ['-y', 'pnpm@10.34.9'];

/**
 * The environment of a process in the install folder, cut off from the workspace: pnpm's bin
 * shims (vitest's among them) put the workspace's packages on NODE_PATH, where Node would find the
 * workspace's copies instead of the installed ones.
 */
export function isolatedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_PATH;
  delete env.ONNX_AUDIT_NATIVE;
  return env;
}

/** The prebuilt CPU binary the platform package ships: built here when missing. */
function ensurePrebuilt(): void {
  if (existsSync(join(repositoryRoot, 'native', 'npm', `${process.platform}-${process.arch}`, 'onnx_audit.node'))) return;
  run(process.execPath, ['--import', 'tsx', 'script/prebuild.ts', '--flavour=cpu'], join(repositoryRoot, 'native'));
}

export async function checkPublished(work: string, log: (line: string) => void = () => {}): Promise<CheckReport> {
  ensurePrebuilt();
  const tarballs = join(work, 'tarballs');
  await mkdir(tarballs, { recursive: true });
  const packages: PackageReport[] = [];
  for (const folder of PUBLISHED) {
    const pkgDir = join(repositoryRoot, folder);
    const manifest = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8')) as { name: string; exports?: unknown };
    const before = new Set(await readdir(tarballs));
    run('npx', [...PNPM, 'pack', '--pack-destination', tarballs], pkgDir);
    const tarball = join(tarballs, (await readdir(tarballs)).find((f) => !before.has(f))!);
    const bytes = await readFile(tarball);
    // publint lints the tarball itself: the files and package.json users receive.
    const { messages, pkg } = await publint({ pack: { tarball: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) }, level: 'warning', strict: true });
    const lint = messages.map((m) => `${m.type}: ${formatMessage(m, pkg, { color: false }) ?? m.code}`);
    const types = await typeProblems(bytes, manifest);
    packages.push({ folder, name: manifest.name, tarball, lint, types });
    log(`${manifest.name}: packed, ${lint.length} lint findings, ${types.length} type problems`);
  }

  const install = join(work, 'install');
  await mkdir(install, { recursive: true });
  await writeFile(join(install, 'package.json'), `${JSON.stringify({ name: 'install-check', private: true, type: 'module' }, null, 2)}\n`);
  // The same setting as the repository's: onnxruntime-node's install script would download CUDA libraries.
  await cp(join(repositoryRoot, '.npmrc'), join(install, '.npmrc'));
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...packages.map((p) => p.tarball)], install, isolatedEnv());
  log(`installed ${packages.length} tarballs with npm into ${install}`);

  const smoke: CheckReport['smoke'] = [];
  for (const [name, script] of Object.entries(SMOKE_SCRIPTS)) {
    const file = join(install, `smoke-${name.replace(/[@/]/g, '_')}.mjs`);
    await writeFile(file, script);
    const result = spawnSync(process.execPath, [file], { cwd: install, encoding: 'utf8', env: isolatedEnv() });
    smoke.push({ name, ok: result.status === 0, output: `${result.stdout}${result.stderr}`.trim() });
    log(`${name}: ${result.status === 0 ? 'ok' : 'FAILED'} ${result.stdout.trim().split('\n').at(-1) ?? ''}`);
  }
  return { packages, install, smoke };
}

/** Problems an ESM consumer would meet: resolution under node16 (ESM) and bundlers; node10 and CJS do not apply to ESM-only packages. */
async function typeProblems(tarball: Uint8Array, manifest: { exports?: unknown }): Promise<string[]> {
  if (!manifest.exports) return [];
  const analysis = await checkPackage(createPackageFromTarballData(new Uint8Array(tarball)));
  if (!('problems' in analysis)) return ['the package ships no types'];
  return analysis.problems
    .filter((p) => !('resolutionKind' in p) || p.resolutionKind === 'node16-esm' || p.resolutionKind === 'bundler')
    .map((p) => `${p.kind}${'entrypoint' in p ? ` at ${String(p.entrypoint)}` : ''}${'resolutionKind' in p ? ` (${p.resolutionKind})` : ''}`);
}

export async function removeWork(work: string): Promise<void> {
  await rm(work, { recursive: true, force: true });
}

/** The internal dependency ranges of the installed packages: packing must have replaced every `workspace:` range. */
export async function installedRanges(install: string): Promise<Record<string, Record<string, string>>> {
  const ranges: Record<string, Record<string, string>> = {};
  for (const folder of PUBLISHED) {
    const { name } = JSON.parse(await readFile(join(repositoryRoot, folder, 'package.json'), 'utf8')) as { name: string };
    const installed = JSON.parse(await readFile(join(install, 'node_modules', name, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
    ranges[name] = Object.fromEntries(Object.entries({ ...installed.dependencies, ...installed.optionalDependencies }).filter(([dep]) => dep.startsWith('@onnx-audit/')));
  }
  return ranges;
}

/**
 * Runs `changeset version` on a copy of the workspace's manifests and pending changesets: the
 * versions it would publish and the changelogs it would write, without touching the repository.
 */
export async function changesetVersion(work: string): Promise<{ versions: Record<string, string>; changelogs: Record<string, string> }> {
  const copy = join(work, 'changesets');
  const manifests = ['package.json', 'pnpm-workspace.yaml', '.changeset'];
  const workspace = await workspaceFolders();
  for (const item of [...manifests, ...workspace.map((folder) => join(folder, 'package.json'))]) {
    await cp(join(repositoryRoot, item), join(copy, item), { recursive: true });
  }
  run(process.execPath, [join(repositoryRoot, 'node_modules', '@changesets', 'cli', 'bin.js'), 'version'], copy);
  const versions: Record<string, string> = {};
  const changelogs: Record<string, string> = {};
  for (const folder of workspace) {
    const manifest = JSON.parse(await readFile(join(copy, folder, 'package.json'), 'utf8')) as { name: string; version: string };
    versions[manifest.name] = manifest.version;
    const changelog = join(copy, folder, 'CHANGELOG.md');
    if (existsSync(changelog)) changelogs[manifest.name] = await readFile(changelog, 'utf8');
  }
  return { versions, changelogs };
}

/** The workspace's package folders, as pnpm-workspace.yaml lists them (one level of `*`). */
async function workspaceFolders(): Promise<string[]> {
  const yaml = await readFile(join(repositoryRoot, 'pnpm-workspace.yaml'), 'utf8');
  const patterns = [...yaml.split('\n\n')[0].matchAll(/^\s+-\s+(\S+)/gm)].map((m) => m[1]);
  const folders: string[] = [];
  for (const pattern of patterns) {
    if (!pattern.endsWith('/*')) folders.push(pattern);
    else {
      const parent = pattern.slice(0, -2);
      for (const entry of await readdir(join(repositoryRoot, parent), { withFileTypes: true })) {
        if (entry.isDirectory() && existsSync(join(repositoryRoot, parent, entry.name, 'package.json'))) folders.push(join(parent, entry.name));
      }
    }
  }
  return folders;
}
