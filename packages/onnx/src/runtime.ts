// What ONNX Runtime offers on this machine: its version and, per execution provider, whether the
// binary supports it and whether the provider library it needs is present. Providers other than
// the bundled ones (CPU, WebGPU) are shared libraries placed beside libonnxruntime; the CUDA one
// is absent from the npm package and comes from ONNX Runtime's own release.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

import * as ort from 'onnxruntime-node';

export interface ProviderInfo {
  name: string;
  /** Compiled into the binding and ready to use. */
  bundled: boolean;
  /** Bundled, or its provider library was found beside libonnxruntime. */
  available: boolean;
  /** Where a non-bundled provider's library is looked for. */
  library?: string;
}

export interface RuntimeInfo {
  version: string;
  binaryDir: string;
  providers: ProviderInfo[];
}

const PROVIDER_LIBRARIES: Record<string, string> = {
  cuda: 'libonnxruntime_providers_cuda.so',
  tensorrt: 'libonnxruntime_providers_tensorrt.so',
};

/** The directory holding libonnxruntime and the binding for this platform. */
export function runtimeBinaryDir(): string {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('onnxruntime-node/package.json'));
  return join(root, 'bin', 'napi-v6', process.platform, process.arch);
}

export function runtimeInfo(): RuntimeInfo {
  const binaryDir = runtimeBinaryDir();
  const providers = ort.listSupportedBackends().map(({ name, bundled }): ProviderInfo => {
    const file = PROVIDER_LIBRARIES[name];
    const library = file ? join(binaryDir, file) : undefined;
    return { name, bundled, available: bundled || (library !== undefined && existsSync(library)), ...(library && !bundled ? { library } : {}) };
  });
  return { version: ort.env.versions.node ?? ort.env.versions.common, binaryDir, providers };
}
