//===- LinearInternal.h - the tfcrt_linear driver's own pieces --*- C++ -*-===//
//
// Shared by Linear.cpp, Formats.cpp, the F32 format files, the epilogue
// files and the unit tests. Not part of the format plug-in interface
// (Format.h) that other formats implement.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_LINEAR_LINEARINTERNAL_H
#define TFC_LIB_RUNTIME_LINEAR_LINEARINTERNAL_H

#include "Format.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <cstdlib>

namespace tfcrt {
namespace linear {

/// A 64-byte aligned buffer that only grows (thread-local instances keep
/// tiles and packed rows between calls instead of paying page faults).
class GrowBuffer {
public:
  GrowBuffer() = default;
  GrowBuffer(const GrowBuffer &) = delete;
  GrowBuffer &operator=(const GrowBuffer &) = delete;
  ~GrowBuffer() { std::free(ptr); }
  /// At least `bytes` bytes, or nullptr when memory is exhausted.
  void *get(size_t bytes) {
    if (bytes > cap) {
      std::free(ptr);
      ptr = nullptr;
      cap = 0;
      const size_t want = (bytes + 63) / 64 * 64;
      if (posix_memalign(&ptr, 64, want ? want : 64)) {
        ptr = nullptr;
        return nullptr;
      }
      cap = want;
    }
    return ptr;
  }

private:
  void *ptr = nullptr;
  size_t cap = 0;
};

/// Which rows a kernel's packed-rows buffer holds: rows [i0, i1) of call
/// `call` (Rows::call). A thread handed several panel slices of one call
/// packs the rows once (the f32 kernels).
struct PackedRowsKey {
  uint64_t call = 0; // 0: nothing reusable
  int64_t i0 = 0, i1 = 0;
  bool holds(const Rows &x, int64_t r0, int64_t r1) const {
    return x.call != 0 && call == x.call && i0 == r0 && i1 == r1;
  }
};

/// Whether formats with FormatImpl::computeInto apply the epilogue per tile
/// (default, unless TFC_LINEAR_FUSED=0) or the driver runs it as a pass over
/// a tile buffer; for the tests that compare the two.
void setFusedEpilogue(bool on);

/// For a compute() that cannot get its scratch memory: records the error
/// (tfcrt::kernelError) and fills its tile with NaN.
void tileFailed(float *out, int64_t rows, int64_t cols, int64_t ldo);

/// The epilogue of one ISA level (Epilogue{Generic,Avx2,Avx512}.cpp); all
/// pointers unit stride, `bias` / `res` may be null.
struct EpilogueKernels {
  /// y[j] = act(acc[j] + bias[j]) + res[j], j < count.
  void (*dense)(const float *acc, const float *bias, const float *res, float *y,
                int64_t count, int act);
  /// y[j] = act(gate[j]) * up[j] + res[j], j < count.
  void (*gated)(const float *gate, const float *up, const float *res, float *y,
                int64_t count, int act);
  const char *name;
  /// TileOut::tile for this level (nullptr: none; the driver then runs the
  /// epilogue as a pass over the tile buffer).
  void (*tile)(const float *acc, int64_t lda, int rows, int cols,
               const TileOut &o, int64_t r0, int64_t c0);
};

const EpilogueKernels &epilogueGeneric();
const EpilogueKernels &epilogueAvx2();   // only where isa::supported(Avx2)
const EpilogueKernels &epilogueAvx512(); // only where isa::supported(Avx512)
/// The kernels for `level`, or those of the best lower level built here.
const EpilogueKernels &epilogueFor(isa::Level level);

/// TFC_PACK_F32 per level (FormatF32*.cpp); nullptr where not built.
const FormatImpl *f32Generic();
const FormatImpl *f32Avx2();
const FormatImpl *f32Avx512();

/// formatImpl(format, l) for l = level, level - 1, ..., generic: the first
/// one that exists (Formats.cpp); nullptr if none does.
const FormatImpl *findFormatImpl(uint32_t format, isa::Level level);

/// The whole of _mlir_ciface_tfcrt_linear at `level` (capped by what the
/// CPU supports): the entry point passes isa::features().level, the tests
/// every level in turn.
void linearAt(isa::Level level, const tfcrt_memref3_f32 *x,
              const tfcrt_memref1_i8 *w, const tfcrt_memref1_f32 *bias,
              const tfcrt_memref3_f32 *residual, const tfcrt_memref3_f32 *y,
              int64_t act);

} // namespace linear
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_LINEAR_LINEARINTERNAL_H
