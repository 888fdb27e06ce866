//===- LlamaReferenceTest.cpp - BPE tokenizers against references ---------===//
//
// Inputs/llama-reference.jsonl (gen_llama_reference.py): ~600 texts (edge
// cases, MT-Bench turns, WikiText-2 lines, multi-script texts) with the ids
// of reference implementations:
//   smollm2_gguf  SmolLM2's GGUF  vs tokenizers with SmolLM2's pre-tokenizer
//   smollm2_json  SmolLM2's tokenizer.json vs tokenizers on that file
//   gpt2          ggml-vocab-gpt-2.gguf (intact copy) vs tokenizers
//   tok512_model  stories260K tok512.model vs the sentencepiece library
//   tok512_bin    stories260K tok512.bin vs llama2.c's encode()
// A tokenizer whose files are absent is skipped with a message. Decoding is
// checked too: byte-level BPE and llama2.c's tokenizer are lossless, so
// decode(encode(text)) must give the text back.
//
//===----------------------------------------------------------------------===//

#include "TestUtils.h"

#include "tfc/Tokenizer/Decode.h"
#include "tfc/Tokenizer/SentencePiece.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>

using namespace tfc::tokenizer;
using namespace tfc::tokenizer::test;

namespace {

struct Row {
  std::string text;
  nlohmann::json ids; // column -> "1 2 3"
};

std::vector<Row> readRows() {
  std::vector<Row> rows;
  std::ifstream f(std::string(TFC_TOKENIZER_TEST_INPUTS) +
                  "/llama-reference.jsonl");
  std::string line;
  while (std::getline(f, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("text"))
      continue;
    Row r;
    r.text = j["text"].get<std::string>();
    j.erase("text");
    r.ids = std::move(j);
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<int32_t> parseIds(const std::string &s) {
  std::vector<int32_t> ids;
  std::istringstream in(s);
  long long v;
  while (in >> v)
    ids.push_back(static_cast<int32_t>(v));
  return ids;
}

std::string escaped(const std::string &s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n')
      out += "\\n";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else
      out += static_cast<char>(c);
  }
  return out.size() > 160 ? out.substr(0, 160) + "..." : out;
}

// `fallback`: a column to use where `column` is absent (smollm2_json is
// stored only where it differs from smollm2_gguf).
void checkColumn(const Tokenizer &tok, const std::string &column, bool lossless,
                 const char *fallback = nullptr) {
  std::vector<Row> rows = readRows();
  ASSERT_GT(rows.size(), 500u);
  size_t cases = 0, pass = 0, roundTrips = 0, roundTripPass = 0;
  for (const Row &r : rows) {
    std::string key = column;
    if (!r.ids.contains(key)) {
      if (!fallback || !r.ids.contains(fallback))
        continue;
      key = fallback;
    }
    ++cases;
    std::vector<int32_t> expected = parseIds(r.ids[key].get<std::string>());
    std::vector<int32_t> ids;
    ASSERT_TRUE(tok.encode(r.text, ids).ok());
    if (ids == expected)
      ++pass;
    else
      ADD_FAILURE() << column << " '" << escaped(r.text)
                    << "'\n  expected: " << idsToString(expected)
                    << "\n  got:      " << idsToString(ids);
    if (lossless && sanitizeUtf8(r.text) == r.text) {
      ++roundTrips;
      std::string back = tok.decode(ids, /*special=*/true);
      if (back == r.text)
        ++roundTripPass;
      else
        ADD_FAILURE() << column << " decode '" << escaped(back) << "'\n  of '"
                      << escaped(r.text) << "'";
    }
  }
  std::cout << column << ": " << pass << "/" << cases << " texts match";
  if (lossless)
    std::cout << ", decode(encode(text)) == text for " << roundTripPass << "/"
              << roundTrips;
  std::cout << "\n";
}

std::string smolDir() {
  if (const char *env = std::getenv("TFC_SMOLLM2_DIR"))
    return env;
  return std::string(TFC_SOURCE_DIR) + "/.cache/models/smollm2";
}

#define LOAD_OR_SKIP(path, tok)                                                \
  do {                                                                         \
    if (!std::filesystem::exists(path))                                        \
      GTEST_SKIP() << "test data not found: '" << (path) << "'";               \
    Status s_ = loadTokenizer(path, tok);                                      \
    ASSERT_TRUE(s_.ok()) << s_.message();                                      \
  } while (0)

} // namespace

TEST(LlamaReference, SmolLM2Gguf) {
  std::unique_ptr<Tokenizer> tok;
  LOAD_OR_SKIP(smolDir() + "/SmolLM2-135M-Instruct.Q4_1.gguf", tok);
  EXPECT_STREQ(tok->modelName(), "byte-level-bpe");
  checkColumn(*tok, "smollm2_gguf", true);
}

TEST(LlamaReference, SmolLM2TokenizerJson) {
  std::unique_ptr<Tokenizer> tok;
  LOAD_OR_SKIP(smolDir() + "/hf", tok);
  checkColumn(*tok, "smollm2_json", true, "smollm2_gguf");
  // BOS/EOS from tokenizer_config.json.
  EXPECT_EQ(tok->specialTokens().bos, 1);
}

TEST(LlamaReference, Gpt2) {
  std::unique_ptr<Tokenizer> tok;
  LOAD_OR_SKIP(intactVocab("ggml-vocab-gpt-2.gguf"), tok);
  checkColumn(*tok, "gpt2", true);
}

TEST(LlamaReference, Tok512Model) {
  std::unique_ptr<Tokenizer> tok;
  LOAD_OR_SKIP(sharedDir() + "/models/stories260K/tok512.model", tok);
  EXPECT_STREQ(tok->modelName(), "sentencepiece-bpe");
  checkColumn(*tok, "tok512_model", false);
}

TEST(LlamaReference, Tok512Llama2c) {
  std::unique_ptr<Tokenizer> tok;
  LOAD_OR_SKIP(sharedDir() + "/models/stories260K/tok512.bin", tok);
  EXPECT_EQ(tok->vocabSize(), 512u);
  checkColumn(*tok, "tok512_bin", true);
}
