#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu.h"
#include "parallel.h"
#include "simd.h"
#include "vmath.h"

namespace oa::cpu {

namespace {
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr int64_t kBlock = 4096;  // elements per block of rows, which stays in L1 between passes
// `omp simd` reductions keep per-lane partials in a stack array; a row shorter than a vector runs
// only the scalar epilogue, which updates that array and then reloads it whole, stalling on
// store forwarding. Such rows take plain loops instead.
constexpr int64_t kShortRow = 32;

inline float row_max(const float* z, int64_t k) {
  float m = -kInf;
  if (k < kShortRow) {
    for (int64_t j = 0; j < k; ++j) m = z[j] > m ? z[j] : m;
    return m;
  }
#pragma omp simd reduction(max : m)
  for (int64_t j = 0; j < k; ++j) m = z[j] > m ? z[j] : m;
  return m;
}

// in double, so that rows of thousands of classes lose nothing to the sum
inline double row_sum(const float* x, int64_t k) {
  double sum = 0;
  if (k < kShortRow) {
    for (int64_t j = 0; j < k; ++j) sum += x[j];
    return sum;
  }
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < k; ++j) sum += x[j];
  return sum;
}

// Rows are processed a block at a time: per row the max and the scaled shift (z - m)/T, then one
// exp over the whole block (so that short rows still fill the vectors), then per row the sum and
// the normalisation. A row holding NaN or +Inf, or only -Inf, needs no test of its own: some
// (z - m) is then NaN (NaN - m, Inf - Inf, -Inf + Inf), and so is its sum.
OA_SIMD_CLONES
void softmax_rows(const float* logits, int64_t begin, int64_t end, int64_t k, float inv_t, bool log,
                  float* out) {
  const int64_t block_rows = std::max<int64_t>(1, kBlock / k);
  float shift[kBlock];  // each row's max, subtracted before the exp
  for (int64_t b = begin; b < end; b += block_rows) {
    const int64_t b_end = std::min(end, b + block_rows);
    for (int64_t i = b; i < b_end; ++i) {
      const float* z = logits + i * k;
      float* o = out + i * k;
      const float m = row_max(z, k);
#pragma omp simd
      for (int64_t j = 0; j < k; ++j) o[j] = (z[j] - m) * inv_t;
      shift[i - b] = m;
    }
    float* o = out + b * k;
    const int64_t count = (b_end - b) * k;
#pragma omp simd
    for (int64_t j = 0; j < count; ++j) o[j] = exp_f32(o[j]);
    for (int64_t i = b; i < b_end; ++i) {
      float* o = out + i * k;
      const double sum = row_sum(o, k);
      if (std::isnan(sum)) {
        std::fill(o, o + k, kNaN);
      } else if (log) {
        const float* z = logits + i * k;
        const float m = shift[i - b], log_sum = static_cast<float>(log_f64(sum));
#pragma omp simd
        for (int64_t j = 0; j < k; ++j) o[j] = (z[j] - m) * inv_t - log_sum;
      } else {
        const float inv_sum = static_cast<float>(1.0 / sum);
#pragma omp simd
        for (int64_t j = 0; j < k; ++j) o[j] *= inv_sum;
      }
    }
  }
}
}  // namespace

void softmax(int threads, const float* logits, int64_t n, int64_t k, float temperature, bool log,
             float* out) {
  parallel_for(threads, n, std::max<int64_t>(1, 16384 / std::max<int64_t>(k, 1)),
               [&](int64_t begin, int64_t end) {
    softmax_rows(logits, begin, end, k, 1.0f / temperature, log, out);
  });
}

}  // namespace oa::cpu
