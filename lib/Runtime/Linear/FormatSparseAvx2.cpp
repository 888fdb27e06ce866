//===- FormatSparseAvx2.cpp - sparse formats on AVX2 + FMA ----------------===//
//
// AVX2 has no expand instruction: a MASK byte (8 columns) selects one of
// 256 permutations (an 8 KB table built once) for vpermps over an
// unaligned load of the next values, and the clear lanes (their table
// entries carry the sign bit) are zeroed: by vblendvps on AMD (one uop
// there), by an arithmetic shift and vandnps elsewhere (Intel's vblendvps
// is several uops on the ports the expansion binds on; Intel f6m207,
// 2026-12-06: gate_up 576 x 3072 at 70 %, one row, 209 -> 188 us on one
// thread, 107 -> 96 us on two); isa::Features::blendZero, TFCRT_BLEND.
// 2:4 uses vpermilps on x[4g .. 4g+4) broadcast to both 128-bit lanes.
// Few rows (1-2 per tile; 3-4 as two tiles): one panel after the other,
// masks and values prefetched 4 KB ahead (each one sequential stream).
// Many rows: viaDense with the F32 AVX2 kernel, or the MASK skip path
// (8 rows per ymm, up to 32 rows) on panels below skipDensityAvx2() (per
// CPU, FormatSparse.h).
//
//===----------------------------------------------------------------------===//

#include "SparseKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define TFC_AVX2 __attribute__((target("avx2,fma,popcnt,bmi")))

namespace tfcrt {
namespace linear {
namespace sparse {
namespace {

constexpr int64_t kStreamRows = 4;
constexpr int kSkipRows = 32;

thread_local GrowBuffer packedRows, skipAcc;

/// perm[b][l]: for a set bit l of byte b, the number of set bits below it;
/// for a clear bit, the sign bit alone. vpermps reads only bits 2:0 of an
/// index, and vblendvps only the sign bit (vpsrad by 31 spreads it to a
/// lane mask), so one table load serves both the permutation and the
/// zeroing of the clear lanes (an AND with a second table of lane masks
/// took one more load per 8 columns).
struct ExpandTable {
  alignas(32) int32_t perm[256][8];
  ExpandTable() {
    for (int b = 0; b < 256; ++b) {
      int at = 0;
      for (int l = 0; l < 8; ++l)
        perm[b][l] = (b >> l & 1) ? at++ : INT32_MIN;
    }
  }
};
const ExpandTable &expandTable() {
  static const ExpandTable t;
  return t;
}

/// The 8 columns of byte `mb` from the values at `v`; the clear lanes
/// zeroed by vblendvps (BLEND: AMD) or a shift and vandnps.
template <bool BLEND>
TFC_AVX2 inline __m256 expand8(const ExpandTable &t, unsigned mb,
                               const float *v) {
  const __m256i perm =
      _mm256_load_si256(reinterpret_cast<const __m256i *>(t.perm[mb]));
  const __m256 r = _mm256_permutevar8x32_ps(_mm256_loadu_ps(v), perm);
  if (BLEND)
    return _mm256_blendv_ps(r, _mm256_setzero_ps(), _mm256_castsi256_ps(perm));
  return _mm256_andnot_ps(_mm256_castsi256_ps(_mm256_srai_epi32(perm, 31)), r);
}

//===-- MASK --------------------------------------------------------------===//

/// Few rows (decode): how far ahead the values and masks are prefetched
/// (the panels of a blob are contiguous, so each is one sequential
/// stream). Measured on a Zen 5 with the AVX2 kernels, gate_up 576 x 3072
/// at 70 %, 2 threads: two concurrent panels without prefetch 96 us, one
/// panel 78, one panel with 4 KB prefetch 65 (8 KB: 67-69).
constexpr int kPrefetchValues = 1024; // floats (4 KB)
constexpr int kPrefetchMasks = 128;   // k rows (512 B)

/// The 32 columns of the mask row at `mb` (its 4 bytes read one by one)
/// from the values at `v`; returns how many values the row holds. Byte
/// loads and a running sum of byte popcounts take fewer integer uops than
/// extracting the bytes of a 32-bit mask and popcounting its low 8 / 16 /
/// 24 bits (the loop before): 3-4 % fewer cycles of the one-row tile on Zen 3,
/// where the cross-lane vpermps is a quarter to a third of them
/// (scripts/avx2_expand_probe.cpp).
template <bool BLEND>
TFC_AVX2 inline int expandRowBytes(const ExpandTable &t, const uint8_t *mb,
                                   const float *v, __m256 b[4]) {
  const unsigned m0 = mb[0], m1 = mb[1], m2 = mb[2], m3 = mb[3];
  const int o1 = __builtin_popcount(m0);
  const int o2 = o1 + __builtin_popcount(m1);
  const int o3 = o2 + __builtin_popcount(m2);
  b[0] = expand8<BLEND>(t, m0, v);
  b[1] = expand8<BLEND>(t, m1, v + o1);
  b[2] = expand8<BLEND>(t, m2, v + o2);
  b[3] = expand8<BLEND>(t, m3, v + o3);
  return o3 + __builtin_popcount(m3);
}

/// One k row of a tileMask: R rows' x values at `xp` times the row's 32
/// expanded columns into acc; advances the values pointer.
template <int R, bool BLEND>
TFC_AVX2 inline __attribute__((always_inline)) void
maskStep(const ExpandTable &t, const uint8_t *mb, const float *&v,
         const float *const *xp, __m256 (&acc)[R][4]) {
  __m256 b[4];
  v += expandRowBytes<BLEND>(t, mb, v, b);
  for (int i = 0; i < R; ++i) {
    const __m256 a = _mm256_broadcast_ss(xp[i]);
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c)
      acc[i][c] = _mm256_fmadd_ps(a, b[c], acc[i][c]);
  }
}

/// R rows (1-2) over one panel, two k rows a step into the same
/// accumulators. (Giving each of the two k rows its own accumulators
/// measured the same: the uops bind, not the FMA latency.)
template <int R, bool BLEND>
TFC_AVX2 void tileMask(int64_t k, const Rows &x, int64_t i0, const MaskView &mv,
                       int64_t q, float *out, int64_t ldo) {
  const ExpandTable &t = expandTable();
  __m256 acc[R][4];
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < 4; ++c)
      acc[i][c] = _mm256_setzero_ps();
  const uint8_t *mk = reinterpret_cast<const uint8_t *>(mv.panelMasks(q));
  const float *v = mv.panelValues(q);
  const float *xp[R], *xq[R];
  const int64_t sk = x.sk;
  for (int i = 0; i < R; ++i)
    xp[i] = x.x + (i0 + i) * x.sm;
  int64_t kk = 0;
  for (; kk + 2 <= k; kk += 2) {
    if ((kk & 15) == 0)
      _mm_prefetch(
          reinterpret_cast<const char *>(mk + 4 * (kk + kPrefetchMasks)),
          _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char *>(v + kPrefetchValues),
                 _MM_HINT_T0);
    for (int i = 0; i < R; ++i)
      xq[i] = xp[i] + sk;
    maskStep<R, BLEND>(t, mk + 4 * kk, v, xp, acc);
    maskStep<R, BLEND>(t, mk + 4 * kk + 4, v, xq, acc);
    for (int i = 0; i < R; ++i)
      xp[i] = xq[i] + sk;
  }
  if (kk < k)
    maskStep<R, BLEND>(t, mk + 4 * kk, v, xp, acc);
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < 4; ++c)
      _mm256_storeu_ps(out + i * ldo + 8 * c, acc[i][c]);
}

template <bool BLEND>
TFC_AVX2 void densifyMask(const MaskView &mv, int64_t q, float *dst) {
  const ExpandTable &t = expandTable();
  const uint8_t *mk = reinterpret_cast<const uint8_t *>(mv.panelMasks(q));
  const float *v = mv.panelValues(q);
  for (int64_t kk = 0; kk < mv.k; ++kk) {
    __m256 b[4];
    v += expandRowBytes<BLEND>(t, mk + 4 * kk, v, b);
    for (int c = 0; c < 4; ++c)
      _mm256_store_ps(dst + kk * kP + 8 * c, b[c]);
  }
}

template <int NV>
TFC_AVX2 void skipPanel(int64_t k, const float *xt, const uint32_t *mk,
                        const float *v, float *acc) {
  constexpr int W = NV * 8;
  for (int c = 0; c < kP * NV; ++c)
    _mm256_store_ps(acc + c * 8, _mm256_setzero_ps());
  for (int64_t kk = 0; kk < k; ++kk) {
    uint32_t m = mk[kk];
    if (!m)
      continue;
    __m256 xv[NV];
#pragma GCC unroll 4
    for (int r = 0; r < NV; ++r)
      xv[r] = _mm256_load_ps(xt + kk * W + r * 8);
    for (; m; m &= m - 1) {
      float *a = acc + __builtin_ctz(m) * W;
      const __m256 w = _mm256_set1_ps(*v++);
#pragma GCC unroll 4
      for (int r = 0; r < NV; ++r)
        _mm256_store_ps(a + r * 8,
                        _mm256_fmadd_ps(w, xv[r], _mm256_load_ps(a + r * 8)));
    }
  }
}

void skipMask(const MaskView &mv, const Rows &x, int64_t i0, int64_t i1,
              int64_t p0, int64_t p1, float *out, int64_t ldo) {
  using Fn = void (*)(int64_t, const float *, const uint32_t *, const float *,
                      float *);
  constexpr Fn kFns[4] = {&skipPanel<1>, &skipPanel<2>, &skipPanel<3>,
                          &skipPanel<4>};
  const int64_t k = x.k;
  for (int64_t r0 = i0; r0 < i1; r0 += kSkipRows) {
    const int rows = static_cast<int>(std::min<int64_t>(kSkipRows, i1 - r0));
    const int nv = (rows + 7) / 8, w = nv * 8;
    float *xt = static_cast<float *>(
        packedRows.get(static_cast<size_t>(k * w) * sizeof(float)));
    float *acc = static_cast<float *>(
        skipAcc.get(static_cast<size_t>(kP * w) * sizeof(float)));
    float *o = out + (r0 - i0) * ldo;
    if (!xt || !acc)
      return tileFailed(o, rows, (p1 - p0) * kP, ldo);
    for (int64_t kk = 0; kk < k; ++kk)
      for (int i = 0; i < w; ++i)
        xt[kk * w + i] = i < rows ? x.x[(r0 + i) * x.sm + kk * x.sk] : 0.0f;
    for (int64_t q = p0; q < p1; ++q) {
      kFns[nv - 1](k, xt, mv.panelMasks(q), mv.panelValues(q), acc);
      for (int i = 0; i < rows; ++i)
        for (int c = 0; c < kP; ++c)
          o[i * ldo + (q - p0) * kP + c] = acc[c * w + i];
    }
  }
}

template <bool BLEND>
void computeMaskAs(const tfc_pack_header &h, const Rows &x, int64_t i0,
                   int64_t i1, int64_t p0, int64_t p1, float *out,
                   int64_t ldo) {
  const MaskView mv(h);
  const int64_t rows = i1 - i0;
  if (rows == 1) {
    for (int64_t q = p0; q < p1; ++q)
      tileMask<1, BLEND>(h.k, x, i0, mv, q, out + (q - p0) * kP, ldo);
    return;
  }
  if (rows <= kStreamRows) {
    for (int64_t q = p0; q < p1; ++q)
      for (int64_t i = i0; i < i1; i += 2) {
        float *o = out + (i - i0) * ldo + (q - p0) * kP;
        if (i1 - i >= 2)
          tileMask<2, BLEND>(h.k, x, i, mv, q, o, ldo);
        else
          tileMask<1, BLEND>(h.k, x, i, mv, q, o, ldo);
      }
    return;
  }
  const double skip = skipDensityAvx2();
  if (rows >= 17 && mv.density(p0, p1) < skipDensity(skip))
    return skipMask(mv, x, i0, i1, p0, p1, out, ldo);
  viaDense(f32Avx2(), h, x, i0, i1, p0, p1, out, ldo,
           [&](int64_t q, float *dst) { densifyMask<BLEND>(mv, q, dst); });
}

void computeMask(const tfc_pack_header &h, const Rows &x, const void *,
                 int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
                 int64_t ldo) {
  if (isa::features().blendZero)
    computeMaskAs<true>(h, x, i0, i1, p0, p1, out, ldo);
  else
    computeMaskAs<false>(h, x, i0, i1, p0, p1, out, ldo);
}

//===-- MASK_W8 -----------------------------------------------------------===//

/// pshufb controls expanding the next popcount(b) bytes to the set bits of
/// byte b: lo[b] fills output bytes 0-7, hi[b] bytes 8-15 (0x80: zero).
struct ByteExpandTable {
  alignas(16) uint8_t lo[256][16], hi[256][16];
  ByteExpandTable() {
    for (int b = 0; b < 256; ++b) {
      int at = 0;
      for (int l = 0; l < 16; ++l)
        lo[b][l] = hi[b][l] = 0x80;
      for (int l = 0; l < 8; ++l)
        if (b >> l & 1) {
          lo[b][l] = static_cast<uint8_t>(at);
          hi[b][8 + l] = static_cast<uint8_t>(at);
          ++at;
        }
    }
  }
};
const ByteExpandTable &byteExpandTable() {
  static const ByteExpandTable t;
  return t;
}

void computeMaskW8(const tfc_pack_header &h, const Rows &x, const void *scratch,
                   int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
                   int64_t ldo) {
  viaDenseW8(w8ImplFor(h, isa::Level::Avx2), h, x, scratch, i0, i1, p0, p1, out,
             ldo, &densifyW8Avx2);
}

//===-- 2:4 ---------------------------------------------------------------===//

/// Positions of a quarter (8 columns: cq = 0..3 is columns 8cq..8cq+8) of
/// group g: nibble bytes 0-7 hold columns 0-7 / 16-23, bytes 8-15 columns
/// 8-15 / 24-31.
TFC_AVX2 inline __m256i quarterIndex(const unsigned char *idx, int cq) {
  const __m256i b = _mm256_cvtepu8_epi32(
      _mm_loadl_epi64(reinterpret_cast<const __m128i *>(idx + (cq & 1) * 8)));
  return cq >= 2 ? _mm256_srli_epi32(b, 4) : b;
}

template <int R>
TFC_AVX2 void tile24(const View24 &v, const Rows &x, int64_t i0, int64_t q,
                     float *out, int64_t ldo) {
  __m256 acc[R][4];
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < 4; ++c)
      acc[i][c] = _mm256_setzero_ps();
  const float *vals = v.panelValues(q);
  const unsigned char *idx = v.panelIndex(q);
  const float *xr[R];
  for (int i = 0; i < R; ++i)
    xr[i] = x.x + (i0 + i) * x.sm;
  for (int64_t g = 0; g < v.groups; ++g) {
    __m256 xb[R];
    for (int i = 0; i < R; ++i) {
      if (4 * g + 4 <= x.k && x.sk == 1) {
        xb[i] = _mm256_broadcast_ps(
            reinterpret_cast<const __m128 *>(xr[i] + 4 * g));
      } else {
        alignas(16) float a[4];
        for (int j = 0; j < 4; ++j)
          a[j] = 4 * g + j < x.k ? xr[i][(4 * g + j) * x.sk] : 0.0f;
        xb[i] = _mm256_broadcast_ps(reinterpret_cast<const __m128 *>(a));
      }
    }
    const float *w = vals + g * 64;
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      const __m256i i0v = quarterIndex(idx + g * 16, c);
      const __m256i i1v = _mm256_srli_epi32(i0v, 2);
      const __m256 v0 = _mm256_load_ps(w + 8 * c);
      const __m256 v1 = _mm256_load_ps(w + 32 + 8 * c);
      for (int i = 0; i < R; ++i) {
        acc[i][c] =
            _mm256_fmadd_ps(_mm256_permutevar_ps(xb[i], i0v), v0, acc[i][c]);
        acc[i][c] =
            _mm256_fmadd_ps(_mm256_permutevar_ps(xb[i], i1v), v1, acc[i][c]);
      }
    }
  }
  for (int i = 0; i < R; ++i)
    for (int c = 0; c < 4; ++c)
      _mm256_storeu_ps(out + i * ldo + 8 * c, acc[i][c]);
}

TFC_AVX2 void densify24(const View24 &v, int64_t k, int64_t q, float *dst) {
  const float *vals = v.panelValues(q);
  const unsigned char *idx = v.panelIndex(q);
  const __m256i three = _mm256_set1_epi32(3);
  for (int64_t g = 0; g < v.groups; ++g) {
    const float *w = vals + g * 64;
    for (int c = 0; c < 4; ++c) {
      const __m256i iv = quarterIndex(idx + g * 16, c);
      const __m256i p0 = _mm256_and_si256(iv, three);
      const __m256i p1 = _mm256_and_si256(_mm256_srli_epi32(iv, 2), three);
      const __m256 v0 = _mm256_load_ps(w + 8 * c);
      const __m256 v1 = _mm256_load_ps(w + 32 + 8 * c);
      for (int j = 0; j < 4 && 4 * g + j < k; ++j) {
        const __m256i jv = _mm256_set1_epi32(j);
        const __m256 r = _mm256_or_ps(
            _mm256_and_ps(v0, _mm256_castsi256_ps(_mm256_cmpeq_epi32(p0, jv))),
            _mm256_and_ps(v1, _mm256_castsi256_ps(_mm256_cmpeq_epi32(p1, jv))));
        _mm256_store_ps(dst + (4 * g + j) * kP + 8 * c, r);
      }
    }
  }
}

void compute24(const tfc_pack_header &h, const Rows &x, const void *,
               int64_t i0, int64_t i1, int64_t p0, int64_t p1, float *out,
               int64_t ldo) {
  const View24 v(h);
  const int64_t rows = i1 - i0;
  if (rows <= kStreamRows) {
    for (int64_t q = p0; q < p1; ++q)
      for (int64_t i = i0; i < i1; i += 2) {
        float *o = out + (i - i0) * ldo + (q - p0) * kP;
        if (i1 - i >= 2)
          tile24<2>(v, x, i, q, o, ldo);
        else
          tile24<1>(v, x, i, q, o, ldo);
      }
    return;
  }
  viaDense(f32Avx2(), h, x, i0, i1, p0, p1, out, ldo,
           [&](int64_t q, float *dst) { densify24(v, h.k, q, dst); });
}

// Row blocks of the F32 AVX2 kernel's (96): viaDense densifies a task's
// panels once per row block.
constexpr FormatImpl kMask = {nullptr, nullptr, &computeMask, 96,
                              "sparse-mask-avx2"};
constexpr FormatImpl k24 = {nullptr, nullptr, &compute24, 96,
                            "sparse-2:4-avx2"};
constexpr FormatImpl kMaskW8 = {&maskW8ScratchAt<isa::Level::Avx2>,
                                &maskW8PrepareAt<isa::Level::Avx2>,
                                &computeMaskW8, 128, "sparse-mask-w8-avx2"};

} // namespace

const FormatImpl *maskAvx2() { return &kMask; }
const FormatImpl *s24Avx2() { return &k24; }
const FormatImpl *maskW8Avx2() { return &kMaskW8; }

/// Panel q as W8 codes, 16 bytes (two mask bytes) at a time: two unaligned
/// loads of the next codes, one pshufb each, or'd and flipped to u8.
TFC_AVX2 void densifyW8Avx2(const MaskW8View &mv, int64_t q, uint8_t *dst) {
  const ByteExpandTable &t = byteExpandTable();
  const uint8_t *mk = reinterpret_cast<const uint8_t *>(mv.panelMasks(q));
  const int8_t *v = mv.panelValues(q);
  const __m128i flip = _mm_set1_epi8(static_cast<char>(0x80));
  for (int64_t i = 0; i < mv.kp * kP / 16; ++i) {
    const unsigned b0 = mk[2 * i], b1 = mk[2 * i + 1];
    const int o = __builtin_popcount(b0);
    const __m128i a = _mm_shuffle_epi8(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(v)),
        _mm_load_si128(reinterpret_cast<const __m128i *>(t.lo[b0])));
    const __m128i b = _mm_shuffle_epi8(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(v + o)),
        _mm_load_si128(reinterpret_cast<const __m128i *>(t.hi[b1])));
    _mm_store_si128(reinterpret_cast<__m128i *>(dst + 16 * i),
                    _mm_xor_si128(_mm_or_si128(a, b), flip));
    v += o + __builtin_popcount(b1);
  }
}

} // namespace sparse
} // namespace linear
} // namespace tfcrt

#else

namespace tfcrt {
namespace linear {
namespace sparse {
const FormatImpl *maskAvx2() { return nullptr; }
const FormatImpl *s24Avx2() { return nullptr; }
const FormatImpl *maskW8Avx2() { return nullptr; }
void densifyW8Avx2(const MaskW8View &mv, int64_t q, uint8_t *dst) {
  densifyW8Scalar(mv, q, dst);
}
} // namespace sparse
} // namespace linear
} // namespace tfcrt

#endif
