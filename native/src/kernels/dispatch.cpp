// Routes each kernel of kernels.h to its CPU or CUDA twin. A build without ONNX_AUDIT_CUDA has no
// CUDA symbols at all, so it can never try to load CUDA code.
#include "kernels.h"
#include "cpu/cpu.h"
#ifdef ONNX_AUDIT_CUDA
#include "cuda/cuda_kernels.h"
#define OA_ROUTE(fn, ...) \
  (ex.device == Device::Cuda ? cuda::fn(__VA_ARGS__) : cpu::fn(ex.threads, __VA_ARGS__))
#else
#define OA_ROUTE(fn, ...) \
  (ex.device == Device::Cuda ? throw KernelError("this build of the addon has no CUDA kernels") \
                             : cpu::fn(ex.threads, __VA_ARGS__))
#endif

namespace oa {

void softmax(const Exec& ex, const float* logits, int64_t n, int64_t k, float temperature, bool log,
             float* out) {
  OA_ROUTE(softmax, logits, n, k, temperature, log, out);
}

void membership_metrics(const Exec& ex, const float* logits, const int32_t* labels, int64_t n,
                        int64_t k, double* out) {
  OA_ROUTE(membership_metrics, logits, labels, n, k, out);
}

NllResult nll_temperature(const Exec& ex, const float* logits, const int32_t* labels, int64_t n,
                          int64_t k, double temperature) {
  return OA_ROUTE(nll_temperature, logits, labels, n, k, temperature);
}

void calibration_bins(const Exec& ex, const float* confidence, const uint8_t* correct, int64_t n,
                      int n_bins, Binning binning, double* count, double* mean_confidence,
                      double* accuracy, double* lower, double* upper) {
  OA_ROUTE(calibration_bins, confidence, correct, n, n_bins, binning, count, mean_confidence,
           accuracy, lower, upper);
}

void attack_step(const Exec& ex, StepKind kind, const float* x, const float* g, int64_t n,
                 int64_t d, const float* alpha, int64_t l1_k, float* out) {
  OA_ROUTE(attack_step, kind, x, g, n, d, alpha, l1_k, out);
}

void project(const Exec& ex, Norm norm, const float* v, const float* x0, int64_t n, int64_t d,
             const float* eps, float lo, float hi, float* out) {
  OA_ROUTE(project, norm, v, x0, n, d, eps, lo, hi, out);
}

void perturbation_norms(const Exec& ex, const float* delta, int64_t n, int64_t d, double* out) {
  OA_ROUTE(perturbation_norms, delta, n, d, out);
}

void random_fill(const Exec& ex, Distribution dist, uint64_t seed, uint64_t offset, int64_t count,
                 float* out) {
  OA_ROUTE(random_fill, dist, seed, offset, count, out);
}

void random_linf_ball(const Exec& ex, const float* x0, int64_t n, int64_t d, const float* eps,
                      float lo, float hi, uint64_t seed, uint64_t offset, float* out) {
  OA_ROUTE(random_linf_ball, x0, n, d, eps, lo, hi, seed, offset, out);
}

void random_l2_ball(const Exec& ex, const float* x0, int64_t n, int64_t d, const float* eps,
                    float lo, float hi, uint64_t seed, uint64_t offset, float* out) {
  OA_ROUTE(random_l2_ball, x0, n, d, eps, lo, hi, seed, offset, out);
}

void unit_directions(const Exec& ex, int64_t n, int64_t d, uint64_t seed, uint64_t offset,
                     float* out) {
  OA_ROUTE(unit_directions, n, d, seed, offset, out);
}

void sgd_step(const Exec& ex, float* params, const float* grad, float* momentum_buf, int64_t n,
              const SgdOptions& o, int64_t step) {
  OA_ROUTE(sgd_step, params, grad, momentum_buf, n, o, step);
}

void adam_step(const Exec& ex, float* params, const float* grad, float* m, float* v, int64_t n,
               const AdamOptions& o, int64_t step) {
  OA_ROUTE(adam_step, params, grad, m, v, n, o, step);
}

void gradient_estimate(const Exec& ex, const float* f_plus, const float* f_minus, const float* u,
                       int64_t b, int64_t q, int64_t d, float sigma, float* out) {
  OA_ROUTE(gradient_estimate, f_plus, f_minus, u, b, q, d, sigma, out);
}

RocResult roc(const Exec& ex, const float* scores, const uint8_t* labels, int64_t n,
              const double* fpr_targets, int64_t n_targets, double* tpr_at, double* curve_fpr,
              double* curve_tpr, double* curve_threshold) {
  return OA_ROUTE(roc, scores, labels, n, fpr_targets, n_targets, tpr_at, curve_fpr, curve_tpr,
                  curve_threshold);
}

double copy_bandwidth(const Exec& ex, int64_t bytes, int repeats) {
  return OA_ROUTE(copy_bandwidth, bytes, repeats);
}

CudaInfo cuda_info() {
#ifdef ONNX_AUDIT_CUDA
  return cuda::info();
#else
  return {false, false, "", "the addon was built without CUDA (ONNX_AUDIT_CUDA=OFF or no nvcc)", 0, 0};
#endif
}

}  // namespace oa
