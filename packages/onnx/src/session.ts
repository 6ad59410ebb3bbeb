// ONNX Runtime sessions as the rest of onnx-audit opens them: full graph optimisation, a thread
// count, and an execution provider that falls back from CUDA to CPU with one notice when the CUDA
// provider library is missing.
import * as ort from 'onnxruntime-node';

import { runtimeInfo } from './runtime.js';

export type Device = 'cpu' | 'cuda';

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads (default: ONNX Runtime's choice, all cores). */
  threads?: number;
  /**
   * Let ONNX Runtime's idle threads spin for more work after a run (its default, true). Turn it off
   * when other CPU work runs between runs on the same cores (attack steps, optimizer steps): the
   * spinning threads take those cores from it.
   */
  spinning?: boolean;
}

let warnedNoCuda = false;

/** The execution provider a session will really use. */
export function resolveProvider(device: Device = 'cpu'): Device {
  if (device === 'cpu') return 'cpu';
  const cuda = runtimeInfo().providers.find((p) => p.name === 'cuda');
  if (cuda?.available) return 'cuda';
  if (!warnedNoCuda) {
    warnedNoCuda = true;
    console.warn(`onnx-audit: ONNX Runtime's CUDA provider is missing (${cuda?.library ?? 'not supported on this platform'}); running on the CPU`);
  }
  return 'cpu';
}

export async function createSession(model: Uint8Array, options: SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(model, {
    executionProviders: [resolveProvider(options.device)],
    graphOptimizationLevel: 'all',
    ...(options.threads ? { intraOpNumThreads: options.threads } : {}),
    ...(options.spinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
  });
}
