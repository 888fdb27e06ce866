//===- HfLoaderTest.cpp - Hugging Face folders and tokenizer.json ---------===//

#include "tfc/Tokenizer/Loader.h"
#include "tfc/Tokenizer/WordPiece.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace tfc::tokenizer;
namespace fs = std::filesystem;

namespace {

const char *kVocab[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
                        "hello", "world", "un",    "##aff", "##able",
                        "!",     ",",     "naive", "caf",   "##e",
                        "\xE4\xBD\xA0", "\xE5\xA5\xBD", "[", "]", "Hello",
                        "<extra>"};

std::string vocabJson() {
  std::string s = "{";
  for (size_t i = 0; i < sizeof(kVocab) / sizeof(kVocab[0]); ++i)
    s += (i ? ", \"" : "\"") + std::string(kVocab[i]) + "\": " +
         std::to_string(i);
  return s + "}";
}

// A tokenizer.json as `tokenizers` writes it for bert-base-uncased, cut down.
std::string tokenizerJson(const std::string &normalizer =
                              R"({"type": "BertNormalizer", "clean_text": true,
      "handle_chinese_chars": true, "strip_accents": null, "lowercase": true})",
                          const std::string &modelType = "WordPiece",
                          const std::string &postProcessor = "") {
  std::string post = postProcessor.empty() ? R"({
    "type": "TemplateProcessing",
    "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}},
               {"Sequence": {"id": "A", "type_id": 0}},
               {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
    "pair": [],
    "special_tokens": {
      "[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
      "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}})"
                                           : postProcessor;
  return R"({
  "version": "1.0",
  "truncation": null,
  "padding": null,
  "added_tokens": [
    {"id": 0, "content": "[PAD]", "single_word": false, "lstrip": false,
     "rstrip": false, "normalized": false, "special": true},
    {"id": 1, "content": "[UNK]", "normalized": false, "special": true},
    {"id": 2, "content": "[CLS]", "normalized": false, "special": true},
    {"id": 3, "content": "[SEP]", "normalized": false, "special": true},
    {"id": 4, "content": "[MASK]", "normalized": false, "special": true},
    {"id": 20, "content": "<EXTRA>", "normalized": true, "special": false}
  ],
  "normalizer": )" + normalizer +
         R"(,
  "pre_tokenizer": {"type": "BertPreTokenizer"},
  "post_processor": )" +
         post + R"(,
  "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
  "model": {"type": ")" +
         modelType + R"(", "unk_token": "[UNK]",
    "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
    "vocab": )" + vocabJson() +
         "}}";
}

std::vector<int32_t> encode(const Tokenizer &tok, const std::string &text) {
  std::vector<int32_t> ids;
  Status s = tok.encode(text, ids);
  EXPECT_TRUE(s.ok()) << s.message();
  return ids;
}

using Ids = std::vector<int32_t>;

std::string makeDir(const std::string &name) {
  std::string dir = ::testing::TempDir() + "/tfc-hf-" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void writeFile(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

} // namespace

TEST(HfTokenizerJson, Uncased) {
  std::unique_ptr<Tokenizer> tok;
  Status s = loadHfTokenizerJson(tokenizerJson(), tok);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(tok->vocabSize(), 21u);
  EXPECT_EQ(encode(*tok, "Hello, WORLD! unaffable"), (Ids{5, 11, 6, 10, 7, 8, 9}));
  // Accents stripped (strip_accents null follows lowercase), CJK split.
  EXPECT_EQ(encode(*tok, "NAÏVE Café \xE4\xBD\xA0\xE5\xA5\xBD"),
            (Ids{12, 13, 14, 15, 16}));
  // Special tokens in the text are recognized as written, case-sensitively.
  EXPECT_EQ(encode(*tok, "hello[MASK]world [mask]"), (Ids{5, 4, 6, 17, 1, 18}));
  // A normalized added token matches after lowercasing.
  EXPECT_EQ(encode(*tok, "hello <Extra> world"), (Ids{5, 20, 6}));
  // No full segmentation: the whole word is [UNK], not a partial one.
  EXPECT_EQ(encode(*tok, "unaffablex"), (Ids{1}));
  EXPECT_EQ(encode(*tok, std::string(101, 'a')), (Ids{1}));
  EXPECT_EQ(encode(*tok, "  \t\n"), (Ids{}));
  EXPECT_EQ(encode(*tok, ""), (Ids{}));
  // Control characters vanish inside a word; odd whitespace splits.
  EXPECT_EQ(encode(*tok, "hel\x01lo\xE2\x80\x8B world\xE3\x80\x80!"),
            (Ids{5, 6, 10}));
  const SpecialTokens &sp = tok->specialTokens();
  EXPECT_EQ(sp.cls, 2);
  EXPECT_EQ(sp.sep, 3);
  EXPECT_EQ(sp.pad, 0);
  EXPECT_EQ(sp.unk, 1);
  EXPECT_EQ(sp.mask, 4);
  EXPECT_EQ(tok->templatePrefix(), (Ids{2}));
  EXPECT_EQ(tok->templateSuffix(), (Ids{3}));
}

TEST(HfTokenizerJson, SpecialTokensAndTruncation) {
  std::unique_ptr<Tokenizer> tok;
  ASSERT_TRUE(loadHfTokenizerJson(tokenizerJson(), tok).ok());
  Ids ids;
  ASSERT_TRUE(tok->encodeWithSpecial("hello, world!", 0, ids).ok());
  EXPECT_EQ(ids, (Ids{2, 5, 11, 6, 10, 3}));
  ASSERT_TRUE(tok->encodeWithSpecial("hello, world!", 4, ids).ok());
  EXPECT_EQ(ids, (Ids{2, 5, 11, 3}));
  ASSERT_TRUE(tok->encodeWithSpecial("hello, world!", 2, ids).ok());
  EXPECT_EQ(ids, (Ids{2, 3}));
  Status s = tok->encodeWithSpecial("hello", 1, ids);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("special tokens"), std::string::npos);
}

TEST(HfTokenizerJson, Batch) {
  std::unique_ptr<Tokenizer> tok;
  ASSERT_TRUE(loadHfTokenizerJson(tokenizerJson(), tok).ok());
  BatchEncoding b;
  BatchOptions opt;
  opt.maxLength = 5;
  Status s = encodeBatch(*tok, {"hello world", "hello, world!", ""}, opt, b);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(b.batchSize, 3u);
  EXPECT_EQ(b.seqLen, 5u);
  EXPECT_EQ(b.inputIds,
            (std::vector<int64_t>{2, 5, 6, 3, 0, 2, 5, 11, 6, 3, 2, 3, 0, 0, 0}));
  EXPECT_EQ(b.attentionMask,
            (std::vector<int64_t>{1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(b.tokenTypeIds, std::vector<int64_t>(15, 0));
  EXPECT_EQ(b.lengths, (std::vector<size_t>{4, 5, 2}));
  opt.maxLength = 8;
  opt.padToMaxLength = true;
  ASSERT_TRUE(encodeBatch(*tok, {"hello"}, opt, b).ok());
  EXPECT_EQ(b.seqLen, 8u);
  EXPECT_EQ(b.inputIds, (std::vector<int64_t>{2, 5, 3, 0, 0, 0, 0, 0}));
  ASSERT_TRUE(encodeBatch(*tok, {}, opt, b).ok());
  EXPECT_EQ(b.batchSize, 0u);
}

TEST(HfTokenizerJson, CasedAndOverrides) {
  std::unique_ptr<Tokenizer> tok;
  ASSERT_TRUE(loadHfTokenizerJson(
                  tokenizerJson(R"({"type": "BertNormalizer", "lowercase": false,
                                    "strip_accents": false})"),
                  tok)
                  .ok());
  EXPECT_EQ(encode(*tok, "Hello hello HELLO"), (Ids{19, 5, 1}));
  // Options override the file.
  ASSERT_TRUE(loadHfTokenizerJson(tokenizerJson(), tok, {0, -1}).ok());
  EXPECT_EQ(encode(*tok, "Hello"), (Ids{19}));
}

TEST(HfTokenizerJson, NormalizerSequence) {
  std::unique_ptr<Tokenizer> tok;
  Status s = loadHfTokenizerJson(
      tokenizerJson(R"({"type": "Sequence", "normalizers": [{"type": "NFD"},
          {"type": "Lowercase"}, {"type": "StripAccents"}]})"),
      tok);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(encode(*tok, "NAÏVE"), (Ids{12}));
  s = loadHfTokenizerJson(
      tokenizerJson(R"({"type": "Sequence", "normalizers": [
          {"type": "StripAccents"}]})"),
      tok);
  EXPECT_NE(s.message().find("StripAccents without NFD"), std::string::npos);
}

TEST(HfTokenizerJson, BertProcessing) {
  std::unique_ptr<Tokenizer> tok;
  Status s = loadHfTokenizerJson(
      tokenizerJson(
          R"({"type": "BertNormalizer"})", "WordPiece",
          R"({"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]})"),
      tok);
  ASSERT_TRUE(s.ok()) << s.message();
  Ids ids;
  ASSERT_TRUE(tok->encodeWithSpecial("world", 0, ids).ok());
  EXPECT_EQ(ids, (Ids{2, 6, 3}));
}

TEST(HfTokenizerJson, Errors) {
  std::unique_ptr<Tokenizer> tok;
  Status s = loadHfTokenizerJson("{not json", tok);
  EXPECT_NE(s.message().find("not valid JSON"), std::string::npos);
  s = loadHfTokenizerJson(
      tokenizerJson(R"({"type": "BertNormalizer"})", "Unigram"), tok);
  EXPECT_NE(s.message().find("'Unigram' is not supported"), std::string::npos)
      << s.message();
  s = loadHfTokenizerJson(tokenizerJson(R"({"type": "Replace"})"), tok);
  EXPECT_NE(s.message().find("unsupported normalizer 'Replace'"),
            std::string::npos)
      << s.message();
  std::string noUnk = tokenizerJson();
  noUnk.replace(noUnk.find("\"unk_token\": \"[UNK]\""), 20,
                "\"unk_token\": \"<unk>\"");
  s = loadHfTokenizerJson(noUnk, tok);
  EXPECT_NE(s.message().find("'<unk>' is not in the vocabulary"),
            std::string::npos)
      << s.message();
  std::string byteLevel = tokenizerJson();
  byteLevel.replace(byteLevel.find("BertPreTokenizer"), 16, "ByteLevel");
  s = loadHfTokenizerJson(byteLevel, tok);
  EXPECT_NE(s.message().find("pre_tokenizer 'ByteLevel'"), std::string::npos)
      << s.message();
  s = loadHfTokenizerJson(R"({"model": {"type": "WordPiece", "vocab": {"a": "x"}}})",
                          tok);
  EXPECT_NE(s.message().find("non-integer id"), std::string::npos);
  s = loadHfTokenizerJson("[1, 2]", tok);
  EXPECT_FALSE(s.ok());
}

TEST(HfFolder, TokenizerJson) {
  std::string dir = makeDir("json");
  writeFile(dir + "/tokenizer.json", tokenizerJson());
  std::unique_ptr<Tokenizer> tok;
  Status s = loadHfTokenizer(dir, tok);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(encode(*tok, "Hello World"), (Ids{5, 6}));
  // loadTokenizer dispatches on folders and .json files alike.
  ASSERT_TRUE(loadTokenizer(dir, tok).ok());
  ASSERT_TRUE(loadTokenizer(dir + "/tokenizer.json", tok).ok());
  EXPECT_EQ(encode(*tok, "Hello World"), (Ids{5, 6}));
}

TEST(HfFolder, VocabTxt) {
  std::string dir = makeDir("vocab");
  std::string vocab;
  for (const char *t : kVocab)
    vocab += std::string(t) + "\r\n"; // CRLF is tolerated
  writeFile(dir + "/vocab.txt", vocab);
  std::unique_ptr<Tokenizer> tok;
  Status s = loadHfTokenizer(dir, tok);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(encode(*tok, "Hello, CAFÉ"), (Ids{5, 11, 13, 14}));
  Ids ids;
  ASSERT_TRUE(tok->encodeWithSpecial("[MASK]", 0, ids).ok());
  EXPECT_EQ(ids, (Ids{2, 4, 3}));
  writeFile(dir + "/tokenizer_config.json",
            R"({"do_lower_case": false, "strip_accents": null,
                "cls_token": {"content": "[CLS]"}, "tokenizer_class": "BertTokenizer"})");
  ASSERT_TRUE(loadHfTokenizer(dir, tok).ok());
  EXPECT_EQ(encode(*tok, "Hello hello"), (Ids{19, 5}));
  EXPECT_EQ(encode(*tok, "naïve"), (Ids{1})); // accents kept when cased
  writeFile(dir + "/tokenizer_config.json", R"({"do_basic_tokenize": false})");
  s = loadHfTokenizer(dir, tok);
  EXPECT_NE(s.message().find("do_basic_tokenize"), std::string::npos);
  writeFile(dir + "/tokenizer_config.json", R"({"do_lower_case": "yes"})");
  EXPECT_FALSE(loadHfTokenizer(dir, tok).ok());
}

TEST(HfFolder, Missing) {
  std::unique_ptr<Tokenizer> tok;
  std::string dir = makeDir("empty");
  Status s = loadHfTokenizer(dir, tok);
  EXPECT_NE(s.message().find("no tokenizer.json, vocab.txt or tokenizer.model"),
            std::string::npos);
  s = loadTokenizer(dir + "/nope", tok);
  EXPECT_NE(s.message().find("does not exist"), std::string::npos);
  writeFile(dir + "/data.bin", "xyz");
  s = loadTokenizer(dir + "/data.bin", tok);
  EXPECT_FALSE(s.ok());
}
