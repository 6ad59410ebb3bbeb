#include <cmath>
#include <limits>
#include <vector>

#include "cpu.h"
#include "parallel.h"

namespace oa::cpu {

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Max of a row, or NaN when the softmax of the row is undefined (NaN, +Inf, or only -Inf).
float row_max(const float* z, int64_t k) {
  float m = -std::numeric_limits<float>::infinity();
  bool bad = false;
  for (int64_t j = 0; j < k; ++j) {
    bad |= std::isnan(z[j]);
    m = z[j] > m ? z[j] : m;
  }
  return bad || !std::isfinite(m) ? kNaN : m;
}
}  // namespace

void softmax(int threads, const float* logits, int64_t n, int64_t k, float temperature, bool log,
             float* out) {
  const float inv_t = 1.0f / temperature;
  parallel_for(threads, n, std::max<int64_t>(1, 16384 / std::max<int64_t>(k, 1)),
               [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const float* z = logits + i * k;
      float* o = out + i * k;
      const float m = row_max(z, k);
      if (std::isnan(m)) {
        std::fill(o, o + k, kNaN);
        continue;
      }
      // exp of (z - m)/T is computed once and kept in out; the sum is taken in double so that
      // rows of thousands of classes lose nothing to accumulation.
      double sum = 0;
      for (int64_t j = 0; j < k; ++j) {
        o[j] = std::exp((z[j] - m) * inv_t);
        sum += o[j];
      }
      if (log) {
        const float log_sum = static_cast<float>(std::log(sum));
        for (int64_t j = 0; j < k; ++j) o[j] = (z[j] - m) * inv_t - log_sum;
      } else {
        const float inv_sum = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < k; ++j) o[j] *= inv_sum;
      }
    }
  });
}

}  // namespace oa::cpu
