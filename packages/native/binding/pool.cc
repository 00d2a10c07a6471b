// Max and average pooling, forward and backward, 2D (depth 1) and 3D, channels-last, with the
// semantics of tfjs' cpu backend (the reference the tests compare against):
// - max: padding never wins; the gradient goes to the first (row-major) strict maximum of each
//   window; a window whose values are all −∞ passes none;
// - average forward divides by the number of in-bounds values; average backward spreads dy with
//   the constant 1/(fd·fh·fw), as tfjs' AvgPoolGrad / AvgPool3DGrad do.
#include "pool.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace tomosort {
namespace {

struct Pool {
  int64_t N, C, iD, iH, iW, oD, oH, oW, fD, fH, fW, sD, sH, sW, pF, pT, pL, dD, dH, dW;
  int64_t inSize() const { return N * iD * iH * iW * C; }
  int64_t outSize() const { return N * oD * oH * oW * C; }
};

Pool parse(const Args& a, const std::vector<int64_t>& p) {
  if (p.size() != 20) a.fail("params must hold 20 integers");
  Pool g{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16], p[17], p[18], p[19]};
  if (g.N < 1 || g.C < 1 || g.oD < 1 || g.oH < 1 || g.oW < 1) a.fail("empty tensor");
  return g;
}

/** In-bounds window positions along one axis: [lo, hi) stepping by the dilation. */
inline void range(int64_t o, int64_t s, int64_t pad, int64_t f, int64_t d, int64_t in, int64_t& lo, int64_t& hi) {
  lo = o * s - pad;
  hi = lo + (f - 1) * d + 1;
  if (lo < 0) lo += ((-lo + d - 1) / d) * d;  // first in-bounds tap on the dilation grid
  hi = std::min(hi, in);
}

template <bool Max>
void forward(const Pool& g, const float* x, float* y) {
  const int64_t C = g.C;
#pragma omp parallel for collapse(3) schedule(static)
  for (int64_t n = 0; n < g.N; n++)
    for (int64_t od = 0; od < g.oD; od++)
      for (int64_t oh = 0; oh < g.oH; oh++) {
        int64_t d0, d1, h0, h1;
        range(od, g.sD, g.pF, g.fD, g.dD, g.iD, d0, d1);
        range(oh, g.sH, g.pT, g.fH, g.dH, g.iH, h0, h1);
        for (int64_t ow = 0; ow < g.oW; ow++) {
          int64_t w0, w1;
          range(ow, g.sW, g.pL, g.fW, g.dW, g.iW, w0, w1);
          float* out = y + (((n * g.oD + od) * g.oH + oh) * g.oW + ow) * C;
          for (int64_t c = 0; c < C; c++) out[c] = Max ? -std::numeric_limits<float>::infinity() : 0.f;
          int64_t count = 0;
          for (int64_t id = d0; id < d1; id += g.dD)
            for (int64_t ih = h0; ih < h1; ih += g.dH)
              for (int64_t iw = w0; iw < w1; iw += g.dW) {
                const float* in = x + (((n * g.iD + id) * g.iH + ih) * g.iW + iw) * C;
                if (Max) {
                  for (int64_t c = 0; c < C; c++) out[c] = in[c] > out[c] ? in[c] : out[c];
                } else {
#pragma omp simd
                  for (int64_t c = 0; c < C; c++) out[c] += in[c];
                }
                count++;
              }
          if (!Max) {
            const float inv = 1.f / static_cast<float>(count);
            for (int64_t c = 0; c < C; c++) out[c] = count ? out[c] * inv : std::numeric_limits<float>::quiet_NaN();
          }
        }
      }
}

/** Scatters each output's gradient; parallel over (batch, channel block), so no two threads write one element. */
template <bool Max>
void backward(const Pool& g, const float* dy, const float* x, float* dx) {
  const int64_t C = g.C;
  const int64_t B = 16;
  const int64_t blocks = (C + B - 1) / B;
  std::memset(dx, 0, sizeof(float) * g.inSize());
  const float mult = 1.f / static_cast<float>(g.fD * g.fH * g.fW);
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < g.N; n++)
    for (int64_t cb = 0; cb < blocks; cb++) {
      const int64_t c0 = cb * B, c1 = std::min(C, c0 + B);
      float best[B];
      int64_t at[B];
      for (int64_t od = 0; od < g.oD; od++) {
        int64_t d0, d1;
        range(od, g.sD, g.pF, g.fD, g.dD, g.iD, d0, d1);
        for (int64_t oh = 0; oh < g.oH; oh++) {
          int64_t h0, h1;
          range(oh, g.sH, g.pT, g.fH, g.dH, g.iH, h0, h1);
          for (int64_t ow = 0; ow < g.oW; ow++) {
            int64_t w0, w1;
            range(ow, g.sW, g.pL, g.fW, g.dW, g.iW, w0, w1);
            const float* go = dy + (((n * g.oD + od) * g.oH + oh) * g.oW + ow) * C;
            if (Max) {
              for (int64_t c = c0; c < c1; c++) {
                best[c - c0] = -std::numeric_limits<float>::infinity();
                at[c - c0] = -1;
              }
            }
            for (int64_t id = d0; id < d1; id += g.dD)
              for (int64_t ih = h0; ih < h1; ih += g.dH)
                for (int64_t iw = w0; iw < w1; iw += g.dW) {
                  const int64_t base = (((n * g.iD + id) * g.iH + ih) * g.iW + iw) * C;
                  if (Max) {
                    const float* in = x + base;
                    for (int64_t c = c0; c < c1; c++)
                      if (in[c] > best[c - c0]) {
                        best[c - c0] = in[c];
                        at[c - c0] = base + c;
                      }
                  } else {
                    float* gi = dx + base;
                    for (int64_t c = c0; c < c1; c++) gi[c] += go[c] * mult;
                  }
                }
            if (Max)
              for (int64_t c = c0; c < c1; c++)
                if (at[c - c0] >= 0) dx[at[c - c0]] += go[c];
          }
        }
      }
    }
}

}  // namespace

void pool(PoolKind kind, Args& a) {
  a.heap(1);
  const Pool g = parse(a, a.ints(2));
  switch (kind) {
    case PoolKind::MaxForward:
      forward<true>(g, a.f32(3, g.inSize()), a.f32(5, g.outSize()));
      break;
    case PoolKind::AvgForward:
      forward<false>(g, a.f32(3, g.inSize()), a.f32(5, g.outSize()));
      break;
    case PoolKind::MaxBackward:
      backward<true>(g, a.f32(3, g.outSize()), a.f32(4, g.inSize()), a.f32(5, g.inSize()));
      break;
    case PoolKind::AvgBackward:
      backward<false>(g, a.f32(3, g.outSize()), nullptr, a.f32(5, g.inSize()));
      break;
  }
}

}  // namespace tomosort
