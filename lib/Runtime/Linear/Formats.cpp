//===- Formats.cpp - which kernel computes a format at a level ------------===//

#include "LinearInternal.h"

namespace tfcrt {
namespace linear {

const FormatImpl *formatImpl(uint32_t format, isa::Level level) {
  if (format == TFC_PACK_F32) {
    switch (level) {
    case isa::Level::Avx512:
      return f32Avx512();
    case isa::Level::Avx2:
      return f32Avx2();
    case isa::Level::Generic:
      return f32Generic();
    }
    return nullptr;
  }
  if ((format & ~kFormatKeyActF32) >= TFC_PACK_SPARSE_FIRST)
    return sparseFormatImpl(format, level);
  return quantFormatImpl(format, level);
}

// Defaults until the quant / sparse tables are linked in (Format.h). When
// lib/Runtime/CMakeLists.txt finds FormatsQuant.cpp (FormatsSparse.cpp) it
// defines TFCRT_LINEAR_QUANT_FORMATS (..._SPARSE_...) and the default is
// left out: a weak definition alone would not make the linker take the
// strong one out of libtfcrt.a (archive members are only pulled in for
// undefined symbols), so static links would silently lose the formats.
#ifndef TFCRT_LINEAR_QUANT_FORMATS
__attribute__((weak)) const FormatImpl *quantFormatImpl(uint32_t, isa::Level) {
  return nullptr;
}
#endif
#ifndef TFCRT_LINEAR_SPARSE_FORMATS
__attribute__((weak)) const FormatImpl *sparseFormatImpl(uint32_t, isa::Level) {
  return nullptr;
}
#endif

const FormatImpl *findFormatImpl(uint32_t format, isa::Level level) {
  for (int l = static_cast<int>(level); l >= 0; --l) {
    const isa::Level at = static_cast<isa::Level>(l);
    if (!isa::supported(at))
      continue;
    if (const FormatImpl *impl = formatImpl(format, at))
      return impl;
  }
  return nullptr;
}

const EpilogueKernels &epilogueFor(isa::Level level) {
  if (level == isa::Level::Avx512 && isa::supported(isa::Level::Avx512))
    return epilogueAvx512();
  if (level >= isa::Level::Avx2 && isa::supported(isa::Level::Avx2))
    return epilogueAvx2();
  return epilogueGeneric();
}

} // namespace linear
} // namespace tfcrt
