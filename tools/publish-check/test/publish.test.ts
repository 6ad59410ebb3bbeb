// The proof that a user who installs one package gets a working one: lint, types, and npm
// installs of the packed tarballs outside the workspace, each package smoke-tested there.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { publint } from 'publint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { changesetVersion, type CheckReport, checkPublished, installedRanges, isolatedEnv, PUBLISHED, removeWork, repositoryRoot } from '../src/check.js';

describe('published packages', () => {
  let work: string;
  let report: CheckReport;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'publish-check-'));
    report = await checkPublished(work);
  }, 600_000);
  afterAll(() => removeWork(work));

  it('pass publint and resolve their types as ESM consumers and bundlers do', () => {
    expect(report.packages.map((p) => p.folder)).toEqual([...PUBLISHED]);
    for (const p of report.packages) {
      expect(p.lint, p.name).toEqual([]);
      expect(p.types, p.name).toEqual([]);
    }
  });

  it('lints for real: a package whose exports point at a missing file is flagged', async () => {
    const broken = join(work, 'broken');
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, 'package.json'), JSON.stringify({ name: 'broken', version: '1.0.0', type: 'module', exports: { '.': './dist/missing.js' } }));
    const { messages } = await publint({ pkgDir: broken, pack: false, level: 'warning' });
    expect(messages.map((m) => m.code)).toContain('FILE_DOES_NOT_EXIST');
  });

  it('install with npm outside the workspace, with real version ranges between them, and pass their smoke tests', async () => {
    for (const s of report.smoke) expect(s.ok, `${s.name}: ${s.output}`).toBe(true);
    expect(report.smoke.map((s) => s.name)).toEqual(['@onnx-audit/native', '@onnx-audit/data', '@onnx-audit/onnx', '@onnx-audit/calibration', '@onnx-audit/attacks', '@onnx-audit/mia', '@onnx-audit/report', '@onnx-audit/cli']);
    const ranges = await installedRanges(report.install);
    const { version } = JSON.parse(await readFile(join(repositoryRoot, 'native', 'package.json'), 'utf8')) as { version: string };
    expect(ranges['@onnx-audit/native']).toEqual({ '@onnx-audit/native-linux-x64': version });
    expect(ranges['@onnx-audit/mia']).toEqual({ '@onnx-audit/data': `^${version}`, '@onnx-audit/native': `^${version}`, '@onnx-audit/onnx': `^${version}` });
    for (const [name, deps] of Object.entries(ranges)) for (const range of Object.values(deps)) expect(range, name).not.toMatch(/workspace:/);
  });

  it('say, when the prebuilt binary is missing, every place they looked and the exact fix', async () => {
    const platformPackage = join(report.install, 'node_modules', '@onnx-audit', 'native-linux-x64');
    await rename(platformPackage, `${platformPackage}.away`);
    try {
      const script = join(report.install, 'load-native.mjs');
      await writeFile(script, "import { capabilities } from '@onnx-audit/native';\nconsole.log(JSON.stringify(capabilities()));\n");
      const result = spawnSync(process.execPath, [script], { cwd: report.install, encoding: 'utf8', env: isolatedEnv() });
      expect(result.status, result.stdout + result.stderr).not.toBe(0);
      expect(result.stderr).toContain('- local build (Release):');
      expect(result.stderr).toContain('- prebuilt @onnx-audit/native-linux-x64-cuda: not installed');
      expect(result.stderr).toContain('- prebuilt @onnx-audit/native-linux-x64: not installed');
      expect(result.stderr).toMatch(/Fix: install the prebuilt binary for this platform: npm install @onnx-audit\/native-linux-x64@\d+\.\d+\.\d+/);
    } finally {
      await rename(`${platformPackage}.away`, platformPackage);
    }
  });

  it('refuse a binary built for another version, naming both', async () => {
    const manifest = join(report.install, 'node_modules', '@onnx-audit', 'native', 'package.json');
    const original = await readFile(manifest, 'utf8');
    const { version } = JSON.parse(original) as { version: string };
    await writeFile(manifest, original.replace(`"version": "${version}"`, '"version": "9.9.9"'));
    try {
      const script = join(report.install, 'load-native.mjs');
      await writeFile(script, "import { capabilities } from '@onnx-audit/native';\nconsole.log(JSON.stringify(capabilities()));\n");
      const result = spawnSync(process.execPath, [script], { cwd: report.install, encoding: 'utf8', env: isolatedEnv() });
      expect(result.status, result.stdout + result.stderr).not.toBe(0);
      expect(result.stderr).toContain(`- prebuilt @onnx-audit/native-linux-x64: ${join(report.install, 'node_modules', '@onnx-audit', 'native-linux-x64', 'onnx_audit.node')} was built for ${version}, this package is 9.9.9`);
    } finally {
      await writeFile(manifest, original);
    }
  });

  it('version together under changesets: the native package and its platform packages as one fixed group, each with a changelog', async () => {
    const { versions, changelogs } = await changesetVersion(work);
    const native = versions['@onnx-audit/native'];
    expect(versions['@onnx-audit/native-linux-x64']).toBe(native);
    expect(versions['@onnx-audit/native-linux-x64-cuda']).toBe(native);
    for (const name of ['@onnx-audit/native', '@onnx-audit/data', '@onnx-audit/onnx', '@onnx-audit/calibration', '@onnx-audit/attacks', '@onnx-audit/mia', '@onnx-audit/report', '@onnx-audit/cli']) {
      expect(changelogs[name], name).toMatch(new RegExp(`^# ${name}\\n\\n## ${versions[name].replace(/\./g, '\\.')}`));
    }
    expect(changelogs['@onnx-audit/mia']).toContain('New package `@onnx-audit/mia`');
    // Private tools are never versioned.
    expect(versions['@onnx-audit/bench']).toBe('0.0.0');
  }, 60_000);
});
