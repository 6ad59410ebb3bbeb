#include "common.cuh"
#include "cuda_kernels.h"

namespace oa::cuda {

namespace {
__global__ void probe_kernel(int* flag) { *flag = 42; }

// Runs one tiny kernel: a device can be listed yet unusable (no kernel image for its
// architecture, a driver too old for this runtime), and that must show before real work.
cudaError_t probe_launch() {
  int* flag = nullptr;
  cudaError_t err = cudaMalloc(&flag, sizeof(int));
  if (err != cudaSuccess) return err;
  probe_kernel<<<1, 1>>>(flag);
  err = cudaGetLastError();
  int host = 0;
  if (err == cudaSuccess) err = cudaMemcpy(&host, flag, sizeof(int), cudaMemcpyDeviceToHost);
  cudaFree(flag);
  if (err == cudaSuccess && host != 42) err = cudaErrorUnknown;
  return err;
}

CudaInfo probe() {
  CudaInfo result{true, false, "", "", 0, 0};
  // Version queries work without a device; whatever fails, the sticky error is cleared so that
  // a later kernel call does not report this probe's failure as its own.
  cudaRuntimeGetVersion(&result.runtime_version);
  cudaDriverGetVersion(&result.driver_version);
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  if (result.driver_version == 0) {
    result.reason = "no NVIDIA driver found (libcuda.so.1 is not loadable)";
  } else if (err != cudaSuccess) {
    result.reason = cudaGetErrorString(err);
  } else if (devices == 0) {
    result.reason = "no CUDA device found";
  } else {
    cudaDeviceProp prop{};
    cudaError_t use_err = cudaGetDeviceProperties(&prop, 0);
    if (use_err == cudaSuccess) use_err = probe_launch();
    if (use_err != cudaSuccess) {
      result.reason = std::string("device 0 (") + prop.name + ") failed a test kernel: " + cudaGetErrorString(use_err);
    } else {
      result.available = true;
      result.device = prop.name;
    }
  }
  cudaGetLastError();
  return result;
}
}  // namespace

CudaInfo info() {
  // Probed once per process: devices do not come and go under a running addon.
  static const CudaInfo cached = probe();
  return cached;
}

}  // namespace oa::cuda
