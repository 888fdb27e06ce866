//===- Gemm.h - single-precision GEMM inside libtfcrt -----------*- C++ -*-===//
//
// C[b] = A[b] x B[b] (+ bias) over arbitrary element strides. Two
// implementations: `reference` (plain loops, double accumulation; the oracle
// for tests) and `run` (packed, cache-blocked, multi-threaded, with a
// micro-kernel chosen at run time for the CPU: AVX-512, AVX2+FMA or portable
// C++). See docs/RUNTIME.md for the design and measured numbers.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_GEMM_GEMM_H
#define TFC_LIB_RUNTIME_GEMM_GEMM_H

#include <cstdint>

namespace tfcrt {
namespace gemm {

/// One (batched) problem; strides in elements, any sign-free values incl. 0.
struct Problem {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  const float *a = nullptr; // [batch, m, k]
  int64_t sab = 0, sam = 0, sak = 0;
  const float *b = nullptr; // [batch, k, n]
  int64_t sbb = 0, sbk = 0, sbn = 0;
  float *c = nullptr; // [batch, m, n], overwritten
  int64_t scb = 0, scm = 0, scn = 0;
  const float *bias = nullptr; // [n] or null
  int64_t sbias = 1;
};

enum class Isa { Generic = 0, Avx2 = 1, Avx512 = 2 };

/// The best ISA this CPU (and OS) supports; TFCRT_GEMM_ISA=generic|avx2|avx512
/// in the environment lowers it (for comparisons).
Isa detectIsa();
/// Whether `isa` can run here.
bool isaSupported(Isa isa);
const char *isaName(Isa isa);

/// Plain triple loop in double precision, single-threaded.
void reference(const Problem &p);
/// Fast path with the detected ISA.
void run(const Problem &p);
/// Fast path forcing a given ISA (must be supported).
void run(const Problem &p, Isa isa);

//===-- what each ISA provides (KernelsAvx512.cpp, KernelsAvx2.cpp, ...) -===//

/// Micro-kernel: C[0..m)[0..n) = Ap x Bp (+ bias[0..n)) when !accumulate, or
/// C += Ap x Bp when accumulate. Ap is a packed kc x mr panel ([kc][mr],
/// zero-padded), Bp a packed kc x nr panel ([kc][nr], zero-padded); m <= mr,
/// n <= nr; C has row stride rsc and column stride csc. `bias` is contiguous
/// or null.
using MicroKernel = void (*)(int64_t kc, const float *ap, const float *bp,
                             float *c, int64_t rsc, int64_t csc, int m, int n,
                             const float *bias, bool accumulate);

/// Columns the small-rows kernels take per pass, and the scratch they get:
/// kMaxSmallM x (kSmallChunk + 64) floats, 64-byte aligned.
constexpr int64_t kSmallChunk = 4096;
constexpr int kMaxSmallM = 32;

/// Unpacked kernel for few rows (m <= smallM <= kMaxSmallM), reading B where
/// it lies: C[0..m)[j0..j1) = A[0..m)[0..k) x B[0..k)[j0..j1) (+ bias). B must
/// have unit column stride (rowMajorB) or unit row stride (!rowMajorB); for
/// the latter, A must have unit column stride.
using SmallKernel = void (*)(const Problem &p, int64_t batchIndex, int64_t j0,
                             int64_t j1, float *scratch);

/// Optional ISA-specific packing into the layouts `micro` reads (see
/// GemmDriver.cpp); returns false for a layout it does not handle, and the
/// portable loops run instead.
using PackAFn = bool (*)(const float *a, int64_t sam, int64_t sak, int64_t mc,
                         int64_t kc, float *dst);
using PackBFn = bool (*)(const float *b, int64_t sbk, int64_t sbn, int64_t kc,
                         int64_t nc, int64_t q0, int64_t q1, float *dst);

struct KernelSet {
  Isa isa;
  int mr, nr;     // micro-tile
  int kc, mc, nc; // cache blocking (elements)
  MicroKernel micro;
  int smallM; // rows up to which the small kernels are used (0:
              // none); up to kMaxSmallM when B is too big to stay
              // in cache and packing it would triple its traffic
  SmallKernel smallRowMajorB;
  SmallKernel smallColMajorB;
  int smallColumnAlign; // j0 / j1 granularity the small row-major kernel likes
  PackAFn packA;        // may be null
  PackBFn packB;        // may be null
};

/// AVX-512 only (the CPU must have it): `rows` (1 <= rows <= ld <= 16) rows
/// of row-major A (row stride sam) into one [kc][ld] panel, lanes [rows, ld)
/// zero, by 16 x 16 transposes (packA's panels; Linear/FormatF32Avx512.cpp
/// packs its full micro-panels and its row groups of any height with it).
void packPanelAvx512(const float *a, int64_t sam, int rows, int64_t kc, int ld,
                     float *dst);

const KernelSet &kernelsGeneric();
const KernelSet &kernelsAvx2();   // only valid if isaSupported(Avx2)
const KernelSet &kernelsAvx512(); // only valid if isaSupported(Avx512)

} // namespace gemm
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_GEMM_GEMM_H
