#include "common.cuh"
#include "cuda_kernels.h"

namespace oa::cuda {

CudaInfo info() {
  CudaInfo result{true, false, "", "", 0, 0};
  // Version queries work without a device; whatever fails, the sticky error is cleared so that
  // a later kernel call does not report this probe's failure as its own.
  cudaRuntimeGetVersion(&result.runtime_version);
  cudaDriverGetVersion(&result.driver_version);
  int devices = 0;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  if (err != cudaSuccess) {
    result.reason = cudaGetErrorString(err);
  } else if (devices == 0) {
    result.reason = "no CUDA device found";
  } else {
    cudaDeviceProp prop{};
    const cudaError_t prop_err = cudaGetDeviceProperties(&prop, 0);
    if (prop_err != cudaSuccess) {
      result.reason = cudaGetErrorString(prop_err);
    } else {
      result.available = true;
      result.device = prop.name;
    }
  }
  cudaGetLastError();
  return result;
}

}  // namespace oa::cuda
