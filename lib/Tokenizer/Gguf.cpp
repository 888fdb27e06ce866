//===- Gguf.cpp - GGUF header, metadata and tensor table reader -----------===//
//
// Format (little-endian): magic "GGUF", u32 version, u64 tensor_count,
// u64 kv_count, then kv_count of { string key, u32 type, value }, then
// tensor_count of { string name, u32 n_dims, u64 dims[n_dims], u32 type,
// u64 offset }, then padding to general.alignment (default 32) and the tensor
// data. A string is { u64 length, bytes }; an array is { u32 element type,
// u64 count, elements }.
//
//===----------------------------------------------------------------------===//

#include "tfc/Tokenizer/Gguf.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

namespace tfc {
namespace tokenizer {

const char *ggufTypeName(GgufType type) {
  switch (type) {
  case GgufType::UInt8:
    return "uint8";
  case GgufType::Int8:
    return "int8";
  case GgufType::UInt16:
    return "uint16";
  case GgufType::Int16:
    return "int16";
  case GgufType::UInt32:
    return "uint32";
  case GgufType::Int32:
    return "int32";
  case GgufType::Float32:
    return "float32";
  case GgufType::Bool:
    return "bool";
  case GgufType::String:
    return "string";
  case GgufType::Array:
    return "array";
  case GgufType::UInt64:
    return "uint64";
  case GgufType::Int64:
    return "int64";
  case GgufType::Float64:
    return "float64";
  }
  return "?";
}

size_t ggufTypeSize(GgufType type) {
  switch (type) {
  case GgufType::UInt8:
  case GgufType::Int8:
  case GgufType::Bool:
    return 1;
  case GgufType::UInt16:
  case GgufType::Int16:
    return 2;
  case GgufType::UInt32:
  case GgufType::Int32:
  case GgufType::Float32:
    return 4;
  case GgufType::UInt64:
  case GgufType::Int64:
  case GgufType::Float64:
    return 8;
  case GgufType::String:
  case GgufType::Array:
    return 0;
  }
  return 0;
}

static bool isKnownType(uint32_t t) { return t <= 12; }

//===----------------------------------------------------------------------===//
// GgufValue
//===----------------------------------------------------------------------===//

bool GgufValue::isInteger() const {
  switch (ty) {
  case GgufType::UInt8:
  case GgufType::Int8:
  case GgufType::UInt16:
  case GgufType::Int16:
  case GgufType::UInt32:
  case GgufType::Int32:
  case GgufType::UInt64:
  case GgufType::Int64:
    return true;
  default:
    return false;
  }
}

static bool isSigned(GgufType t) {
  return t == GgufType::Int8 || t == GgufType::Int16 || t == GgufType::Int32 ||
         t == GgufType::Int64;
}

// Decodes one little-endian element of a fixed-size type into the scalar
// union layout: signed types sign-extended into i, unsigned into u,
// floats widened into f.
static void decodeScalar(GgufType t, const uint8_t *p, uint64_t &u, int64_t &i,
                         double &f) {
  uint64_t raw = 0;
  size_t n = ggufTypeSize(t);
  for (size_t k = 0; k < n; ++k)
    raw |= static_cast<uint64_t>(p[k]) << (8 * k);
  u = raw;
  i = static_cast<int64_t>(raw);
  f = 0;
  switch (t) {
  case GgufType::Int8:
    i = static_cast<int8_t>(raw);
    break;
  case GgufType::Int16:
    i = static_cast<int16_t>(raw);
    break;
  case GgufType::Int32:
    i = static_cast<int32_t>(raw);
    break;
  case GgufType::Float32: {
    float x;
    uint32_t r32 = static_cast<uint32_t>(raw);
    std::memcpy(&x, &r32, 4);
    f = x;
    break;
  }
  case GgufType::Float64:
    std::memcpy(&f, &raw, 8);
    break;
  default:
    break;
  }
}

bool GgufValue::asInt64(int64_t &out) const {
  if (!isInteger() && ty != GgufType::Bool)
    return false;
  if (isSigned(ty)) {
    out = scalar.i;
    return true;
  }
  if (scalar.u > static_cast<uint64_t>(INT64_MAX))
    return false;
  out = static_cast<int64_t>(scalar.u);
  return true;
}

bool GgufValue::asUInt64(uint64_t &out) const {
  if (!isInteger() && ty != GgufType::Bool)
    return false;
  if (isSigned(ty)) {
    if (scalar.i < 0)
      return false;
    out = static_cast<uint64_t>(scalar.i);
    return true;
  }
  out = scalar.u;
  return true;
}

bool GgufValue::asDouble(double &out) const {
  if (isFloat()) {
    out = scalar.f;
    return true;
  }
  if (!isInteger())
    return false;
  out = isSigned(ty) ? static_cast<double>(scalar.i)
                     : static_cast<double>(scalar.u);
  return true;
}

bool GgufValue::asBool(bool &out) const {
  if (ty != GgufType::Bool)
    return false;
  out = scalar.u != 0;
  return true;
}

bool GgufValue::intAt(size_t i, int64_t &out) const {
  if (ty != GgufType::Array || i >= count)
    return false;
  size_t n = ggufTypeSize(elemTy);
  if (n == 0 || elemTy == GgufType::Float32 || elemTy == GgufType::Float64)
    return false;
  uint64_t u;
  int64_t s;
  double f;
  decodeScalar(elemTy, raw.data() + i * n, u, s, f);
  if (isSigned(elemTy)) {
    out = s;
    return true;
  }
  if (u > static_cast<uint64_t>(INT64_MAX))
    return false;
  out = static_cast<int64_t>(u);
  return true;
}

bool GgufValue::doubleAt(size_t i, double &out) const {
  if (ty != GgufType::Array || i >= count)
    return false;
  size_t n = ggufTypeSize(elemTy);
  if (n == 0)
    return false;
  uint64_t u;
  int64_t s;
  double f;
  decodeScalar(elemTy, raw.data() + i * n, u, s, f);
  if (elemTy == GgufType::Float32 || elemTy == GgufType::Float64)
    out = f;
  else
    out = isSigned(elemTy) ? static_cast<double>(s) : static_cast<double>(u);
  return true;
}

std::string GgufValue::summary() const {
  switch (ty) {
  case GgufType::String: {
    std::string s = str.size() > 60 ? str.substr(0, 60) + "..." : str;
    return "\"" + s + "\"";
  }
  case GgufType::Array:
    return std::string("[") + ggufTypeName(elemTy) + " x " +
           std::to_string(count) + "]";
  case GgufType::Bool:
    return scalar.u ? "true" : "false";
  case GgufType::Float32:
  case GgufType::Float64: {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%g", scalar.f);
    return buf;
  }
  default:
    return isSigned(ty) ? std::to_string(scalar.i) : std::to_string(scalar.u);
  }
}

//===----------------------------------------------------------------------===//
// Parser
//===----------------------------------------------------------------------===//

namespace {
// Sequential bytes from a file or from memory, with the count of bytes left
// so that every length can be checked before anything is allocated.
class ByteSource {
public:
  virtual ~ByteSource() = default;
  virtual bool read(void *dst, size_t n) = 0;
  uint64_t offset() const { return pos; }
  uint64_t remaining() const { return size - pos; }

protected:
  uint64_t pos = 0;
  uint64_t size = 0;
};

class MemorySource : public ByteSource {
public:
  MemorySource(const void *data, size_t n)
      : base(static_cast<const uint8_t *>(data)) {
    size = n;
  }
  bool read(void *dst, size_t n) override {
    if (n > remaining())
      return false;
    if (n)
      std::memcpy(dst, base + pos, n);
    pos += n;
    return true;
  }

private:
  const uint8_t *base;
};

struct FileCloser {
  void operator()(std::FILE *f) const { std::fclose(f); }
};

class FileSource : public ByteSource {
public:
  explicit FileSource(std::FILE *f, uint64_t n) : file(f) { size = n; }
  bool read(void *dst, size_t n) override {
    if (n > remaining())
      return false;
    if (n && std::fread(dst, 1, n, file) != n)
      return false;
    pos += n;
    return true;
  }

private:
  std::FILE *file;
};
} // namespace

class GgufParser {
public:
  GgufParser(ByteSource &src, GgufFile &out) : src(src), out(out) {}

  Status run() {
    char magic[4];
    if (!src.read(magic, 4) || std::memcmp(magic, "GGUF", 4) != 0)
      return Status::error("not a GGUF file (bad magic)");
    uint32_t version;
    if (!readU32(version))
      return truncated("version");
    if (version == 0x02000000u || version == 0x03000000u)
      return Status::error("big-endian GGUF files are not supported");
    if (version == 1)
      return Status::error("GGUF version 1 is not supported (re-convert the "
                           "file with a current llama.cpp)");
    if (version != 2 && version != 3)
      return Status::error("unsupported GGUF version " +
                           std::to_string(version));
    out.ver = version;
    uint64_t numTensors, numKv;
    if (!readU64(numTensors) || !readU64(numKv))
      return truncated("header");
    // A key/value takes at least 8 + 4 + 1 bytes, a tensor entry 8+4+4+8.
    if (numKv > src.remaining() / 13)
      return corrupt("metadata count " + std::to_string(numKv) +
                     " exceeds what the file can hold");
    if (numTensors > src.remaining() / 24)
      return corrupt("tensor count " + std::to_string(numTensors) +
                     " exceeds what the file can hold");

    for (uint64_t k = 0; k < numKv; ++k) {
      std::string key;
      uint64_t at = src.offset();
      if (!readString(key, 1u << 16))
        return corruptAt(at, "metadata key #" + std::to_string(k) +
                                 ": bad or truncated key string" +
                                 afterKeyHint());
      uint32_t type;
      if (!readU32(type))
        return truncated("type of key '" + key + "'");
      if (!isKnownType(type))
        return corruptAt(at, "key '" + key + "' has unknown value type " +
                                 std::to_string(type) + afterKeyHint());
      if (out.values.count(key))
        return corruptAt(at, "duplicate key '" + key + "'");
      GgufValue value;
      currentKey = key;
      Status s = readValue(static_cast<GgufType>(type), value, 0);
      if (!s.ok())
        return s.withContext("key '" + key + "'");
      out.keyOrder.push_back(key);
      out.values.emplace(std::move(key), std::move(value));
    }

    if (const GgufValue *a = out.find("general.alignment")) {
      uint64_t align = 0;
      if (!a->asUInt64(align) || align == 0 || (align & (align - 1)) != 0)
        return corrupt("general.alignment must be a power of two, got " +
                       a->summary());
      out.align = align;
    }

    out.tensorInfos.reserve(static_cast<size_t>(numTensors));
    for (uint64_t t = 0; t < numTensors; ++t) {
      GgufTensorInfo info;
      uint64_t at = src.offset();
      if (!readString(info.name, 1u << 16))
        return corruptAt(at, "tensor #" + std::to_string(t) + ": bad name");
      uint32_t nDims;
      if (!readU32(nDims))
        return truncated("tensor '" + info.name + "'");
      if (nDims > 8)
        return corruptAt(at, "tensor '" + info.name + "' has " +
                                 std::to_string(nDims) + " dims");
      info.dims.resize(nDims);
      for (uint32_t d = 0; d < nDims; ++d)
        if (!readU64(info.dims[d]))
          return truncated("tensor '" + info.name + "'");
      if (!readU32(info.type) || !readU64(info.offset))
        return truncated("tensor '" + info.name + "'");
      if (info.offset % out.align != 0)
        return corruptAt(at, "tensor '" + info.name + "' offset " +
                                 std::to_string(info.offset) +
                                 " is not aligned to " +
                                 std::to_string(out.align));
      out.tensorInfos.push_back(std::move(info));
    }
    uint64_t end = src.offset();
    out.dataOff = (end + out.align - 1) / out.align * out.align;
    return Status::success();
  }

private:
  bool readU32(uint32_t &v) {
    uint8_t b[4];
    if (!src.read(b, 4))
      return false;
    v = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
    return true;
  }
  bool readU64(uint64_t &v) {
    uint8_t b[8];
    if (!src.read(b, 8))
      return false;
    v = 0;
    for (int k = 0; k < 8; ++k)
      v |= static_cast<uint64_t>(b[k]) << (8 * k);
    return true;
  }
  bool readString(std::string &s, uint64_t maxLen) {
    uint64_t n;
    if (!readU64(n) || n > maxLen || n > src.remaining())
      return false;
    s.resize(static_cast<size_t>(n));
    return src.read(&s[0], static_cast<size_t>(n));
  }

  Status readValue(GgufType type, GgufValue &v, int depth) {
    v.ty = type;
    if (type == GgufType::String) {
      uint64_t at = src.offset();
      if (!readString(v.str, src.remaining()))
        return corruptAt(at, "bad or truncated string");
      return Status::success();
    }
    if (type != GgufType::Array) {
      uint8_t b[8];
      size_t n = ggufTypeSize(type);
      if (!src.read(b, n))
        return truncated("value");
      noteSuspiciousBytes(b, n);
      decodeScalar(type, b, v.scalar.u, v.scalar.i, v.scalar.f);
      return Status::success();
    }
    if (depth >= 4)
      return corrupt("arrays nested too deeply");
    uint64_t at = src.offset();
    uint32_t elem;
    uint64_t count;
    if (!readU32(elem) || !readU64(count))
      return truncated("array header");
    if (!isKnownType(elem))
      return corruptAt(at, "array of unknown element type " +
                               std::to_string(elem));
    v.elemTy = static_cast<GgufType>(elem);
    size_t elemSize = ggufTypeSize(v.elemTy);
    // Strings and arrays take at least 8 bytes each.
    uint64_t minSize = elemSize ? elemSize : 8;
    if (count > src.remaining() / minSize)
      return corruptAt(at, "array of " + std::to_string(count) + " " +
                               ggufTypeName(v.elemTy) +
                               " exceeds the bytes left in the file");
    v.count = static_cast<size_t>(count);
    if (elemSize) {
      v.raw.resize(v.count * elemSize);
      if (!src.read(v.raw.data(), v.raw.size()))
        return truncated("array data");
    } else if (v.elemTy == GgufType::String) {
      v.strs.resize(v.count);
      for (size_t i = 0; i < v.count; ++i) {
        uint64_t sat = src.offset();
        if (!readString(v.strs[i], src.remaining()))
          return corruptAt(sat, "bad string #" + std::to_string(i) +
                                    " in array");
      }
    } else {
      v.arrs.resize(v.count);
      for (size_t i = 0; i < v.count; ++i) {
        Status s = readValue(GgufType::Array, v.arrs[i], depth + 1);
        if (!s.ok())
          return s.withContext("element " + std::to_string(i));
      }
    }
    return Status::success();
  }

  // Bytes EF BF (BD) in a number are the mark of U+FFFD: the file went
  // through a UTF-8 text conversion that replaced invalid bytes, which also
  // shifts everything after it. Remember it to explain the error that
  // follows.
  void noteSuspiciousBytes(const uint8_t *b, size_t n) {
    bool suspect = n && b[n - 1] == 0xEF;
    for (size_t k = 0; k + 1 < n; ++k)
      suspect |= b[k] == 0xEF && b[k + 1] == 0xBF;
    if (suspect && suspectKey.empty())
      suspectKey = currentKey;
  }
  std::string afterKeyHint() const {
    if (suspectKey.empty())
      return "";
    return "; the value of '" + suspectKey + "'" +
           " holds bytes EF BF BD (U+FFFD): the file looks damaged by a "
           "UTF-8 text conversion, fetch it again as binary";
  }

  Status truncated(const std::string &what) {
    return Status::error("truncated GGUF file while reading " + what +
                         " at offset " + std::to_string(src.offset()) +
                         afterKeyHint());
  }
  Status corrupt(const std::string &what) {
    return Status::error("corrupt GGUF file: " + what + afterKeyHint());
  }
  Status corruptAt(uint64_t at, const std::string &what) {
    return Status::error("corrupt GGUF file at offset " + std::to_string(at) +
                         ": " + what);
  }

  ByteSource &src;
  GgufFile &out;
  std::string currentKey;
  std::string suspectKey;
};

Status GgufFile::parse(const void *data, size_t size, GgufFile &out) {
  out = GgufFile();
  MemorySource src(data, size);
  GgufParser parser(src, out);
  return parser.run();
}

Status GgufFile::open(const std::string &path, GgufFile &out) {
  out = GgufFile();
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f)
    return Status::error("cannot open '" + path + "': " +
                         std::strerror(errno));
  if (std::fseek(f.get(), 0, SEEK_END) != 0)
    return Status::error("cannot seek in '" + path + "'");
  long size = std::ftell(f.get());
  if (size < 0 || std::fseek(f.get(), 0, SEEK_SET) != 0)
    return Status::error("cannot size '" + path + "'");
  std::setvbuf(f.get(), nullptr, _IOFBF, 1 << 20);
  FileSource src(f.get(), static_cast<uint64_t>(size));
  GgufParser parser(src, out);
  Status s = parser.run();
  return s.withContext(path);
}

const GgufValue *GgufFile::find(std::string_view key) const {
  auto it = values.find(std::string(key));
  return it == values.end() ? nullptr : &it->second;
}

bool GgufFile::getString(std::string_view key, std::string &out) const {
  const GgufValue *v = find(key);
  if (!v || !v->isString())
    return false;
  out = v->asString();
  return true;
}

bool GgufFile::getUInt(std::string_view key, uint64_t &out) const {
  const GgufValue *v = find(key);
  return v && v->type() != GgufType::Bool && v->asUInt64(out);
}

bool GgufFile::getInt(std::string_view key, int64_t &out) const {
  const GgufValue *v = find(key);
  return v && v->type() != GgufType::Bool && v->asInt64(out);
}

bool GgufFile::getFloat(std::string_view key, double &out) const {
  const GgufValue *v = find(key);
  return v && v->asDouble(out);
}

bool GgufFile::getBool(std::string_view key, bool &out) const {
  const GgufValue *v = find(key);
  return v && v->asBool(out);
}

} // namespace tokenizer
} // namespace tfc
