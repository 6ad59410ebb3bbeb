// CPU twins of the kernels in ../kernels.h, same semantics; threads >= 1 workers per call.
#pragma once

#include "../kernels.h"

namespace oa::cpu {

void softmax(int threads, const float* logits, int64_t n, int64_t k, float temperature, bool log,
             float* out);

void membership_metrics(int threads, const float* logits, const int32_t* labels, int64_t n,
                        int64_t k, double* out);

NllResult nll_temperature(int threads, const float* logits, const int32_t* labels, int64_t n,
                          int64_t k, double temperature);

void calibration_bins(int threads, const float* confidence, const uint8_t* correct, int64_t n,
                      int n_bins, Binning binning, double* count, double* mean_confidence,
                      double* accuracy, double* lower, double* upper);

void attack_step(int threads, StepKind kind, const float* x, const float* g, int64_t n,
                 int64_t d, const float* alpha, int64_t l1_k, float* out);

void project(int threads, Norm norm, const float* v, const float* x0, int64_t n, int64_t d,
             const float* eps, float lo, float hi, float* out);

void perturbation_norms(int threads, const float* delta, int64_t n, int64_t d, double* out);

void random_fill(int threads, Distribution dist, uint64_t seed, uint64_t offset, int64_t count,
                 float* out);

void random_linf_ball(int threads, const float* x0, int64_t n, int64_t d, const float* eps,
                      float lo, float hi, uint64_t seed, uint64_t offset, float* out);

void random_l2_ball(int threads, const float* x0, int64_t n, int64_t d, const float* eps,
                    float lo, float hi, uint64_t seed, uint64_t offset, float* out);

void unit_directions(int threads, int64_t n, int64_t d, uint64_t seed, uint64_t offset,
                     float* out);

void sgd_step(int threads, float* params, const float* grad, float* momentum_buf, int64_t n,
              const SgdOptions& o, int64_t step);

void adam_step(int threads, float* params, const float* grad, float* m, float* v, int64_t n,
               const AdamOptions& o, int64_t step);

void gradient_estimate(int threads, const float* f_plus, const float* f_minus, const float* u,
                       int64_t b, int64_t q, int64_t d, float sigma, float* out);

RocResult roc(int threads, const float* scores, const uint8_t* labels, int64_t n,
              const double* fpr_targets, int64_t n_targets, double* tpr_at, double* curve_fpr,
              double* curve_tpr, double* curve_threshold);

double copy_bandwidth(int threads, int64_t bytes, int repeats);

}  // namespace oa::cpu
