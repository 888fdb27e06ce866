//===- Tokenizer.h - text to token ids for compiled models ------*- C++ -*-===//
//
// The interface every tokenizer model implements (WordPiece, SentencePiece
// BPE, byte-level BPE), the vocabulary they share, the
// single-sequence template ([CLS] A [SEP] for BERT, <s> A for LLaMA) and batch
// encoding into the i64 tensors that compiled models take.
//
// Nothing here throws out of the API: failures come back as a Status.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOKENIZER_TOKENIZER_H
#define TFC_TOKENIZER_TOKENIZER_H

#include "tfc/Tokenizer/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tfc {
namespace tokenizer {

/// Ids of the tokens with a role; -1 when the vocabulary has none.
struct SpecialTokens {
  int32_t unk = -1;
  int32_t cls = -1;
  int32_t sep = -1;
  int32_t pad = -1;
  int32_t mask = -1;
  int32_t bos = -1;
  int32_t eos = -1;
};

/// A token that is matched literally in the text before the model sees it
/// (Hugging Face "added tokens": [CLS], [MASK], <|endoftext|> ...).
struct AddedToken {
  std::string content;
  int32_t id = -1;
  /// Matched in the normalized text rather than the raw text.
  bool normalized = false;
  /// A special token (control): left out of decoded text unless asked for.
  bool special = true;
};

class Tokenizer {
public:
  virtual ~Tokenizer();

  /// "wordpiece", ...
  virtual const char *modelName() const = 0;

  /// Token ids of `text` (UTF-8) without the template's special tokens.
  /// Added tokens written in the text ("[MASK]") are recognized. Invalid
  /// UTF-8 is read as U+FFFD.
  virtual Status encode(std::string_view text,
                        std::vector<int32_t> &ids) const = 0;

  /// Ids with the single-sequence template around them ([CLS] ... [SEP]);
  /// when `maxLength` > 0 the text's tokens are cut so that the result holds
  /// at most maxLength ids (the special tokens are kept). Fails if maxLength
  /// cannot even hold the special tokens.
  Status encodeWithSpecial(std::string_view text, size_t maxLength,
                           std::vector<int32_t> &ids) const;

  // Decoding (ids -> text). See also StreamDecoder (Decode.h).

  /// Appends the bytes token `id` stands for in decoded text ("\u2581the"
  /// gives " the" in SentencePiece, "\u0120the" gives " the" in byte-level
  /// BPE, <0x0A> gives "\n"). Special tokens (control, unknown, added) give
  /// nothing unless `special`; out-of-range ids give nothing. The bytes may
  /// be part of a UTF-8 sequence. The default appends the token text.
  virtual void appendTokenBytes(int32_t id, bool special,
                                std::string &out) const;
  /// Whether decoding drops one leading ' ' of the first token after the
  /// start or a BOS (SentencePiece's dummy prefix).
  virtual bool decodeStripsLeadingSpace() const { return false; }
  /// Control / unknown / added tokens; the default: the special ids and the
  /// added tokens.
  virtual bool isSpecialToken(int32_t id) const;
  /// Whole decode: the tokens' bytes, the dummy-prefix space dropped, and
  /// invalid UTF-8 replaced by U+FFFD.
  std::string decode(const std::vector<int32_t> &ids,
                     bool special = false) const;

  // Vocabulary.
  size_t vocabSize() const { return idToToken.size(); }
  /// The token's text in the vocabulary ("##ing"); "" when out of range.
  const std::string &tokenText(int32_t id) const;
  /// -1 when absent.
  int32_t tokenId(std::string_view token) const;

  const SpecialTokens &specialTokens() const { return special; }
  void setSpecialTokens(const SpecialTokens &s) { special = s; }
  const std::vector<AddedToken> &addedTokens() const { return added; }
  /// Registers a token matched literally in the text; its id must be in the
  /// vocabulary range.
  Status addAddedToken(const AddedToken &token);

  /// The single-sequence template: ids before and after the text's tokens.
  const std::vector<int32_t> &templatePrefix() const { return prefix; }
  const std::vector<int32_t> &templateSuffix() const { return suffix; }
  void setTemplate(std::vector<int32_t> before, std::vector<int32_t> after) {
    prefix = std::move(before);
    suffix = std::move(after);
  }

  /// Sets the vocabulary from (token, id) pairs. Ids must be in [0, 2^31)
  /// and are not required to be dense (gaps read as ""). A token listed twice
  /// maps to its last id, as Hugging Face's vocab.txt loader does.
  Status setVocab(const std::vector<std::pair<std::string, int32_t>> &entries);
  /// Same with ids given by position.
  Status setVocab(const std::vector<std::string> &tokens);

protected:
  /// Splits `text` on the added tokens with `normalized` equal to the flag
  /// (leftmost, then longest match). Pieces of plain text come back with
  /// id -1; matched tokens with their id.
  void splitOnAddedTokens(std::string_view text, bool normalized,
                          std::vector<std::pair<std::string_view, int32_t>>
                              &pieces) const;

private:
  std::vector<std::string> idToToken;
  std::unordered_map<std::string, int32_t> tokenToIdMap;
  SpecialTokens special;
  std::vector<AddedToken> added;
  std::vector<int32_t> prefix, suffix;
};

/// Row-major [batchSize, seqLen] i64 tensors, as BERT-style models take them.
struct BatchEncoding {
  size_t batchSize = 0;
  size_t seqLen = 0;
  std::vector<int64_t> inputIds;      // [batch, seq]
  std::vector<int64_t> attentionMask; // [batch, seq]: 1 for tokens, 0 for pad
  std::vector<int64_t> tokenTypeIds;  // [batch, seq]: all 0 (single sequence)
  /// Tokens of each text before padding (special tokens included).
  std::vector<size_t> lengths;
};

struct BatchOptions {
  /// Longest sequence, special tokens included; texts are truncated to it.
  /// 0 = no limit.
  size_t maxLength = 512;
  /// Pad every row to maxLength instead of the longest row of the batch.
  bool padToMaxLength = false;
  /// Add the template's special tokens ([CLS] ... [SEP]).
  bool addSpecialTokens = true;
};

/// Encodes `texts` and pads them on the right with the pad token (Hugging
/// Face's padding side "right"). Fails when the tokenizer has no pad token
/// and padding is needed, or on an encoding error (naming the text index).
Status encodeBatch(const Tokenizer &tokenizer,
                   const std::vector<std::string> &texts,
                   const BatchOptions &options, BatchEncoding &out);

} // namespace tokenizer
} // namespace tfc

#endif // TFC_TOKENIZER_TOKENIZER_H
