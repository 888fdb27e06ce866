//===- FormatsSparse.cpp - which kernel serves a sparse format ------------===//
//
// The table Format.h's sparseFormatImpl answers from (overriding the
// driver's weak default).
//
//===----------------------------------------------------------------------===//

#include "SparseKernels.h"

namespace tfcrt {
namespace linear {

const FormatImpl *sparseFormatImpl(uint32_t format, isa::Level level) {
  // The driver's lookup key carries ACT_F32 (kFormatKeyActF32); MASK_W8
  // reads the flag from the header itself.
  switch (format & ~kFormatKeyActF32) {
  case TFC_PACK_SPARSE_MASK_W8:
    return level == isa::Level::Avx512 ? sparse::maskW8Avx512()
           : level == isa::Level::Avx2 ? sparse::maskW8Avx2()
                                       : sparse::maskW8Generic();
  case TFC_PACK_SPARSE_MASK:
    return level == isa::Level::Avx512 ? sparse::maskAvx512()
           : level == isa::Level::Avx2 ? sparse::maskAvx2()
                                       : sparse::maskGeneric();
  case TFC_PACK_SPARSE_24:
    return level == isa::Level::Avx512 ? sparse::s24Avx512()
           : level == isa::Level::Avx2 ? sparse::s24Avx2()
                                       : sparse::s24Generic();
  default:
    return nullptr;
  }
}

} // namespace linear
} // namespace tfcrt
