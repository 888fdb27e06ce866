//===- Builtins.cpp - compiler-rt builtins the generated code may call ----===//
//
// LLVM lowers some conversions to calls of compiler-rt builtins that libgcc
// provides only from GCC 13 on; Debian 12's is GCC 12. The runtime defines
// them (weak, so a newer libgcc's or compiler-rt's win) for the models it
// loads:
//   __truncsfbf2  f32 -> bf16, round to nearest even (quiet NaN kept), the
//                 x86 code of a GPU model emulated on the host with
//                 --precision=bf16 (no AVX512-BF16 instruction in the default
//                 x86-64-v3 code). bf16 is returned like _Float16, in the low
//                 16 bits of xmm0, so the bits travel in a _Float16.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"

#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
TFCRT_EXPORT __attribute__((weak)) _Float16 __truncsfbf2(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  uint16_t h;
  if ((u & 0x7fffffffu) > 0x7f800000u)
    h = static_cast<uint16_t>((u >> 16) | 0x40u); // NaN: stays a quiet NaN
  else
    h = static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  _Float16 r;
  std::memcpy(&r, &h, 2);
  return r;
}
#endif
