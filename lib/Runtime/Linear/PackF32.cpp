//===- PackF32.cpp - TFC_PACK_F32: panels of 32 columns -------------------===//
//
// data: [ceil(n/32)][k][32] f32, columns past n zero. Panel p, row kk is
// W[kk][32p .. 32p+32): the AVX-512 kernel reads it as two zmm, the AVX2
// one as two ymm per half panel (row stride 32 floats = two cache lines).
//
//===----------------------------------------------------------------------===//

#include "Pack.h"

#include <algorithm>
#include <cstring>

namespace tfcrt {
namespace pack {

bool packF32(const float *w, int64_t k, int64_t n, bool transposed,
             uint32_t flags, void *dst, uint64_t dstBytes, std::string &err) {
  if (!w) {
    err = "packF32: the weight pointer is null";
    return false;
  }
  if (!writeHeader(TFC_PACK_F32, k, n, 0, flags, dst, dstBytes, err))
    return false;
  constexpr int64_t P = 32;
  const int64_t panels = (n + P - 1) / P;
  // dst need not be aligned: rows go through memcpy.
  tfc_pack_header h;
  std::memcpy(&h, dst, sizeof(h));
  char *data = static_cast<char *>(dst) + h.data_offset;
  float row[P];
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t cols = std::min<int64_t>(P, n - p * P);
    std::fill(row + cols, row + P, 0.0f);
    for (int64_t kk = 0; kk < k; ++kk) {
      if (transposed) // w is [n, k]
        for (int64_t c = 0; c < cols; ++c)
          row[c] = w[(p * P + c) * k + kk];
      else
        std::memcpy(row, w + kk * n + p * P, sizeof(float) * cols);
      std::memcpy(data + ((p * k + kk) * P) * sizeof(float), row, sizeof(row));
    }
  }
  return true;
}

} // namespace pack
} // namespace tfcrt
