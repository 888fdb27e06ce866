//===- WordPiece.cpp - BERT normalizer, pre-tokenizer and WordPiece -------===//

#include "tfc/Tokenizer/WordPiece.h"

#include "tfc/Tokenizer/Unicode.h"

namespace tfc {
namespace tokenizer {

using unicode::CharClass;

Status WordPieceTokenizer::init(const WordPieceOptions &options) {
  opts = options;
  unkId = tokenId(opts.unkToken);
  if (unkId < 0)
    return Status::error("the unknown token '" + opts.unkToken +
                         "' is not in the vocabulary");
  if (opts.maxInputCharsPerWord == 0)
    return Status::error("max_input_chars_per_word must be positive");
  return Status::success();
}

std::string WordPieceTokenizer::normalize(std::string_view text) const {
  std::u32string in;
  unicode::decodeUtf8(text, in);
  std::u32string buf;
  buf.reserve(in.size());
  for (char32_t c : in) {
    if (opts.cleanText) {
      if (c == 0 || c == 0xFFFD)
        continue;
      CharClass cls = unicode::charClass(c);
      if (cls == CharClass::Control)
        continue;
      if (cls == CharClass::Whitespace) {
        buf.push_back(U' ');
        continue;
      }
    }
    if (opts.handleChineseChars && unicode::isCjkIdeograph(c)) {
      buf.push_back(U' ');
      buf.push_back(c);
      buf.push_back(U' ');
      continue;
    }
    buf.push_back(c);
  }
  if (opts.stripAccents) {
    std::u32string decomposed = unicode::nfd(buf);
    buf.clear();
    for (char32_t c : decomposed)
      if (!unicode::isNonspacingMark(c))
        buf.push_back(c);
  }
  if (opts.lowercase) {
    std::u32string lower;
    lower.reserve(buf.size());
    for (char32_t c : buf)
      unicode::appendLowercase(c, lower);
    buf.swap(lower);
  }
  return unicode::encodeUtf8(buf);
}

void WordPieceTokenizer::preTokenize(std::string_view normalized,
                                     std::vector<std::string> &words) {
  std::u32string text;
  unicode::decodeUtf8(normalized, text);
  std::string word;
  auto flush = [&]() {
    if (!word.empty()) {
      words.push_back(word);
      word.clear();
    }
  };
  for (char32_t c : text) {
    CharClass cls = unicode::charClass(c);
    // Rust's char::is_whitespace also holds for these three Cc characters;
    // they only survive to here when clean_text is off.
    if (cls == CharClass::Whitespace || c == 0x0B || c == 0x0C || c == 0x85) {
      flush();
    } else if (cls == CharClass::Punctuation) {
      flush();
      unicode::appendUtf8(c, word);
      flush();
    } else {
      unicode::appendUtf8(c, word);
    }
  }
  flush();
}

void WordPieceTokenizer::wordPiece(std::string_view word,
                                   std::vector<int32_t> &ids) const {
  if (word.empty())
    return;
  if (unicode::utf8Length(word) > opts.maxInputCharsPerWord) {
    ids.push_back(unkId);
    return;
  }
  size_t mark = ids.size();
  size_t start = 0;
  std::string candidate;
  while (start < word.size()) {
    size_t end = word.size();
    int32_t found = -1;
    while (start < end) {
      candidate.clear();
      if (start > 0)
        candidate = opts.continuingSubwordPrefix;
      candidate.append(word.substr(start, end - start));
      found = tokenId(candidate);
      if (found >= 0)
        break;
      // Drop the last character (back to the previous lead byte).
      do {
        --end;
      } while (end > start &&
               (static_cast<unsigned char>(word[end]) & 0xC0) == 0x80);
    }
    if (found < 0) {
      ids.resize(mark);
      ids.push_back(unkId);
      return;
    }
    ids.push_back(found);
    start = end;
  }
}

void WordPieceTokenizer::encodePlain(std::string_view text,
                                     std::vector<int32_t> &ids) const {
  std::string normalized = normalize(text);
  std::vector<std::pair<std::string_view, int32_t>> pieces;
  splitOnAddedTokens(normalized, /*normalized=*/true, pieces);
  std::vector<std::string> words;
  for (const auto &piece : pieces) {
    if (piece.second >= 0) {
      ids.push_back(piece.second);
      continue;
    }
    words.clear();
    preTokenize(piece.first, words);
    for (const std::string &w : words)
      wordPiece(w, ids);
  }
}

Status WordPieceTokenizer::encode(std::string_view text,
                                  std::vector<int32_t> &ids) const {
  ids.clear();
  if (unkId < 0)
    return Status::error("WordPiece tokenizer used before init()");
  std::vector<std::pair<std::string_view, int32_t>> pieces;
  splitOnAddedTokens(text, /*normalized=*/false, pieces);
  for (const auto &piece : pieces) {
    if (piece.second >= 0)
      ids.push_back(piece.second);
    else
      encodePlain(piece.first, ids);
  }
  return Status::success();
}

} // namespace tokenizer
} // namespace tfc
