//===- UnicodeTest.cpp - UTF-8, classes, NFD, lowercase -------------------===//

#include "tfc/Tokenizer/Unicode.h"

#include <gtest/gtest.h>

using namespace tfc::tokenizer::unicode;

static std::u32string decode(const std::string &s, bool *valid = nullptr) {
  std::u32string out;
  bool v = decodeUtf8(s, out);
  if (valid)
    *valid = v;
  return out;
}

TEST(Unicode, DecodeValid) {
  bool valid;
  EXPECT_EQ(decode("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", &valid),
            U"a\u00E9\u20AC\U0001F600");
  EXPECT_TRUE(valid);
  EXPECT_EQ(decode(std::string("a\0b", 3)), std::u32string(U"a\0b", 3));
}

// One U+FFFD per maximal invalid subpart, as Python's errors="replace".
TEST(Unicode, DecodeInvalid) {
  bool valid;
  EXPECT_EQ(decode("\xC0\x80", &valid), U"\uFFFD\uFFFD"); // overlong
  EXPECT_FALSE(valid);
  EXPECT_EQ(decode("\xE2\x82"), U"\uFFFD");               // truncated
  EXPECT_EQ(decode("\xE2\x82z"), U"\uFFFDz");
  EXPECT_EQ(decode("\xED\xA0\x80"), U"\uFFFD\uFFFD\uFFFD"); // surrogate
  EXPECT_EQ(decode("\xF4\x90\x80\x80"), U"\uFFFD\uFFFD\uFFFD\uFFFD");
  EXPECT_EQ(decode("\xF0\x9F\x98"), U"\uFFFD");
  EXPECT_EQ(decode("\x80x\xFF"), U"\uFFFDx\uFFFD");
}

TEST(Unicode, EncodeRoundTrip) {
  std::u32string s = U"a\u00E9\u20AC\U0001F600\U0010FFFF";
  std::string utf8 = encodeUtf8(s);
  EXPECT_EQ(utf8, "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF");
  EXPECT_EQ(decode(utf8), s);
  EXPECT_EQ(utf8Length(utf8), 5u);
}

TEST(Unicode, Classes) {
  EXPECT_TRUE(isWhitespace(U' '));
  EXPECT_TRUE(isWhitespace(U'\t'));
  EXPECT_TRUE(isWhitespace(U'\n'));
  EXPECT_TRUE(isWhitespace(U'\u3000'));
  EXPECT_TRUE(isWhitespace(U'\u2028')); // Zl: whitespace in Rust, not Python
  EXPECT_TRUE(isControl(U'\x0B'));      // Cc before White_Space
  EXPECT_TRUE(isControl(U'\x85'));
  EXPECT_TRUE(isControl(U'\u200D'));    // Cf
  EXPECT_TRUE(isControl(U'\uE000'));    // Co
  EXPECT_TRUE(isControl(U'\U000E0001'));
  EXPECT_FALSE(isControl(U'\u0378'));   // unassigned stays
  EXPECT_TRUE(isPunctuation(U'!'));
  EXPECT_TRUE(isPunctuation(U'$')); // ASCII symbols count as punctuation
  EXPECT_TRUE(isPunctuation(U'^'));
  EXPECT_TRUE(isPunctuation(U'\u00BF'));
  EXPECT_TRUE(isPunctuation(U'\u3001'));
  EXPECT_FALSE(isPunctuation(U'\u20AC')); // Sc
  // Assigned after Unicode 8.0: not punctuation for HF tokenizers.
  EXPECT_FALSE(isPunctuation(U'\u2E45'));
  EXPECT_TRUE(isPunctuation(U'\u2E42'));
  EXPECT_TRUE(isNonspacingMark(U'\u0301'));
  EXPECT_TRUE(isNonspacingMark(U'\uFE0F'));
  EXPECT_FALSE(isNonspacingMark(U'\u0903')); // Mc
  EXPECT_EQ(charClass(U'a'), CharClass::Other);
  EXPECT_EQ(charClass(U'\U0001F600'), CharClass::Other);
  EXPECT_EQ(charClass(0x10FFFF), CharClass::Other);
  EXPECT_EQ(charClass(0x110000), CharClass::Other);
}

TEST(Unicode, CjkIdeographs) {
  EXPECT_TRUE(isCjkIdeograph(U'\u4E2D'));
  EXPECT_TRUE(isCjkIdeograph(U'\uF900'));
  EXPECT_TRUE(isCjkIdeograph(U'\U00020000'));
  EXPECT_FALSE(isCjkIdeograph(U'\uAC00')); // Hangul
  EXPECT_FALSE(isCjkIdeograph(U'\u3042')); // Hiragana
}

TEST(Unicode, Nfd) {
  EXPECT_EQ(nfd(U"\u00E9"), U"e\u0301");
  EXPECT_EQ(nfd(U"\u1EC7"), U"e\u0323\u0302"); // ệ: below before above
  EXPECT_EQ(nfd(U"\uD55C"), U"\u1112\u1161\u11AB"); // 한
  EXPECT_EQ(nfd(U"\uAC00"), U"\u1100\u1161");        // 가 (no final)
  EXPECT_EQ(nfd(U"\uF900"), U"\u8C48");              // CJK compatibility
  // Canonical ordering across characters: ccc 220 before ccc 230.
  EXPECT_EQ(nfd(U"\u1E9B\u0323"), U"\u017F\u0323\u0307");
  EXPECT_EQ(nfd(U"a\u0301\u0323"), U"a\u0323\u0301");
  EXPECT_EQ(nfd(U"\uFB01"), U"\uFB01"); // compatibility only: unchanged
  EXPECT_EQ(combiningClass(U'\u0301'), 230);
  EXPECT_EQ(combiningClass(U'\u0323'), 220);
  EXPECT_EQ(combiningClass(U'a'), 0);
}

static std::u32string lower(std::u32string_view s) {
  std::u32string out;
  for (char32_t c : s)
    appendLowercase(c, out);
  return out;
}

TEST(Unicode, Lowercase) {
  EXPECT_EQ(lower(U"ABCxyz09"), U"abcxyz09");
  EXPECT_EQ(lower(U"\u00C4\u00D6\u00DC\u1E9E"), U"\u00E4\u00F6\u00FC\u00DF");
  EXPECT_EQ(lower(U"\u03A3\u0391\u03A3"), U"\u03C3\u03B1\u03C3"); // no final sigma
  EXPECT_EQ(lower(U"\u0130"), U"i\u0307");
  EXPECT_EQ(lower(U"\u01C5"), U"\u01C6");
  EXPECT_EQ(lower(U"\u216B\u24B6"), U"\u217B\u24D0");
  EXPECT_EQ(lower(U"\U00010400"), U"\U00010428");
  EXPECT_EQ(lower(U"\u0100\u0101\u0102"), U"\u0101\u0101\u0103");
  EXPECT_EQ(lower(U"\u4E2D!"), U"\u4E2D!");
}

TEST(Unicode, TablesVersion) { EXPECT_STRNE(tablesVersion(), ""); }
