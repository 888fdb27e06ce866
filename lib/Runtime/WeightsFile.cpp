//===- WeightsFile.cpp - map and validate a .tfcw weights file ------------===//

#include "WeightsFile.h"
#include "Internal.h"
#include "tfc/Support/WeightsFormat.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tfcrt {

namespace {

uint64_t readU64(const unsigned char *p) {
  uint64_t v;
  std::memcpy(&v, p, 8); // the format is little-endian, as is every target
  return v;
}

uint32_t readU32(const unsigned char *p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

alignas(64) const unsigned char emptyWeights[64] = {};

} // namespace

WeightsFile &WeightsFile::operator=(WeightsFile &&other) noexcept {
  if (this != &other) {
    close();
    map = other.map;
    mapBytes = other.mapBytes;
    headerBytes = other.headerBytes;
    dataBytes = other.dataBytes;
    table = std::move(other.table);
    other.map = nullptr;
    other.mapBytes = other.headerBytes = other.dataBytes = 0;
  }
  return *this;
}

void WeightsFile::close() {
  if (map)
    munmap(map, mapBytes);
  map = nullptr;
  mapBytes = headerBytes = dataBytes = 0;
  table.clear();
}

const void *WeightsFile::data() const {
  if (!map || dataBytes == 0)
    return emptyWeights;
  return static_cast<const unsigned char *>(map) + headerBytes;
}

tfc_status WeightsFile::open(const std::string &path, bool checkExpected,
                             uint64_t expectedSize, uint64_t expectedHash,
                             std::string &error) {
  close();
  const char *file = path.c_str();
  int fd = ::open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error =
        format("cannot open weights file '%s': %s", file, std::strerror(errno));
    return TFC_ERR_IO;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = format("weights file '%s' is not a regular file", file);
    ::close(fd);
    return TFC_ERR_IO;
  }
  uint64_t fileBytes = static_cast<uint64_t>(st.st_size);
  if (fileBytes < TFCW_FIXED_HEADER_SIZE) {
    ::close(fd);
    error = format("weights file '%s' is truncated: %llu bytes, shorter than "
                   "the %u-byte header",
                   file, (unsigned long long)fileBytes, TFCW_FIXED_HEADER_SIZE);
    return TFC_ERR_CORRUPT;
  }
  void *m = mmap(nullptr, fileBytes, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) {
    error =
        format("cannot map weights file '%s': %s", file, std::strerror(errno));
    return TFC_ERR_IO;
  }
  map = m;
  mapBytes = fileBytes;
  auto fail = [&](const std::string &why) {
    error = format("weights file '%s' is corrupt: %s", file, why.c_str());
    close();
    return TFC_ERR_CORRUPT;
  };

  const auto *p = static_cast<const unsigned char *>(m);
  if (std::memcmp(p, TFCW_MAGIC, 8) != 0)
    return fail("bad magic (not a .tfcw file)");
  uint64_t header = readU64(p + 8);
  uint64_t data = readU64(p + 16);
  uint64_t hash = readU64(p + 24);
  uint32_t numEntries = readU32(p + 32);
  if (header < TFCW_FIXED_HEADER_SIZE || header % TFCW_ALIGN != 0)
    return fail(format("header size %llu is not a multiple of %u that is at "
                       "least %u",
                       (unsigned long long)header, TFCW_ALIGN,
                       TFCW_FIXED_HEADER_SIZE));
  if (header > fileBytes || data != fileBytes - header)
    return fail(format("file has %llu bytes but the header says %llu + %llu "
                       "(truncated or padded)",
                       (unsigned long long)fileBytes,
                       (unsigned long long)header, (unsigned long long)data));
  headerBytes = header;
  dataBytes = data;

  // Entry table: must fit in the header and describe ranges of the data.
  uint64_t at = TFCW_FIXED_HEADER_SIZE;
  for (uint32_t i = 0; i < numEntries; ++i) {
    if (at + 24 > header)
      return fail(format("entry %u runs past the header", i));
    WeightsEntry e;
    e.offset = readU64(p + at);
    e.nbytes = readU64(p + at + 8);
    e.dtype = readU32(p + at + 16);
    uint32_t rank = readU32(p + at + 20);
    at += 24;
    if (rank > TFC_MAX_RANK || at + 8ull * rank + 4 > header)
      return fail(format("entry %u has a bad rank %u or runs past the header",
                         i, rank));
    // The dims and dtype describe the entry (for tools); the data is only
    // ever addressed by offset, but a negative or overflowing shape or an
    // unknown dtype is a corrupt table (found by fuzzing, test/Fuzz).
    uint64_t elements = 1;
    for (uint32_t d = 0; d < rank; ++d) {
      int64_t dim = static_cast<int64_t>(readU64(p + at + 8ull * d));
      if (dim < 0 || (dim > 0 && elements > (UINT64_MAX >> 8) / dim))
        return fail(format("entry %u has a negative or overflowing dim %lld",
                           i, (long long)dim));
      elements *= static_cast<uint64_t>(dim);
      e.dims.push_back(dim);
    }
    if (e.dtype > TFC_DTYPE_BOOL)
      return fail(format("entry %u has an unknown dtype %u", i, e.dtype));
    at += 8ull * rank;
    uint32_t nameLen = readU32(p + at);
    at += 4;
    if (nameLen > header - at)
      return fail(format("entry %u's name runs past the header", i));
    e.name.assign(reinterpret_cast<const char *>(p + at), nameLen);
    at += nameLen;
    if (e.offset % TFCW_ALIGN != 0 || e.offset > data ||
        e.nbytes > data - e.offset)
      return fail(format("entry '%s' [offset %llu, %llu bytes] is misaligned "
                         "or outside the %llu-byte data section",
                         e.name.c_str(), (unsigned long long)e.offset,
                         (unsigned long long)e.nbytes,
                         (unsigned long long)data));
    table.push_back(std::move(e));
  }

  if (checkExpected && data != expectedSize)
    return fail(format("data section has %llu bytes but the model was "
                       "compiled for %llu (weights of another model?)",
                       (unsigned long long)data,
                       (unsigned long long)expectedSize));
  uint64_t actual = tfc_hash64(p + header, data);
  if (actual != hash)
    return fail(format("data hash 0x%016llx does not match the header's "
                       "0x%016llx (damaged file)",
                       (unsigned long long)actual, (unsigned long long)hash));
  if (checkExpected && hash != expectedHash)
    return fail(format("data hash 0x%016llx differs from the 0x%016llx the "
                       "model was compiled with (weights of another model?)",
                       (unsigned long long)hash,
                       (unsigned long long)expectedHash));
  return TFC_OK;
}

} // namespace tfcrt
