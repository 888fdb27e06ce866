//===- Npz.h - read and write NumPy .npy / .npz files -----------*- C++ -*-===//
//
// Enough of the formats for tfc-run and the runtime tests, with no Python:
//   .npy  versions 1, 2 and 3; dtypes <f4 <f8 <i8 <i4 |i1 |u1 |b1 <f2;
//         C order (or any order for arrays with at most one dim > 1).
//   .npz  a zip archive of .npy files, entries stored (np.savez) or deflated
//         (np.savez_compressed), zip64 records included; CRCs are checked.
// Every failure is reported as a message naming the file, the entry and
// what is wrong; nothing here throws or aborts on bad input.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOOLS_TFCRUN_NPZ_H
#define TFC_TOOLS_TFCRUN_NPZ_H

#include "tfc/Runtime/tfc_runtime.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace tfcrun {

/// A dense, C-order array with 64-byte aligned storage.
class NpyArray {
public:
  NpyArray() = default;
  /// Allocates zero-filled storage; false when out of memory.
  bool allocate(tfc_dtype dtype, const std::vector<int64_t> &shape);

  tfc_dtype dtype() const { return type; }
  const std::vector<int64_t> &shape() const { return dims; }
  int64_t numElements() const;
  size_t numBytes() const { return bytes; }
  void *data() { return storage.get(); }
  const void *data() const { return storage.get(); }
  /// Element i converted to double (any dtype; f16 decoded).
  double at(int64_t i) const;

private:
  struct Free {
    void operator()(void *p) const;
  };
  tfc_dtype type = TFC_DTYPE_F32;
  std::vector<int64_t> dims;
  size_t bytes = 0;
  std::unique_ptr<void, Free> storage;
};

/// NumPy's descr for a dtype ("<f4", "|b1", ...); bf16 has none ("").
const char *npyDescr(tfc_dtype dtype);
/// "[2, 3]".
std::string shapeString(const std::vector<int64_t> &shape);

/// Parses one .npy image. `what` names it in messages.
bool parseNpy(const uint8_t *data, size_t size, const std::string &what,
              NpyArray &out, std::string &error);
/// Serializes an array as .npy (version 1.0, header padded to 64 bytes).
/// bf16, which NumPy lacks, is written as <f4.
std::vector<uint8_t> serializeNpy(const NpyArray &array);

/// Reads every array of an .npz file; keys are entry names without ".npy".
bool readNpz(const std::string &path, std::map<std::string, NpyArray> &out,
             std::string &error);
/// Writes arrays to an .npz file, stored (like np.savez) or deflated (like
/// np.savez_compressed).
bool writeNpz(
    const std::string &path,
    const std::vector<std::pair<std::string, const NpyArray *>> &arrays,
    bool compress, std::string &error);

/// IEEE half -> float.
float halfToFloat(uint16_t h);
/// float -> IEEE half (round to nearest even).
uint16_t floatToHalf(float f);

} // namespace tfcrun

#endif // TFC_TOOLS_TFCRUN_NPZ_H
