//===- WordPieceTest.cpp - the WordPiece steps one by one -----------------===//

#include "tfc/Tokenizer/WordPiece.h"

#include <gtest/gtest.h>

using namespace tfc::tokenizer;
using Ids = std::vector<int32_t>;

namespace {
std::unique_ptr<WordPieceTokenizer> make(const WordPieceOptions &opts = {},
                                         std::vector<std::string> vocab = {}) {
  if (vocab.empty())
    vocab = {"[UNK]", "un", "##aff", "##able", "una", "##ffable", "a", "##b",
             "\xC3\xA9t\xC3\xA9", "##\xC3\xA9", "x"};
  auto tok = std::make_unique<WordPieceTokenizer>();
  EXPECT_TRUE(tok->setVocab(vocab).ok());
  Status s = tok->init(opts);
  EXPECT_TRUE(s.ok()) << s.message();
  return tok;
}
Ids pieces(const WordPieceTokenizer &t, const std::string &word) {
  Ids ids;
  t.wordPiece(word, ids);
  return ids;
}
} // namespace

TEST(WordPiece, GreedyLongestMatchFirst) {
  auto tok = make();
  // "una" + "##ffable" wins over "un" + "##aff" + "##able": longest first.
  EXPECT_EQ(pieces(*tok, "unaffable"), (Ids{4, 5}));
  EXPECT_EQ(pieces(*tok, "abbb"), (Ids{6, 7, 7, 7}));
  EXPECT_EQ(pieces(*tok, "abc"), (Ids{0}));   // no partial [UNK]
  EXPECT_EQ(pieces(*tok, "ba"), (Ids{0}));    // "b" only as continuation
  EXPECT_EQ(pieces(*tok, "\xC3\xA9t\xC3\xA9\xC3\xA9"), (Ids{8, 9}));
}

TEST(WordPiece, MaxCharsCountsCharactersNotBytes) {
  WordPieceOptions opts;
  opts.maxInputCharsPerWord = 3;
  auto tok = make(opts);
  // 3 characters, 7 bytes.
  EXPECT_EQ(pieces(*tok, "\xC3\xA9t\xC3\xA9"), (Ids{8}));
  EXPECT_EQ(pieces(*tok, "abbb"), (Ids{0}));
}

TEST(WordPiece, CustomPrefix) {
  WordPieceOptions opts;
  opts.continuingSubwordPrefix = "@@";
  auto tok = make(opts, {"[UNK]", "a", "@@b"});
  EXPECT_EQ(pieces(*tok, "ab"), (Ids{1, 2}));
}

TEST(WordPiece, NormalizeSteps) {
  WordPieceOptions opts;
  auto tok = make(opts);
  EXPECT_EQ(tok->normalize(std::string("H\xC3\xA9llo\tW\x00rld\xEF\xBF\xBD", 15)),
            "hello wrld");
  EXPECT_EQ(tok->normalize("\xE4\xB8\xAD\xE6\x96\x87"), " \xE4\xB8\xAD  \xE6\x96\x87 ");
  EXPECT_EQ(tok->normalize("\xC4\xB0"), "i"); // İ
  opts.lowercase = false;
  opts.stripAccents = false;
  opts.cleanText = false;
  opts.handleChineseChars = false;
  tok = make(opts);
  std::string raw = "A\xC3\xA9\t\x01\xE4\xB8\xAD";
  EXPECT_EQ(tok->normalize(raw), raw);
  opts.lowercase = true;
  tok = make(opts);
  EXPECT_EQ(tok->normalize("\xC3\x89"), "\xC3\xA9"); // É -> é, accent kept
  opts.lowercase = false;
  opts.stripAccents = true;
  tok = make(opts);
  EXPECT_EQ(tok->normalize("\xC3\x89"), "E");
}

TEST(WordPiece, PreTokenize) {
  std::vector<std::string> words;
  WordPieceTokenizer::preTokenize("hello,world  don't $5 a\xE3\x80\x82" "b",
                                  words);
  EXPECT_EQ(words, (std::vector<std::string>{"hello", ",", "world", "don", "'",
                                             "t", "$", "5", "a",
                                             "\xE3\x80\x82", "b"}));
  words.clear();
  WordPieceTokenizer::preTokenize("a\x0b" "b", words); // Rust whitespace
  EXPECT_EQ(words, (std::vector<std::string>{"a", "b"}));
}

TEST(WordPiece, InitErrors) {
  auto tok = std::make_unique<WordPieceTokenizer>();
  ASSERT_TRUE(tok->setVocab(std::vector<std::string>{"a", "b"}).ok());
  Status s = tok->init({});
  EXPECT_NE(s.message().find("[UNK]"), std::string::npos);
  Ids ids;
  EXPECT_FALSE(tok->encode("a", ids).ok()); // not initialized
}

TEST(Tokenizer, VocabAndAddedTokens) {
  auto tok = std::make_unique<WordPieceTokenizer>();
  Status s = tok->setVocab(std::vector<std::pair<std::string, int32_t>>{
      {"[UNK]", 0}, {"a", 2}, {"<s>", 3}, {"<s>x", 5}});
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(tok->vocabSize(), 6u);
  EXPECT_EQ(tok->tokenText(1), ""); // a gap
  EXPECT_EQ(tok->tokenText(99), "");
  EXPECT_EQ(tok->tokenId("a"), 2);
  EXPECT_EQ(tok->tokenId("b"), -1);
  ASSERT_TRUE(tok->init({}).ok());
  ASSERT_TRUE(tok->addAddedToken({"<s>", 3, false}).ok());
  ASSERT_TRUE(tok->addAddedToken({"<s>x", 5, false}).ok());
  EXPECT_FALSE(tok->addAddedToken({"<t>", 6, false}).ok());
  EXPECT_FALSE(tok->addAddedToken({"", 1, false}).ok());
  Ids ids;
  ASSERT_TRUE(tok->encode("a<s>xa<s>a", ids).ok()); // leftmost-longest
  EXPECT_EQ(ids, (Ids{2, 5, 2, 3, 2}));
  EXPECT_FALSE(tok->setVocab(std::vector<std::pair<std::string, int32_t>>{
                                 {"a", -1}})
                   .ok());
  EXPECT_FALSE(tok->setVocab(std::vector<std::pair<std::string, int32_t>>{
                                 {"a", 1 << 30}})
                   .ok());
}

TEST(Tokenizer, BatchNeedsPad) {
  auto tok = make();
  tok->setTemplate({}, {});
  BatchEncoding b;
  Status s = encodeBatch(*tok, {"a", "a ab"}, {}, b);
  EXPECT_NE(s.message().find("no pad token"), std::string::npos);
  BatchOptions opt;
  opt.addSpecialTokens = false;
  opt.maxLength = 1;
  ASSERT_TRUE(encodeBatch(*tok, {"a x", "x a"}, opt, b).ok()); // no padding
  EXPECT_EQ(b.inputIds, (std::vector<int64_t>{6, 10}));
}
