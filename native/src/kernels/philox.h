// Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), shared
// by the CPU and CUDA twins so that both derive every number from the same integer arithmetic.
// Stream layout: see random_fill in kernels.h.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define OA_HD __host__ __device__ __forceinline__
#else
#define OA_HD inline
#endif

namespace oa::philox {

struct Block {
  uint32_t w[4];
};

OA_HD void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

// One 128-bit block for (seed, block index, stream).
OA_HD Block generate(uint64_t seed, uint64_t block, uint32_t stream) {
  uint32_t c0 = static_cast<uint32_t>(block), c1 = static_cast<uint32_t>(block >> 32);
  uint32_t c2 = stream, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(0xD2511F53u, c0, hi0, lo0);
    mulhilo(0xCD9E8D57u, c2, hi1, lo1);
    const uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return Block{{c0, c1, c2, c3}};
}

constexpr uint32_t kUniformStream = 0;
constexpr uint32_t kNormalStream = 1;

// 24 random bits scaled to [0, 1): exact in float32.
OA_HD float to_unit(uint32_t word) { return static_cast<float>(word >> 8) * 5.9604644775390625e-8f; }

// The four uniforms of one block: elements 4b .. 4b + 3 of the uniform stream.
OA_HD void uniform4(uint64_t seed, uint64_t block, float* out) {
  const Block b = generate(seed, block, kUniformStream);
  for (int w = 0; w < 4; ++w) out[w] = to_unit(b.w[w]);
}

// Box-Muller on words (w0, w1): returns the cosine branch in c and the sine branch in s.
OA_HD void box_muller(uint32_t w0, uint32_t w1, float& c, float& s) {
  const double u1 = (static_cast<double>(w0 >> 8) + 1.0) * 5.9604644775390625e-8;
  const double u2 = static_cast<double>(w1 >> 8) * 5.9604644775390625e-8;
  const double r = sqrt(-2.0 * log(u1));
  const double angle = 6.283185307179586 * u2;
  c = static_cast<float>(r * cos(angle));
  s = static_cast<float>(r * sin(angle));
}

// The four normals of one block: elements 4b .. 4b + 3 of the normal stream.
OA_HD void normal4(uint64_t seed, uint64_t block, float* out) {
  const Block b = generate(seed, block, kNormalStream);
  box_muller(b.w[0], b.w[1], out[0], out[1]);
  box_muller(b.w[2], b.w[3], out[2], out[3]);
}

// Element j of the uniform stream.
OA_HD float uniform(uint64_t seed, uint64_t j) {
  const Block b = generate(seed, j >> 2, kUniformStream);
  return to_unit(b.w[j & 3]);
}

// Element j of the normal stream: Box-Muller in float64 on the word pair holding j.
OA_HD float normal(uint64_t seed, uint64_t j) {
  const Block b = generate(seed, j >> 2, kNormalStream);
  const unsigned pair = static_cast<unsigned>(j & 2);
  float c, s;
  box_muller(b.w[pair], b.w[pair + 1], c, s);
  return (j & 1) ? s : c;
}

}  // namespace oa::philox
