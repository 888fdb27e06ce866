//===- NpzFuzz.cpp - fuzz target: tfc-run's .npz / .npy reader ------------===//
//
// tools/tfc-run/Npz.cpp: an input starting with "PK" is read as an .npz
// (zip, stored or deflated entries) through readNpz; anything else as one
// .npy image through parseNpy. An accepted array's bytes must match its
// shape and dtype.
//
//===----------------------------------------------------------------------===//
#include "FuzzTarget.h"

#include "Npz.h"

#include <map>

namespace {
void checkArray(const tfcrun::NpyArray &a) {
  uint64_t n = 1;
  for (int64_t d : a.shape()) {
    if (d < 0)
      tfcFuzzBug("accepted a negative dim");
    n *= static_cast<uint64_t>(d);
  }
  if (a.numBytes() != n * tfc_dtype_size(a.dtype()))
    tfcFuzzBug("an accepted array's size disagrees with its shape");
  volatile uint8_t sink = 0;
  const uint8_t *p = static_cast<const uint8_t *>(a.data());
  for (size_t i = 0; i < a.numBytes(); i += 997)
    sink ^= p[i];
  (void)sink;
}
} // namespace

bool tfcFuzzOne(const uint8_t *data, size_t size, std::string &error) {
  if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
    std::string path = tfcFuzzWriteFile(data, size, "in.npz");
    std::map<std::string, tfcrun::NpyArray> arrays;
    if (path.empty() || !tfcrun::readNpz(path, arrays, error)) {
      if (error.empty())
        tfcFuzzBug("refused without a message");
      return false;
    }
    for (const auto &kv : arrays)
      checkArray(kv.second);
    return true;
  }
  tfcrun::NpyArray a;
  if (!tfcrun::parseNpy(data, size, "input", a, error)) {
    if (error.empty())
      tfcFuzzBug("refused without a message");
    return false;
  }
  checkArray(a);
  return true;
}
