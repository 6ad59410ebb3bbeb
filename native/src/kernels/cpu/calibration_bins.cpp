#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "cpu.h"

namespace oa::cpu {

// Single-threaded: binning is one cheap pass (equal width) or a sort (equal mass) over at most a
// few million confidences, and a fixed order keeps the float sums reproducible.
void calibration_bins(int /*threads*/, const float* confidence, const uint8_t* correct, int64_t n,
                      int n_bins, Binning binning, double* count, double* mean_confidence,
                      double* accuracy, double* lower, double* upper) {
  std::fill(count, count + n_bins, 0.0);
  std::fill(mean_confidence, mean_confidence + n_bins, 0.0);
  std::fill(accuracy, accuracy + n_bins, 0.0);
  if (binning == Binning::EqualWidth) {
    for (int b = 0; b < n_bins; ++b) lower[b] = double(b) / n_bins, upper[b] = double(b + 1) / n_bins;
    for (int64_t i = 0; i < n; ++i) {
      const int b = std::min(n_bins - 1, static_cast<int>(confidence[i] * static_cast<double>(n_bins)));
      count[b] += 1, mean_confidence[b] += confidence[i], accuracy[b] += correct[i];
    }
  } else {
    std::vector<int64_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return confidence[a] < confidence[b]; });
    for (int b = 0; b < n_bins; ++b) {
      const int64_t first = b * n / n_bins, last = (b + 1) * n / n_bins;
      lower[b] = first < last ? confidence[order[first]] : 0.0;
      upper[b] = first < last ? confidence[order[last - 1]] : 0.0;
      for (int64_t r = first; r < last; ++r) {
        count[b] += 1, mean_confidence[b] += confidence[order[r]], accuracy[b] += correct[order[r]];
      }
    }
  }
  for (int b = 0; b < n_bins; ++b) {
    if (count[b] > 0) mean_confidence[b] /= count[b], accuracy[b] /= count[b];
  }
}

}  // namespace oa::cpu
