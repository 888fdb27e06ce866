//===- Isa.cpp - CPU feature detection and the TFCRT_ISA cap --------------===//

#include "Isa.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

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

namespace {
/// `level` lowered to the one named by environment variable `var`, if any.
Level capBy(const char *var, Level level) {
  const char *env = std::getenv(var);
  if (!env)
    return level;
  for (Level cand : {Level::Generic, Level::Avx2, Level::Avx512})
    if (std::strcmp(env, name(cand)) == 0 &&
        static_cast<int>(cand) < static_cast<int>(level))
      return cand;
  return level;
}
} // namespace

Level hardwareLevel() {
  static const Level level = [] {
    Level l = Level::Generic;
    if (supported(Level::Avx512))
      l = Level::Avx512;
    else if (supported(Level::Avx2))
      l = Level::Avx2;
    return capBy("TFCRT_CPU", l);
  }();
  return level;
}

const Features &features() {
  static const Features f = [] {
    Features r;
    r.level = capBy("TFCRT_GEMM_ISA", capBy("TFCRT_ISA", hardwareLevel()));
#if defined(__x86_64__)
    if (r.level == Level::Avx512) {
      r.vnni = __builtin_cpu_supports("avx512vnni");
      r.bf16 = __builtin_cpu_supports("avx512bf16");
      r.vbmi2 = __builtin_cpu_supports("avx512vbmi2");
    }
    if (r.level >= Level::Avx2)
      r.f16c = __builtin_cpu_supports("f16c");
    r.amd = __builtin_cpu_is("amd");
    r.blendZero = r.amd;
    {
      unsigned a = 0, b = 0, c = 0, d = 0;
      if (__get_cpuid(1, &a, &b, &c, &d)) {
        r.family = (a >> 8) & 0xF;
        r.model = (a >> 4) & 0xF;
        if (r.family == 0xF)
          r.family += (a >> 20) & 0xFF;
        if (r.family >= 6)
          r.model |= ((a >> 16) & 0xF) << 4;
      }
    }
    // No CPU we run on needs the table: the Zen 5 figures that once chose
    // it for AMD measured vexpandps's memory form, which the compiler had
    // folded the loads into (docs/PERFORMANCE.md, "Sparse decode on AMD").
#endif
    if (const char *e = std::getenv("TFCRT_BLEND"))
      r.blendZero = std::strcmp(e, "0") != 0;
    if (const char *e = std::getenv("TFCRT_EXPAND")) {
      if (std::strcmp(e, "table") == 0)
        r.slowExpand = true;
      else if (std::strcmp(e, "native") == 0)
        r.slowExpand = false;
    }
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

const char *cpuName() {
  static const std::string s = [] {
    std::string model = "unknown CPU";
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("model name", 0) == 0) {
        size_t colon = line.find(':');
        if (colon != std::string::npos) {
          model = line.substr(colon + 1);
          model.erase(0, model.find_first_not_of(" \t"));
        }
        break;
      }
#if defined(__x86_64__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    char vendor[13] = {0};
    if (__get_cpuid(0, &a, &b, &c, &d)) {
      std::memcpy(vendor, &b, 4);
      std::memcpy(vendor + 4, &d, 4);
      std::memcpy(vendor + 8, &c, 4);
    }
    if (__get_cpuid(1, &a, &b, &c, &d)) {
      unsigned family = (a >> 8) & 0xF, mdl = (a >> 4) & 0xF;
      if (family == 0xF)
        family += (a >> 20) & 0xFF;
      if (family >= 6)
        mdl |= ((a >> 16) & 0xF) << 4;
      const char *gen = nullptr;
      if (std::strcmp(vendor, "AuthenticAMD") == 0) {
        if (family == 0x19)
          gen = (mdl >= 0x10 && mdl <= 0x1F) || (mdl >= 0x60 && mdl <= 0x7F) ||
                        (mdl >= 0xA0 && mdl <= 0xAF)
                    ? "Zen 4"
                    : "Zen 3";
        else if (family == 0x1A)
          gen = "Zen 5";
        else if (family == 0x17)
          gen = "Zen 2";
      }
      char buf[96];
      std::snprintf(buf, sizeof buf, " (family %u model %u%s%s)", family, mdl,
                    gen ? ", " : "", gen ? gen : "");
      model += buf;
    }
#endif
    return model;
  }();
  return s.c_str();
}

} // namespace isa
} // namespace tfcrt
