//===- TfcwWriter.h - write .tfcw files in the runtime tests ----*- C++ -*-===//
//
// A minimal writer of the format in tfc/Support/WeightsFormat.h, for tests
// and generators only (the compiler has its own in lib/Target).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TEST_RUNTIME_TFCWWRITER_H
#define TFC_TEST_RUNTIME_TFCWWRITER_H

#include "tfc/Runtime/tfc_runtime.h"
#include "tfc/Support/WeightsFormat.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace tfctest {

struct TfcwEntry {
  std::string name;
  uint64_t offset;
  uint64_t nbytes;
  tfc_dtype dtype;
  std::vector<int64_t> dims;
};

/// The bytes of a .tfcw file holding `data` as its data section.
inline std::vector<uint8_t> makeTfcw(const std::vector<TfcwEntry> &entries,
                                     const std::vector<uint8_t> &data) {
  std::vector<uint8_t> h(TFCW_FIXED_HEADER_SIZE, 0);
  auto put = [&](const void *p, size_t n) {
    const uint8_t *b = static_cast<const uint8_t *>(p);
    h.insert(h.end(), b, b + n);
  };
  for (const TfcwEntry &e : entries) {
    uint32_t dtype = e.dtype, rank = static_cast<uint32_t>(e.dims.size());
    uint32_t nameLen = static_cast<uint32_t>(e.name.size());
    put(&e.offset, 8);
    put(&e.nbytes, 8);
    put(&dtype, 4);
    put(&rank, 4);
    for (int64_t d : e.dims)
      put(&d, 8);
    put(&nameLen, 4);
    put(e.name.data(), e.name.size());
  }
  h.resize((h.size() + TFCW_ALIGN - 1) / TFCW_ALIGN * TFCW_ALIGN, 0);
  uint64_t headerSize = h.size(), dataSize = data.size();
  uint64_t hash = tfc_hash64(data.data(), dataSize);
  uint32_t num = static_cast<uint32_t>(entries.size());
  std::memcpy(&h[0], TFCW_MAGIC, 8);
  std::memcpy(&h[8], &headerSize, 8);
  std::memcpy(&h[16], &dataSize, 8);
  std::memcpy(&h[24], &hash, 8);
  std::memcpy(&h[32], &num, 4);
  h.insert(h.end(), data.begin(), data.end());
  return h;
}

inline bool writeBytes(const std::string &path, const std::vector<uint8_t> &b) {
  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f)
    return false;
  bool ok = std::fwrite(b.data(), 1, b.size(), f) == b.size();
  return std::fclose(f) == 0 && ok;
}

} // namespace tfctest

#endif // TFC_TEST_RUNTIME_TFCWWRITER_H
