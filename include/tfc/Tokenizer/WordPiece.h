//===- WordPiece.h - BERT's basic tokenizer + WordPiece ---------*- C++ -*-===//
//
// Matches Hugging Face BertTokenizerFast (tokenizers' BertNormalizer,
// BertPreTokenizer and WordPiece model):
//   1. clean text: drop NUL, U+FFFD and control characters (Cc except
//      \t\n\r, Cf, Co, Cs), turn every whitespace character into ' ';
//   2. put spaces around CJK ideographs (each becomes its own word);
//   3. strip accents: NFD, then drop non-spacing marks (Mn);
//   4. lowercase (full mapping, per character);
//   5. split on whitespace and isolate every punctuation character (P* and
//      all ASCII symbols);
//   6. WordPiece: greedy longest-match-first with "##" continuation pieces; a
//      word with no full segmentation, or longer than maxInputCharsPerWord
//      characters, becomes [UNK].
// Steps 1-4 are the normalizer, each switchable as in Hugging Face.
//
// Where the slow Python BertTokenizer differs from the fast one (it applies
// NFC first, treats only Zs as whitespace, drops unassigned code points and
// applies the final-sigma rule when lowercasing), this follows the fast one.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOKENIZER_WORDPIECE_H
#define TFC_TOKENIZER_WORDPIECE_H

#include "tfc/Tokenizer/Tokenizer.h"

#include <memory>

namespace tfc {
namespace tokenizer {

struct WordPieceOptions {
  bool cleanText = true;
  bool handleChineseChars = true;
  /// Hugging Face's strip_accents=None means "same as lowercase"; loaders
  /// resolve that before filling these.
  bool stripAccents = true;
  bool lowercase = true;
  std::string unkToken = "[UNK]";
  std::string continuingSubwordPrefix = "##";
  size_t maxInputCharsPerWord = 100;
};

class WordPieceTokenizer : public Tokenizer {
public:
  /// Checks the options against the vocabulary (the unknown token must be
  /// in it). Call after setVocab.
  Status init(const WordPieceOptions &options);

  const char *modelName() const override { return "wordpiece"; }
  Status encode(std::string_view text,
                std::vector<int32_t> &ids) const override;

  const WordPieceOptions &options() const { return opts; }

  /// Steps 1-4 on one piece of text (UTF-8 in and out).
  std::string normalize(std::string_view text) const;
  /// Step 5 on normalized text: the words, each UTF-8.
  static void preTokenize(std::string_view normalized,
                          std::vector<std::string> &words);
  /// Step 6 on one word; appends its ids.
  void wordPiece(std::string_view word, std::vector<int32_t> &ids) const;

private:
  void encodePlain(std::string_view text, std::vector<int32_t> &ids) const;

  WordPieceOptions opts;
  int32_t unkId = -1;
};

} // namespace tokenizer
} // namespace tfc

#endif // TFC_TOKENIZER_WORDPIECE_H
