//===- AttentionGeneric.cpp - portable attention + the naive oracle -------===//
//
// `block` is the flash algorithm in plain C++ over the same row blocks and
// tiles as the ISA levels (the reference they are tested against, and the
// fallback without AVX2): lanes are the innermost loops, with a constant
// count, so the compiler vectorizes them for the baseline ISA (exp included:
// expPoly). One function serves both prefill and decode shapes.
//
// `naive` is the contract taken literally in double precision (quantized
// K/V read element by element through kvAt): every score
// row [t] materialized, masked element by element, softmax, times v. Only the
// tests use it.
//
//===----------------------------------------------------------------------===//

#include "Attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace tfcrt {
namespace attn {
namespace {

constexpr int kLanes = 16;
constexpr int kKeyTile = 32;

void block(const Params &p, const RowBlock &rb, int64_t ja, int64_t jb,
           const Partial *partial) {
  // A fixed lane count (lanes past rb.lanes() compute on zeros and are
  // never written), so that every lane loop has a constant trip count.
  constexpr int W = kLanes;
  const int lanes = rb.lanes();
  const int64_t d = p.d, dv = p.dv;
  float *qT = scratch(d * W + dv * W + kKeyTile * W);
  float *oT = qT + d * W;  // [dv][W]
  float *sT = oT + dv * W; // [kKeyTile][W]
  float m[W], l[W], alpha[W], ref[W];

  const float *addRow[W] = {};
  for (int L = 0; L < W; ++L) {
    m[L] = -INFINITY;
    l[L] = 0;
    if (L >= lanes) {
      for (int64_t c = 0; c < d; ++c)
        qT[c * W + L] = 0.0f;
      continue;
    }
    const int64_t h = rb.h0 + L / rb.nq, i = rb.i0 + L % rb.nq;
    const float *qr = p.q + rb.b * p.qs[0] + h * p.qs[1] + i * p.qs[2];
    for (int64_t c = 0; c < d; ++c)
      qT[c * W + L] = p.scale * qr[c * p.qs[3]];
    if (p.add)
      addRow[L] = p.add + rb.b * p.addS[0] + h * p.addS[1] + i * p.addS[2];
  }
  std::fill(oT, oT + dv * W, 0.0f);
  const float *kb = p.k + rb.b * p.ks[0] + rb.g * p.ks[1];
  const float *vb = p.v + rb.b * p.vs[0] + rb.g * p.vs[1];

  uint64_t tileBits[kMaxLanes];
  for (int64_t t0 = ja; t0 < jb; t0 += kKeyTile) {
    const Tile tile =
        tileMask(p, rb, t0, std::min<int64_t>(kKeyTile, jb - t0), tileBits);
    const TileMask tm = tile.mask;
    if (tm == TileMask::Skip)
      continue;
    // Keys [j0, j0 + nk) of the tile; bits[jj] is key j0 + jj's.
    const int64_t j0 = t0 + tile.lo, nk = tile.hi - tile.lo;
    const uint64_t *bits = tileBits + tile.lo;
    // Scores [nk][W], masked.
    for (int64_t jj = 0; jj < nk; ++jj) {
      const int64_t j = j0 + jj;
      const float *kr = kb + j * p.ks[2];
      float srow[W] = {};
      for (int64_t c = 0; c < d; ++c) {
        const float kc = kr[c * p.ks[3]];
        const float *qc = qT + c * W;
        for (int L = 0; L < W; ++L)
          srow[L] += qc[L] * kc;
      }
      for (int L = 0; L < lanes; ++L) {
        if (tm == TileMask::Bits && !((bits[jj] >> L) & 1))
          srow[L] = -INFINITY;
        else if (p.add)
          srow[L] += addRow[L][j * p.addS[3]];
      }
      std::copy(srow, srow + W, sT + jj * W);
    }
    // Online softmax: new max, rescale factor, probabilities.
    float mx[W], sum[W] = {};
    std::copy(m, m + W, mx);
    for (int64_t jj = 0; jj < nk; ++jj)
      for (int L = 0; L < W; ++L)
        mx[L] = std::max(mx[L], sT[jj * W + L]);
    for (int L = 0; L < W; ++L) {
      // A lane that has seen only -inf keeps exp(x - 0) = 0 for them.
      ref[L] = mx[L] == -INFINITY ? 0.0f : mx[L];
      alpha[L] = expPoly(m[L] - ref[L]);
      m[L] = mx[L];
    }
    for (int64_t jj = 0; jj < nk; ++jj)
      for (int L = 0; L < W; ++L) {
        float &e = sT[jj * W + L];
        e = expPoly(e - ref[L]);
        sum[L] += e;
      }
    for (int L = 0; L < W; ++L)
      l[L] = l[L] * alpha[L] + sum[L];
    // O^T [dv][W] = alpha * O^T + V^T P^T.
    for (int64_t c = 0; c < dv; ++c) {
      float o[W];
      for (int L = 0; L < W; ++L)
        o[L] = oT[c * W + L] * alpha[L];
      for (int64_t jj = 0; jj < nk; ++jj) {
        const float vc = vb[(j0 + jj) * p.vs[2] + c * p.vs[3]];
        const float *pr = sT + jj * W;
        for (int L = 0; L < W; ++L)
          o[L] += pr[L] * vc;
      }
      std::copy(o, o + W, oT + c * W);
    }
  }
  finishBlock(p, rb, m, l, oT, /*accLaneStride=*/1, /*accColStride=*/W,
              partial);
}

} // namespace

namespace {
#define TFC_SINK_TARGET
#include "SinkChunk.inc"
#undef TFC_SINK_TARGET
} // namespace

const Kernels &kernelsGeneric() {
  static const Kernels k = {"generic",         kLanes,    kKeyTile, &block,
                            /*decodeLanes=*/8, kKeyTile,  &block,   nullptr,
                            nullptr,           &sinkChunk};
  return k;
}

void naive(const Params &p, double *out) {
  const int64_t group = p.group();
  std::vector<double> scores(p.s * p.t); // one [s, t] matrix per (b, h)
  std::vector<double> acc(p.dv);
  for (int64_t b = 0; b < p.b; ++b)
    for (int64_t h = 0; h < p.hq; ++h) {
      const int64_t g = h / group;
      for (int64_t i = 0; i < p.s; ++i)
        for (int64_t j = 0; j < p.t; ++j) {
          // A sink key this row sees only as a sink scores with the sink
          // query (tfcrt_attention_sq_f32).
          const bool sinkOnly = p.qSink && p.window > 0 && j < p.sinks &&
                                p.pos(i) - j >= p.window;
          const float *qr = sinkOnly
                                ? p.qSink + b * p.qSinkS[0] + h * p.qSinkS[1] +
                                      i * p.qSinkS[2]
                                : p.q + b * p.qs[0] + h * p.qs[1] + i * p.qs[2];
          const int64_t qc = sinkOnly ? p.qSinkS[3] : p.qs[3];
          double dot = 0;
          for (int64_t c = 0; c < p.d; ++c)
            dot += static_cast<double>(qr[c * qc]) * kvAt(p, false, b, g, j, c);
          double sc = dot * p.scale;
          if (!visible(p, b, h, i, j))
            sc = -INFINITY;
          else if (p.add)
            sc += p.add[b * p.addS[0] + h * p.addS[1] + i * p.addS[2] +
                        j * p.addS[3]];
          scores[i * p.t + j] = sc;
        }
      for (int64_t i = 0; i < p.s; ++i) {
        double *row = &scores[i * p.t];
        double mx = -INFINITY;
        for (int64_t j = 0; j < p.t; ++j)
          mx = std::max(mx, row[j]);
        double sum = 0;
        std::fill(acc.begin(), acc.end(), 0.0);
        if (mx != -INFINITY) {
          for (int64_t j = 0; j < p.t; ++j) {
            const double e = std::exp(row[j] - mx);
            sum += e;
            for (int64_t c = 0; c < p.dv; ++c)
              acc[c] += e * kvAt(p, true, b, g, j, c);
          }
        }
        double *o = out + ((b * p.hq + h) * p.s + i) * p.dv;
        for (int64_t c = 0; c < p.dv; ++c)
          o[c] = sum == 0 ? 0.0 : acc[c] / sum;
      }
    }
}

} // namespace attn
} // namespace tfcrt
