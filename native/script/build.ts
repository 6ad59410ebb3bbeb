// Builds the native addon with cmake-js. A script rather than a long npm line so that the CUDA
// switch, the build type and the parallelism are typed options with one place to read them:
//   node --import tsx script/build.ts [--cuda=AUTO|ON|OFF] [--debug] [--jobs=N] [--out=DIR]
// ONNX_AUDIT_CUDA in the environment sets the default for --cuda.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

type CudaMode = 'AUTO' | 'ON' | 'OFF';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    cuda: { type: 'string', default: process.env.ONNX_AUDIT_CUDA ?? 'AUTO' },
    debug: { type: 'boolean', default: false },
    jobs: { type: 'string', default: String(availableParallelism()) },
    // The prebuilt packages are built apart from the local build, which stays what tests load.
    out: { type: 'string', default: 'build' },
  },
});

const cuda = values.cuda.toUpperCase() as CudaMode;
if (!['AUTO', 'ON', 'OFF'].includes(cuda)) {
  console.error(`--cuda must be AUTO, ON or OFF, got '${values.cuda}'`);
  process.exit(2);
}
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const cmakeJs = join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
const args = [
  cmakeJs,
  'compile',
  '--directory', root,
  '--out', join(root, values.out),
  ...(values.debug ? ['--debug'] : []),
  '--parallel', values.jobs,
  `--CDONNX_AUDIT_CUDA=${cuda}`,
  `--CDONNX_AUDIT_VERSION=${version}`,
];
const result = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(result.status ?? 1);
