#include <thrust/execution_policy.h>
#include <thrust/sort.h>

#include <cmath>
#include <vector>

#include "common.cuh"
#include "cuda_kernels.h"

namespace oa::cuda {
namespace {

// Equal width. c * B is formed in float64, where the product of a float and an int below 2^29 is
// exact, so the bin is floor of the exact product: a float32 product could round e.g. 0.7f * 10 up
// to 7 and move the sample into the next bin. The order of the atomic additions varies from run to
// run, which changes the sums only in their last bits.
__global__ void equal_width_bins(const float* confidence, const uint8_t* correct, int64_t n,
                                 int n_bins, double* count, double* sum_confidence,
                                 double* sum_correct) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const double c = confidence[i];
    const int64_t b = clamp_to<int64_t>(static_cast<int64_t>(floor(c * n_bins)), 0, n_bins - 1);
    atomicAdd(&count[b], 1.0);
    atomicAdd(&sum_confidence[b], c);
    atomicAdd(&sum_correct[b], correct[i] != 0 ? 1.0 : 0.0);
  }
}

// -0.0 and +0.0 compare equal but differ in their bits, which a radix sort orders by; making every
// zero +0.0 keeps equal confidences in index order as the contract asks.
__global__ void prepare_sort(const float* confidence, int64_t n, float* keys, int64_t* order) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    keys[i] = confidence[i] + 0.0f;
    order[i] = i;
  }
}

// Equal mass: bin b is the contiguous run of sorted ranks [b n / B, (b + 1) n / B); one block per
// bin reduces it in a fixed order, so the result is deterministic.
__global__ void equal_mass_bins(const float* sorted, const int64_t* order, const uint8_t* correct,
                                int64_t n, int n_bins, double* count, double* sum_confidence,
                                double* sum_correct, double* lower, double* upper) {
  for (int64_t b = blockIdx.x; b < n_bins; b += gridDim.x) {
    const int64_t begin = b * n / n_bins, end = (b + 1) * n / n_bins;
    double conf = 0.0, hits = 0.0;
    for (int64_t r = begin + threadIdx.x; r < end; r += blockDim.x) {
      conf += sorted[r];
      hits += correct[order[r]] != 0 ? 1.0 : 0.0;
    }
    conf = block_sum(conf);
    hits = block_sum(hits);
    if (threadIdx.x == 0) {
      count[b] = static_cast<double>(end - begin);
      sum_confidence[b] = conf;
      sum_correct[b] = hits;
      lower[b] = end > begin ? sorted[begin] : 0.0;
      upper[b] = end > begin ? sorted[end - 1] : 0.0;
    }
  }
}

}  // namespace

void calibration_bins(const float* confidence, const uint8_t* correct, int64_t n, int n_bins,
                      Binning binning, double* count, double* mean_confidence, double* accuracy,
                      double* lower, double* upper) {
  if (n_bins <= 0) return;
  std::vector<double> sum_confidence(n_bins, 0.0), sum_correct(n_bins, 0.0);
  std::vector<double> counts(n_bins, 0.0);

  if (binning == Binning::EqualWidth) {
    for (int b = 0; b < n_bins; ++b) {
      lower[b] = static_cast<double>(b) / n_bins;
      upper[b] = static_cast<double>(b + 1) / n_bins;
    }
    if (n > 0) {
      auto d_confidence = to_device(confidence, n);
      auto d_correct = to_device(correct, n);
      DeviceBuffer<double> d_count(n_bins), d_sum_conf(n_bins), d_sum_correct(n_bins);
      d_count.zero();
      d_sum_conf.zero();
      d_sum_correct.zero();
      equal_width_bins<<<grid_for(n), kThreads>>>(d_confidence.get(), d_correct.get(), n, n_bins,
                                                  d_count.get(), d_sum_conf.get(),
                                                  d_sum_correct.get());
      check_launch("equal_width_bins");
      d_count.download(counts.data());
      d_sum_conf.download(sum_confidence.data());
      d_sum_correct.download(sum_correct.data());
    }
  } else {
    // An empty sample set still has n_bins (empty) bins; the kernel writes their zeros.
    auto d_confidence = to_device(confidence, n);
    auto d_correct = to_device(correct, n);
    DeviceBuffer<float> d_keys(n);
    DeviceBuffer<int64_t> d_order(n);
    if (n > 0) {
      prepare_sort<<<grid_for(n), kThreads>>>(d_confidence.get(), n, d_keys.get(), d_order.get());
      check_launch("prepare_sort");
      // Stable, with the values starting in index order: equal confidences stay in index order.
      with_thrust("calibration_bins sort", [&] {
        thrust::stable_sort_by_key(thrust::device, d_keys.get(), d_keys.get() + n, d_order.get());
      });
    }
    DeviceBuffer<double> d_count(n_bins), d_sum_conf(n_bins), d_sum_correct(n_bins);
    DeviceBuffer<double> d_lower(n_bins), d_upper(n_bins);
    equal_mass_bins<<<grid_for(n_bins, 1), kThreads>>>(
        d_keys.get(), d_order.get(), d_correct.get(), n, n_bins, d_count.get(), d_sum_conf.get(),
        d_sum_correct.get(), d_lower.get(), d_upper.get());
    check_launch("equal_mass_bins");
    d_count.download(counts.data());
    d_sum_conf.download(sum_confidence.data());
    d_sum_correct.download(sum_correct.data());
    d_lower.download(lower);
    d_upper.download(upper);
  }

  for (int b = 0; b < n_bins; ++b) {
    count[b] = counts[b];
    mean_confidence[b] = counts[b] > 0 ? sum_confidence[b] / counts[b] : 0.0;
    accuracy[b] = counts[b] > 0 ? sum_correct[b] / counts[b] : 0.0;
  }
}

}  // namespace oa::cuda
