//===- Isa.h - the CPU features kernels dispatch on -------------*- C++ -*-===//
//
// Every kind of kernel (GEMM, linear formats, attention, ...) has a generic
// C++ version (the reference), an AVX2+FMA version (Zen 3) and an AVX-512
// version (Zen 4), chosen once per process from CPUID. TFCRT_ISA=generic|
// avx2|avx512 in the environment caps the level for every kind, so any
// machine tests every path it can run (TFCRT_GEMM_ISA, the older name, is
// still read); TFCRT_CPU plays an older CPU altogether. The extensions some kernels want on top of AVX-512 (VNNI for
// int8, BF16) are separate bits: a kernel checks the bit and falls back.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_ISA_H
#define TFC_LIB_RUNTIME_ISA_H

namespace tfcrt {
namespace isa {

enum class Level { Generic = 0, Avx2 = 1, Avx512 = 2 };

struct Features {
  Level level = Level::Generic; // after the TFCRT_ISA cap
  bool vnni = false;            // AVX512_VNNI (needs level Avx512)
  bool bf16 = false;            // AVX512_BF16 (needs level Avx512)
  bool vbmi2 = false;           // AVX512_VBMI2 (vpexpandb; level Avx512)
  bool f16c = false;            // F16C (needs level >= Avx2)
  /// The sparse MASK decode tiles of the AVX-512 level take the AVX2
  /// permutation-table kernel instead of vexpandps (off by default: the
  /// register form is faster on every CPU measured; TFCRT_EXPAND=table or
  /// native forces either, and the tests run both).
  bool slowExpand = false;
  /// An AMD CPU: thresholds that were measured per vendor (the AVX2 sparse
  /// MASK kernels' skip path, FormatSparse.h).
  bool amd = false;
  /// The AVX2 permutation-table kernels zero a byte's clear lanes with
  /// vblendvps (one uop on AMD; the default there) rather than a shift and
  /// vandnps (Intel, where vblendvps is several uops on the ports the
  /// expansion binds on). TFCRT_BLEND=1 / 0 forces either (the tests run
  /// both).
  bool blendZero = false;
  /// CPUID family and model (0 when unknown): per-model thresholds that
  /// were measured (the AVX2 sparse MASK skip path, FormatSparse.h).
  unsigned family = 0, model = 0;
};

/// What this CPU and OS support, capped by TFCRT_ISA; computed once.
const Features &features();
/// The hardware level, capped by TFCRT_CPU=generic|avx2|avx512 (which
/// plays an older CPU: it caps the kernels like TFCRT_ISA and also the
/// model-load check of a descriptor's required ISA; tests use it to show a
/// Zen 4 build refused on a "Zen 3").
Level hardwareLevel();
/// Whether `level` can run here (regardless of the cap).
bool supported(Level level);
const char *name(Level level);
/// "avx512+vnni+bf16" style summary of features().
const char *describe();
/// The CPU for reports: /proc/cpuinfo's model name plus CPUID family/model
/// and, for AMD, the Zen generation ("AMD EPYC (family 25 model 17, Zen 4)").
const char *cpuName();

/// The kernel table of `level` among a kind's three (each a static table of
/// function pointers: asking for one runs none of its code).
template <typename Kernels>
const Kernels &byLevel(Level level, const Kernels &generic,
                       const Kernels &avx2, const Kernels &avx512) {
  switch (level) {
  case Level::Avx512:
    return avx512;
  case Level::Avx2:
    return avx2;
  case Level::Generic:
    break;
  }
  return generic;
}
/// The same for features().level, the level the running kernels use.
template <typename Kernels>
const Kernels &byLevel(const Kernels &generic, const Kernels &avx2,
                       const Kernels &avx512) {
  return byLevel(features().level, generic, avx2, avx512);
}

} // namespace isa
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_ISA_H
