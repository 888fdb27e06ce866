/*===- FakeStepModel.c - a hand-written KV-cache model for session tests ---===*
 *
 * The ABI of a model compiled with tfc --kv-cache (tfc_runtime.h), small
 * enough to check by hand:
 *   main: in input_ids i64 [batch, seq], in attention_mask i64 [batch, seq]
 *         out logits f32 [batch, seq, 4]
 *         logits[b, i, v] = v + sum of ids[b, q] over q <= i with mask 1
 *   step: in input_ids i64 [batch, n], attention_mask i64 [batch, T],
 *         past i64 [], cache f32 [1, 2, batch, 1, max_len, 2]
 *         out logits f32 [batch, n, 4], the same numbers: the step writes
 *         each new token's id (keys) and position (values) into the cache
 *         and sums the cached ids under the mask.
 * No weights. Used by VersionedStructsTest (session info) and the
 * ThreadSanitizer tests (sessions on several threads).
 *===----------------------------------------------------------------------===*/

#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <stdint.h>

typedef struct {
  void *allocated, *aligned;
  int64_t offset;
} MemRef0;
typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} MemRef1;
typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} MemRef2;
typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[3], strides[3];
} MemRef3;
typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[6], strides[6];
} MemRef6;

enum { kVocab = 4 };

static int64_t at2(const MemRef2 *m, int64_t i, int64_t j) {
  return ((const int64_t *)
              m->aligned)[m->offset + i * m->strides[0] + j * m->strides[1]];
}

static MemRef3 newLogits(int64_t batch, int64_t n) {
  float *p = (float *)_mlir_memref_to_llvm_alloc(
      (uint64_t)(batch * n * kVocab) * sizeof(float));
  MemRef3 r = {p, p, 0, {batch, n, kVocab}, {n * kVocab, kVocab, 1}};
  return r;
}

static void fakeMain(MemRef3 *result, MemRef1 *weights, MemRef2 *ids,
                     MemRef2 *mask) {
  (void)weights;
  int64_t batch = ids->sizes[0], seq = ids->sizes[1];
  *result = newLogits(batch, seq);
  float *out = (float *)result->aligned;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t sum = 0;
    for (int64_t i = 0; i < seq; ++i) {
      if (at2(mask, b, i))
        sum += at2(ids, b, i);
      for (int64_t v = 0; v < kVocab; ++v)
        out[(b * seq + i) * kVocab + v] = (float)(sum + v);
    }
  }
}

static void fakeStep(MemRef3 *result, MemRef1 *weights, MemRef2 *ids,
                     MemRef2 *mask, MemRef0 *pastRef, MemRef6 *cache) {
  (void)weights;
  int64_t batch = ids->sizes[0], n = ids->sizes[1];
  int64_t past = ((const int64_t *)pastRef->aligned)[pastRef->offset];
  float *c = (float *)cache->aligned + cache->offset;
  const int64_t *st = cache->strides;
  *result = newLogits(batch, n);
  float *out = (float *)result->aligned;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < n; ++i) {
      int64_t p = past + i;
      /* cache[0, 0|1, b, 0, p, 0] */
      c[0 * st[1] + b * st[2] + p * st[4]] = (float)at2(ids, b, i);
      c[1 * st[1] + b * st[2] + p * st[4]] = (float)p;
      int64_t sum = 0;
      for (int64_t q = 0; q <= p; ++q)
        if (at2(mask, b, q))
          sum += (int64_t)c[b * st[2] + q * st[4]];
      for (int64_t v = 0; v < kVocab; ++v)
        out[(b * n + i) * kVocab + v] = (float)(sum + v);
    }
  }
}

static const char kSignature[] = "in input_ids i64 2 batch seq\n"
                                 "in attention_mask i64 2 batch seq\n"
                                 "out logits f32 3 batch seq 4\n";
static const char kStepSignature[] = "in input_ids i64 2 batch n\n"
                                     "in attention_mask i64 2 batch T\n"
                                     "in past i64 0\n"
                                     "in cache f32 6 1 2 batch 1 max_len 2\n"
                                     "out logits f32 3 batch n 4\n";

const tfc_model_desc tfc_fakestep_desc = {TFC_ABI_VERSION,
                                          2,
                                          1,
                                          TFC_MODEL_FLAG_KV_CACHE,
                                          "fakestep",
                                          kSignature,
                                          (void *)fakeMain,
                                          0,
                                          0,
                                          "",
                                          (void *)fakeStep,
                                          kStepSignature,
                                          64,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0,
                                          0};
