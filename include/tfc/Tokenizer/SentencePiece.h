//===- SentencePiece.h - SentencePiece-style BPE (LLaMA) --------*- C++ -*-===//
//
// The BPE model of SentencePiece as LLaMA-family vocabularies use it, and as
// llama.cpp (llm_tokenizer_spm), Hugging Face's LlamaTokenizer and llama2.c
// reproduce it:
//   1. normalize: optionally collapse runs of ' ' and trim them
//      (remove_extra_whitespaces), prepend one ' ' to non-empty text
//      (add_dummy_prefix), then write every ' ' as U+2581 "▁"
//      (escape_whitespaces);
//   2. split into UTF-8 characters (user-defined pieces are kept whole);
//   3. repeatedly merge the adjacent pair whose concatenation is a piece with
//      the highest score (ties: the leftmost pair);
//   4. a symbol that is not a piece becomes its bytes as <0xXX> pieces
//      (byte_fallback) or the unknown piece.
// Control and unknown pieces ("<s>", "</s>", "<unk>") written in the text
// are matched literally as Hugging Face does; each stretch of text after one
// gets its own dummy prefix (Hugging Face "legacy" and llama.cpp behaviour).
//
// Only the BPE model type is implemented (not Unigram), and no
// precompiled normalization (the "identity" rule, as LLaMA and llama2.c
// vocabularies have).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOKENIZER_SENTENCEPIECE_H
#define TFC_TOKENIZER_SENTENCEPIECE_H

#include "tfc/Tokenizer/Tokenizer.h"

#include <array>
#include <memory>
#include <string>
#include <vector>

namespace tfc {
namespace tokenizer {

/// SentencePiece's piece types (same numbers in its ModelProto and in
/// llama.cpp's tokenizer.ggml.token_type).
enum class PieceType : uint8_t {
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

struct SentencePieceEntry {
  std::string piece; // "▁the", "<0x0A>", "<s>"
  float score = 0;
  PieceType type = PieceType::Normal;
};

struct SentencePieceOptions {
  bool addDummyPrefix = true;
  bool removeExtraWhitespaces = false;
  bool escapeWhitespaces = true;
  bool byteFallback = true;
  /// Match control and unknown pieces literally in the text.
  bool matchSpecialPieces = true;
};

class SentencePieceTokenizer : public Tokenizer {
public:
  /// Sets the vocabulary (ids by position) and checks it: byte fallback
  /// needs all 256 <0xXX> byte pieces.
  Status init(std::vector<SentencePieceEntry> pieces,
              const SentencePieceOptions &options);

  const char *modelName() const override { return "sentencepiece-bpe"; }
  Status encode(std::string_view text,
                std::vector<int32_t> &ids) const override;
  void appendTokenBytes(int32_t id, bool special,
                        std::string &out) const override;
  bool decodeStripsLeadingSpace() const override { return opts.addDummyPrefix; }
  bool isSpecialToken(int32_t id) const override;

  const SentencePieceOptions &options() const { return opts; }
  float score(int32_t id) const;
  PieceType pieceType(int32_t id) const;
  /// Id of the byte piece <0xXX>; -1 when absent.
  int32_t byteId(uint8_t byte) const { return byteIds[byte]; }

  /// Step 1 on one stretch of text.
  std::string normalize(std::string_view text) const;
  /// Steps 2-4 on normalized text; appends the ids.
  void encodeNormalized(std::string_view normalized,
                        std::vector<int32_t> &ids) const;

private:
  struct Symbol;
  void emitSymbol(std::string_view text, std::vector<int32_t> &ids) const;

  SentencePieceOptions opts;
  std::vector<float> scores;
  std::vector<PieceType> types;
  std::array<int32_t, 256> byteIds{};
  std::vector<std::string> userDefined; // longest first
};

/// llama2.c's tokenizer.bin (tok512.bin): int32 max_token_length, then per
/// token float score, int32 length, bytes. Pieces carry ' ' where
/// SentencePiece writes U+2581, and BOS/EOS are "\n<s>\n" / "\n</s>\n";
/// the loader turns them back into SentencePiece form. The encoding is that
/// of llama2.c's encode(): dummy prefix, no whitespace collapsing, byte
/// fallback, nothing matched literally.
Status loadLlama2cTokenizer(const std::string &path,
                            std::unique_ptr<Tokenizer> &out);
Status llama2cTokenizerFromBytes(std::string_view bytes,
                                 std::unique_ptr<Tokenizer> &out);

/// A SentencePiece ModelProto (tokenizer.model), BPE model type.
Status loadSentencePieceModel(const std::string &path,
                              std::unique_ptr<Tokenizer> &out);
Status sentencePieceModelFromBytes(std::string_view bytes,
                                   std::unique_ptr<Tokenizer> &out);

} // namespace tokenizer
} // namespace tfc

#endif // TFC_TOKENIZER_SENTENCEPIECE_H
