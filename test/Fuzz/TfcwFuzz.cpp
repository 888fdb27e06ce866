//===- TfcwFuzz.cpp - fuzz target: the .tfcw weights-file loader ----------===//
//
// lib/Runtime/WeightsFile.cpp maps and validates the file. The 64-bit hash
// of the data section would refuse almost every mutation before the entry
// table is looked at, so when the input's first byte is odd the target
// first rewrites data_hash to match (when header_size and data_size point
// inside the input): both the hash check and what lies behind it are
// exercised. An accepted file's entries must lie inside the data section.
//
//===----------------------------------------------------------------------===//
#include "FuzzTarget.h"

#include "WeightsFile.h"
#include "tfc/Support/WeightsFormat.h"

#include <cstring>
#include <vector>

bool tfcFuzzOne(const uint8_t *data, size_t size, std::string &error) {
  std::vector<uint8_t> bytes(data, data + size);
  if (size >= TFCW_FIXED_HEADER_SIZE && (data[0] & 1)) {
    uint64_t header, dataSize;
    std::memcpy(&header, data + 8, 8);
    std::memcpy(&dataSize, data + 16, 8);
    if (header <= size && dataSize <= size - header) {
      uint64_t h = tfc_hash64(data + header, dataSize);
      std::memcpy(bytes.data() + 24, &h, 8);
    }
  }
  // Keep the magic recognisable (the first byte's low bit steers the above).
  std::string path = tfcFuzzWriteFile(bytes.data(), bytes.size(), "w.tfcw");
  if (path.empty()) {
    error = "cannot write the scratch file";
    return false;
  }
  tfcrt::WeightsFile w;
  if (w.open(path, /*checkExpected=*/false, 0, 0, error) != TFC_OK) {
    if (error.empty())
      tfcFuzzBug("refused without a message");
    return false;
  }
  for (const tfcrt::WeightsEntry &e : w.entries())
    if (e.offset > w.dataSize() || e.nbytes > w.dataSize() - e.offset)
      tfcFuzzBug("an accepted entry lies outside the data section");
  // Touch the data section: it must be mapped.
  volatile uint8_t sink = 0;
  const uint8_t *d = static_cast<const uint8_t *>(w.data());
  for (uint64_t i = 0; i < w.dataSize(); i += 4096)
    sink ^= d[i];
  (void)sink;
  return true;
}
