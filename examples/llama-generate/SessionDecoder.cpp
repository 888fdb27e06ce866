//===- SessionDecoder.cpp - Decoder over a KV-cache session ---------------===//

#include "SessionDecoder.h"

namespace llamagen {

static std::string sessionError(const char *what, tfc_status s) {
  return std::string(what) + ": " + tfc_status_string(s) + ": " +
         tfc_last_error();
}

SessionDecoder::~SessionDecoder() {
  tfc_session_free(session);
  if (model)
    tfc_model_free(model);
}

bool SessionDecoder::supports(const tfc_model *m) {
  const tfc_model_desc *d = m ? tfc_model_get_desc(m) : nullptr;
  return d && (d->flags & TFC_MODEL_FLAG_KV_CACHE) && d->step_entry;
}

bool SessionDecoder::loadShared(const std::string &library,
                                const std::string &weights, int64_t len,
                                std::string &error) {
  tfc_model *m = nullptr;
  tfc_status s = tfc_model_load_shared(library.c_str(), weights.c_str(), &m);
  if (s != TFC_OK) {
    error = sessionError("loading the model", s);
    return false;
  }
  return adopt(m, len, error);
}

bool SessionDecoder::adopt(tfc_model *m, int64_t len, std::string &error) {
  model = m;
  if (!supports(m)) {
    error = "the model has no KV-cache step entry (compile it with tfc "
            "--kv-cache)";
    return false;
  }
  tfc_status s = tfc_session_create(model, 1, len, &session);
  if (s != TFC_OK) {
    error = sessionError("creating the session", s);
    return false;
  }
  tfc_session_info info;
  tfc_session_get_info(session, &info);
  maxLen = info.max_len;
  return true;
}

bool SessionDecoder::finish(tfc_status s, const tfc_tensor &out,
                            std::vector<float> &logits, std::string &error) {
  if (s != TFC_OK) {
    error = sessionError("running the step", s);
    return false;
  }
  // [1, n, vocab]: the last position predicts the next token. The tensor is
  // the session's, valid until its next call.
  if (out.dtype != TFC_DTYPE_F32 || out.rank != 3 || out.shape[0] != 1 ||
      out.shape[1] < 1 || out.shape[2] < 1) {
    error = "the model returned logits of an unexpected shape";
    return false;
  }
  vocab = static_cast<size_t>(out.shape[2]);
  const float *last =
      static_cast<const float *>(out.data) + (out.shape[1] - 1) * vocab;
  logits.assign(last, last + vocab);
  tfc_session_info info;
  tfc_session_get_info(session, &info);
  position = static_cast<size_t>(info.position);
  return true;
}

bool SessionDecoder::prefill(const std::vector<int32_t> &tokens,
                             std::vector<float> &logits, std::string &error) {
  if (!session || tokens.empty()) {
    error = session ? "prefill needs at least one token" : "no session";
    return false;
  }
  tfc_session_reset(session);
  std::vector<int64_t> ids(tokens.begin(), tokens.end());
  tfc_tensor out{};
  tfc_status s = tfc_session_prefill(
      session, ids.data(), static_cast<int64_t>(ids.size()), nullptr, &out);
  return finish(s, out, logits, error);
}

bool SessionDecoder::step(int32_t token, std::vector<float> &logits,
                          std::string &error) {
  if (!session || position == 0) {
    error = "step before prefill";
    return false;
  }
  int64_t id = token;
  tfc_tensor out{};
  tfc_status s = tfc_session_decode(session, &id, &out);
  return finish(s, out, logits, error);
}

} // namespace llamagen
