// Batch normalisation in training mode (Ioffe & Szegedy 2015) over the last axis of a
// channels-last tensor seen as M rows × C channels, fused with an optional residual add and ReLU:
//   y = act(γ·(x − μ)/√(σ² + ε) + β + r),  μ, σ² the batch's biased moments per channel.
// Backward, with dz = dy·[y > 0] (ReLU) or dy, x̂ = (x − μ)/√(σ² + ε):
//   dβ = Σ dz,  dγ = Σ dz·x̂,  dx = γ/(M·√(σ² + ε))·(M·dz − dβ − x̂·dγ),  dr = dz.
//
// Layout trick: the data are walked as "strips" of W = lcm(C, 16) values (C itself when that is
// large), so the vector loops are 16 floats wide even for 8 channels; per-channel constants are
// repeated across the strip. Sums run in float over blocks of strips, then in double, per thread
// over fixed ranges, and are added in thread order: a given thread count always gives the same bits.
#include "norm.h"

#include <omp.h>

#include <cmath>
#include <numeric>
#include <vector>

namespace tomosort {
namespace {

/** Strip width for C channels. */
int64_t stripWidth(int64_t C) {
  if (C % 16 == 0) return C;
  const int64_t l = std::lcm(C, static_cast<int64_t>(16));
  return l <= 256 ? l : C;
}

/** Per-channel values repeated over a strip of W. */
std::vector<float> repeat(const std::vector<float>& v, int64_t W) {
  std::vector<float> out(W);
  const int64_t C = static_cast<int64_t>(v.size());
  for (int64_t j = 0; j < W; j++) out[j] = v[j % C];
  return out;
}

/** Threads for a pass over n values: one for small tensors, where forking costs more than it saves. */
int threadsFor(int64_t n) { return n < (1 << 15) ? 1 : omp_get_max_threads(); }

/**
 * K per-channel sums over S strips of W: `body(strip, accumulators)` adds its strip's K·W terms
 * into float accumulators [K][W]. Returns double sums [K][C].
 */
template <int K, typename Body>
std::vector<double> stripSums(int64_t S, int64_t W, int64_t C, Body body) {
  const int T = threadsFor(S * W);
  std::vector<double> part(static_cast<size_t>(T) * K * W, 0.0);
  int used = 1;
#pragma omp parallel num_threads(T)
  {
    const int t = omp_get_thread_num();
    const int nt = omp_get_num_threads();
    if (t == 0) used = nt;
    const int64_t s0 = S * t / nt, s1 = S * (t + 1) / nt;
    double* acc = &part[static_cast<size_t>(t) * K * W];
    std::vector<float> block(static_cast<size_t>(K) * W);
    constexpr int64_t kBlock = 64;  // strips summed in float before joining the double total
    for (int64_t b = s0; b < s1; b += kBlock) {
      std::fill(block.begin(), block.end(), 0.f);
      const int64_t e = std::min(s1, b + kBlock);
      for (int64_t s = b; s < e; s++) body(s, block.data());
      for (int64_t i = 0; i < K * W; i++) acc[i] += block[i];
    }
  }
  std::vector<double> out(static_cast<size_t>(K) * C, 0.0);
  for (int t = 0; t < used; t++)
    for (int k = 0; k < K; k++)
      for (int64_t j = 0; j < W; j++) out[k * C + j % C] += part[(static_cast<size_t>(t) * K + k) * W + j];
  return out;
}

}  // namespace

void batchNormTrain(Args& a) {
  // (heap, x, scale, offset, residual, y, mean, variance, M, C, epsilon, relu)
  a.heap(0);
  const int64_t M = a.integer(8), C = a.integer(9);
  if (M < 1 || C < 1) a.fail("empty input");
  const double eps = a.number(10);
  const bool relu = a.flag(11);
  const int64_t n = M * C;
  const float* x = a.f32(1, n);
  const float* scale = a.f32(2, C);
  const float* offset = a.f32(3, C);
  const float* res = a.f32(4, n, true);
  float* y = a.f32(5, n);
  float* mean = a.f32(6, C);
  float* var = a.f32(7, C);

  const int64_t W = stripWidth(C);
  const int64_t S = n / W;  // whole strips; the rest (a multiple of C) is done value by value
  // One pass: Σ (x − k) and Σ (x − k)² around k = the first row (shifted sums keep the variance exact enough).
  std::vector<float> shift(x, x + C);
  const std::vector<float> kW = repeat(shift, W);
  const float* pk = kW.data();
  std::vector<double> sums = stripSums<2>(S, W, C, [&](int64_t s, float* acc) {
    const float* xs = x + s * W;
#pragma omp simd
    for (int64_t j = 0; j < W; j++) {
      const float d = xs[j] - pk[j];
      acc[j] += d;
      acc[W + j] += d * d;
    }
  });
  for (int64_t i = S * W; i < n; i++) {
    const double d = static_cast<double>(x[i]) - shift[i % C];
    sums[i % C] += d;
    sums[C + i % C] += d * d;
  }
  std::vector<float> mul(C), add(C);
  for (int64_t c = 0; c < C; c++) {
    const double m1 = sums[c] / static_cast<double>(M);
    const double v = std::max(0.0, sums[C + c] / static_cast<double>(M) - m1 * m1);
    const double mu = shift[c] + m1;
    mean[c] = static_cast<float>(mu);
    var[c] = static_cast<float>(v);
    const double inv = 1.0 / std::sqrt(v + eps);
    mul[c] = static_cast<float>(scale[c] * inv);
    add[c] = static_cast<float>(offset[c] - mu * scale[c] * inv);
  }
  const std::vector<float> mW = repeat(mul, W), aW = repeat(add, W);
  const float *pm = mW.data(), *pa = aW.data();
  auto write = [&](int64_t i0, int64_t count, int64_t j0) {
#pragma omp simd
    for (int64_t j = 0; j < count; j++) {
      float v = x[i0 + j] * pm[j0 + j] + pa[j0 + j];
      if (res) v += res[i0 + j];
      y[i0 + j] = relu ? (v > 0.f ? v : 0.f) : v;
    }
  };
#pragma omp parallel for schedule(static) num_threads(threadsFor(n))
  for (int64_t s = 0; s < S; s++) write(s * W, W, 0);
  if (S * W < n) write(S * W, n - S * W, 0);
}

void batchNormTrainGrad(Args& a) {
  // (heap, dy, x, scale, mean, variance, y, dx, dscale, doffset, dz, M, C, epsilon, relu)
  a.heap(0);
  const int64_t M = a.integer(11), C = a.integer(12);
  if (M < 1 || C < 1) a.fail("empty input");
  const double eps = a.number(13);
  const bool relu = a.flag(14);
  const int64_t n = M * C;
  const float* dy = a.f32(1, n);
  const float* x = a.f32(2, n);
  const float* scale = a.f32(3, C);
  const float* mean = a.f32(4, C);
  const float* var = a.f32(5, C);
  const float* y = relu ? a.f32(6, n) : nullptr;
  float* dx = a.f32(7, n);
  float* dscale = a.f32(8, C);
  float* doffset = a.f32(9, C);
  float* dz = a.f32(10, n, true);

  const int64_t W = stripWidth(C);
  const int64_t S = n / W;
  const std::vector<float> muW = repeat(std::vector<float>(mean, mean + C), W);
  const float* pmu = muW.data();
  // sums[0..C) = Σ dz, sums[C..2C) = Σ dz·(x − μ)
  std::vector<double> sums = stripSums<2>(S, W, C, [&](int64_t s, float* acc) {
    const float* g = dy + s * W;
    const float* xs = x + s * W;
    const float* ys = y ? y + s * W : nullptr;
#pragma omp simd
    for (int64_t j = 0; j < W; j++) {
      const float d = ys && !(ys[j] > 0.f) ? 0.f : g[j];
      acc[j] += d;
      acc[W + j] += d * (xs[j] - pmu[j]);
    }
  });
  for (int64_t i = S * W; i < n; i++) {
    const float d = y && !(y[i] > 0.f) ? 0.f : dy[i];
    sums[i % C] += d;
    sums[C + i % C] += static_cast<double>(d) * (x[i] - mean[i % C]);
  }
  std::vector<float> k1(C), k2(C), k3(C);
  for (int64_t c = 0; c < C; c++) {
    const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    const double dbeta = sums[c];
    const double dgamma = sums[C + c] * inv;
    doffset[c] = static_cast<float>(dbeta);
    dscale[c] = static_cast<float>(dgamma);
    // dx = k1·dz − k2 − k3·(x − μ)
    const double s = scale[c] * inv;
    k1[c] = static_cast<float>(s);
    k2[c] = static_cast<float>(s * dbeta / static_cast<double>(M));
    k3[c] = static_cast<float>(s * dgamma * inv / static_cast<double>(M));
  }
  const std::vector<float> k1W = repeat(k1, W), k2W = repeat(k2, W), k3W = repeat(k3, W);
  const float *p1 = k1W.data(), *p2 = k2W.data(), *p3 = k3W.data();
  auto write = [&](int64_t i0, int64_t count) {
#pragma omp simd
    for (int64_t j = 0; j < count; j++) {
      const int64_t i = i0 + j;
      const float d = y && !(y[i] > 0.f) ? 0.f : dy[i];
      dx[i] = p1[j] * d - p2[j] - p3[j] * (x[i] - pmu[j]);
      if (dz) dz[i] = d;
    }
  };
#pragma omp parallel for schedule(static) num_threads(threadsFor(n))
  for (int64_t s = 0; s < S; s++) write(s * W, W);
  if (S * W < n) write(S * W, n - S * W);
}

}  // namespace tomosort
