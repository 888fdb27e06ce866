//===- FormatsQuant.cpp - which kernel serves a quantized format ----------===//
//
// The table Format.h's quantFormatImpl answers from (overriding the
// driver's weak default). AVX-512 kernels of S8 and of the Int8Act
// strategy need AVX512_VNNI, the BF16 one AVX512_BF16; without them the
// answer is nullptr and the driver falls back to the AVX2 level.
//
//===----------------------------------------------------------------------===//

#include "FormatQuant.h"

namespace tfcrt {
namespace linear {

namespace quant {

// Measured on Zen 4 (docs/RUNTIME.md "Quantized linear kernels"): the
// integer strategy needs 3-5x fewer instructions per weight byte than
// widening codes to f32, which keeps decode at the memory bandwidth and
// prefill (m up to 64) compute-cheap, on both AVX2 and AVX-512 VNNI.
// Without VNNI on AVX-512 the integer kernel is the AVX2 one.
/// The blob says which (TFC_PACK_FLAG_ACT_F32: tfc.qlinear activation
/// `none`); Int8Act (activation `block32`) is the measured faster one.
WStrategy chosenStrategy(uint32_t key) {
  return (key & kFormatKeyActF32) ? WStrategy::F32Act : WStrategy::Int8Act;
}

const FormatImpl *quantFormatImplFor(uint32_t format, isa::Level level,
                                     bool vnni, bool bf16) {
  const uint32_t key = format;
  format &= ~kFormatKeyActF32;
  if ((key & kFormatKeyActF32) && format != TFC_PACK_W8 &&
      format != TFC_PACK_W4)
    return nullptr;
  switch (format) {
  case TFC_PACK_BF16:
    if (level == isa::Level::Avx512)
      return bf16 ? bf16Avx512Bf16() : nullptr;
    return level == isa::Level::Avx2 ? bf16Avx2() : bf16Generic();
  case TFC_PACK_S8:
    if (level == isa::Level::Avx512)
      return vnni ? s8Avx512Vnni() : nullptr;
    return level == isa::Level::Avx2 ? s8Avx2() : s8Generic();
  case TFC_PACK_W8:
  case TFC_PACK_W4: {
    const WStrategy s = chosenStrategy(key);
    if (level == isa::Level::Avx512)
      return s == WStrategy::F32Act || vnni ? wAvx512(format, s) : nullptr;
    return level == isa::Level::Avx2 ? wAvx2(format, s) : wGeneric(format, s);
  }
  default:
    return nullptr;
  }
}

} // namespace quant

const FormatImpl *quantFormatImpl(uint32_t format, isa::Level level) {
  const isa::Features &f = isa::features();
  return quant::quantFormatImplFor(format, level, f.vnni, f.bf16);
}

} // namespace linear
} // namespace tfcrt
