//===- SessionDecoder.h - Decoder over a KV-cache session -------*- C++ -*-===//
//
// The Decoder of Decoder.h for a model compiled with `tfc --kv-cache`:
// prefill runs the prompt once through tfc_session_prefill, each step
// appends one token with tfc_session_decode (the cache holds every earlier
// position, so a step costs one token's work). Batch 1.
//
//   SessionDecoder d;
//   if (!d.loadShared("out/model.so", "out/model.tfcw", maxLen, error)) ...
//   d.prefill(prompt, logits, error); d.step(token, logits, error); ...
//
// SessionDecoder::supports(library) tells whether a compiled model has the
// step entry (TFC_MODEL_FLAG_KV_CACHE); FullSequenceDecoder covers the rest.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_EXAMPLES_LLAMAGENERATE_SESSIONDECODER_H
#define TFC_EXAMPLES_LLAMAGENERATE_SESSIONDECODER_H

#include "Decoder.h"

namespace llamagen {

class SessionDecoder : public Decoder {
public:
  SessionDecoder() = default;
  SessionDecoder(const SessionDecoder &) = delete;
  SessionDecoder &operator=(const SessionDecoder &) = delete;
  ~SessionDecoder() override;

  /// True when `model` was compiled with --kv-cache.
  static bool supports(const tfc_model *model);

  /// Loads the model and creates a batch-1 session of `maxLen` tokens
  /// (0: the length the model was compiled with, --kv-cache=MAX_LEN).
  bool loadShared(const std::string &library, const std::string &weights,
                  int64_t maxLen, std::string &error);
  /// Takes over an already loaded model (freed with the decoder).
  bool adopt(tfc_model *model, int64_t maxLen, std::string &error);

  size_t vocabSize() const override { return vocab; }
  bool prefill(const std::vector<int32_t> &tokens, std::vector<float> &logits,
               std::string &error) override;
  bool step(int32_t token, std::vector<float> &logits,
            std::string &error) override;
  size_t length() const override { return position; }
  /// Tokens the cache holds; prefill + steps beyond it fail.
  int64_t maxLength() const { return maxLen; }

private:
  bool finish(tfc_status s, const tfc_tensor &out, std::vector<float> &logits,
              std::string &error);

  tfc_model *model = nullptr;
  tfc_session *session = nullptr;
  size_t vocab = 0, position = 0;
  int64_t maxLen = 0;
};

} // namespace llamagen

#endif // TFC_EXAMPLES_LLAMAGENERATE_SESSIONDECODER_H
