//===- FakeBertModel.cpp - a stand-in for a compiled encoder --------------===//
//
// Implements the compiled-model ABI of tfc_runtime.h by hand, so bert-embed
// can be run end to end through libtfcrt before tfc emits real encoders:
//   in  input_ids, attention_mask, token_type_ids  i64 [batch, sequence]
//   out last_hidden_state f32 [batch, sequence, 8]
//   hidden[b, s, h] = scale[h] * cos(0.01 * id * (h + 1)) + 0.25 * type
//                     + (mask ? 0 : 1000)
// with scale read from the weights (f32 [8]); padded positions get a large
// value so that pooling them by mistake shows. Built with FAKEBERT_BAD_INPUT
// it takes "pixel_values" instead of token_type_ids, which bert-embed must
// refuse.
//
//===----------------------------------------------------------------------===//

#include "FakeBertModel.h"

#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Support/WeightsFormat.h"

#include <cmath>
#include <cstring>

namespace {

struct Memref1 {
  int8_t *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
};
struct Memref2 {
  int64_t *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};
struct Memref3 {
  float *allocated, *aligned;
  int64_t offset, sizes[3], strides[3];
};

const float kScale[FAKEBERT_HIDDEN] = {1.0f, 1.5f, 2.0f, 2.5f,
                                       3.0f, 3.5f, 4.0f, 4.5f};

int64_t at(const Memref2 *m, int64_t b, int64_t s) {
  return m->aligned[m->offset + b * m->strides[0] + s * m->strides[1]];
}

void fakebertMain(Memref3 *result, Memref1 *weights, Memref2 *ids,
                  Memref2 *mask, Memref2 *types) {
  const float *scale =
      reinterpret_cast<const float *>(weights->aligned + weights->offset);
  int64_t batch = ids->sizes[0], seq = ids->sizes[1];
  int64_t count = batch * seq * FAKEBERT_HIDDEN;
  float *out = static_cast<float *>(
      _mlir_memref_to_llvm_alloc(static_cast<uint64_t>(count) * sizeof(float)));
  if (out) {
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t s = 0; s < seq; ++s)
        for (int64_t h = 0; h < FAKEBERT_HIDDEN; ++h)
          out[(b * seq + s) * FAKEBERT_HIDDEN + h] =
              scale[h] * std::cos(0.01f * static_cast<float>(at(ids, b, s)) *
                                  static_cast<float>(h + 1)) +
              0.25f * static_cast<float>(at(types, b, s)) +
              (at(mask, b, s) ? 0.0f : 1000.0f);
  }
  result->allocated = result->aligned = out;
  result->offset = 0;
  result->sizes[0] = batch;
  result->sizes[1] = seq;
  result->sizes[2] = FAKEBERT_HIDDEN;
  result->strides[0] = seq * FAKEBERT_HIDDEN;
  result->strides[1] = FAKEBERT_HIDDEN;
  result->strides[2] = 1;
}

#ifdef FAKEBERT_BAD_INPUT
#define THIRD_INPUT "in pixel_values i64 2 batch sequence\n"
#else
#define THIRD_INPUT "in token_type_ids i64 2 batch sequence\n"
#endif

tfc_model_desc makeDesc() {
  tfc_model_desc d{};
  d.abi_version = TFC_ABI_VERSION;
  d.num_inputs = 3;
  d.num_outputs = 1;
  d.name = "fakebert";
  d.signature = "in input_ids i64 2 batch sequence\n"
                "in attention_mask i64 2 batch sequence\n" THIRD_INPUT
                "out last_hidden_state f32 3 batch sequence 8\n";
  d.entry = reinterpret_cast<void *>(&fakebertMain);
  d.weights_size = sizeof(kScale);
  d.weights_hash = tfc_hash64(kScale, sizeof(kScale));
  d.op_classes = "";
  return d;
}

} // namespace

// A namespace-scope const has internal linkage unless declared extern.
extern "C" {
extern const tfc_model_desc tfc_model_desc_v1;
const tfc_model_desc tfc_fakebert_desc = makeDesc();
const tfc_model_desc tfc_model_desc_v1 = makeDesc();
}
