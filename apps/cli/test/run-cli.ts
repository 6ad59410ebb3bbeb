// The CLI as a user runs it: a child process on the TypeScript sources, with its exit code,
// stdout and stderr.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export function cli(...args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['--conditions=@onnx-audit/source', '--import', 'tsx', main, ...args], { encoding: 'utf8' });
}
