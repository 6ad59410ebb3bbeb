#include <algorithm>

#include "common.cuh"
#include "cuda_kernels.h"

namespace oa::cuda {

namespace {
struct Event {
  cudaEvent_t handle{};
  Event() { OA_CUDA_CHECK(cudaEventCreate(&handle)); }
  ~Event() { cudaEventDestroy(handle); }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
};
}  // namespace

double copy_bandwidth(int64_t bytes, int repeats) {
  DeviceBuffer<char> src(bytes), dst(bytes);
  OA_CUDA_CHECK(cudaMemset(src.get(), 1, bytes));
  Event start, stop;
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    OA_CUDA_CHECK(cudaEventRecord(start.handle));
    OA_CUDA_CHECK(cudaMemcpy(dst.get(), src.get(), bytes, cudaMemcpyDeviceToDevice));
    OA_CUDA_CHECK(cudaEventRecord(stop.handle));
    OA_CUDA_CHECK(cudaEventSynchronize(stop.handle));
    float ms = 0;
    OA_CUDA_CHECK(cudaEventElapsedTime(&ms, start.handle, stop.handle));
    best = std::max(best, 2.0 * bytes / (ms * 1e-3) / 1e9);
  }
  return best;
}

}  // namespace oa::cuda
