export { runtimeBinaryDir, runtimeInfo } from './runtime.js';
export type { ProviderInfo, RuntimeInfo } from './runtime.js';
