//===- Isa.cpp - CPU feature detection and the TFCRT_ISA cap --------------===//

#include "Isa.h"

#include <cstdlib>
#include <cstring>
#include <string>

namespace tfcrt {
namespace isa {

bool supported(Level level) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  switch (level) {
  case Level::Generic:
    return true;
  case Level::Avx2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case Level::Avx512:
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("fma");
  }
  return false;
#else
  return level == Level::Generic;
#endif
}

const char *name(Level level) {
  switch (level) {
  case Level::Generic:
    return "generic";
  case Level::Avx2:
    return "avx2";
  case Level::Avx512:
    return "avx512";
  }
  return "?";
}

Level hardwareLevel() {
  if (supported(Level::Avx512))
    return Level::Avx512;
  if (supported(Level::Avx2))
    return Level::Avx2;
  return Level::Generic;
}

const Features &features() {
  static const Features f = [] {
    Features r;
    r.level = hardwareLevel();
    const char *env = std::getenv("TFCRT_ISA");
    if (!env || !*env)
      env = std::getenv("TFCRT_GEMM_ISA");
    if (env) {
      for (Level cand : {Level::Generic, Level::Avx2, Level::Avx512})
        if (std::strcmp(env, name(cand)) == 0 &&
            static_cast<int>(cand) < static_cast<int>(r.level))
          r.level = cand;
    }
#if defined(__x86_64__)
    if (r.level == Level::Avx512) {
      r.vnni = __builtin_cpu_supports("avx512vnni");
      r.bf16 = __builtin_cpu_supports("avx512bf16");
    }
    if (r.level >= Level::Avx2)
      r.f16c = __builtin_cpu_supports("f16c");
#endif
    return r;
  }();
  return f;
}

const char *describe() {
  static const std::string s = [] {
    const Features &f = features();
    std::string r = name(f.level);
    if (f.vnni)
      r += "+vnni";
    if (f.bf16)
      r += "+bf16";
    return r;
  }();
  return s.c_str();
}

} // namespace isa
} // namespace tfcrt
