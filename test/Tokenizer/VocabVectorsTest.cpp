//===- VocabVectorsTest.cpp - exact ids against reference tokenizers ------===//
//
// 1. llama.cpp's tokenizer test vectors (shared/testdata/tokenizer-vectors):
//    ggml-vocab-NAME.gguf with .inp texts and .out ids made by Hugging Face
//    (without special tokens). Every case must match exactly. Vocabularies of
//    tokenizer models not implemented yet are skipped by name. The shared
//    GGUF files are the byte-exact originals (SHA256SUMS beside them) and are
//    read as they are; an earlier copy had been damaged by a UTF-8
//    conversion, and such a copy is still read from a verified intact
//    original in the cache when there is one (TestUtils.h, loadGgufVocab).
// 2. Inputs/wordpiece-reference.jsonl (gen_wordpiece_reference.py): 545
//    texts over many scripts and character classes with the ids of Hugging
//    Face tokenizers for four normalizer settings, checked on the bert-bge
//    vocabulary, and on a Hugging Face folder of the same vocabulary when one
//    is present (.cache/models/minilm from scripts/get_models.sh).
//
//===----------------------------------------------------------------------===//

#include "TestUtils.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>

using namespace tfc::tokenizer;
using namespace tfc::tokenizer::test;

namespace {

std::string printable(const std::string &s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else
      out += static_cast<char>(c);
  }
  return out;
}

// Runs one llama.cpp vocab test. `implemented` is false for tokenizer models
// that do not exist yet: the test then only skips, saying whether the file
// at least parses. `collapseRepair`: a damaged shared file may be read with
// its EF BF BD sequences collapsed (only where the tokenizer reads no binary
// numbers that the damage hits: WordPiece); otherwise a damaged file needs
// its verified original in vocabCacheDir().
void runVocabVectors(const std::string &name, bool implemented,
                     bool collapseRepair) {
  std::string dir = vectorsDir();
  if (!std::filesystem::exists(dir))
    GTEST_SKIP() << "shared test data not found at '" << dir
                 << "' (set TFC_SHARED_DIR)";
  std::string gguf = dir + "/ggml-vocab-" + name + ".gguf";
  if (!implemented) {
    GgufFile file;
    Status s = GgufFile::open(gguf, file);
    std::string model;
    file.getString("tokenizer.ggml.model", model);
    GTEST_SKIP() << name << ": tokenizer not implemented yet"
                 << (s.ok() ? " (model '" + model + "')"
                            : "; note that the shared file does not parse: " +
                                  s.message());
  }
  std::string inp, outText;
  ASSERT_TRUE(readBytes(gguf + ".inp", inp)) << gguf << ".inp";
  ASSERT_TRUE(readBytes(gguf + ".out", outText)) << gguf << ".out";
  std::vector<std::string> texts = splitVocabTestInputs(inp);
  std::vector<std::vector<int32_t>> expected = parseVocabTestOutputs(outText);
  ASSERT_EQ(texts.size(), expected.size())
      << "input and output files have different numbers of cases";
  ASSERT_FALSE(texts.empty());

  std::unique_ptr<Tokenizer> tok;
  bool repaired = false;
  std::string firstError, source;
  Status s = loadGgufVocab(gguf, tok, {}, repaired, firstError, &source,
                           collapseRepair);
  if (!s.ok() && s.message().find("test data not found") == 0)
    GTEST_SKIP() << s.message();
  ASSERT_TRUE(s.ok()) << s.message();
  if (repaired)
    std::cout << "NOTE: " << gguf << " does not parse as is (" << firstError
              << "); tested after collapsing its EF BF BD sequences. "
                 "Replace the shared copy with the original binary file.\n";
  if (source != gguf)
    std::cout << "NOTE: " << gguf << " is damaged (UTF-8 conversion); "
              << "tested with its verified original " << source << "\n";

  size_t pass = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int32_t> ids;
    Status e = tok->encode(texts[i], ids);
    ASSERT_TRUE(e.ok()) << e.message();
    if (ids == expected[i]) {
      ++pass;
      continue;
    }
    ADD_FAILURE() << name << " case " << i << " '" << printable(texts[i])
                  << "'\n  expected: " << idsToString(expected[i])
                  << "\n  got:      " << idsToString(ids);
  }
  std::cout << name << ": " << pass << "/" << texts.size()
            << " cases pass\n";
  ::testing::Test::RecordProperty("passed", static_cast<int>(pass));
  ::testing::Test::RecordProperty("cases", static_cast<int>(texts.size()));
}

} // namespace

TEST(VocabVectors, BertBge) { runVocabVectors("bert-bge", true, true); }
TEST(VocabVectors, LlamaSpm) { runVocabVectors("llama-spm", true, false); }
TEST(VocabVectors, Phi3) { runVocabVectors("phi-3", true, false); }
TEST(VocabVectors, Gpt2) { runVocabVectors("gpt-2", true, false); }
// Falcon's pre-tokenizer: punctuation runs, GPT-2's pattern, numeric
// byte-level runs, 3-digit groups (ByteLevelBpe.cpp).
TEST(VocabVectors, Falcon) { runVocabVectors("falcon", true, false); }

// The same vocabulary as a Hugging Face tokenizer.json with Falcon's
// pre_tokenizer as `tokenizers` writes it (Sequence[Punctuation(Contiguous),
// ByteLevel, Digits(individual_digits=false), Split("[0-9][0-9][0-9]",
// Isolated)]; written by tokenizers 0.23.3 for this test's JSON): the HF
// loader must recognize it and give llama.cpp's ids on every case, as the
// GGUF loader does.
TEST(VocabVectors, FalconTokenizerJson) {
  std::string dir = vectorsDir();
  if (!std::filesystem::exists(dir))
    GTEST_SKIP() << "shared test data not found at '" << dir
                 << "' (set TFC_SHARED_DIR)";
  std::string gguf = dir + "/ggml-vocab-falcon.gguf";
  GgufFile file;
  Status s = GgufFile::open(gguf, file);
  ASSERT_TRUE(s.ok()) << s.message();
  const GgufValue *tokens = file.find("tokenizer.ggml.tokens");
  const GgufValue *merges = file.find("tokenizer.ggml.merges");
  const GgufValue *types = file.find("tokenizer.ggml.token_type");
  ASSERT_TRUE(tokens && merges && tokens->isArray() && merges->isArray());
  nlohmann::json vocab = nlohmann::json::object(),
                 added = nlohmann::json::array();
  for (size_t i = 0; i < tokens->strings().size(); ++i) {
    vocab[tokens->strings()[i]] = i;
    int64_t type = 1;
    if (types && types->intAt(i, type) && type == 3) // control
      added.push_back({{"id", i},
                       {"content", tokens->strings()[i]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", true}});
  }
  nlohmann::json root = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", nlohmann::json::parse(R"({"type": "Sequence",
        "pretokenizers": [
          {"type": "Punctuation", "behavior": "Contiguous"},
          {"type": "ByteLevel", "add_prefix_space": false,
           "trim_offsets": true, "use_regex": true},
          {"type": "Digits", "individual_digits": false},
          {"type": "Split", "pattern": {"Regex": "[0-9][0-9][0-9]"},
           "behavior": "Isolated", "invert": false}]})")},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges->strings()}}}};
  std::unique_ptr<Tokenizer> tok;
  s = loadHfTokenizerJson(root.dump(), tok);
  ASSERT_TRUE(s.ok()) << s.message();

  std::string inp, outText;
  ASSERT_TRUE(readBytes(gguf + ".inp", inp));
  ASSERT_TRUE(readBytes(gguf + ".out", outText));
  std::vector<std::string> texts = splitVocabTestInputs(inp);
  std::vector<std::vector<int32_t>> expected = parseVocabTestOutputs(outText);
  ASSERT_EQ(texts.size(), expected.size());
  ASSERT_FALSE(texts.empty());
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<int32_t> ids;
    Status e = tok->encode(texts[i], ids);
    ASSERT_TRUE(e.ok()) << e.message();
    EXPECT_EQ(ids, expected[i])
        << "case " << i << " '" << printable(texts[i]) << "'";
  }

  // One field off (3-digit groups of another pattern): refused by name.
  root["pre_tokenizer"]["pretokenizers"][3]["pattern"]["Regex"] = "[0-9]{3}";
  s = loadHfTokenizerJson(root.dump(), tok);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("Falcon's sequence"), std::string::npos)
      << s.message();
}

namespace {

struct Reference {
  std::string text;
  std::vector<int32_t> ids[4];
};
const char *const kVariants[4] = {"uncased", "cased", "strip", "lower"};
// LoadOptions {lowercase, stripAccents} of each variant.
const LoadOptions kVariantOptions[4] = {{1, 1}, {0, 0}, {0, 1}, {1, 0}};

std::vector<Reference> readReference() {
  std::vector<Reference> refs;
  std::ifstream f(std::string(TFC_TOKENIZER_TEST_INPUTS) +
                  "/wordpiece-reference.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded())
      continue;
    Reference r;
    r.text = j["text"].get<std::string>();
    for (int v = 0; v < 4; ++v)
      r.ids[v] = j[kVariants[v]].get<std::vector<int32_t>>();
    refs.push_back(std::move(r));
  }
  return refs;
}

void checkReference(const std::vector<Reference> &refs, int variant,
                    const Tokenizer &tok, const std::string &what) {
  size_t pass = 0;
  for (size_t i = 0; i < refs.size(); ++i) {
    std::vector<int32_t> ids;
    ASSERT_TRUE(tok.encode(refs[i].text, ids).ok());
    if (ids == refs[i].ids[variant]) {
      ++pass;
      continue;
    }
    ADD_FAILURE() << what << " " << kVariants[variant] << " text " << i
                  << " '" << printable(refs[i].text)
                  << "'\n  expected: " << idsToString(refs[i].ids[variant])
                  << "\n  got:      " << idsToString(ids);
  }
  std::cout << what << " " << kVariants[variant] << ": " << pass << "/"
            << refs.size() << " texts match\n";
}

} // namespace

TEST(WordPieceReference, GgufVocab) {
  std::vector<Reference> refs = readReference();
  ASSERT_GT(refs.size(), 500u);
  std::string gguf = vectorsDir() + "/ggml-vocab-bert-bge.gguf";
  if (!std::filesystem::exists(gguf))
    GTEST_SKIP() << "'" << gguf << "' not found (set TFC_SHARED_DIR)";
  for (int v = 0; v < 4; ++v) {
    std::unique_ptr<Tokenizer> tok;
    bool repaired;
    std::string err;
    Status s = loadGgufVocab(gguf, tok, kVariantOptions[v], repaired, err,
                             nullptr);
    ASSERT_TRUE(s.ok()) << s.message();
    checkReference(refs, v, *tok, "gguf");
  }
}

TEST(WordPieceReference, HfFolder) {
  std::string dir = std::string(TFC_SOURCE_DIR) + "/.cache/models/minilm";
  if (const char *env = std::getenv("TFC_MINILM_DIR"))
    dir = env;
  if (!std::filesystem::exists(dir + "/tokenizer.json"))
    GTEST_SKIP() << "no MiniLM folder at '" << dir
                 << "' (scripts/get_models.sh, or set TFC_MINILM_DIR)";
  std::vector<Reference> refs = readReference();
  for (int v = 0; v < 4; ++v) {
    std::unique_ptr<Tokenizer> tok;
    Status s = loadHfTokenizer(dir, tok, kVariantOptions[v]);
    ASSERT_TRUE(s.ok()) << s.message();
    checkReference(refs, v, *tok, "tokenizer.json");
  }
  // The slow tokenizer's files, same vocabulary.
  std::string tmp = ::testing::TempDir() + "/tfc-minilm-vocab";
  std::filesystem::create_directories(tmp);
  std::filesystem::copy_file(dir + "/vocab.txt", tmp + "/vocab.txt",
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(dir + "/tokenizer_config.json",
                             tmp + "/tokenizer_config.json",
                             std::filesystem::copy_options::overwrite_existing);
  std::unique_ptr<Tokenizer> tok;
  Status s = loadHfTokenizer(tmp, tok);
  ASSERT_TRUE(s.ok()) << s.message();
  checkReference(refs, 0, *tok, "vocab.txt");
}
