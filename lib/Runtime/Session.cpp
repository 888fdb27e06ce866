//===- Session.cpp - KV-cache sessions over a model's step entry ----------===//
//
// A session drives the step entry that tfc --kv-cache adds (tfc_runtime.h,
// docs/DESIGN.md "KV cache"):
//   step(weights, input_ids [b, n], attention_mask [b, T], past, cache)
// It owns the cache buffer [L, 2, b, hkv, max_len, d] (allocated once), the
// mask history [b, max_len] and the position. Every call checks
// position + n <= max_len before the compiled code runs, since compiled code
// cannot check bounds; the cache is then only written at rows < max_len.
// Guard zones of kGuardBytes on both sides of the cache hold a pattern that
// is checked after every step, so a compiled step that wrote outside the
// cache is reported (TFC_ERR_INTERNAL) instead of corrupting memory
// silently.
// A ring step (tfc --kv-evict) takes window_mask [b, R + n] instead of the
// full mask: the cache holds R = max_len slots (position p in slot p mod R,
// the compiled step computes every slot index itself, always < R), so the
// position is unbounded; the mask history is then a ring of R entries too.
// A ring with sink slots (tfc --kv-sinks=S) also takes sink_mask [b, S], the
// mask of positions 0..S-1 (kept apart from the ring history; entries of
// positions not reached yet are 0, and the step only reads sink slots of
// positions it has seen).
// A quantized cache (tfc --kv-dtype): `cache` is f16, or i8 codes with a
// fifth input cache_scales f32 [L, 2, b, h, max_len, 1]; the scales live in
// the same block right after the codes (64-byte aligned), inside the guard
// zones, so a fork still copies one range and cache_bytes counts both.
// A GPU model (--target=cuda) keeps the cache in device memory (cuMemAlloc,
// zeroed; a freed session's block goes to the next session of its size, so
// the graphs keyed by its address replay: Cuda/ReuseList.h), passed to the
// step as is; `past` goes in pinned memory that the
// compiled host code reads (Cuda.h stageScalar). No guard zones there: the
// host cannot check device memory without a copy and a synchronization per
// step; the bound check before the step is the same.
//
//===----------------------------------------------------------------------===//

#include "Cuda/Cuda.h"
#include "Model.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>

using namespace tfcrt;

namespace {
constexpr uint64_t kGuardBytes = 4096;

/// TFC_SESSION_PINNED_LOGITS=0: a GPU session's logits copied out of the
/// run's staging as before (tfc_session's pinnedLogits).
bool pinnedLogitsOn() {
  static const bool on = [] {
    const char *v = std::getenv("TFC_SESSION_PINNED_LOGITS");
    return !v || std::strcmp(v, "0") != 0;
  }();
  return on;
}
constexpr unsigned char kGuardByte = 0xA5;
} // namespace

struct tfc_session {
  tfc_model *model = nullptr;
  void *stepEntry = nullptr; // this rank's part's, for a partitioned model
  Signature sig;             // of the step entry
  int64_t batch = 0, maxLen = 0, position = 0;
  int64_t layers = 0, heads = 0, headDim = 0;
  tfc_dtype cacheDtype = TFC_DTYPE_F32;
  // codes + padding + scales; scalesOffset = 0 without scales
  uint64_t cacheBytes = 0, scalesOffset = 0, cacheAllocations = 0, steps = 0;
  void *block = nullptr;            // tracked allocation: guard, cache, guard
  void *cache = nullptr;            // block + kGuardBytes (GPU: device memory)
  bool device = false;              // the cache is device memory
  // Decode steps attend over all max_len rows (mask zero past the
  // position): one shape, so one CUDA graph for every position
  // (TFC_MODEL_FLAG_STEP_SCALARS_ON_DEVICE).
  bool fullDecode = false;
  std::vector<int64_t> maskHistory; // [batch, maxLen] (ring: slots)
  std::vector<int64_t> maskScratch; // [batch, T] (ring: [batch, R + n])
  // Ring cache (the step takes window_mask; maskAt is its input). A ring
  // step that failed may have overwritten slots: the session then needs a
  // reset.
  bool ring = false, stale = false;
  // Sink slots (input sink_mask [b, S]): the mask of positions 0..S-1, and
  // its copy with the new tokens' entries passed to a step.
  int64_t sinks = 0;
  std::vector<int64_t> sinkHistory, sinkScratch;
  std::vector<tfc_tensor> outputs; // of the last call, owned
  // A GPU session's logits are downloaded straight into this pinned
  // buffer, the session's own (valid until the next call, as the API says):
  // no copy on the host (6.3 MB a step at b32 x 49,152). Grown to the
  // largest logits seen; a step whose logits do not fit gets a copy.
  void *pinnedLogits = nullptr;
  uint64_t pinnedLogitsBytes = 0;
  // Input positions in the step signature.
  int idsAt = -1, maskAt = -1, pastAt = -1, cacheAt = -1, scalesAt = -1,
      sinkMaskAt = -1;

  ~tfc_session() {
    releaseOutputs();
    if (device)
      cuda::freeDevice(cache, cacheBytes);
    else
      trackedFree(block);
    cuda::freePinned(pinnedLogits);
  }
  void releaseOutputs() {
    for (tfc_tensor &t : outputs)
      tfc_tensor_free(&t);
  }
};

namespace {

/// Parses the step signature of `desc` and finds the inputs it takes.
tfc_status parseStep(const tfc_model_desc &modelDesc, tfc_session &s) {
  // A partitioned model: this rank's part (its cache holds only the part's
  // layers or kv heads).
  if (tfc_status st = checkRanks(s.model, "tfc_session_create"); st != TFC_OK)
    return st;
  tfc_model_desc desc = modelDesc;
  stepEntryOf(s.model, &desc.step_entry, &desc.step_signature);
  s.stepEntry = desc.step_entry;
  if (!(desc.flags & TFC_MODEL_FLAG_KV_CACHE) || !desc.step_entry ||
      !desc.step_signature)
    return setError(TFC_ERR_UNSUPPORTED,
                    format("model '%s' has no KV-cache step entry (compile it "
                           "with tfc --kv-cache)",
                           desc.name ? desc.name : "?"));
  if ((desc.flags & TFC_MODEL_FLAG_CUDA) &&
      (desc.flags & TFC_MODEL_FLAG_PARTITIONED))
    return setError(TFC_ERR_UNSUPPORTED,
                    "KV-cache sessions of partitioned GPU models are not "
                    "supported yet");
  s.device = desc.flags & TFC_MODEL_FLAG_CUDA;
  // (Also for a GPU build emulated on the host, which tests it without a
  // GPU; TFC_SESSION_EXACT_T=1 keeps [b, T] masks, one shape per step.)
  // Not with a sliding window / blocks / a layout in the attention: those
  // need the step's true query positions.
  s.fullDecode = (desc.flags & TFC_MODEL_FLAG_STEP_SCALARS_ON_DEVICE) &&
                 !(desc.flags & TFC_MODEL_FLAG_STEP_POSITIONAL_ATTENTION) &&
                 !std::getenv("TFC_SESSION_EXACT_T");
  std::string error;
  if (!parseSignatureText(desc, desc.step_signature, s.sig, error))
    return setError(TFC_ERR_CORRUPT, "step signature: " + error);
  if (s.sig.inputs.size() > 6)
    return setError(TFC_ERR_UNSUPPORTED, "step entry takes more than 6 inputs");
  for (size_t i = 0; i < s.sig.inputs.size(); ++i) {
    const TensorSpec &t = s.sig.inputs[i];
    int at = static_cast<int>(i);
    if (t.name == "input_ids" && t.rank == 2 && t.dtype == TFC_DTYPE_I64)
      s.idsAt = at;
    else if (t.name == "attention_mask" && t.rank == 2 &&
             t.dtype == TFC_DTYPE_I64)
      s.maskAt = at;
    else if (t.name == "window_mask" && t.rank == 2 && t.dtype == TFC_DTYPE_I64)
      s.maskAt = at, s.ring = true;
    else if (t.name == "sink_mask" && t.rank == 2 &&
             t.dtype == TFC_DTYPE_I64 && t.dims[1] > 0)
      s.sinkMaskAt = at, s.sinks = t.dims[1];
    else if (t.name == "past" && t.rank == 0 && t.dtype == TFC_DTYPE_I64)
      s.pastAt = at;
    else if (t.name == "cache" && t.rank == 6 && t.dims[0] > 0 &&
             t.dims[1] == 2 && t.dims[3] > 0 && t.dims[5] > 0 &&
             (t.dtype == TFC_DTYPE_F32 || t.dtype == TFC_DTYPE_F16 ||
              t.dtype == TFC_DTYPE_I8))
      s.cacheAt = at;
    else if (t.name == "cache_scales" && t.rank == 6 &&
             t.dtype == TFC_DTYPE_F32 && t.dims[5] == 1)
      s.scalesAt = at;
    else
      return setError(TFC_ERR_UNSUPPORTED,
                      format("step entry input '%s' is not one a session "
                             "provides (input_ids i64 [b, n], attention_mask "
                             "i64 [b, T] or window_mask i64 [b, R + n], "
                             "sink_mask i64 [b, S], past "
                             "i64, cache f32|f16|i8 [L, 2, b, h, max_len, d], "
                             "cache_scales f32 [L, 2, b, h, max_len, 1])",
                             t.name.c_str()));
  }
  // A pipeline stage other than the last returns nothing: its logits come
  // from the last rank (shareLastStageOutputs).
  bool outputsElsewhere = isPipeline(s.model);
  if (s.idsAt < 0 || s.pastAt < 0 || s.cacheAt < 0 ||
      (s.sig.outputs.empty() && !outputsElsewhere))
    return setError(TFC_ERR_CORRUPT, "step signature lacks input_ids, past, "
                                     "cache or an output");
  const TensorSpec &c = s.sig.inputs[s.cacheAt];
  if (s.sinkMaskAt >= 0 && (!s.ring || c.dims[4] <= s.sinks))
    return setError(TFC_ERR_CORRUPT, "step signature: sink_mask goes with a "
                                     "ring cache of more than S slots");
  if (s.ring && c.dims[4] <= 0)
    return setError(TFC_ERR_CORRUPT, "step signature: a ring cache (input "
                                     "window_mask) needs a static slot count");
  s.layers = c.dims[0];
  s.heads = c.dims[3];
  s.headDim = c.dims[5];
  s.cacheDtype = c.dtype;
  if ((c.dtype == TFC_DTYPE_I8) != (s.scalesAt >= 0))
    return setError(TFC_ERR_CORRUPT,
                    "step signature: an i8 cache needs cache_scales (and "
                    "only it)");
  if (s.scalesAt >= 0) {
    const TensorSpec &sc = s.sig.inputs[s.scalesAt];
    for (int i : {0, 1, 3, 4})
      if (sc.dims[i] != c.dims[i])
        return setError(TFC_ERR_CORRUPT, "step signature: cache_scales is "
                                         "not [L, 2, b, h, max_len, 1] of "
                                         "the cache");
  }
  return TFC_OK;
}

tfc_status allocate(tfc_model *model, int64_t batch, int64_t maxLen,
                    tfc_session **out) {
  const tfc_model_desc *desc = tfc_model_get_desc(model);
  std::unique_ptr<tfc_session> s(new tfc_session());
  s->model = model;
  tfc_status st = parseStep(*desc, *s);
  if (st != TFC_OK)
    return st;
  int64_t fixed = s->sig.inputs[s->cacheAt].dims[4]; // -1: per session
  if (s->ring)
    maxLen = fixed; // R slots hold any number of tokens
  if (maxLen == 0)
    maxLen = fixed > 0 ? fixed : static_cast<int64_t>(desc->kv_max_len);
  if (batch <= 0 || maxLen <= 0)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    format("tfc_session_create: batch (%lld) and max_len "
                           "(%lld) must be positive",
                           (long long)batch, (long long)maxLen));
  if (fixed > 0 && maxLen != fixed)
    return setError(TFC_ERR_SHAPE,
                    format("tfc_session_create: the model was compiled for a "
                           "cache of %lld tokens, not %lld",
                           (long long)fixed, (long long)maxLen));
  s->batch = batch;
  s->maxLen = maxLen;
  // Overflow-checked cache size.
  unsigned __int128 bytes = tfc_dtype_size(s->cacheDtype);
  for (int64_t d : {s->layers, int64_t(2), batch, s->heads, maxLen, s->headDim})
    bytes *= static_cast<uint64_t>(d);
  if (bytes > (UINT64_MAX >> 2) ||
      static_cast<unsigned __int128>(batch) * static_cast<uint64_t>(maxLen) >
          (uint64_t(1) << 40))
    return setError(TFC_ERR_OUT_OF_MEMORY,
                    "tfc_session_create: the cache would be too large");
  s->cacheBytes = static_cast<uint64_t>(bytes);
  if (s->scalesAt >= 0) {
    // f32 scales [L, 2, b, h, max_len, 1] after the codes, 64-byte aligned.
    s->scalesOffset = (s->cacheBytes + 63) / 64 * 64;
    s->cacheBytes = s->scalesOffset + s->cacheBytes / s->headDim * 4;
  }
  if (s->device) {
    s->cache = cuda::allocDevice(s->cacheBytes);
    if (!s->cache) {
      std::string why = cuda::error();
      cuda::clearError();
      return setError(TFC_ERR_OUT_OF_MEMORY,
                      format("tfc_session_create: cannot allocate the cache "
                             "(%llu bytes) on the GPU: %s",
                             (unsigned long long)s->cacheBytes, why.c_str()));
    }
  } else {
    s->block = trackedAlloc(s->cacheBytes + 2 * kGuardBytes);
    if (!s->block)
      return setError(TFC_ERR_OUT_OF_MEMORY,
                      format("tfc_session_create: cannot allocate the cache "
                             "(%llu bytes)",
                             (unsigned long long)s->cacheBytes));
    s->cache = static_cast<char *>(s->block) + kGuardBytes;
    std::memset(s->block, kGuardByte, kGuardBytes);
    std::memset(static_cast<char *>(s->cache) + s->cacheBytes, kGuardByte,
                kGuardBytes);
    // Rows >= position are never read; zeroed for determinism only.
    std::memset(s->cache, 0, s->cacheBytes);
  }
  ++s->cacheAllocations;
  size_t tokens = static_cast<size_t>(batch * maxLen);
  s->maskHistory.assign(tokens, 0);
  s->sinkHistory.assign(static_cast<size_t>(batch * s->sinks), 0);
  s->maskScratch.assign(tokens, 0);
  s->outputs.assign(std::max<size_t>(s->sig.outputs.size(), 1), tfc_tensor{});
  *out = s.release();
  return TFC_OK;
}

/// True when both guard zones around the cache still hold their pattern.
bool guardsIntact(const tfc_session *s) {
  if (s->device)
    return true;
  const unsigned char *lo = static_cast<const unsigned char *>(s->block);
  const unsigned char *hi =
      static_cast<const unsigned char *>(s->cache) + s->cacheBytes;
  for (uint64_t i = 0; i < kGuardBytes; ++i)
    if (lo[i] != kGuardByte || hi[i] != kGuardByte)
      return false;
  return true;
}

/// Partitioned models: a communication failure in the step (its results
/// are NaN), and a pipeline's logits from the last stage to every rank.
tfc_status shareSessionLogits(tfc_session *s) {
  if (!(s->model->desc->flags & TFC_MODEL_FLAG_PARTITIONED))
    return TFC_OK;
  if (tfc_status st = checkRanks(s->model, "tfc_session"); st != TFC_OK)
    return st;
  return shareLastStageOutputs(s->model, s->outputs.data(), 1);
}

/// One step over n tokens per sequence.
tfc_status step(tfc_session *s, const int64_t *tokens, int64_t n,
                const int64_t *mask, tfc_tensor *logits) {
  if (!tokens || n <= 0)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_session: tokens is NULL or n < 1");
  if (s->stale)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_session: an earlier step failed after it may have "
                    "overwritten ring-cache slots; reset the session");
  if (s->ring ? n > INT64_MAX - s->position : n > s->maxLen - s->position)
    return setError(TFC_ERR_SHAPE,
                    format("tfc_session: %lld more token(s) after %lld would "
                           "exceed the cache's max_len %lld (reset, or create "
                           "the session with a larger max_len)",
                           (long long)n, (long long)s->position,
                           (long long)s->maxLen));
  s->releaseOutputs();
  int64_t past = s->position, total = past + n;
  // The full mask [b, T]: history rows [0, past) and the new [past, T).
  // Ring: the window mask [b, R + n] of positions [past - R, T), 0 before
  // position 0 (empty slots).
  const int64_t R = s->maxLen, at = s->ring ? R : past;
  // A GPU decode step may attend over the whole cache: the rows past the
  // position are masked out, and causal alignment holds for one query row
  // (it sees every key), so every decode step has the same shapes.
  const bool whole = s->fullDecode && !s->ring && n == 1;
  const int64_t cols = s->ring ? R + n : whole ? s->maxLen : total;
  if (s->maskScratch.size() < static_cast<size_t>(s->batch * cols))
    s->maskScratch.resize(static_cast<size_t>(s->batch * cols));
  for (int64_t b = 0; b < s->batch; ++b) {
    int64_t *hist = &s->maskHistory[b * s->maxLen];
    int64_t *row = &s->maskScratch[b * cols];
    if (s->ring)
      for (int64_t j = 0, p = past - R; j < R; ++j, ++p)
        row[j] = p >= 0 ? hist[p % R] : 0;
    else
      std::copy(hist, hist + past, row);
    for (int64_t i = 0; i < n; ++i)
      row[at + i] = mask ? (mask[b * n + i] != 0) : 1;
    if (whole)
      std::fill(row + total, row + cols, 0);
  }

  // Sink positions among the new tokens: their mask before the call (the
  // step writes their sink slots before it reads them).
  if (s->sinks) {
    s->sinkScratch = s->sinkHistory;
    for (int64_t b = 0; b < s->batch; ++b)
      for (int64_t i = 0; i < n && past + i < s->sinks; ++i)
        s->sinkScratch[b * s->sinks + past + i] =
            mask ? (mask[b * n + i] != 0) : 1;
  }

  tfc_tensor in[6] = {};
  auto set = [&](int at, tfc_dtype dt, std::initializer_list<int64_t> shape,
                 const void *data) {
    tfc_tensor &t = in[at];
    t.dtype = dt;
    t.rank = static_cast<int32_t>(shape.size());
    int32_t i = 0;
    for (int64_t d : shape)
      t.shape[i++] = d;
    t.data = const_cast<void *>(data);
  };
  set(s->idsAt, TFC_DTYPE_I64, {s->batch, n}, tokens);
  if (s->maskAt >= 0)
    set(s->maskAt, TFC_DTYPE_I64, {s->batch, cols}, s->maskScratch.data());
  if (s->sinkMaskAt >= 0)
    set(s->sinkMaskAt, TFC_DTYPE_I64, {s->batch, s->sinks},
        s->sinkScratch.data());
  set(s->pastAt, TFC_DTYPE_I64, {}, &past);
  set(s->cacheAt, s->cacheDtype,
      {s->layers, 2, s->batch, s->heads, s->maxLen, s->headDim}, s->cache);
  if (s->scalesAt >= 0)
    set(s->scalesAt, TFC_DTYPE_F32,
        {s->layers, 2, s->batch, s->heads, s->maxLen, 1},
        static_cast<char *>(s->cache) + s->scalesOffset);
  uint32_t onDevice = 0;
  if (s->device)
    onDevice = 1u << s->cacheAt | (s->scalesAt >= 0 ? 1u << s->scalesAt : 0u);
  // At most 8 new tokens a row: a decode step (small kernels back to back,
  // where programmatic dependent launch pays), not a prefill chunk.
  const bool decodeStep = n <= 8;
  // The logits (output 0) into the session's pinned buffer (not for a
  // partitioned model, whose last stage shares them with the other ranks).
  std::vector<OutputBuffer> into(s->sig.outputs.size());
  const bool pinnedOut =
      s->device && !into.empty() &&
      !(s->model->desc->flags & TFC_MODEL_FLAG_PARTITIONED) && pinnedLogitsOn();
  if (pinnedOut) {
    into[0].data = s->pinnedLogits;
    into[0].bytes = s->pinnedLogitsBytes;
  }
  tfc_status st =
      runEntry(s->model, s->stepEntry, s->sig, in, s->sig.inputs.size(),
               s->outputs.data(), s->sig.outputs.size(), onDevice, decodeStep,
               pinnedOut ? into.data() : nullptr);
  if (st == TFC_OK && pinnedOut && s->outputs[0].data != s->pinnedLogits) {
    // Did not fit (or the first step): room for these logits next time.
    uint64_t bytes = tfc_dtype_size(s->outputs[0].dtype);
    for (int32_t k = 0; k < s->outputs[0].rank; ++k)
      bytes *=
          static_cast<uint64_t>(std::max<int64_t>(s->outputs[0].shape[k], 0));
    if (bytes > s->pinnedLogitsBytes) {
      cuda::freePinned(s->pinnedLogits);
      s->pinnedLogits = cuda::allocPinned(bytes);
      s->pinnedLogitsBytes = s->pinnedLogits ? bytes : 0;
    }
  }
  if (st == TFC_OK)
    st = shareSessionLogits(s);
  if (!guardsIntact(s)) {
    s->releaseOutputs();
    return setError(TFC_ERR_INTERNAL,
                    "tfc_session: the compiled step wrote outside the KV "
                    "cache (guard zone overwritten); the process memory may "
                    "be corrupt");
  }
  if (st != TFC_OK) {
    // Rows >= position may have been written: never read; but ring slots
    // hold live positions.
    s->stale = s->ring;
    return st;
  }
  for (int64_t b = 0; b < s->batch; ++b) {
    const int64_t *row = &s->maskScratch[b * cols + at];
    int64_t *hist = &s->maskHistory[b * s->maxLen];
    if (s->ring)
      for (int64_t i = std::max<int64_t>(0, n - R); i < n; ++i)
        hist[(past + i) % R] = row[i];
    else
      std::copy(row, row + n, hist + past);
  }
  if (s->sinks)
    s->sinkHistory.swap(s->sinkScratch);
  s->position = total;
  ++s->steps;
  if (logits)
    *logits = s->outputs[0];
  return TFC_OK;
}

template <typename F> tfc_status guarded(const char *what, F &&f) {
  try {
    tfc_status st = f();
    if (st == TFC_OK)
      clearError();
    return st;
  } catch (const std::bad_alloc &) {
    return setError(TFC_ERR_OUT_OF_MEMORY,
                    std::string(what) + ": out of memory");
  }
}

} // namespace

TFCRT_EXPORT tfc_status tfc_session_create(tfc_model *model, int64_t batch,
                                           int64_t max_len, tfc_session **out) {
  if (!out)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_session_create: out is NULL");
  *out = nullptr;
  if (!model || !tfc_model_get_desc(model))
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_session_create: NULL model");
  if (max_len < 0)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_session_create: max_len < 0");
  return guarded("tfc_session_create",
                 [&] { return allocate(model, batch, max_len, out); });
}

TFCRT_EXPORT tfc_status tfc_session_prefill(tfc_session *session,
                                            const int64_t *tokens, int64_t n,
                                            const int64_t *mask,
                                            tfc_tensor *logits) {
  if (!session)
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_session_prefill: NULL");
  return guarded("tfc_session_prefill",
                 [&] { return step(session, tokens, n, mask, logits); });
}

TFCRT_EXPORT tfc_status tfc_session_decode(tfc_session *session,
                                           const int64_t *tokens,
                                           tfc_tensor *logits) {
  if (!session)
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_session_decode: NULL");
  return guarded("tfc_session_decode",
                 [&] { return step(session, tokens, 1, nullptr, logits); });
}

TFCRT_EXPORT tfc_status tfc_session_reset(tfc_session *session) {
  if (!session)
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_session_reset: NULL");
  session->releaseOutputs();
  session->position = 0;
  session->stale = false;
  clearError();
  return TFC_OK;
}

TFCRT_EXPORT tfc_status tfc_session_fork(const tfc_session *session,
                                         tfc_session **out) {
  if (!out)
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_session_fork: out is NULL");
  *out = nullptr;
  if (!session)
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_session_fork: NULL");
  return guarded("tfc_session_fork", [&] {
    tfc_session *raw = nullptr;
    tfc_status st =
        allocate(session->model, session->batch, session->maxLen, &raw);
    if (st != TFC_OK)
      return st;
    std::unique_ptr<tfc_session> copy(raw);
    if (copy->device) {
      if (!cuda::copyDevice(copy->cache, session->cache, session->cacheBytes)) {
        std::string why = cuda::error();
        cuda::clearError();
        return setError(TFC_ERR_INTERNAL, "tfc_session_fork: " + why);
      }
    } else {
      std::memcpy(copy->cache, session->cache, session->cacheBytes);
    }
    copy->maskHistory = session->maskHistory;
    copy->sinkHistory = session->sinkHistory;
    copy->position = session->position;
    copy->stale = session->stale;
    *out = copy.release();
    return TFC_OK;
  });
}

// The caller's struct may be an older (smaller) or newer (larger) layout
// than ours ("Versioned structs", tfc_runtime.h): fill ours, copy the prefix
// both know and zero the rest of theirs.
TFCRT_EXPORT tfc_status tfc_session_get_info_sized(const tfc_session *session,
                                                   tfc_session_info *out,
                                                   size_t out_size) {
  if (!session || !out)
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_session_get_info: NULL");
  if (out_size < TFC_SESSION_INFO_V1_SIZE)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    format("tfc_session_get_info: struct size %zu is below "
                           "the first layout's %u bytes",
                           out_size, TFC_SESSION_INFO_V1_SIZE));
  tfc_session_info info{};
  info.batch = session->batch;
  info.max_len = session->maxLen;
  info.position = session->position;
  info.layers = session->layers;
  info.kv_heads = session->heads;
  info.head_dim = session->headDim;
  info.window = static_cast<int64_t>(session->model->desc->kv_window);
  if (session->ring && !info.window)
    info.window = session->maxLen - session->sinks; // the model's own
  info.ring = session->ring;
  info.cache_dtype = session->cacheDtype;
  info.whole_cache_decode = session->fullDecode && !session->ring;
  info.cache_bytes = session->cacheBytes;
  info.cache_allocations = session->cacheAllocations;
  info.steps = session->steps;
  std::memset(out, 0, out_size);
  std::memcpy(out, &info, std::min(out_size, sizeof(info)));
  return TFC_OK;
}

// Binaries built before tfc_session_info had `ring` call this symbol with
// an 80-byte struct: write only that much.
TFCRT_EXPORT tfc_status(tfc_session_get_info)(const tfc_session *session,
                                              tfc_session_info *info) {
  return tfc_session_get_info_sized(session, info, TFC_SESSION_INFO_V1_SIZE);
}

TFCRT_EXPORT void tfc_session_free(tfc_session *session) { delete session; }
