// Adam and batched matrix products.
#include "dense.h"

#include <omp.h>

#include <cmath>
#include <oneapi/dnnl/dnnl.h>

namespace tomosort {

void adam(Args& a) {
  a.heap(0);
  const int64_t n = a.integer(8);
  const float* v = a.f32(1, n);
  const float* m = a.f32(2, n);
  const float* s = a.f32(3, n);
  const float* g = a.f32(4, n);
  float* vo = a.f32(5, n);
  float* mo = a.f32(6, n);
  float* so = a.f32(7, n);
  const float lr = static_cast<float>(a.number(9));
  const float b1 = static_cast<float>(a.number(10));
  const float b2 = static_cast<float>(a.number(11));
  const float eps = static_cast<float>(a.number(12));
  const double t = a.number(13);
  const float wd = static_cast<float>(a.number(14));
  const float c1 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(b1), t)));
  const float c2 = static_cast<float>(1.0 / (1.0 - std::pow(static_cast<double>(b2), t)));
#pragma omp parallel for simd schedule(static)
  for (int64_t i = 0; i < n; i++) {
    const float gi = g[i];
    const float mi = b1 * m[i] + (1.f - b1) * gi;
    const float si = b2 * s[i] + (1.f - b2) * gi * gi;
    const float update = (mi * c1) / (std::sqrt(si * c2) + eps) + wd * v[i];
    mo[i] = mi;
    so[i] = si;
    vo[i] = v[i] - lr * update;
  }
}

void matMul(Args& a) {
  a.heap(0);
  const int64_t batch = a.integer(4), batchA = a.integer(5), batchB = a.integer(6);
  const int64_t M = a.integer(7), N = a.integer(8), K = a.integer(9);
  const bool ta = a.flag(10), tb = a.flag(11);
  if ((batchA != 1 && batchA != batch) || (batchB != 1 && batchB != batch)) a.fail("batch sizes must be 1 or the batch");
  const float* A = a.f32(1, batchA * M * K);
  const float* B = a.f32(2, batchB * K * N);
  float* out = a.f32(3, batch * M * N);
  for (int64_t i = 0; i < batch; i++) {
    const float* ai = A + (batchA == 1 ? 0 : i) * M * K;
    const float* bi = B + (batchB == 1 ? 0 : i) * K * N;
    const dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, 1.f, ai, ta ? M : K, bi, tb ? K : N, 0.f, out + i * M * N, N);
    if (st != dnnl_success) a.fail("dnnl_sgemm failed with status " + std::to_string(static_cast<int>(st)));
  }
}

}  // namespace tomosort

namespace tomosort {

namespace {
template <typename F>
void elementwise(const float* x, const float* y, float* out, int64_t n, bool xScalar, bool yScalar, F f) {
  const int T = n < (1 << 16) ? 1 : omp_get_max_threads();
  if (xScalar) {
    const float x0 = x[0];
#pragma omp parallel for simd schedule(static) num_threads(T)
    for (int64_t i = 0; i < n; i++) out[i] = f(x0, y[i]);
  } else if (yScalar) {
    const float y0 = y[0];
#pragma omp parallel for simd schedule(static) num_threads(T)
    for (int64_t i = 0; i < n; i++) out[i] = f(x[i], y0);
  } else {
#pragma omp parallel for simd schedule(static) num_threads(T)
    for (int64_t i = 0; i < n; i++) out[i] = f(x[i], y[i]);
  }
}
}  // namespace

void binary(Args& a) {
  // (op, heap, a, b, out, n, aScalar, bScalar)
  const int64_t op = a.integer(0);
  a.heap(1);
  const int64_t n = a.integer(5);
  const bool as = a.flag(6), bs = a.flag(7);
  const float* x = a.f32(2, as ? 1 : n);
  const float* y = a.f32(3, bs ? 1 : n);
  float* out = a.f32(4, n);
  switch (op) {
    case 0: elementwise(x, y, out, n, as, bs, [](float p, float q) { return p + q; }); break;
    case 1: elementwise(x, y, out, n, as, bs, [](float p, float q) { return p * q; }); break;
    case 2: elementwise(x, y, out, n, as, bs, [](float p, float q) { return p - q; }); break;
    default: a.fail("op must be 0 (add), 1 (multiply) or 2 (subtract)");
  }
}

}  // namespace tomosort
