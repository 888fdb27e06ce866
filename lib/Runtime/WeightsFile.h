//===- WeightsFile.h - a validated, mmapped .tfcw file ----------*- C++ -*-===//
#ifndef TFC_LIB_RUNTIME_WEIGHTSFILE_H
#define TFC_LIB_RUNTIME_WEIGHTSFILE_H

#include "tfc/Runtime/tfc_runtime.h"

#include <string>
#include <vector>

namespace tfcrt {

/// One named entry of the header's table (for tools and checks).
struct WeightsEntry {
  std::string name;
  uint64_t offset = 0; // relative to the data section
  uint64_t nbytes = 0;
  uint32_t dtype = 0;
  std::vector<int64_t> dims;
};

/// A read-only mapping of a .tfcw file whose header, size and hash were
/// checked (WeightsFormat.h). Movable, not copyable; unmaps on destruction.
class WeightsFile {
public:
  WeightsFile() = default;
  WeightsFile(const WeightsFile &) = delete;
  WeightsFile &operator=(const WeightsFile &) = delete;
  WeightsFile(WeightsFile &&other) noexcept { *this = std::move(other); }
  WeightsFile &operator=(WeightsFile &&other) noexcept;
  ~WeightsFile() { close(); }

  /// Maps and validates `path`. With `checkExpected`, the data section must
  /// also have exactly `expectedSize` bytes and hash `expectedHash`.
  /// Returns TFC_ERR_IO / TFC_ERR_CORRUPT with `error` naming the file and
  /// the problem.
  tfc_status open(const std::string &path, bool checkExpected,
                  uint64_t expectedSize, uint64_t expectedHash,
                  std::string &error);
  void close();

  /// The data section (64-byte aligned), or a static aligned dummy when no
  /// file is open, so compiled code always gets a valid pointer.
  const void *data() const;
  uint64_t dataSize() const { return dataBytes; }
  uint64_t fileSize() const { return mapBytes; }
  const std::vector<WeightsEntry> &entries() const { return table; }

private:
  void *map = nullptr;
  uint64_t mapBytes = 0;
  uint64_t headerBytes = 0;
  uint64_t dataBytes = 0;
  std::vector<WeightsEntry> table;
};

} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_WEIGHTSFILE_H
