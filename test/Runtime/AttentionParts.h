//===- AttentionParts.h - K/V cut into parts for the attention tests ------===//
//
// Params::parts (tfcrt_attention_parts_*: a ring KV cache read in place):
// splitKv copies a problem's K/V rows (f32, f16 bits or int8 codes with
// their scales) into four buffers of their own, each with other strides and
// alignment than the original (rows padded, unit or transposed along d as
// the original is), so a test can run the same call on the parts and
// compare it with the contiguous one and with attn::naive.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TEST_RUNTIME_ATTENTIONPARTS_H
#define TFC_TEST_RUNTIME_ATTENTIONPARTS_H

#include "Attention/Attention.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace tfcrt::attn::test {

/// Cuts at keys cut[0] <= cut[1] <= cut[2]: part 0 holds the sink keys
/// (min(sinks, t); 0 keys without sinks, as a ring without sink slots),
/// the rest is cut unevenly, never on a tile boundary of t = 64 or 256.
inline void partCuts(const Params &p, int64_t cut[3]) {
  const int64_t t = p.t, s0 = std::min(p.sinks, t);
  cut[0] = s0;
  cut[1] = s0 + (t - s0) * 2 / 5 + ((t - s0) > 3 ? 1 : 0);
  cut[2] = std::min(t, cut[1] + (t - cut[1]) * 3 / 4 + 1);
}

/// p with its K/V (and int8 scales) copied into four parts cut at `cut`;
/// the copies live in `store`.
inline Params splitKv(const Params &p, const int64_t cut[3],
                      std::vector<std::vector<char>> &store) {
  using Kv = Params::KvType;
  Params r = p;
  const int64_t es = p.kvBytes();
  const int64_t bounds[5] = {0, cut[0], cut[1], cut[2], p.t};
  r.nparts = Params::kMaxParts;
  store.reserve(store.size() + 16);
  for (int i = 0; i < Params::kMaxParts; ++i) {
    Params::KvPart &x = r.parts[i];
    x.j0 = bounds[i];
    x.t = bounds[i + 1] - bounds[i];
    const int64_t pad = 1 + 2 * i, off = 3 + i; // elements
    for (int isV = 0; isV < 2; ++isV) {
      const char *src = static_cast<const char *>(
          p.kv == Kv::F32 ? static_cast<const void *>(isV ? p.v : p.k)
                          : (isV ? p.vq : p.kq));
      const int64_t *ss = isV ? p.vs : p.ks;
      const int64_t dd = isV ? p.dv : p.d;
      int64_t st[4];
      if (ss[3] == 1) { // [b][hkv][t][dd + pad]
        st[3] = 1;
        st[2] = dd + pad;
        st[1] = x.t * st[2];
      } else { // [b][hkv][dd][t + pad]
        st[2] = 1;
        st[3] = x.t + pad;
        st[1] = dd * st[3];
      }
      st[0] = p.hkv * st[1];
      store.emplace_back(static_cast<size_t>((off + p.b * st[0]) * es + 64));
      char *dst = store.back().data() + off * es;
      for (int64_t b = 0; b < p.b; ++b)
        for (int64_t g = 0; g < p.hkv; ++g)
          for (int64_t j = 0; j < x.t; ++j)
            for (int64_t c = 0; c < dd; ++c)
              std::memcpy(
                  dst + (b * st[0] + g * st[1] + j * st[2] + c * st[3]) * es,
                  src +
                      (b * ss[0] + g * ss[1] + (x.j0 + j) * ss[2] + c * ss[3]) *
                          es,
                  static_cast<size_t>(es));
      if (p.kv == Kv::F32)
        (isV ? x.v : x.k) = reinterpret_cast<const float *>(dst);
      else
        (isV ? x.vq : x.kq) = dst;
      std::copy(st, st + 4, isV ? x.vs : x.ks);
      if (p.kv != Kv::I8)
        continue;
      // Scales [b][hkv][t + 1].
      const float *sSrc = isV ? p.vScale : p.kScale;
      const int64_t *sss = isV ? p.vss : p.kss;
      const int64_t sst[3] = {p.hkv * (x.t + 1), x.t + 1, 1};
      store.emplace_back(static_cast<size_t>((1 + p.b * sst[0]) * 4 + 64));
      float *sDst = reinterpret_cast<float *>(store.back().data()) + 1;
      for (int64_t b = 0; b < p.b; ++b)
        for (int64_t g = 0; g < p.hkv; ++g)
          for (int64_t j = 0; j < x.t; ++j)
            sDst[b * sst[0] + g * sst[1] + j] =
                sSrc[b * sss[0] + g * sss[1] + (x.j0 + j) * sss[2]];
      (isV ? x.vScale : x.kScale) = sDst;
      std::copy(sst, sst + 3, isV ? x.vss : x.kss);
    }
  }
  // Nothing may read the contiguous K/V any more.
  r.k = r.v = nullptr;
  r.kq = r.vq = nullptr;
  r.kScale = r.vScale = nullptr;
  return r;
}

} // namespace tfcrt::attn::test

#endif // TFC_TEST_RUNTIME_ATTENTIONPARTS_H
