//===- Gguf.h - a reader for GGUF metadata ----------------------*- C++ -*-===//
//
// Reads the header, every metadata key/value (all types, arrays included,
// nested arrays too) and the tensor table of a GGUF file (versions 2 and 3,
// little-endian). Tensor data is not read; `dataOffset()` tells where it
// starts. Files may hold no tensors at all (vocab-only files).
//
// Reading streams the file, so a multi-gigabyte model costs only its
// metadata. Every length and count is checked against the bytes left, so a
// truncated or corrupt file gives an error naming the key, never a crash.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOKENIZER_GGUF_H
#define TFC_TOKENIZER_GGUF_H

#include "tfc/Tokenizer/Status.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tfc {
namespace tokenizer {

enum class GgufType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

/// "uint32", "string", "array", ...; "?" for an unknown value.
const char *ggufTypeName(GgufType type);
/// Bytes of one scalar of a fixed-size type; 0 for String and Array.
size_t ggufTypeSize(GgufType type);

/// One metadata value: a scalar, a string, or an array of one element type.
class GgufValue {
public:
  GgufType type() const { return ty; }
  bool isArray() const { return ty == GgufType::Array; }
  bool isString() const { return ty == GgufType::String; }
  bool isInteger() const;
  bool isFloat() const {
    return ty == GgufType::Float32 || ty == GgufType::Float64;
  }

  // Scalars. Integers (and Bool) convert to int64/uint64 when they fit.
  bool asInt64(int64_t &out) const;
  bool asUInt64(uint64_t &out) const;
  bool asDouble(double &out) const; // any integer or float
  bool asBool(bool &out) const;     // Bool only
  const std::string &asString() const { return str; }

  // Arrays.
  GgufType elementType() const { return elemTy; }
  size_t size() const { return count; }
  /// Element i of an array of integers / floats / bools.
  bool intAt(size_t i, int64_t &out) const;
  bool doubleAt(size_t i, double &out) const;
  /// Elements of an array of strings.
  const std::vector<std::string> &strings() const { return strs; }
  /// Elements of an array of arrays.
  const std::vector<GgufValue> &arrays() const { return arrs; }

  /// Short rendering for messages and dumps: `"bert"`, `512`,
  /// `[string x 30522]`.
  std::string summary() const;

private:
  friend class GgufParser;
  GgufType ty = GgufType::UInt8;
  GgufType elemTy = GgufType::UInt8;
  size_t count = 0;
  struct {
    uint64_t u = 0; // unsigned integers and Bool
    int64_t i = 0;  // signed integers (sign-extended)
    double f = 0;   // floats
  } scalar;
  std::string str;
  std::vector<uint8_t> raw; // arrays of fixed-size elements, little-endian
  std::vector<std::string> strs;
  std::vector<GgufValue> arrs;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;
  uint32_t type = 0;   // ggml_type
  uint64_t offset = 0; // relative to GgufFile::dataOffset()
};

class GgufFile {
public:
  /// Reads the metadata and tensor table of the file at `path`.
  static Status open(const std::string &path, GgufFile &out);
  /// Same from bytes in memory.
  static Status parse(const void *data, size_t size, GgufFile &out);

  uint32_t version() const { return ver; }
  /// Keys in file order.
  const std::vector<std::string> &keys() const { return keyOrder; }
  /// nullptr when absent.
  const GgufValue *find(std::string_view key) const;

  // Typed lookups: false when the key is absent or has another type.
  bool getString(std::string_view key, std::string &out) const;
  bool getUInt(std::string_view key, uint64_t &out) const; // any integer >= 0
  bool getInt(std::string_view key, int64_t &out) const;
  bool getFloat(std::string_view key, double &out) const;
  bool getBool(std::string_view key, bool &out) const;

  const std::vector<GgufTensorInfo> &tensors() const { return tensorInfos; }
  uint64_t alignment() const { return align; }
  /// Offset in the file of the tensor data section (aligned).
  uint64_t dataOffset() const { return dataOff; }

private:
  friend class GgufParser;
  uint32_t ver = 0;
  std::vector<std::string> keyOrder;
  std::unordered_map<std::string, GgufValue> values;
  std::vector<GgufTensorInfo> tensorInfos;
  uint64_t align = 32;
  uint64_t dataOff = 0;
};

} // namespace tokenizer
} // namespace tfc

#endif // TFC_TOKENIZER_GGUF_H
