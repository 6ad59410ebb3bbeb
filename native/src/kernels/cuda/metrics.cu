#include <cmath>
#include <vector>

#include "common.cuh"
#include "cuda_kernels.h"

namespace oa::cuda {
namespace {

// Both kernels give one warp to a row (k is 10 to 1000) and work in float64 throughout.

// Row maximum over the finite-or--Inf entries, plus whether the row holds NaN or +Inf, which
// (like a row of only -Inf) makes every result NaN. The maximum over j != skip is returned too.
struct RowMax {
  double all, other;
  bool undefined;
};

__device__ RowMax row_max(const float* z, int64_t k, int64_t skip, int lane) {
  RowMax r{-INFINITY, -INFINITY, false};
  for (int64_t j = lane; j < k; j += 32) {
    const float v = z[j];
    if (isnan(v) || v == INFINITY) {
      r.undefined = true;
    } else {
      r.all = fmax(r.all, static_cast<double>(v));
      if (j != skip) r.other = fmax(r.other, static_cast<double>(v));
    }
  }
  r.all = warp_max(r.all);
  r.other = warp_max(r.other);
  r.undefined = __any_sync(kFullMask, r.undefined) || r.all == -INFINITY;
  return r;
}

__global__ void metrics_rows(const float* logits, const int32_t* labels, int64_t n, int64_t k,
                             double* out) {
  const int lane = threadIdx.x & 31;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
       row < n; row += stride) {
    const float* z = logits + row * k;
    const int64_t y = labels[row];
    const RowMax mx = row_max(z, k, y, lane);
    if (mx.undefined) {
      if (lane == 0)
        for (int metric = 0; metric < kMetricCount; ++metric) out[metric * n + row] = NAN;
      continue;
    }
    const double m = mx.all, m_other = mx.other;

    double sum = 0.0, sum_other = 0.0;
    for (int64_t j = lane; j < k; j += 32) {
      sum += exp(z[j] - m);
      if (j != y && m_other != -INFINITY) sum_other += exp(z[j] - m_other);
    }
    sum = warp_sum(sum);
    sum_other = warp_sum(sum_other);
    const double lse = m + log(sum);
    // Every other logit -Inf: lse over them is -Inf (and m_other + log(0) would be NaN).
    const double lse_other = m_other == -INFINITY ? -INFINITY : m_other + log(sum_other);
    const double z_y = z[y];
    const double log_p_y = z_y - lse;
    const double p_y = exp(log_p_y);

    // Walk the row in warp-wide chunks with every lane present, so that the rare coordinate with
    // p_j >= 0.5 can be handled by the whole warp: there log1p(-p_j) would lose all precision, and
    // log(1 - p_j) = lse_{i != j}(z) - lse(z) needs its own sum over the row.
    const double inv_k = 1.0 / static_cast<double>(k);
    double max_p = 0.0, square_dev = 0.0, entropy = 0.0, other_term = 0.0;
    for (int64_t base = 0; base < k; base += 32) {
      const int64_t j = base + lane;
      const bool inside = j < k;
      const double log_p = inside ? z[j] - lse : -INFINITY;
      const double p = inside ? exp(log_p) : 0.0;
      const bool heavy = inside && j != y && p >= 0.5;
      double log_1mp = (inside && j != y && !heavy) ? log1p(-p) : 0.0;
      for (unsigned pending = __ballot_sync(kFullMask, heavy); pending != 0; pending &= pending - 1) {
        const int owner = __ffs(pending) - 1;
        const int64_t jj = base + owner;
        double rest = 0.0;
        for (int64_t i = lane; i < k; i += 32)
          if (i != jj) rest += exp(z[i] - m);
        rest = warp_sum(rest);
        if (lane == owner) log_1mp = (m + log(rest)) - lse;
      }
      if (inside) {
        max_p = fmax(max_p, p);
        square_dev += (p - inv_k) * (p - inv_k);
        if (p > 0.0) {  // 0 log 0 = 0; also keeps -Inf logits from making 0 * -Inf = NaN
          entropy -= p * log_p;
          if (j != y) other_term += p * log_1mp;
        }
      }
    }
    max_p = warp_max(max_p);
    square_dev = warp_sum(square_dev);
    entropy = warp_sum(entropy);
    other_term = warp_sum(other_term);

    if (lane == 0) {
      out[kLoss * n + row] = -log_p_y;
      out[kMaxProb * n + row] = max_p;
      out[kStdDev * n + row] = sqrt(square_dev * inv_k);
      out[kEntropy * n + row] = entropy;
      out[kModEntropy * n + row] = -(1.0 - p_y) * log_p_y - other_term;
      out[kMargin * n + row] = z_y - m_other;
      out[kLogitConf * n + row] = z_y - lse_other;
    }
  }
}

// Per-row NLL and its T-derivatives; the mean is taken on the host in row order, which keeps the
// result deterministic.
__global__ void nll_rows(const float* logits, const int32_t* labels, int64_t n, int64_t k,
                         double t, double* per_row) {
  const int lane = threadIdx.x & 31;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * kWarpsPerBlock;
  for (int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + (threadIdx.x >> 5);
       row < n; row += stride) {
    const float* z = logits + row * k;
    const int64_t y = labels[row];
    const RowMax mx = row_max(z, k, y, lane);
    double* r = per_row + 3 * row;
    if (mx.undefined) {
      if (lane == 0) r[0] = r[1] = r[2] = NAN;
      continue;
    }
    const double m = mx.all;  // max of z; max of z / T is m / T since T > 0

    double sum = 0.0;
    for (int64_t j = lane; j < k; j += 32) sum += exp((z[j] - m) / t);
    sum = warp_sum(sum);
    const double log_sum = log(sum);

    // p_j = 0 terms are skipped: they contribute nothing, but a -Inf logit would turn 0 * -Inf
    // into NaN.
    double mean = 0.0;
    for (int64_t j = lane; j < k; j += 32) {
      const double p = exp((z[j] - m) / t - log_sum);
      if (p > 0.0) mean += p * z[j];
    }
    mean = warp_sum(mean);
    double var = 0.0;  // two-pass: E[z^2] - E[z]^2 cancels badly for peaked distributions
    for (int64_t j = lane; j < k; j += 32) {
      const double p = exp((z[j] - m) / t - log_sum);
      if (p > 0.0) var += p * (z[j] - mean) * (z[j] - mean);
    }
    var = warp_sum(var);

    if (lane == 0) {
      const double z_y = z[y], gap = z_y - mean;
      r[0] = (m - z_y) / t + log_sum;  // lse(z / T) - z_y / T
      r[1] = gap / (t * t);
      r[2] = -2.0 * gap / (t * t * t) + var / (t * t * t * t);
    }
  }
}

}  // namespace

void membership_metrics(const float* logits, const int32_t* labels, int64_t n, int64_t k,
                        double* out) {
  if (n <= 0 || k <= 0) return;
  auto d_logits = to_device(logits, n * k);
  auto d_labels = to_device(labels, n);
  DeviceBuffer<double> d_out(n * kMetricCount);
  metrics_rows<<<grid_for(n, kWarpsPerBlock), kThreads>>>(d_logits.get(), d_labels.get(), n, k,
                                                          d_out.get());
  check_launch("metrics_rows");
  d_out.download(out);
}

NllResult nll_temperature(const float* logits, const int32_t* labels, int64_t n, int64_t k,
                          double temperature) {
  if (n <= 0 || k <= 0) return {NAN, NAN, NAN};  // the mean of nothing
  auto d_logits = to_device(logits, n * k);
  auto d_labels = to_device(labels, n);
  DeviceBuffer<double> d_rows(n * 3);
  nll_rows<<<grid_for(n, kWarpsPerBlock), kThreads>>>(d_logits.get(), d_labels.get(), n, k,
                                                      temperature, d_rows.get());
  check_launch("nll_rows");
  std::vector<double> rows(static_cast<size_t>(n) * 3);
  d_rows.download(rows.data());
  NllResult total{0.0, 0.0, 0.0};
  for (int64_t i = 0; i < n; ++i) {
    total.nll += rows[3 * i];
    total.d1 += rows[3 * i + 1];
    total.d2 += rows[3 * i + 2];
  }
  const double count = static_cast<double>(n);
  return {total.nll / count, total.d1 / count, total.d2 / count};
}

}  // namespace oa::cuda
