// CUDA twins of the kernels in ../kernels.h, same semantics. Pointers are host memory: each call
// copies its inputs to the device, runs, and copies the outputs back. Compiled only with ONNX_AUDIT_CUDA.
#pragma once

#include "../kernels.h"

namespace oa::cuda {

void softmax(const float* logits, int64_t n, int64_t k, float temperature, bool log,
             float* out);

void membership_metrics(const float* logits, const int32_t* labels, int64_t n,
                        int64_t k, double* out);

NllResult nll_temperature(const float* logits, const int32_t* labels, int64_t n,
                          int64_t k, double temperature);

void calibration_bins(const float* confidence, const uint8_t* correct, int64_t n,
                      int n_bins, Binning binning, double* count, double* mean_confidence,
                      double* accuracy, double* lower, double* upper);

void attack_step(StepKind kind, const float* x, const float* g, int64_t n,
                 int64_t d, const float* alpha, int64_t l1_k, float* out);

void project(Norm norm, const float* v, const float* x0, int64_t n, int64_t d,
             const float* eps, float lo, float hi, float* out);

void perturbation_norms(const float* delta, int64_t n, int64_t d, double* out);

void random_fill(Distribution dist, uint64_t seed, uint64_t offset, int64_t count,
                 float* out);

void random_linf_ball(const float* x0, int64_t n, int64_t d, const float* eps,
                      float lo, float hi, uint64_t seed, uint64_t offset, float* out);

void random_l2_ball(const float* x0, int64_t n, int64_t d, const float* eps,
                    float lo, float hi, uint64_t seed, uint64_t offset, float* out);

void unit_directions(int64_t n, int64_t d, uint64_t seed, uint64_t offset,
                     float* out);

void sgd_step(float* params, const float* grad, float* momentum_buf, int64_t n,
              const SgdOptions& o, int64_t step);

void adam_step(float* params, const float* grad, float* m, float* v, int64_t n,
               const AdamOptions& o, int64_t step);

void gradient_estimate(const float* f_plus, const float* f_minus, const float* u,
                       int64_t b, int64_t q, int64_t d, float sigma, float* out);

RocResult roc(const float* scores, const uint8_t* labels, int64_t n,
              const double* fpr_targets, int64_t n_targets, double* tpr_at, double* curve_fpr,
              double* curve_tpr, double* curve_threshold);

double copy_bandwidth(int64_t bytes, int repeats);

// Device probe for capabilities(); never throws.
CudaInfo info();

}  // namespace oa::cuda
