//===- FuzzSupport.cpp - scratch files and bug reports for fuzz targets ---===//
#include "FuzzTarget.h"

#include <cstdio>
#include <cstdlib>
#include <sys/stat.h>
#include <unistd.h>

namespace {
std::string scratchDir() {
  static std::string dir = [] {
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : nullptr;
    if (!base)
      base = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
    std::string d = std::string(base) + "/tfc-fuzz-" + std::to_string(getpid());
    mkdir(d.c_str(), 0700);
    return d;
  }();
  return dir;
}
} // namespace

std::string tfcFuzzWriteFile(const uint8_t *data, size_t size,
                             const char *name) {
  std::string path = scratchDir() + "/" + name;
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return "";
  bool ok = (size == 0 || std::fwrite(data, 1, size, f) == size);
  ok = std::fclose(f) == 0 && ok;
  return ok ? path : "";
}

void tfcFuzzBug(const std::string &what) {
  std::fprintf(stderr, "tfc fuzz target: BUG: %s\n", what.c_str());
  std::fflush(stderr);
  __builtin_trap();
}
