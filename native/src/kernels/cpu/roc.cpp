#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include "cpu.h"

namespace oa::cpu {

RocResult roc(int /*threads*/, const float* scores, const uint8_t* labels, int64_t n,
              const double* fpr_targets, int64_t n_targets, double* tpr_at, double* curve_fpr,
              double* curve_tpr, double* curve_threshold) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return scores[a] > scores[b]; });
  double positives = 0;
  for (int64_t i = 0; i < n; ++i) positives += labels[i] != 0;
  const double negatives = static_cast<double>(n) - positives;

  int64_t points = 0;
  curve_fpr[0] = 0, curve_tpr[0] = 0, curve_threshold[0] = std::numeric_limits<double>::infinity();
  ++points;
  double tp = 0, fp = 0, auc = 0;
  for (int64_t r = 0; r < n;) {
    const float s = scores[order[r]];
    // A group of equal scores moves the curve diagonally: that is what counts ties as 1/2.
    for (; r < n && scores[order[r]] == s; ++r) (labels[order[r]] ? tp : fp) += 1;
    const double fpr = fp / negatives, tpr = tp / positives;
    auc += (fpr - curve_fpr[points - 1]) * (tpr + curve_tpr[points - 1]) / 2;
    curve_fpr[points] = fpr, curve_tpr[points] = tpr, curve_threshold[points] = s;
    ++points;
  }
  for (int64_t t = 0; t < n_targets; ++t) {
    const double f = fpr_targets[t];
    // The last point with fpr <= f: the top of a vertical segment at f, or the left end of the
    // segment that crosses f.
    int64_t p = std::upper_bound(curve_fpr, curve_fpr + points, f) - curve_fpr - 1;
    if (curve_fpr[p] == f || p == points - 1) {
      tpr_at[t] = curve_tpr[p];
    } else {
      const double w = (f - curve_fpr[p]) / (curve_fpr[p + 1] - curve_fpr[p]);
      tpr_at[t] = curve_tpr[p] + w * (curve_tpr[p + 1] - curve_tpr[p]);
    }
  }
  return {auc, points};
}

}  // namespace oa::cpu
