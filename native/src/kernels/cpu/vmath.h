// Branch-free exp, log and log1p that GCC can vectorise inside `#pragma omp simd` loops (libm's
// are opaque calls that keep a loop scalar). exp reduces x = n ln2 + r with Cody-Waite constants
// whose high part has trailing zero bits, so n * ln2_hi is exact with or without FMA, and builds
// 2^n from its bits; log takes the exponent from the bits. They cover the domains the kernels
// use, not libm's full contract: no errno, no +Inf input to exp, no negative input to log; NaN in
// gives NaN out. Largest error measured against long double over 2e7 random arguments spanning
// each domain (subnormal results and arguments included), without FMA (with FMA contraction all
// stay under 0.95 ulp): exp_f32 1.21 ulp, exp_f64 1.18 ulp, log_f64 0.83 ulp, log1p_f64 0.79 ulp.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

namespace oa::cpu {

template <typename To, typename From>
inline To bits_as(From x) {
  static_assert(sizeof(To) == sizeof(From));
  To y;
  std::memcpy(&y, &x, sizeof y);
  return y;
}

// c ? a : b with both arms evaluated. Under the default -ftrapping-math GCC vectorises a loop
// holding a ternary only where no floating-point operation (which might trap) sits in an arm,
// and it moves operations that only one arm uses into that arm. Selecting bitwise keeps both
// arms computed; GCC may still see through it when an arm's value has no other use, so callers
// also avoid computing a value for one arm alone.
inline float select(bool c, float a, float b) {
  const uint32_t mask = c ? ~0u : 0u;
  return bits_as<float>((bits_as<uint32_t>(a) & mask) | (bits_as<uint32_t>(b) & ~mask));
}
inline double select(bool c, double a, double b) {
  const uint64_t mask = c ? ~uint64_t{0} : 0;
  return bits_as<double>((bits_as<uint64_t>(a) & mask) | (bits_as<uint64_t>(b) & ~mask));
}

// e^x for x <= 88. Results below e^-87 (near FLT_MIN) are flushed to 0, as is e^-Inf, so a
// subnormal never reaches the caller and n stays >= -126 for the bit-built 2^n. The degree-7
// Taylor polynomial on |r| <= ln2/2 is off by at most 8e-9 relative, well under half an ulp.
inline float exp_f32(float x) {
  constexpr float kMin = -87.0f, kLog2e = 1.44269504f, kShift = 0x1.8p23f;
  constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  const float t = x * kLog2e + kShift;  // n = round(x / ln2) sits in t's low mantissa bits
  const float n = t - kShift;
  const float r = (x - n * kLn2Hi) - n * kLn2Lo;
  const float p =
      1 + r * (1 + r * (0.5f + r * (1 / 6.0f + r * (1 / 24.0f + r * (1 / 120.0f + r * (1 / 720.0f +
      r * (1 / 5040.0f)))))));
  const uint32_t n_bits = bits_as<uint32_t>(t) - bits_as<uint32_t>(kShift);  // n, two's complement
  const float y = p * bits_as<float>((n_bits + 127) << 23);
  return select(x < kMin, 0.0f, y);
}

// e^x for x <= 709.7, subnormal results included, and 0 below ln(2^-1075) and for -Inf. 2^n is
// applied as two normal factors 2^(n - h) 2^h, h = n/2 rounded, as a single one would not reach
// below 2^-1022. The degree-13 Taylor polynomial on |r| <= ln2/2 is off by at most 4e-18.
inline double exp_f64(double x) {
  constexpr double kMin = -745.1332191019412, kLog2e = 1.4426950408889634, kShift = 0x1.8p52;
  constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  const double t = x * kLog2e + kShift;  // n = round(x / ln2) sits in t's low mantissa bits
  const double n = t - kShift;
  const double r = (x - n * kLn2Hi) - n * kLn2Lo;
  const double p =
      1 + r * (1 + r * (0.5 + r * (1 / 6.0 + r * (1 / 24.0 + r * (1 / 120.0 + r * (1 / 720.0 +
      r * (1 / 5040.0 + r * (1 / 40320.0 + r * (1 / 362880.0 + r * (1 / 3628800.0 +
      r * (1 / 39916800.0 + r * (1 / 479001600.0 + r * (1 / 6227020800.0)))))))))))));
  const uint64_t n_bits = bits_as<uint64_t>(t) - bits_as<uint64_t>(kShift);  // two's complement
  const uint64_t h_bits = bits_as<uint64_t>(n * 0.5 + kShift) - bits_as<uint64_t>(kShift);
  const double y = p * bits_as<double>((n_bits - h_bits + 1023) << 52) *
                   bits_as<double>((h_bits + 1023) << 52);
  return select(x < kMin, 0.0, y);
}

namespace detail {
// log(u 2^-scale) + c for a normal u > 0 and a correction c of the order of u's last bit
// (fdlibm's log and log1p, same constants): u = 2^k (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)),
// then log(1 + f) = 2 atanh(s), s = f / (2 + f), as f - f^2/2 + s (f^2/2 + R(s^2)).
inline double log_plus(double u, double c, int scale) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01,
                   kLg3 = 2.857142874366239149e-01, kLg4 = 2.222219843214978396e-01,
                   kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                   kLg7 = 1.479819860511658591e-01;
  constexpr uint64_t kOne = 0x3ff0000000000000, kSqrtHalf = 0x3fe6a09e667f3bcd;
  constexpr uint64_t kMantissa = (uint64_t{1} << 52) - 1;
  // Adding bits(1) - bits(sqrt(1/2)) moves the exponent field's steps from powers of 2 to
  // sqrt(1/2) times them.
  const uint64_t shifted = bits_as<uint64_t>(u) + (kOne - kSqrtHalf);
  // k from the exponent field by way of 2^52 + field: int64-to-double does not vectorise on AVX2
  const double k =
      bits_as<double>((shifted >> 52) | bits_as<uint64_t>(0x1p52)) - (0x1p52 + 1023 + scale);
  const double f = bits_as<double>((shifted & kMantissa) + kSqrtHalf) - 1;  // exact
  const double s = f / (2 + f), z = s * s, w = z * z;
  const double r =
      z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7))) + w * (kLg2 + w * (kLg4 + w * kLg6));
  const double hfsq = 0.5 * f * f;
  return s * (hfsq + r) + (k * kLn2Lo + c) - hfsq + f + k * kLn2Hi;
}
}  // namespace detail

// log(x) for 0 <= x < 2^969 (0 giving -Inf). x is scaled by 2^54, exactly, so that a subnormal
// x is normal too (choosing the scale per x would put a branch in the loop); the correction x * 0
// is 0, or NaN for a NaN x, which the bit manipulation would otherwise lose.
inline double log_f64(double x) {
  return select(x == 0, -std::numeric_limits<double>::infinity(),
                detail::log_plus(x * 0x1p54, x * 0, 54));
}

// log(1 + x) for x > -1 with 1 + x normal. c is the rounding error of u = 1 + x (Knuth's
// TwoSum, exact for any x) relative to u, which keeps log1p(x) ~ x where x is below u's last bit.
inline double log1p_f64(double x) {
  const double u = 1 + x, x_part = u - 1;
  const double error = (1 - (u - x_part)) + (x - x_part);
  return detail::log_plus(u, error / u, 0);
}

}  // namespace oa::cpu
