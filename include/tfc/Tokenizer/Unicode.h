//===- Unicode.h - the Unicode the tokenizers need, without ICU -*- C++ -*-===//
//
// UTF-8 decoding and encoding, the character classes that BERT's normalizer
// and pre-tokenizer ask about, canonical decomposition (NFD) and full
// lowercasing. Tables are generated from Python's unicodedata by
// lib/Tokenizer/gen_unicode_tables.py (see there for the exact class
// definitions, chosen to match Hugging Face tokenizers).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOKENIZER_UNICODE_H
#define TFC_TOKENIZER_UNICODE_H

#include <cstdint>
#include <string>
#include <string_view>

namespace tfc {
namespace tokenizer {
namespace unicode {

/// The Unicode version the tables were generated from, e.g. "14.0.0".
const char *tablesVersion();

enum class CharClass : uint8_t {
  Other = 0,
  Whitespace = 1,  // White_Space property, except the Cc ones other than \t\n\r
  Control = 2,     // Cc (except \t \n \r), Cf, Co, Cs; not Cn
  Punctuation = 3, // P* or ASCII punctuation
  Mark = 4,        // Mn (non-spacing mark)
};

CharClass charClass(char32_t c);
inline bool isWhitespace(char32_t c) {
  return charClass(c) == CharClass::Whitespace;
}
inline bool isControl(char32_t c) { return charClass(c) == CharClass::Control; }
inline bool isPunctuation(char32_t c) {
  return charClass(c) == CharClass::Punctuation;
}
inline bool isNonspacingMark(char32_t c) {
  return charClass(c) == CharClass::Mark;
}
/// The CJK ideograph blocks that BERT isolates as single-character words
/// (BasicTokenizer._is_chinese_char): not all of CJK (no Hangul, kana).
bool isCjkIdeograph(char32_t c);

/// Canonical combining class (0 for starters).
uint8_t combiningClass(char32_t c);

/// Appends the full canonical decomposition of `c` (Hangul included), without
/// reordering; `c` itself when it has none.
void appendDecomposition(char32_t c, std::u32string &out);
/// Canonical decomposition (NFD) of a whole string, with canonical ordering.
std::u32string nfd(std::u32string_view text);
/// Sorts runs of non-starters by combining class (stable), in place.
void canonicalOrder(std::u32string &text);

/// Appends the full lowercase of `c` (one or more code points; U+0130 gives
/// "i\u0307"), as Rust's char::to_lowercase: no context-dependent rules.
void appendLowercase(char32_t c, std::u32string &out);

/// Decodes UTF-8. Invalid or truncated sequences, overlong forms, surrogates
/// and values past U+10FFFF decode to U+FFFD (one per maximal invalid
/// subpart), so decoding never fails. Returns whether the input was valid.
bool decodeUtf8(std::string_view text, std::u32string &out);
void appendUtf8(char32_t c, std::string &out);
std::string encodeUtf8(std::u32string_view text);
/// Number of code points in valid UTF-8 (bytes that are not continuation
/// bytes).
size_t utf8Length(std::string_view text);

} // namespace unicode
} // namespace tokenizer
} // namespace tfc

#endif // TFC_TOKENIZER_UNICODE_H
