//===- Npz.cpp - NumPy .npy / .npz reader and writer ----------------------===//

#include "Npz.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <zlib.h>

namespace tfcrun {

//===-- arrays ------------------------------------------------------------===//

namespace {
/// Bytes per element (kept here so the npz code needs no runtime library).
size_t elementSize(tfc_dtype dtype) {
  switch (dtype) {
  case TFC_DTYPE_F64:
  case TFC_DTYPE_I64:
    return 8;
  case TFC_DTYPE_F32:
  case TFC_DTYPE_I32:
    return 4;
  case TFC_DTYPE_F16:
  case TFC_DTYPE_BF16:
    return 2;
  default:
    return 1;
  }
}
} // namespace

void NpyArray::Free::operator()(void *p) const { std::free(p); }

bool NpyArray::allocate(tfc_dtype dtype, const std::vector<int64_t> &shape) {
  type = dtype;
  dims = shape;
  int64_t n = numElements();
  if (n < 0)
    return false;
  bytes = static_cast<size_t>(n) * elementSize(dtype);
  void *p = nullptr;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
    return false;
  std::memset(p, 0, bytes ? bytes : 64);
  storage.reset(p);
  return true;
}

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0 || (d > 0 && n > std::numeric_limits<int64_t>::max() / d))
      return -1;
    n *= d;
  }
  return n;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: normalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3FF) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t absx = x & 0x7FFFFFFF;
  if (absx >= 0x7F800000) // inf / nan
    return sign | 0x7C00 | (absx > 0x7F800000 ? 0x200 : 0);
  if (absx >= 0x477FF000) // rounds to >= 65520: overflow
    return sign | 0x7C00;
  if (absx < 0x38800000) { // subnormal half (or zero)
    float a;
    std::memcpy(&a, &absx, 4);
    return sign | static_cast<uint16_t>(std::lrint(a * 16777216.0f)); // 2^24
  }
  uint32_t mant = absx & 0x7FFFFF;
  uint32_t exp = (absx >> 23) - 127 + 15;
  uint32_t h = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
    ++h;
  return sign | static_cast<uint16_t>(h);
}

double NpyArray::at(int64_t i) const {
  const char *p = static_cast<const char *>(storage.get());
  switch (type) {
  case TFC_DTYPE_F32: {
    float v;
    std::memcpy(&v, p + 4 * i, 4);
    return v;
  }
  case TFC_DTYPE_F64: {
    double v;
    std::memcpy(&v, p + 8 * i, 8);
    return v;
  }
  case TFC_DTYPE_F16: {
    uint16_t v;
    std::memcpy(&v, p + 2 * i, 2);
    return halfToFloat(v);
  }
  case TFC_DTYPE_BF16: {
    uint16_t v;
    std::memcpy(&v, p + 2 * i, 2);
    uint32_t bits = static_cast<uint32_t>(v) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  case TFC_DTYPE_I64: {
    int64_t v;
    std::memcpy(&v, p + 8 * i, 8);
    return static_cast<double>(v);
  }
  case TFC_DTYPE_I32: {
    int32_t v;
    std::memcpy(&v, p + 4 * i, 4);
    return v;
  }
  case TFC_DTYPE_I8:
    return static_cast<int8_t>(p[i]);
  case TFC_DTYPE_U8:
  case TFC_DTYPE_BOOL:
    return static_cast<uint8_t>(p[i]);
  }
  return 0;
}

const char *npyDescr(tfc_dtype dtype) {
  switch (dtype) {
  case TFC_DTYPE_F32:
    return "<f4";
  case TFC_DTYPE_F64:
    return "<f8";
  case TFC_DTYPE_F16:
    return "<f2";
  case TFC_DTYPE_I64:
    return "<i8";
  case TFC_DTYPE_I32:
    return "<i4";
  case TFC_DTYPE_I8:
    return "|i1";
  case TFC_DTYPE_U8:
    return "|u1";
  case TFC_DTYPE_BOOL:
    return "|b1";
  case TFC_DTYPE_BF16:
    return "";
  }
  return "";
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

//===-- .npy --------------------------------------------------------------===//

namespace {

bool descrToDtype(const std::string &descr, tfc_dtype &out) {
  static const struct {
    const char *descr;
    tfc_dtype dtype;
  } table[] = {
      {"<f4", TFC_DTYPE_F32}, {"<f8", TFC_DTYPE_F64},  {"<f2", TFC_DTYPE_F16},
      {"<i8", TFC_DTYPE_I64}, {"<i4", TFC_DTYPE_I32},  {"|i1", TFC_DTYPE_I8},
      {"|u1", TFC_DTYPE_U8},  {"|b1", TFC_DTYPE_BOOL}, {"<i1", TFC_DTYPE_I8},
      {"<u1", TFC_DTYPE_U8},  {"<b1", TFC_DTYPE_BOOL}};
  for (const auto &e : table) {
    if (descr == e.descr) {
      out = e.dtype;
      return true;
    }
  }
  return false;
}

/// Value text after `'key':` in a header dict, or "" if absent.
std::string dictValue(const std::string &header, const std::string &key) {
  size_t at = header.find("'" + key + "'");
  if (at == std::string::npos)
    at = header.find("\"" + key + "\"");
  if (at == std::string::npos)
    return "";
  at = header.find(':', at);
  if (at == std::string::npos)
    return "";
  ++at;
  while (at < header.size() && header[at] == ' ')
    ++at;
  if (at >= header.size())
    return "";
  char open = header[at];
  if (open == '\'' || open == '"') {
    size_t end = header.find(open, at + 1);
    return end == std::string::npos ? "" : header.substr(at, end - at + 1);
  }
  if (open == '(') {
    size_t end = header.find(')', at);
    return end == std::string::npos ? "" : header.substr(at, end - at + 1);
  }
  size_t end = header.find_first_of(",}", at);
  std::string v = header.substr(at, end == std::string::npos ? std::string::npos
                                                             : end - at);
  while (!v.empty() && v.back() == ' ')
    v.pop_back();
  return v;
}

bool parseShapeTuple(const std::string &text, std::vector<int64_t> &shape) {
  if (text.size() < 2 || text.front() != '(' || text.back() != ')')
    return false;
  shape.clear();
  std::string inner = text.substr(1, text.size() - 2);
  size_t at = 0;
  while (at < inner.size()) {
    while (at < inner.size() && (inner[at] == ' ' || inner[at] == ','))
      ++at;
    if (at >= inner.size())
      break;
    char *end = nullptr;
    errno = 0;
    long long v = std::strtoll(inner.c_str() + at, &end, 10);
    if (end == inner.c_str() + at || errno || v < 0)
      return false;
    shape.push_back(v);
    at = static_cast<size_t>(end - inner.c_str());
    // numpy may write "3L" in very old files
    if (at < inner.size() && (inner[at] == 'L' || inner[at] == 'l'))
      ++at;
  }
  return true;
}

} // namespace

bool parseNpy(const uint8_t *data, size_t size, const std::string &what,
              NpyArray &out, std::string &error) {
  auto fail = [&](const std::string &why) {
    error = what + ": " + why;
    return false;
  };
  if (size < 10 || std::memcmp(data, "\x93NUMPY", 6) != 0)
    return fail("not a .npy array (bad magic)");
  unsigned major = data[6];
  size_t headerLen, headerAt;
  if (major == 1) {
    headerLen = data[8] | (static_cast<size_t>(data[9]) << 8);
    headerAt = 10;
  } else if (major == 2 || major == 3) {
    if (size < 12)
      return fail("truncated .npy header");
    headerLen = data[8] | (static_cast<size_t>(data[9]) << 8) |
                (static_cast<size_t>(data[10]) << 16) |
                (static_cast<size_t>(data[11]) << 24);
    headerAt = 12;
  } else {
    return fail("unsupported .npy version " + std::to_string(major));
  }
  if (headerLen > size - headerAt)
    return fail("truncated .npy header");
  std::string header(reinterpret_cast<const char *>(data + headerAt),
                     headerLen);

  std::string descr = dictValue(header, "descr");
  if (descr.size() < 2)
    return fail("no 'descr' in the .npy header");
  descr = descr.substr(1, descr.size() - 2);
  tfc_dtype dtype;
  if (!descrToDtype(descr, dtype))
    return fail(
        "unsupported dtype '" + descr +
        "' (supported: <f4 <f8 <i8 <i4 |i1 |u1 |b1 <f2, little-endian)");
  std::vector<int64_t> shape;
  if (!parseShapeTuple(dictValue(header, "shape"), shape))
    return fail("bad or missing 'shape' in the .npy header");
  if (shape.size() > TFC_MAX_RANK)
    return fail("rank " + std::to_string(shape.size()) + " exceeds " +
                std::to_string(TFC_MAX_RANK));
  std::string fortran = dictValue(header, "fortran_order");
  if (fortran != "False" && fortran != "True")
    return fail("bad or missing 'fortran_order' in the .npy header");
  if (fortran == "True") {
    int big = 0;
    for (int64_t d : shape)
      big += d > 1;
    if (big > 1)
      return fail("Fortran-order array; save it in C order "
                  "(np.ascontiguousarray)");
  }
  size_t payload = size - headerAt - headerLen;
  // The data must be there before we allocate for the shape: a 120-byte
  // file whose header claimed 54 GB made the reader try to allocate them
  // (found by fuzzing: test/Fuzz/corpus/npz).
  uint64_t elements = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && elements > (UINT64_MAX >> 4) / d))
      return fail("array too large (shape " + shapeString(shape) + ")");
    elements *= static_cast<uint64_t>(d);
  }
  if (elements * elementSize(dtype) > payload)
    return fail("truncated data: " + std::to_string(payload) + " bytes for " +
                std::to_string(elements * elementSize(dtype)) +
                " expected by shape " + shapeString(shape));
  if (!out.allocate(dtype, shape))
    return fail("array too large (shape " + shapeString(shape) + ")");
  if (payload < out.numBytes())
    return fail("truncated data: " + std::to_string(payload) + " bytes for " +
                std::to_string(out.numBytes()) + " expected by shape " +
                shapeString(shape));
  if (out.numBytes())
    std::memcpy(out.data(), data + headerAt + headerLen, out.numBytes());
  return true;
}

std::vector<uint8_t> serializeNpy(const NpyArray &array) {
  const bool bf16 = array.dtype() == TFC_DTYPE_BF16;
  // Python tuple syntax: (), (3,), (2, 3)
  std::string shape = "(";
  for (size_t i = 0; i < array.shape().size(); ++i)
    shape += (i ? ", " : "") + std::to_string(array.shape()[i]);
  shape += array.shape().size() == 1 ? ",)" : ")";
  std::string header = std::string("{'descr': '") +
                       (bf16 ? "<f4" : npyDescr(array.dtype())) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  size_t total = 10 + header.size() + 1;
  size_t padded = (total + 63) / 64 * 64;
  header.append(padded - total, ' ');
  header += '\n';
  std::vector<uint8_t> out;
  const int64_t n = array.numElements();
  out.reserve(10 + header.size() + (bf16 ? 4 * n : array.numBytes()));
  const char magic[] = "\x93NUMPY\x01\x00";
  out.insert(out.end(), magic, magic + 8);
  out.push_back(static_cast<uint8_t>(header.size() & 0xFF));
  out.push_back(static_cast<uint8_t>(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  if (bf16) {
    for (int64_t i = 0; i < n; ++i) {
      float f = static_cast<float>(array.at(i));
      const uint8_t *b = reinterpret_cast<const uint8_t *>(&f);
      out.insert(out.end(), b, b + 4);
    }
  } else {
    const uint8_t *p = static_cast<const uint8_t *>(array.data());
    out.insert(out.end(), p, p + array.numBytes());
  }
  return out;
}

//===-- .npz (zip) --------------------------------------------------------===//

namespace {

uint16_t rd16(const uint8_t *p) { return p[0] | (p[1] << 8); }
uint32_t rd32(const uint8_t *p) {
  return p[0] | (p[1] << 8) | (p[2] << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint64_t rd64(const uint8_t *p) {
  return rd32(p) | (static_cast<uint64_t>(rd32(p + 4)) << 32);
}

void put16(std::vector<uint8_t> &o, uint32_t v) {
  o.push_back(v & 0xFF);
  o.push_back((v >> 8) & 0xFF);
}
void put32(std::vector<uint8_t> &o, uint32_t v) {
  put16(o, v & 0xFFFF);
  put16(o, v >> 16);
}

bool readFile(const std::string &path, std::vector<uint8_t> &out,
              std::string &error) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  out.clear();
  uint8_t buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    out.insert(out.end(), buf, buf + n);
  bool bad = std::ferror(f);
  std::fclose(f);
  if (bad) {
    error = "cannot read '" + path + "'";
    return false;
  }
  return true;
}

uint32_t crc32Of(const uint8_t *p, size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    uInt chunk = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
    crc = crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

bool inflateRaw(const uint8_t *in, size_t inSize, size_t outSize,
                std::vector<uint8_t> &out) {
  out.assign(outSize, 0);
  z_stream s;
  std::memset(&s, 0, sizeof(s));
  if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
    return false;
  s.next_in = const_cast<Bytef *>(in);
  s.next_out = out.data();
  size_t inLeft = inSize, outLeft = outSize;
  int rc = Z_OK;
  while (rc == Z_OK) {
    uInt inChunk = inLeft > (1u << 30) ? (1u << 30) : static_cast<uInt>(inLeft);
    uInt outChunk =
        outLeft > (1u << 30) ? (1u << 30) : static_cast<uInt>(outLeft);
    s.avail_in = inChunk;
    s.avail_out = outChunk;
    rc = inflate(&s, Z_NO_FLUSH);
    inLeft -= inChunk - s.avail_in;
    outLeft -= outChunk - s.avail_out;
    if (rc == Z_OK && s.avail_in == inChunk && s.avail_out == outChunk)
      break; // no progress
  }
  inflateEnd(&s);
  return rc == Z_STREAM_END && outLeft == 0;
}

} // namespace

bool readNpz(const std::string &path, std::map<std::string, NpyArray> &out,
             std::string &error) {
  out.clear();
  std::vector<uint8_t> file;
  if (!readFile(path, file, error))
    return false;
  auto fail = [&](const std::string &why) {
    error = "'" + path + "' is not a valid .npz: " + why;
    return false;
  };
  const size_t size = file.size();
  const uint8_t *z = file.data();
  if (size < 22)
    return fail("too short for a zip archive");
  // End of central directory: the last signature within the comment window.
  size_t eocd = std::string::npos;
  size_t lowest = size > 22 + 65535 ? size - 22 - 65535 : 0;
  for (size_t at = size - 22 + 1; at-- > lowest;) {
    if (rd32(z + at) == 0x06054b50) {
      eocd = at;
      break;
    }
  }
  if (eocd == std::string::npos)
    return fail("no zip end-of-central-directory record");
  uint64_t entries = rd16(z + eocd + 10);
  uint64_t cdSize = rd32(z + eocd + 12);
  uint64_t cdOffset = rd32(z + eocd + 16);
  if (entries == 0xFFFF || cdSize == 0xFFFFFFFF || cdOffset == 0xFFFFFFFF) {
    if (eocd < 20 || rd32(z + eocd - 20) != 0x07064b50)
      return fail("zip64 archive without a zip64 locator");
    uint64_t z64 = rd64(z + eocd - 20 + 8);
    if (z64 > size || size - z64 < 56 || rd32(z + z64) != 0x06064b50)
      return fail("bad zip64 end-of-central-directory record");
    entries = rd64(z + z64 + 32);
    cdSize = rd64(z + z64 + 40);
    cdOffset = rd64(z + z64 + 48);
  }
  if (cdOffset > size || cdSize > size - cdOffset)
    return fail("central directory outside the file (truncated?)");

  uint64_t at = cdOffset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (at + 46 > cdOffset + cdSize || rd32(z + at) != 0x02014b50)
      return fail("bad central directory entry " + std::to_string(e));
    uint16_t flags = rd16(z + at + 8);
    uint16_t method = rd16(z + at + 10);
    uint32_t crc = rd32(z + at + 16);
    uint64_t csize = rd32(z + at + 20);
    uint64_t usize = rd32(z + at + 24);
    uint16_t nameLen = rd16(z + at + 28);
    uint16_t extraLen = rd16(z + at + 30);
    uint16_t commentLen = rd16(z + at + 32);
    uint64_t local = rd32(z + at + 42);
    if (at + 46 + nameLen + extraLen > cdOffset + cdSize)
      return fail("central directory entry " + std::to_string(e) +
                  " runs past the directory");
    std::string name(reinterpret_cast<const char *>(z + at + 46), nameLen);
    // zip64 extra field: the 0xFFFFFFFF fields, in order.
    const uint8_t *extra = z + at + 46 + nameLen;
    for (uint32_t x = 0; x + 4 <= extraLen;) {
      uint16_t id = rd16(extra + x), len = rd16(extra + x + 2);
      if (x + 4 + len > extraLen)
        break;
      if (id == 0x0001) {
        const uint8_t *f = extra + x + 4;
        uint32_t left = len;
        if (usize == 0xFFFFFFFF && left >= 8) {
          usize = rd64(f);
          f += 8;
          left -= 8;
        }
        if (csize == 0xFFFFFFFF && left >= 8) {
          csize = rd64(f);
          f += 8;
          left -= 8;
        }
        if (local == 0xFFFFFFFF && left >= 8)
          local = rd64(f);
      }
      x += 4 + len;
    }
    at += 46 + nameLen + extraLen + commentLen;

    std::string what = "'" + path + "' entry '" + name + "'";
    if (flags & 1) {
      error = what + ": encrypted entries are not supported";
      return false;
    }
    if (local > size || size - local < 30 || rd32(z + local) != 0x04034b50) {
      error = what + ": bad local header (truncated file?)";
      return false;
    }
    uint64_t dataAt = local + 30 + rd16(z + local + 26) + rd16(z + local + 28);
    if (dataAt > size || csize > size - dataAt) {
      error = what + ": data runs past the end of the file (truncated?)";
      return false;
    }
    std::vector<uint8_t> inflated;
    const uint8_t *payload = z + dataAt;
    if (method == 8) {
      // Deflate expands at most 1032:1; a larger claimed size is a corrupt
      // header, and was a 379-byte file that made the reader allocate and
      // clear a gigabyte (found by fuzzing: test/Fuzz/corpus/npz).
      if (usize > csize * 1032ull + 1024) {
        error = what + ": claims " + std::to_string(usize) +
                " bytes inflated from " + std::to_string(csize) +
                " compressed (more than deflate can expand: corrupt file)";
        return false;
      }
      if (!inflateRaw(z + dataAt, csize, usize, inflated)) {
        error = what + ": corrupt deflate stream";
        return false;
      }
      payload = inflated.data();
    } else if (method != 0) {
      error = what + ": unsupported compression method " +
              std::to_string(method) + " (only stored and deflate)";
      return false;
    } else if (csize != usize) {
      error = what + ": stored entry with different sizes";
      return false;
    }
    if (crc32Of(payload, usize) != crc) {
      error = what + ": CRC mismatch (corrupt file)";
      return false;
    }
    std::string key = name;
    if (key.size() >= 4 && key.compare(key.size() - 4, 4, ".npy") == 0)
      key.resize(key.size() - 4);
    NpyArray array;
    if (!parseNpy(payload, usize, what, array, error))
      return false;
    out[key] = std::move(array);
  }
  return true;
}

bool writeNpz(
    const std::string &path,
    const std::vector<std::pair<std::string, const NpyArray *>> &arrays,
    bool compress, std::string &error) {
  std::vector<uint8_t> zip, central;
  for (const auto &entry : arrays) {
    std::string name = entry.first + ".npy";
    std::vector<uint8_t> npy = serializeNpy(*entry.second);
    std::vector<uint8_t> stored;
    const std::vector<uint8_t> *payload = &npy;
    uint16_t method = 0;
    if (compress) {
      uLongf bound = compressBound(static_cast<uLong>(npy.size()));
      stored.resize(bound);
      z_stream s;
      std::memset(&s, 0, sizeof(s));
      if (deflateInit2(&s, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8,
                       Z_DEFAULT_STRATEGY) != Z_OK) {
        error = "zlib deflateInit2 failed";
        return false;
      }
      s.next_in = npy.data();
      s.avail_in = static_cast<uInt>(npy.size());
      s.next_out = stored.data();
      s.avail_out = static_cast<uInt>(stored.size());
      int rc = deflate(&s, Z_FINISH);
      stored.resize(s.total_out);
      deflateEnd(&s);
      if (rc != Z_STREAM_END) {
        error = "zlib deflate failed for '" + entry.first + "'";
        return false;
      }
      payload = &stored;
      method = 8;
    }
    if (npy.size() >= 0xFFFFFFFFull || zip.size() >= 0xFFFFFFFFull) {
      error = "'" + path + "': arrays of 4 GiB or more are not supported";
      return false;
    }
    uint32_t crc = crc32Of(npy.data(), npy.size());
    uint32_t offset = static_cast<uint32_t>(zip.size());
    auto header = [&](std::vector<uint8_t> &o, bool centralDir) {
      put32(o, centralDir ? 0x02014b50 : 0x04034b50);
      if (centralDir)
        put16(o, 20); // version made by
      put16(o, 20);   // version needed
      put16(o, 0);    // flags
      put16(o, method);
      put16(o, 0);    // time
      put16(o, 0x21); // date: 1980-01-01
      put32(o, crc);
      put32(o, static_cast<uint32_t>(payload->size()));
      put32(o, static_cast<uint32_t>(npy.size()));
      put16(o, static_cast<uint32_t>(name.size()));
      put16(o, 0); // extra
      if (centralDir) {
        put16(o, 0); // comment
        put16(o, 0); // disk
        put16(o, 0); // internal attributes
        put32(o, 0); // external attributes
        put32(o, offset);
      }
      o.insert(o.end(), name.begin(), name.end());
    };
    header(zip, false);
    zip.insert(zip.end(), payload->begin(), payload->end());
    header(central, true);
  }
  uint32_t cdOffset = static_cast<uint32_t>(zip.size());
  zip.insert(zip.end(), central.begin(), central.end());
  put32(zip, 0x06054b50);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, static_cast<uint32_t>(arrays.size()));
  put16(zip, static_cast<uint32_t>(arrays.size()));
  put32(zip, static_cast<uint32_t>(central.size()));
  put32(zip, cdOffset);
  put16(zip, 0);

  std::FILE *f = std::fopen(path.c_str(), "wb");
  if (!f) {
    error = "cannot create '" + path + "': " + std::strerror(errno);
    return false;
  }
  bool ok = std::fwrite(zip.data(), 1, zip.size(), f) == zip.size();
  ok = (std::fclose(f) == 0) && ok;
  if (!ok)
    error = "cannot write '" + path + "'";
  return ok;
}

} // namespace tfcrun
