//===- Embedding.cpp - tfcrt_embedding_f32: rows of a table by id ---------===//
//
// out[i][:] = table[clamp(ids[i])][:] for the f32 tfc.embedding
// (tfc-cpu-kernels; the reference lowering is TfcToLinalg's gather). An id
// is taken as ONNX Gather takes it: negative ids count from the end, then
// it is clamped to [0, vocab - 1] exactly as normIndex in TfcToLinalg.cpp
// clamps, so both lowerings agree on every input. Rows are copied whole
// (memcpy where both rows are contiguous), in parallel over the runtime's
// threads when the call is large enough to pay a wake-up. The reference
// lowering, a scalar loop per element with its id loaded and clamped each
// time, took 2.2 ms of MiniLM's batch-32 run (three of them and their adds).
//
//===----------------------------------------------------------------------===//

#include "../Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace {

std::string dims(const int64_t *sizes, int rank) {
  std::string s = "[";
  for (int i = 0; i < rank; ++i)
    s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "]";
}

} // namespace

TFCRT_EXPORT void _mlir_ciface_tfcrt_embedding_f32(tfcrt_memref2_i64 *ids,
                                                   tfcrt_memref2_f32 *table,
                                                   tfcrt_memref3_f32 *out) {
  auto fail = [&](const std::string &msg) {
    tfcrt::fillNaN(out);
    tfcrt::kernelError(TFC_ERR_INTERNAL, "tfcrt_embedding_f32: " + msg);
  };
  if (!ids || !table || !out || !table->aligned || !out->aligned)
    return fail("null ids, table or output descriptor");
  const int64_t nb = ids->sizes[0], ns = ids->sizes[1], vocab = table->sizes[0],
                d = table->sizes[1];
  if (nb < 0 || ns < 0 || vocab < 0 || d < 0 || out->sizes[0] != nb ||
      out->sizes[1] != ns || out->sizes[2] != d)
    return fail("ids " + dims(ids->sizes, 2) + " and table " +
                dims(table->sizes, 2) + " do not give the output " +
                dims(out->sizes, 3));
  const int64_t n = nb * ns;
  if (n == 0 || d == 0)
    return;
  if (!ids->aligned)
    return fail("null ids data");
  if (vocab == 0)
    return fail("the table " + dims(table->sizes, 2) + " has no rows to take");
  const int64_t *id = ids->aligned + ids->offset;
  const float *t = table->aligned + table->offset;
  float *o = out->aligned + out->offset;
  const int64_t st0 = table->strides[0], st1 = table->strides[1];
  const int64_t so2 = out->strides[2];
  auto rows = [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const int64_t b = r / ns, s = r % ns;
      int64_t k = id[b * ids->strides[0] + s * ids->strides[1]];
      if (k < 0)
        k += vocab;
      k = std::min(std::max<int64_t>(k, 0), vocab - 1);
      const float *src = t + k * st0;
      float *dst = o + b * out->strides[0] + s * out->strides[1];
      if (st1 == 1 && so2 == 1)
        std::memcpy(dst, src, static_cast<size_t>(d) * sizeof(float));
      else
        for (int64_t j = 0; j < d; ++j)
          dst[j * so2] = src[j * st1];
    }
  };
  // About 2 us of copying per 16K floats; below 64K a wake-up costs more.
  constexpr int64_t kChunkFloats = 16384;
  const int64_t chunks =
      std::min<int64_t>(n, std::max<int64_t>(1, n * d / kChunkFloats));
  if (chunks < 4 || tfcrt::numThreads() < 2)
    return rows(0, n);
  tfcrt::parallelRun(chunks, [&](int64_t c) {
    rows(n * c / chunks, n * (c + 1) / chunks);
  });
}
