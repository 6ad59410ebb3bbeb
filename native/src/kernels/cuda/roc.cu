#include <thrust/execution_policy.h>
#include <thrust/functional.h>
#include <thrust/sort.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common.cuh"
#include "cuda_kernels.h"

namespace oa::cuda {

// The sort, the O(n log n) part, runs on the device. The walk over the sorted scores is one
// sequential pass with data-dependent output (a point per distinct score), done on the host in
// float64 from integer counts, which makes it exact and deterministic. The order inside a run of
// equal scores does not matter (a point is emitted only after the whole run), so the sort need
// not be stable.
RocResult roc(const float* scores, const uint8_t* labels, int64_t n, const double* fpr_targets,
              int64_t n_targets, double* tpr_at, double* curve_fpr, double* curve_tpr,
              double* curve_threshold) {
  std::vector<float> sorted_scores(n > 0 ? static_cast<size_t>(n) : 0);
  std::vector<uint8_t> sorted_labels(sorted_scores.size());
  if (n > 0) {
    auto d_scores = to_device(scores, n);
    auto d_labels = to_device(labels, n);
    with_thrust("roc sort", [&] {
      thrust::sort_by_key(thrust::device, d_scores.get(), d_scores.get() + n, d_labels.get(),
                          thrust::greater<float>());
    });
    check_launch("roc sort");
    d_scores.download(sorted_scores.data());
    d_labels.download(sorted_labels.data());
  }

  int64_t positives = 0;
  for (uint8_t label : sorted_labels) positives += label != 0 ? 1 : 0;
  const double pos = static_cast<double>(positives), neg = static_cast<double>(n - positives);

  std::vector<double> fpr{0.0}, tpr{0.0}, threshold{std::numeric_limits<double>::infinity()};
  double area = 0.0;  // Σ over runs of negatives * (2 tp_before + positives in run), over 2PN
  int64_t tp = 0, fp = 0;
  for (int64_t i = 0; i < n;) {
    const float score = sorted_scores[i];
    int64_t run_pos = 0, run_neg = 0;
    for (; i < n && sorted_scores[i] == score; ++i) (sorted_labels[i] != 0 ? run_pos : run_neg) += 1;
    area += static_cast<double>(run_neg) * static_cast<double>(2 * tp + run_pos);
    tp += run_pos;
    fp += run_neg;
    fpr.push_back(static_cast<double>(fp) / neg);
    tpr.push_back(static_cast<double>(tp) / pos);
    threshold.push_back(score);
  }
  const int64_t points = static_cast<int64_t>(fpr.size());
  for (int64_t p = 0; p < points; ++p) {
    if (curve_fpr != nullptr) curve_fpr[p] = fpr[p];
    if (curve_tpr != nullptr) curve_tpr[p] = tpr[p];
    if (curve_threshold != nullptr) curve_threshold[p] = threshold[p];
  }

  // fpr and tpr never decrease along the curve. The last point with fpr <= f carries the highest
  // TPR at f when the curve is vertical there; otherwise f lies strictly between it and the next.
  for (int64_t t = 0; t < n_targets; ++t) {
    const double f = fpr_targets[t];
    int64_t lo = 0, hi = points;  // find the first point with fpr > f
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (fpr[mid] <= f) lo = mid + 1;
      else hi = mid;
    }
    if (lo == 0) {
      tpr_at[t] = tpr[0];  // f below the curve's start (f < 0)
    } else if (lo == points || fpr[lo - 1] == f) {
      tpr_at[t] = tpr[lo - 1];
    } else {
      const int64_t a = lo - 1, b = lo;
      tpr_at[t] = tpr[a] + (f - fpr[a]) * (tpr[b] - tpr[a]) / (fpr[b] - fpr[a]);
    }
  }
  return {area / (2.0 * pos * neg), points};
}

}  // namespace oa::cuda
