// The kernels' plain C++ interface. Nothing here knows about N-API: pointers, sizes and an
// execution context. Each function dispatches on ctx.device to its CPU implementation (cpu/) or
// its CUDA twin (cuda/); both follow the semantics documented here, and the binding layer
// (src/addon) has already validated every argument, so kernels only guard against what it cannot
// see (a CUDA error, say). Errors are thrown as KernelError.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace oa {

enum class Device { Cpu, Cuda };

struct Exec {
  Device device = Device::Cpu;
  int threads = 1;  // CPU worker threads for this call (>= 1)
};

struct KernelError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- 1. softmax -------------------------------------------------------------------------------
// out[i,:] = softmax(logits[i,:] / T) (or log-softmax when log is true), max-subtracted.
// A row holding NaN or +Inf is undefined and becomes all NaN; -Inf entries get probability 0
// (log-probability -Inf); a row of only -Inf is all NaN. T > 0 and finite.
void softmax(const Exec& ex, const float* logits, int64_t n, int64_t k, float temperature, bool log,
             float* out);

// ---- 2. membership metrics ------------------------------------------------------------------
// One pass over logits [n, k] (k >= 2) with labels in [0, k), accumulated in float64. Writes
// column-major out[m * n + i] for m in MetricIndex order. Every log is taken of a quantity formed
// from the logits (log p_j = z_j - lse(z)), never of a rounded probability, so no clamp is
// needed: log(1 - p_j) = lse_{i != j}(z) - lse(z), exact even when p_j rounds to 1. A row with
// NaN or +Inf, or only -Inf, gives NaN in every metric.
enum MetricIndex : int {
  kLoss = 0,          // -log p_y
  kMaxProb = 1,       // max_j p_j
  kStdDev = 2,        // population SD of p: sqrt(sum_j (p_j - 1/k)^2 / k)
  kEntropy = 3,       // -sum_j p_j log p_j  (0 log 0 = 0)
  kModEntropy = 4,    // -(1 - p_y) log p_y - sum_{j != y} p_j log(1 - p_j)
  kMargin = 5,        // z_y - max_{j != y} z_j
  kLogitConf = 6,     // log p_y - log(1 - p_y) = z_y - lse_{j != y}(z)
  kMetricCount = 7,
};
void membership_metrics(const Exec& ex, const float* logits, const int32_t* labels, int64_t n,
                        int64_t k, double* out);

// ---- 3. calibration -----------------------------------------------------------------------------
// Mean NLL of softmax(z / T) and its first and second derivatives in T, in one pass:
//   d/dT   = mean_i (z_iy - E_p[z_i]) / T^2
//   d2/dT2 = mean_i [ -2 (z_iy - E_p[z_i]) / T^3 + Var_p(z_i) / T^4 ],  p = softmax(z_i / T).
struct NllResult {
  double nll, d1, d2;
};
NllResult nll_temperature(const Exec& ex, const float* logits, const int32_t* labels, int64_t n,
                          int64_t k, double temperature);

// Bins confidences in [0, 1] with 0/1 correctness flags into n_bins bins.
// Equal width: bin b = [b/B, (b+1)/B), the last bin closed (c = 1 falls in bin B-1).
// Equal mass: samples sorted by confidence (ties broken by index, so the result is deterministic);
// bin b holds the sorted ranks [floor(b n / B), floor((b+1) n / B)).
// Per bin: count, mean confidence, accuracy (both 0 for an empty bin), and the bin's lower and
// upper edge (equal width: the fixed edges; equal mass: the smallest and largest confidence in the
// bin, 0 for an empty bin).
enum class Binning { EqualWidth, EqualMass };
void calibration_bins(const Exec& ex, const float* confidence, const uint8_t* correct, int64_t n,
                      int n_bins, Binning binning, double* count, double* mean_confidence,
                      double* accuracy, double* lower, double* upper);

// ---- 4. attack steps, projections and norms ---------------------------------------------------
// All take x [n, d] flattened per sample and a per-sample step size (alpha[i]) or radius
// (eps[i]); out may alias x.
// sign step:  out = x + alpha_i * sign(g)                      (sign(0) = 0)
// L2 step:    out = x + alpha_i * g / ||g_i||_2                 (unchanged where ||g_i|| = 0)
// L1 step:    out = x + alpha_i * sign(g) * m / k where m marks the k coordinates of largest |g|
//             (ties broken by lower index), so ||step||_1 = alpha_i when g has at least k
//             nonzeros. 1 <= k <= d.
enum class StepKind { Sign, L2, L1TopK };
void attack_step(const Exec& ex, StepKind kind, const float* x, const float* g, int64_t n,
                 int64_t d, const float* alpha, int64_t l1_k, float* out);

// Euclidean projection of v onto {z : ||z - x0||_p <= eps_i} ∩ [lo, hi]^d, per sample; x0 must
// lie in the box. L∞ is separable and exact: clip(clip(v, x0 - eps, x0 + eps), lo, hi).
// L2 and L1: the KKT conditions give z(λ) = clip(x0 + shrink_λ(v - x0), lo, hi) with
// shrink_λ(t) = t / (1 + λ) for L2 and sign(t) max(|t| - λ, 0) for L1, and ||z(λ) - x0||_p
// decreasing in λ; λ = 0 when z(0) is inside the ball, x0 itself when eps_i = 0, otherwise the
// root of ||z(λ) - x0||_p = eps. Given which coordinates the box clips, that equation has a
// closed-form root; iterating on it inside a bracket (bisection when it leaves the bracket) finds
// the exact λ in float64, typically in 2 to 5 passes over the sample. out may alias v.
enum class Norm { Linf, L2, L1 };
void project(const Exec& ex, Norm norm, const float* v, const float* x0, int64_t n, int64_t d,
             const float* eps, float lo, float hi, float* out);

// Per-sample norms of delta [n, d], column-major: out[m * n + i] for m = L0 (count of nonzeros),
// L1, L2, L∞.
void perturbation_norms(const Exec& ex, const float* delta, int64_t n, int64_t d, double* out);

// ---- 5. random numbers -------------------------------------------------------------------------
// Philox-4x32-10 (Salmon et al. 2011), key = seed (64 bits), counter = (block lo, block hi,
// stream, 0). Element j of a stream (j = offset + i) comes from block j / 4, word j % 4.
// uniform: stream 0, (word >> 8) * 2^-24 in [0, 1), exact in float32.
// normal:  stream 1, Box-Muller in float64 on the pair of words (2q, 2q + 1) of element j's block
//          (q = (j % 4) / 2): u1 = ((w0 >> 8) + 1) 2^-24, u2 = (w1 >> 8) 2^-24,
//          r = sqrt(-2 ln u1); even j gets r cos(2π u2), odd j gets r sin(2π u2).
// The same (seed, offset) gives the same numbers on CPU and CUDA.
enum class Distribution { Uniform, Normal };
void random_fill(const Exec& ex, Distribution dist, uint64_t seed, uint64_t offset, int64_t count,
                 float* out);

// Uniform samples in the L∞ ball: out = clip(x0 + eps_i (2u - 1), lo, hi), u = uniform stream at
// (seed, offset + i*d + j).
// Uniform samples in the L2 ball: direction = normalised normal stream at (seed, offset + i*d + j);
// radius = eps_i * u_i^(1/d) with u_i the uniform stream at (seed, offset + i); out =
// clip(x0 + radius * direction, lo, hi). With eps_i = 1, x0 = 0 and an infinite box this gives
// uniform points in the unit ball; direction alone (unit_directions) gives points on the sphere.
void random_linf_ball(const Exec& ex, const float* x0, int64_t n, int64_t d, const float* eps,
                      float lo, float hi, uint64_t seed, uint64_t offset, float* out);
void random_l2_ball(const Exec& ex, const float* x0, int64_t n, int64_t d, const float* eps,
                    float lo, float hi, uint64_t seed, uint64_t offset, float* out);
// out[i, :] = unit vector along the normal stream at (seed, offset + i*d + j).
void unit_directions(const Exec& ex, int64_t n, int64_t d, uint64_t seed, uint64_t offset,
                     float* out);

// ---- 6. optimizers -----------------------------------------------------------------------------
// Over flat float32 buffers of length n; the caller owns the state. step is the number of steps
// already taken (0 before the first); the caller increments it after the call.
// SGD (PyTorch semantics): g = grad + wd p; if momentum != 0: buf = (step == 0 ? g :
// momentum buf + (1 - dampening) g); g = nesterov ? g + momentum buf : buf; p -= lr g.
struct SgdOptions {
  float lr, momentum, dampening, weight_decay;
  bool nesterov;
};
void sgd_step(const Exec& ex, float* params, const float* grad, float* momentum_buf, int64_t n,
              const SgdOptions& o, int64_t step);
// Adam / AdamW with bias correction (PyTorch semantics), t = step + 1:
// Adam: g = grad + wd p.  AdamW: p *= 1 - lr wd.
// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
// p -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
struct AdamOptions {
  float lr, beta1, beta2, eps, weight_decay;
  bool decoupled;  // AdamW
};
void adam_step(const Exec& ex, float* params, const float* grad, float* m, float* v, int64_t n,
               const AdamOptions& o, int64_t step);

// ---- 7. black-box gradient estimate -----------------------------------------------------------
// For b samples with q antithetic queries each: f_plus, f_minus [b, q] (scores of x ± σ u_i),
// u [b, q, d]. out[s, :] = Σ_i (f_plus[s,i] - f_minus[s,i]) u[s,i,:] / (2 σ q).
void gradient_estimate(const Exec& ex, const float* f_plus, const float* f_minus, const float* u,
                       int64_t b, int64_t q, int64_t d, float sigma, float* out);

// ---- 8. ROC ------------------------------------------------------------------------------------
// Scores with binary labels (1 = positive), at least one of each. Sorted by score descending; the
// curve has a point (FPR, TPR) after each distinct score (thresholds are those scores, "predict
// positive when score >= threshold"), starting at (0, 0). AUC is the trapezoid area under it,
// which equals the Mann-Whitney statistic with ties counted 1/2. TPR at a requested FPR f is the
// linear interpolation of the curve at f; where the curve is vertical at f, the highest TPR there.
// The curve arrays must hold n + 1 entries; the number of points written is returned.
struct RocResult {
  double auc;
  int64_t points;
};
RocResult roc(const Exec& ex, const float* scores, const uint8_t* labels, int64_t n,
              const double* fpr_targets, int64_t n_targets, double* tpr_at, double* curve_fpr,
              double* curve_tpr, double* curve_threshold);

// ---- memory bandwidth -------------------------------------------------------------------------
// The device's copy bandwidth in GB/s (bytes read + bytes written per second, 1 GB = 1e9 bytes):
// the best of `repeats` copies of `bytes` between two buffers it allocates, with ex.threads CPU
// threads or cudaMemcpy device to device. The floor a memory-bound kernel is measured against.
double copy_bandwidth(const Exec& ex, int64_t bytes, int repeats);

// ---- capabilities ------------------------------------------------------------------------------
struct CudaInfo {
  bool compiled;      // built with ONNX_AUDIT_CUDA
  bool available;     // a device answered
  std::string device; // its name
  std::string reason; // why not, when not
  int runtime_version, driver_version;
};
CudaInfo cuda_info();

}  // namespace oa
