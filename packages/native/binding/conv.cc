// 2D and 3D convolutions (forward, backward data, backward weights) on oneDNN, over tfjs layouts:
// activations channels-last (NHWC / NDHWC), filters [k..., in, out] (HWIO / DHWIO). Activations
// are used in place; only the filter goes through a reorder into the layout the chosen
// implementation prefers (and the filter gradient back out of it). Primitives are cached by
// geometry and thread count.
#include "conv.h"

#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

#include "dnnl_context.h"

namespace tomosort {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Geometry {
  int nsp;  // spatial dimensions: 2 or 3
  memory::dims src, wei, dst, strides, dilates, padL, padR;
  /** The full input as stored (src may be a cropped view of it: see geometry()). */
  memory::dims stored;
  bool cropped = false;
};

// params: [nsp, N, IC, OC, in×3, kernel×3, out×3, stride×3, dilation×3, padL×3, padR×3]
Geometry geometry(const Args& a, const std::vector<int64_t>& p) {
  if (p.size() != 25) a.fail("params must hold 25 integers");
  const int nsp = static_cast<int>(p[0]);
  if (nsp != 2 && nsp != 3) a.fail("only 2D and 3D convolutions");
  Geometry g{nsp, {p[1], p[2]}, {p[3], p[2]}, {p[1], p[3]}, {}, {}, {}, {}, {}, false};
  for (int i = 0; i < nsp; i++) {
    g.src.push_back(p[4 + i]);
    g.wei.push_back(p[7 + i]);
    g.dst.push_back(p[10 + i]);
    g.strides.push_back(p[13 + i]);
    g.dilates.push_back(p[16 + i] - 1);  // oneDNN counts the gaps: 0 = dense
    g.padL.push_back(p[19 + i]);
    g.padR.push_back(p[22 + i]);
  }
  for (auto v : g.src) if (v <= 0) a.fail("empty input");
  for (auto v : g.dst) if (v <= 0) a.fail("empty output");
  // A negative trailing pad (trailing inputs no window reads, e.g. 1×1 / stride 2 on an even
  // size) is within oneDNN's rules, but its jit 1×1 kernels then overrun their scratch buffers.
  // Run on the view that excludes those rows, copied dense (a strided view gets only oneDNN's
  // reference kernels): entry->srcView → entry->src.
  g.stored = g.src;
  for (int i = 0; i < nsp; i++) {
    if (g.padR[i] < 0) {
      g.src[2 + i] += g.padR[i];
      g.padR[i] = 0;
      g.cropped = true;
    }
  }
  return g;
}

int64_t volume(const memory::dims& d) {
  int64_t n = 1;
  for (auto v : d) n *= v;
  return n;
}

tag activationTag(int nsp) { return nsp == 2 ? tag::nhwc : tag::ndhwc; }
tag filterTag(int nsp) { return nsp == 2 ? tag::hwio : tag::dhwio; }

/** The cropped input as a view over the strides of the stored tensor (channels-last). */
memory::desc croppedView(const Geometry& g) {
  const auto& d = g.stored;  // {N, C, spatial...}
  memory::dims strides(d.size());
  int64_t s = d[1];
  strides[1] = 1;
  for (int i = static_cast<int>(d.size()) - 1; i >= 2; i--) {
    strides[i] = s;
    s *= d[i];
  }
  strides[0] = s;
  return memory::desc(g.src, dt::f32, strides);
}

struct Entry {
  dnnl::primitive prim;
  memory::desc src, dst, bias, userWei, primWei;
  bool reorderWei = false;
  memory primWeiMem;       // the filter (or its gradient) in the primitive's layout
  memory::desc srcView;             // when cropped: the view of the stored input the conv reads
  memory srcDense;                  // when cropped: that view, dense
  dnnl::reorder srcCopy;            // view → dense (forward, weights) or dense → view (data)
  dnnl::reorder weiReorder;  // user → primitive (forward, backward data) or primitive → user (weights)
  std::string impl;
};

std::unordered_map<std::string, std::unique_ptr<Entry>>& cache() {
  static std::unordered_map<std::string, std::unique_ptr<Entry>> c;
  return c;
}

dnnl::convolution_forward::primitive_desc forwardPd(const Geometry& g, bool bias, bool relu) {
  auto& e = context().engine;
  const memory::desc src(g.src, dt::f32, activationTag(g.nsp));
  const memory::desc dst(g.dst, dt::f32, activationTag(g.nsp));
  const memory::desc wei(g.wei, dt::f32, tag::any);
  dnnl::primitive_attr attr;
  if (relu) {
    dnnl::post_ops ops;
    ops.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  if (bias) {
    const memory::desc b({g.dst[1]}, dt::f32, tag::a);
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, wei, b, dst, g.strides, g.dilates, g.padL, g.padR);
    return {d, attr, e};
  }
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, src, wei, dst, g.strides, g.dilates, g.padL, g.padR);
  return {d, attr, e};
}

std::unique_ptr<Entry> build(ConvKind kind, const Geometry& g, bool bias, bool relu) {
  auto& e = context().engine;
  auto entry = std::make_unique<Entry>();
  entry->src = memory::desc(g.src, dt::f32, activationTag(g.nsp));
  if (g.cropped) {
    entry->srcView = croppedView(g);
    entry->srcDense = memory(entry->src, e);
    entry->srcCopy = kind == ConvKind::BackwardData ? dnnl::reorder(dnnl::reorder::primitive_desc(e, entry->src, e, entry->srcView))
                                                   : dnnl::reorder(dnnl::reorder::primitive_desc(e, entry->srcView, e, entry->src));
  }
  entry->dst = memory::desc(g.dst, dt::f32, activationTag(g.nsp));
  entry->userWei = memory::desc(g.wei, dt::f32, filterTag(g.nsp));
  const auto fwd = forwardPd(g, bias && kind == ConvKind::Forward, relu && kind == ConvKind::Forward);
  switch (kind) {
    case ConvKind::Forward:
      entry->primWei = fwd.weights_desc();
      entry->bias = memory::desc({g.dst[1]}, dt::f32, tag::a);
      entry->prim = dnnl::convolution_forward(fwd);
      entry->impl = fwd.impl_info_str();
      break;
    case ConvKind::BackwardData: {
      const memory::desc wei(g.wei, dt::f32, tag::any);
      dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, entry->src, wei, entry->dst, g.strides, g.dilates, g.padL, g.padR);
      dnnl::convolution_backward_data::primitive_desc pd(d, e, fwd);
      entry->primWei = pd.weights_desc();
      entry->prim = dnnl::convolution_backward_data(pd);
      entry->impl = pd.impl_info_str();
      break;
    }
    case ConvKind::BackwardWeights: {
      const memory::desc wei(g.wei, dt::f32, tag::any);
      dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, entry->src, wei, entry->dst, g.strides, g.dilates, g.padL, g.padR);
      dnnl::convolution_backward_weights::primitive_desc pd(d, e, fwd);
      entry->primWei = pd.diff_weights_desc();
      entry->prim = dnnl::convolution_backward_weights(pd);
      entry->impl = pd.impl_info_str();
      break;
    }
  }
  entry->reorderWei = entry->primWei != entry->userWei;
  if (entry->reorderWei) {
    entry->primWeiMem = memory(entry->primWei, e);
    entry->weiReorder = kind == ConvKind::BackwardWeights ? dnnl::reorder(dnnl::reorder::primitive_desc(e, entry->primWei, e, entry->userWei))
                                                          : dnnl::reorder(dnnl::reorder::primitive_desc(e, entry->userWei, e, entry->primWei));
  }
  return entry;
}

std::string keyOf(ConvKind kind, const std::vector<int64_t>& p, bool bias, bool relu) {
  std::string k = std::to_string(static_cast<int>(kind)) + (bias ? "b" : "-") + (relu ? "r" : "-") + std::to_string(context().threads());
  for (auto v : p) k += "," + std::to_string(v);
  return k;
}

Entry& entryFor(ConvKind kind, const Geometry& g, const std::vector<int64_t>& p, bool bias, bool relu) {
  auto& c = cache();
  const std::string key = keyOf(kind, p, bias, relu);
  auto it = c.find(key);
  if (it == c.end()) it = c.emplace(key, build(kind, g, bias, relu)).first;
  return *it->second;
}

/** The conv's input memory: the tensor itself, or its cropped view copied dense. */
memory sourceIn(Entry& en, const Geometry& g, float* src) {
  auto& ctx = context();
  if (!g.cropped) return memory(en.src, ctx.engine, src);
  memory view(en.srcView, ctx.engine, src);
  en.srcCopy.execute(ctx.stream, view, en.srcDense);
  return en.srcDense;
}

}  // namespace

std::string convImplementation(ConvKind kind, const Args& a, const std::vector<int64_t>& params, bool bias, bool relu) {
  const Geometry g = geometry(a, params);
  return entryFor(kind, g, params, bias, relu).impl;
}

void conv(ConvKind kind, Args& a) {
  // (kind, heap, params, a, b, bias, out, relu)
  a.heap(1);
  const auto params = a.ints(2);
  const Geometry g = geometry(a, params);
  const bool relu = a.flag(7);
  const int64_t nSrc = volume(g.stored), nDst = volume(g.dst), nWei = volume(g.wei);
  auto& ctx = context();
  auto& e = ctx.engine;
  if (kind == ConvKind::Forward) {
    float* src = a.f32(3, nSrc);
    float* wei = a.f32(4, nWei);
    float* bias = a.f32(5, g.dst[1], true);
    float* dst = a.f32(6, nDst);
    Entry& en = entryFor(kind, g, params, bias != nullptr, relu);
    memory userWei(en.userWei, e, wei);
    if (en.reorderWei) en.weiReorder.execute(ctx.stream, userWei, en.primWeiMem);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, sourceIn(en, g, src)}, {DNNL_ARG_WEIGHTS, en.reorderWei ? en.primWeiMem : userWei}, {DNNL_ARG_DST, memory(en.dst, e, dst)}};
    if (bias) args.emplace(DNNL_ARG_BIAS, memory(en.bias, e, bias));
    en.prim.execute(ctx.stream, args);
  } else if (kind == ConvKind::BackwardData) {
    float* dy = a.f32(3, nDst);
    float* wei = a.f32(4, nWei);
    float* dx = a.f32(6, nSrc);
    Entry& en = entryFor(kind, g, params, false, false);
    if (g.cropped) std::memset(dx, 0, sizeof(float) * nSrc);  // the rows no window reads get no gradient
    memory userWei(en.userWei, e, wei);
    if (en.reorderWei) en.weiReorder.execute(ctx.stream, userWei, en.primWeiMem);
    en.prim.execute(ctx.stream, {{DNNL_ARG_DIFF_DST, memory(en.dst, e, dy)}, {DNNL_ARG_WEIGHTS, en.reorderWei ? en.primWeiMem : userWei}, {DNNL_ARG_DIFF_SRC, g.cropped ? en.srcDense : memory(en.src, e, dx)}});
    if (g.cropped) {
      memory view(en.srcView, e, dx);
      en.srcCopy.execute(ctx.stream, en.srcDense, view);
    }
  } else {
    float* src = a.f32(3, nSrc);
    float* dy = a.f32(4, nDst);
    float* dw = a.f32(6, nWei);
    Entry& en = entryFor(kind, g, params, false, false);
    memory userWei(en.userWei, e, dw);
    en.prim.execute(ctx.stream, {{DNNL_ARG_SRC, sourceIn(en, g, src)}, {DNNL_ARG_DIFF_DST, memory(en.dst, e, dy)}, {DNNL_ARG_DIFF_WEIGHTS, en.reorderWei ? en.primWeiMem : userWei}});
    if (en.reorderWei) en.weiReorder.execute(ctx.stream, en.primWeiMem, userWei);
  }
  ctx.stream.wait();
}

void clearConvCache() { cache().clear(); }

}  // namespace tomosort
