//===- BertEmbedAppTest.cpp - bert-embed end to end through libtfcrt ------===//
//
// Runs the bert-embed executables (shared-library and linked builds) on the
// fake encoder of FakeBertModel.cpp with a small tokenizer.json, and checks
// every number they print against the same computation done here.
//
//===----------------------------------------------------------------------===//

#include "FakeBertModel.h"

#include "EmbedMath.h"
#include "tfc/Support/WeightsFormat.h"
#include "tfc/Tokenizer/Loader.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

using namespace tfc::tokenizer;

namespace {

const float kScale[FAKEBERT_HIDDEN] = {1.0f, 1.5f, 2.0f, 2.5f,
                                       3.0f, 3.5f, 4.0f, 4.5f};

std::string tempDir() {
  static std::string dir = [] {
    std::string d = ::testing::TempDir() + "/bert-embed-app-test";
    std::string cmd = "mkdir -p '" + d + "'";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    return d;
  }();
  return dir;
}

// The .tfcw of the fake model: one f32 [8] entry "scale".
std::string writeWeights() {
  std::string path = tempDir() + "/fakebert.tfcw";
  std::string header(TFCW_FIXED_HEADER_SIZE, '\0');
  auto put64 = [&](size_t at, uint64_t v) { std::memcpy(&header[at], &v, 8); };
  uint32_t one = 1;
  std::string entry(8 + 8 + 4 + 4 + 8 + 4, '\0');
  uint64_t off = 0, nbytes = sizeof(kScale);
  uint32_t dtype = TFC_DTYPE_F32, rank = 1, nameLen = 5;
  int64_t dim = FAKEBERT_HIDDEN;
  std::memcpy(&entry[0], &off, 8);
  std::memcpy(&entry[8], &nbytes, 8);
  std::memcpy(&entry[16], &dtype, 4);
  std::memcpy(&entry[20], &rank, 4);
  std::memcpy(&entry[24], &dim, 8);
  std::memcpy(&entry[32], &nameLen, 4);
  entry += "scale";
  size_t headerSize = (TFCW_FIXED_HEADER_SIZE + entry.size() + TFCW_ALIGN - 1) /
                      TFCW_ALIGN * TFCW_ALIGN;
  std::memcpy(&header[0], TFCW_MAGIC, 8);
  put64(8, headerSize);
  put64(16, sizeof(kScale));
  put64(24, tfc_hash64(kScale, sizeof(kScale)));
  std::memcpy(&header[32], &one, 4);
  header += entry;
  header.resize(headerSize, '\0');
  header.append(reinterpret_cast<const char *>(kScale), sizeof(kScale));
  std::ofstream(path, std::ios::binary) << header;
  return path;
}

std::string writeTokenizer() {
  std::string dir = tempDir() + "/tok";
  std::string cmd = "mkdir -p '" + dir + "'";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  std::ofstream(dir + "/tokenizer.json") << R"({
    "added_tokens": [
      {"id": 0, "content": "[PAD]", "normalized": false, "special": true},
      {"id": 1, "content": "[UNK]", "normalized": false, "special": true},
      {"id": 2, "content": "[CLS]", "normalized": false, "special": true},
      {"id": 3, "content": "[SEP]", "normalized": false, "special": true}],
    "normalizer": {"type": "BertNormalizer", "lowercase": true},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 2],
                       "sep": ["[SEP]", 3]},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {
      "[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "a": 4, "cat": 5,
      "dog": 6, "sits": 7, "runs": 8, "the": 9, "##s": 10, ".": 11,
      "mat": 12, "on": 13}}})";
  return dir;
}

struct Result {
  int status = -1;
  std::string out, err;
};

Result run(const std::string &args, const std::string &stdinText = "") {
  std::string dir = tempDir();
  std::string in = dir + "/stdin.txt", out = dir + "/stdout.txt",
              err = dir + "/stderr.txt";
  std::ofstream(in) << stdinText;
  std::string cmd = args + " <'" + in + "' >'" + out + "' 2>'" + err + "'";
  Result r;
  int raw = std::system(cmd.c_str());
  r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream o(out), e(err);
  std::stringstream so, se;
  so << o.rdbuf();
  se << e.rdbuf();
  r.out = so.str();
  r.err = se.str();
  return r;
}

// What bert-embed must print: the fake model's formula, pooled and
// normalized here.
std::vector<std::vector<float>> expected(const std::vector<std::string> &texts,
                                         size_t maxLen = 512) {
  std::unique_ptr<Tokenizer> tok;
  EXPECT_TRUE(loadTokenizer(writeTokenizer(), tok).ok());
  std::vector<std::vector<float>> rows;
  for (const std::string &t : texts) {
    std::vector<int32_t> ids;
    EXPECT_TRUE(tok->encodeWithSpecial(t, maxLen, ids).ok());
    std::vector<float> sum(FAKEBERT_HIDDEN, 0.0f);
    for (int32_t id : ids)
      for (int h = 0; h < FAKEBERT_HIDDEN; ++h)
        sum[h] += kScale[h] * std::cos(0.01f * id * (h + 1));
    for (float &v : sum)
      v /= ids.size();
    bertembed::l2NormalizeRows(sum, 1, FAKEBERT_HIDDEN);
    rows.push_back(sum);
  }
  return rows;
}

std::string sharedArgs() {
  return std::string(BERT_EMBED_BIN) + " -m " + FAKEBERT_LIB +
         " --weights " + writeWeights() + " --tokenizer " + writeTokenizer();
}

void expectEmbeddings(const std::string &jsonText,
                      const std::vector<std::vector<float>> &want) {
  nlohmann::json j = nlohmann::json::parse(jsonText, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << jsonText;
  ASSERT_EQ(j["embeddings"].size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(j["embeddings"][i].size(), want[i].size());
    for (size_t k = 0; k < want[i].size(); ++k)
      EXPECT_NEAR(j["embeddings"][i][k].get<double>(), want[i][k], 2e-6)
          << "text " << i << " dim " << k;
  }
}

const std::vector<std::string> kTexts = {
    "The cat sits on the mat.", "A dog runs", "cats dogs", "the"};

} // namespace

TEST(BertEmbedApp, JsonEmbeddingsAcrossBatches) {
  // Batches of 3 then 1: padding differs per batch and must not matter.
  Result r = run(sharedArgs() + " --json --batch 3 '" + kTexts[0] + "' '" +
                 kTexts[1] + "' '" + kTexts[2] + "' '" + kTexts[3] + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  expectEmbeddings(r.out, expected(kTexts));
}

TEST(BertEmbedApp, StdinAndDefaultFormat) {
  Result r = run(sharedArgs() + " --max-len 4", "The cat sits on the mat.\nA dog\n");
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::vector<float>> want =
      expected({"The cat sits on the mat.", "A dog"}, 4);
  std::istringstream lines(r.out);
  std::string line;
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(std::getline(lines, line)) << r.out;
    std::istringstream words(line);
    std::string index;
    words >> index;
    EXPECT_EQ(index, std::to_string(i) + ":");
    for (int k = 0; k < FAKEBERT_HIDDEN; ++k) {
      double v;
      ASSERT_TRUE(words >> v) << line;
      EXPECT_NEAR(v, want[i][k], 1e-5);
    }
    EXPECT_NE(line.find("(dim 8, pooled norm "), std::string::npos) << line;
  }
  EXPECT_FALSE(std::getline(lines, line));
}

TEST(BertEmbedApp, PairsAndSpearman) {
  std::string pairs = tempDir() + "/pairs.tsv";
  std::ofstream(pairs) << "g\tf\t2012\t1\t4.5\tThe cat sits.\tA cat sits.\n"
                          "g\tf\t2012\t2\t0.5\tA dog runs\tthe mat\tsrc\tsrc\n"
                          "g\tf\t2012\t3\t2.0\tcats\tdogs\n";
  Result r = run(sharedArgs() + " --pairs " + pairs);
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::vector<float>> e =
      expected({"The cat sits.", "A dog runs", "cats", "A cat sits.",
                "the mat", "dogs"});
  std::istringstream lines(r.out);
  std::vector<double> sims;
  for (int i = 0; i < 3; ++i) {
    double s;
    ASSERT_TRUE(lines >> s) << r.out;
    EXPECT_NEAR(s, bertembed::cosine(e[i].data(), e[3 + i].data(),
                                     FAKEBERT_HIDDEN),
                2e-6);
    sims.push_back(s);
  }
  double rho = bertembed::spearman(sims, {4.5, 0.5, 2.0});
  char want[64];
  std::snprintf(want, sizeof(want), "spearman: %.4f (3 scored pairs of 3)",
                rho);
  EXPECT_NE(r.err.find(want), std::string::npos) << r.err;
}

TEST(BertEmbedApp, Errors) {
  std::string tok = writeTokenizer(), weights = writeWeights();
  std::string bin = BERT_EMBED_BIN;
  Result r = run(bin + " --tokenizer " + tok + " x");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("no model"), std::string::npos);
  r = run(bin + " -m /nonexistent/model.so --tokenizer " + tok + " x");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("/nonexistent/model.so"), std::string::npos) << r.err;
  r = run(bin + " -m " + FAKEBERT_LIB + " --tokenizer " + tok + " x");
  EXPECT_EQ(r.status, 1); // default weights path next to the library
  EXPECT_NE(r.err.find(".tfcw"), std::string::npos) << r.err;
  r = run(bin + " -m " + FAKEBERT_LIB + " --weights " + weights +
          " --tokenizer /nonexistent x");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("tokenizer"), std::string::npos) << r.err;
  r = run(sharedArgs() + " --pairs /nonexistent.tsv");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cannot open pairs file"), std::string::npos) << r.err;
  r = run(bin + " -m " + FAKEBERT_BAD_LIB + " --weights " + weights +
          " --tokenizer " + tok + " x");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("'pixel_values' is not one bert-embed can fill"),
            std::string::npos)
      << r.err;
}

TEST(BertEmbedApp, LinkedModel) {
  std::string args = std::string(BERT_EMBED_LINKED_BIN) + " --weights " +
                     writeWeights() + " --tokenizer " + writeTokenizer();
  Result r = run(args + " --json '" + kTexts[0] + "' '" + kTexts[1] + "'");
  ASSERT_EQ(r.status, 0) << r.err;
  expectEmbeddings(r.out, expected({kTexts[0], kTexts[1]}));
  r = run(args + " -m x.so hello");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("linked in"), std::string::npos) << r.err;
}

// --cache-mb: each text is one cached call; repeated texts are hits and get
// exactly the embeddings of an uncached run.
TEST(BertEmbedApp, ResultCache) {
  std::vector<std::string> texts = {kTexts[0], kTexts[1], kTexts[0],
                                    kTexts[2], kTexts[1], kTexts[0]};
  std::string quoted;
  for (const std::string &t : texts)
    quoted += " '" + t + "'";
  Result cached = run(sharedArgs() + " --json --cache-mb 1 --stats" + quoted);
  ASSERT_EQ(cached.status, 0) << cached.err;
  expectEmbeddings(cached.out, expected(texts));
  EXPECT_NE(cached.err.find("cache: 3 hits, 3 misses, hit rate 50.0%; 3 "
                            "entries"),
            std::string::npos)
      << cached.err;
  EXPECT_NE(cached.err.find("embedded 6 texts in "), std::string::npos);
  Result plain = run(sharedArgs() + " --json --batch 1" + quoted);
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_EQ(plain.out, cached.out);
  Result none = run(sharedArgs() + " --stats" + quoted);
  EXPECT_NE(none.err.find("cache: none"), std::string::npos) << none.err;
  Result bad = run(sharedArgs() + " --cache-mb 0 x");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--cache-mb needs an integer >= 1"),
            std::string::npos)
      << bad.err;
}
