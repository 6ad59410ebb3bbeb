#include <algorithm>
#include <cmath>

#include "../philox.h"
#include "cpu.h"
#include "parallel.h"

namespace oa::cpu {

namespace {
constexpr int64_t kPerThread = 1 << 16;

// Writes stream elements [first, first + count) to out, one Philox block (four numbers) at a time
// rather than one block per number.
void fill_stream(Distribution dist, uint64_t seed, uint64_t first, int64_t count, float* out) {
  float block[4];
  int64_t i = 0;
  while (i < count) {
    const uint64_t j = first + i;
    (dist == Distribution::Uniform ? philox::uniform4 : philox::normal4)(seed, j >> 2, block);
    const int64_t lane = static_cast<int64_t>(j & 3), take = std::min<int64_t>(4 - lane, count - i);
    for (int64_t w = 0; w < take; ++w) out[i + w] = block[lane + w];
    i += take;
  }
}

// Writes the unit vector along normals (seed, offset + i*d + j) into o; zeros when the draw is all
// zeros (probability about 2^-24 per coordinate, so only for tiny d).
void unit_row(uint64_t seed, uint64_t first, int64_t d, float* o) {
  fill_stream(Distribution::Normal, seed, first, d, o);
  double sq = 0;
  for (int64_t j = 0; j < d; ++j) sq += double(o[j]) * o[j];
  const double inv = sq > 0 ? 1.0 / std::sqrt(sq) : 0.0;
  for (int64_t j = 0; j < d; ++j) o[j] = static_cast<float>(o[j] * inv);
}
}  // namespace

void random_fill(int threads, Distribution dist, uint64_t seed, uint64_t offset, int64_t count,
                 float* out) {
  parallel_for(threads, count, kPerThread, [&](int64_t begin, int64_t end) {
    fill_stream(dist, seed, offset + begin, end - begin, out + begin);
  });
}

void random_linf_ball(int threads, const float* x0, int64_t n, int64_t d, const float* eps,
                      float lo, float hi, uint64_t seed, uint64_t offset, float* out) {
  parallel_for(threads, n * d, kPerThread, [&](int64_t begin, int64_t end) {
    fill_stream(Distribution::Uniform, seed, offset + begin, end - begin, out + begin);
    for (int64_t e = begin; e < end; ++e)
      out[e] = std::clamp(x0[e] + eps[e / d] * (2.0f * out[e] - 1.0f), lo, hi);
  });
}

void random_l2_ball(int threads, const float* x0, int64_t n, int64_t d, const float* eps,
                    float lo, float hi, uint64_t seed, uint64_t offset, float* out) {
  parallel_for(threads, n, std::max<int64_t>(1, kPerThread / d), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      float* o = out + i * d;
      unit_row(seed, offset + i * d, d, o);
      const double radius = eps[i] * std::pow(double(philox::uniform(seed, offset + i)), 1.0 / d);
      for (int64_t j = 0; j < d; ++j)
        o[j] = std::clamp(static_cast<float>(x0[i * d + j] + radius * o[j]), lo, hi);
    }
  });
}

void unit_directions(int threads, int64_t n, int64_t d, uint64_t seed, uint64_t offset, float* out) {
  parallel_for(threads, n, std::max<int64_t>(1, kPerThread / d), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) unit_row(seed, offset + i * d, d, out + i * d);
  });
}

}  // namespace oa::cpu
