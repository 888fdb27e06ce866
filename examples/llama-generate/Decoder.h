//===- Decoder.h - logits of the next token from a compiled model -*- C++
//-*-===//
//
// The model side of generation behind a small interface, so that the KV-cache
// session API (issue 3) can replace the first implementation without touching
// the app:
//   prefill(prompt) -> logits of the last prompt position
//   step(token)     -> logits after appending one token
//
// FullSequenceDecoder runs a compiled full-sequence causal LM (inputs
// input_ids and, when present, attention_mask / position_ids, all i64
// [batch, sequence]; first output logits f32 [batch, sequence, vocab]) on the
// whole prefix at every step: correct, and quadratic in the length.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_EXAMPLES_LLAMAGENERATE_DECODER_H
#define TFC_EXAMPLES_LLAMAGENERATE_DECODER_H

#include "tfc/Runtime/tfc_runtime.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llamagen {

class Decoder {
public:
  virtual ~Decoder();
  /// Logits per position; 0 before the first call that can tell.
  virtual size_t vocabSize() const = 0;
  /// Starts a sequence with `tokens` (at least one); `logits` [vocab] gets
  /// the logits that predict the token after the last one.
  virtual bool prefill(const std::vector<int32_t> &tokens,
                       std::vector<float> &logits, std::string &error) = 0;
  /// Appends `token` to the sequence; `logits` predicts the next one.
  virtual bool step(int32_t token, std::vector<float> &logits,
                    std::string &error) = 0;
  /// Tokens in the sequence so far.
  virtual size_t length() const = 0;
};

/// Where each input of the model comes from.
enum class InputKind { TokenIds, AttentionMask, PositionIds };

/// Checks a model signature for FullSequenceDecoder: the kinds of its inputs
/// (by name) and the index of the logits output. False with a message when
/// the model is not a full-sequence causal LM this decoder can drive.
bool planDecoderInputs(const std::vector<std::string> &names,
                       const std::vector<tfc_dtype> &dtypes,
                       const std::vector<int32_t> &ranks,
                       std::vector<InputKind> &kinds, std::string &error);

class FullSequenceDecoder : public Decoder {
public:
  FullSequenceDecoder() = default;
  FullSequenceDecoder(const FullSequenceDecoder &) = delete;
  FullSequenceDecoder &operator=(const FullSequenceDecoder &) = delete;
  ~FullSequenceDecoder() override;

  /// tfc_model_load_shared + signature checks.
  bool loadShared(const std::string &library, const std::string &weights,
                  std::string &error);

  size_t vocabSize() const override { return vocab; }
  bool prefill(const std::vector<int32_t> &tokens, std::vector<float> &logits,
               std::string &error) override;
  bool step(int32_t token, std::vector<float> &logits,
            std::string &error) override;
  size_t length() const override { return sequence.size(); }
  /// The longest sequence the model takes (its static sequence length), or
  /// 0 when the sequence dimension is dynamic.
  int64_t maxLength() const { return staticSeq; }

private:
  bool run(std::vector<float> &logits, std::string &error);

  tfc_model *model = nullptr;
  std::vector<InputKind> kinds;
  size_t numOutputs = 0;
  size_t vocab = 0;
  int64_t staticSeq = 0;
  std::vector<int64_t> sequence;
};

} // namespace llamagen

#endif // TFC_EXAMPLES_LLAMAGENERATE_DECODER_H
