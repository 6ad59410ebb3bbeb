// Hot loops are compiled for several x86 vector widths and the best one is picked at load time
// (GCC/Clang function multi-versioning), so a portable binary still uses AVX2 or AVX-512 where the
// CPU has them. Reductions in these loops are vectorised with `#pragma omp simd reduction`, built
// with -fopenmp-simd (no OpenMP runtime): the summation order is fixed per binary and CPU, so
// results are reproducible on a machine, and every sum is still taken in float64.
#pragma once

#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define OA_SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef OA_SIMD_CLONES
#define OA_SIMD_CLONES
#endif
