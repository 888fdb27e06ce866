//===- BertEmbedCoreTest.cpp - bert-embed without a runtime ---------------===//
//
// Pooling and normalization math, rank statistics, pairs files, arguments,
// and the tokenization path up to the input tensors and back from an output.
//
//===----------------------------------------------------------------------===//

#include "Args.h"
#include "EmbedMath.h"
#include "ModelInputs.h"
#include "Pairs.h"

#include "tfc/Tokenizer/WordPiece.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

using namespace bertembed;
using tfc::tokenizer::BatchEncoding;
using tfc::tokenizer::BatchOptions;

TEST(EmbedMath, MeanPoolUsesTheMask) {
  // [batch 2, seq 3, dim 2]
  const float hidden[] = {1, 2, 3, 4, 100, 100, //
                          5, 6, 7, 8, 9, 10};
  const int64_t mask[] = {1, 1, 0, 1, 0, 1};
  std::vector<float> pooled = meanPool(hidden, mask, 2, 3, 2);
  EXPECT_EQ(pooled, (std::vector<float>{2, 3, 7, 8}));
  const int64_t none[] = {0, 0, 0, 0, 0, 0};
  EXPECT_EQ(meanPool(hidden, none, 2, 3, 2), std::vector<float>(4, 0.0f));
}

TEST(EmbedMath, L2Normalize) {
  std::vector<float> x = {3, 4, 0, 0, 1e-20f, 0};
  std::vector<float> norms = l2NormalizeRows(x, 3, 2);
  EXPECT_FLOAT_EQ(norms[0], 5);
  EXPECT_FLOAT_EQ(x[0], 0.6f);
  EXPECT_FLOAT_EQ(x[1], 0.8f);
  EXPECT_EQ(x[2], 0); // zero rows stay zero (eps 1e-12), no NaN
  EXPECT_FALSE(std::isnan(x[4]));
}

TEST(EmbedMath, Cosine) {
  const float a[] = {1, 0, 1}, b[] = {2, 0, 2}, c[] = {0, 1, 0}, z[] = {0, 0, 0};
  EXPECT_NEAR(cosine(a, b, 3), 1.0, 1e-12);
  EXPECT_NEAR(cosine(a, c, 3), 0.0, 1e-12);
  const float d[] = {-1, 0, -1};
  EXPECT_NEAR(cosine(a, d, 3), -1.0, 1e-12);
  EXPECT_EQ(cosine(a, z, 3), 0.0);
}

TEST(EmbedMath, RanksAndSpearman) {
  EXPECT_EQ(averageRanks({10, 20, 20, 5}),
            (std::vector<double>{2, 3.5, 3.5, 1}));
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0, 1e-12);
  EXPECT_NEAR(spearman({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0, 1e-12);
  // Monotone but not linear: still 1.
  EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {1, 4, 9, 16, 1000}), 1.0, 1e-12);
  // scipy.stats.spearmanr([1,2,3,4,5],[5,6,7,8,7]) = 0.8207826816681233
  EXPECT_NEAR(spearman({1, 2, 3, 4, 5}, {5, 6, 7, 8, 7}), 0.8207826816681233,
              1e-12);
  EXPECT_TRUE(std::isnan(spearman({1}, {2})));
  EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(spearman({1, 2}, {1, 2, 3})));
}

TEST(EmbedMath, HalfAndBf16) {
  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0xC000), -2.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24)); // smallest subnormal
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);
  EXPECT_TRUE(std::isinf(halfToFloat(0x7C00)));
  EXPECT_EQ(bf16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(bf16ToFloat(0xC040), -3.0f);
}

TEST(Pairs, StsbLayout) {
  SentencePair p;
  std::string err;
  ASSERT_TRUE(parsePairLine("main-captions\tMSRvid\t2012test\t0024\t2.500\t"
                            "A girl is styling her hair.\tA girl is brushing "
                            "her hair.",
                            p, err));
  EXPECT_TRUE(p.hasScore);
  EXPECT_DOUBLE_EQ(p.score, 2.5);
  EXPECT_EQ(p.first, "A girl is styling her hair.");
  EXPECT_EQ(p.second, "A girl is brushing her hair.");
  // STS-B rows with two source columns after the sentences.
  ASSERT_TRUE(parsePairLine("main-forums\tanswer-answer\t2016\t0008\t3\t"
                            "First one. \tSecond one. \tsrc a\tsrc b",
                            p, err));
  EXPECT_EQ(p.first, "First one. ");
  EXPECT_EQ(p.second, "Second one. ");
  EXPECT_DOUBLE_EQ(p.score, 3);
}

TEST(Pairs, LastTwoColumns) {
  SentencePair p;
  std::string err;
  ASSERT_TRUE(parsePairLine("a cat\ta dog", p, err));
  EXPECT_FALSE(p.hasScore);
  EXPECT_EQ(p.first, "a cat");
  EXPECT_EQ(p.second, "a dog");
  ASSERT_TRUE(parsePairLine("x\ty\tz\tw\tnot-a-score\tone\ttwo", p, err));
  EXPECT_FALSE(p.hasScore);
  EXPECT_EQ(p.first, "one");
  ASSERT_TRUE(parsePairLine("\t", p, err)); // two empty sentences
  EXPECT_FALSE(parsePairLine("no tab here", p, err));
  EXPECT_NE(err.find("two tab-separated"), std::string::npos);
}

TEST(Pairs, Scores) {
  double v;
  EXPECT_TRUE(parseScore("3.8", v) && v == 3.8);
  EXPECT_TRUE(parseScore(" 0 ", v) && v == 0);
  EXPECT_FALSE(parseScore("", v));
  EXPECT_FALSE(parseScore("3x", v));
  EXPECT_FALSE(parseScore("nan", v));
  EXPECT_FALSE(parseScore("score", v));
}

TEST(Pairs, ReadFile) {
  std::string path = ::testing::TempDir() + "/bert-embed-pairs.tsv";
  std::ofstream(path) << "g\tf\ty\t1\t4.0\tA b.\tC d.\r\n\n"
                         "left\tright\n";
  std::vector<SentencePair> pairs;
  std::string err;
  ASSERT_TRUE(readPairs(path, pairs, err)) << err;
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].second, "C d."); // CR dropped
  EXPECT_EQ(pairs[0].line, 1u);
  EXPECT_EQ(pairs[1].line, 3u);
  std::ofstream(path) << "a\tb\nbroken\n";
  EXPECT_FALSE(readPairs(path, pairs, err));
  EXPECT_NE(err.find(":2:"), std::string::npos) << err;
  EXPECT_FALSE(readPairs(path + ".missing", pairs, err));
}

static bool parse(std::vector<const char *> argv, Options &o, std::string &err,
                  bool linked = false) {
  argv.insert(argv.begin(), "bert-embed");
  return parseArgs(static_cast<int>(argv.size()), argv.data(), linked, o, err);
}

TEST(Args, Full) {
  Options o;
  std::string err;
  ASSERT_TRUE(parse({"-m", "out/model.so", "--tokenizer", "dir", "--max-len",
                     "128", "--batch=4", "--json", "--threads", "2", "hello",
                     "--", "-not an option"},
                    o, err))
      << err;
  EXPECT_EQ(o.model, "out/model.so");
  EXPECT_EQ(o.weights, "out/model.tfcw");
  EXPECT_EQ(o.tokenizer, "dir");
  EXPECT_EQ(o.maxLen, 128u);
  EXPECT_EQ(o.batch, 4u);
  EXPECT_EQ(o.threads, 2);
  EXPECT_TRUE(o.json);
  EXPECT_EQ(o.texts, (std::vector<std::string>{"hello", "-not an option"}));
  ASSERT_TRUE(parse({"-m", "m.so", "--tokenizer", "d", "--weights", "w.bin",
                     "--pairs", "p.tsv"},
                    o, err));
  EXPECT_EQ(o.weights, "w.bin");
  EXPECT_EQ(o.pairs, "p.tsv");
  ASSERT_TRUE(parse({"--help"}, o, err));
  EXPECT_TRUE(o.help);
}

TEST(Args, Errors) {
  Options o;
  std::string err;
  EXPECT_FALSE(parse({"--tokenizer", "d", "x"}, o, err));
  EXPECT_NE(err.find("no model"), std::string::npos);
  EXPECT_FALSE(parse({"-m", "m.so", "x"}, o, err));
  EXPECT_NE(err.find("no tokenizer"), std::string::npos);
  EXPECT_FALSE(parse({"-m", "m.so", "--tokenizer", "d", "--batch", "0"}, o, err));
  EXPECT_FALSE(parse({"-m", "m.so", "--tokenizer", "d", "--max-len", "1"}, o, err));
  EXPECT_FALSE(parse({"-m", "m.so", "--tokenizer", "d", "--max-len", "12x"}, o, err));
  EXPECT_FALSE(parse({"-m", "m.so", "--tokenizer", "d", "--batch"}, o, err));
  EXPECT_NE(err.find("needs a value"), std::string::npos);
  EXPECT_FALSE(parse({"-m", "m.so", "--tokenizer", "d", "--frobnicate"}, o, err));
  EXPECT_NE(err.find("unknown option"), std::string::npos);
  EXPECT_FALSE(parse({"-m", "m.so", "--tokenizer", "d", "--pairs", "p", "t"},
                     o, err));
  // Linked builds take no -m and need no model.
  EXPECT_TRUE(parse({"--tokenizer", "d", "x"}, o, err, true));
  EXPECT_FALSE(parse({"-m", "m.so", "--tokenizer", "d"}, o, err, true));
  EXPECT_NE(err.find("linked in"), std::string::npos);
}

TEST(Args, DefaultWeights) {
  EXPECT_EQ(defaultWeightsPath("out/model.so"), "out/model.tfcw");
  EXPECT_EQ(defaultWeightsPath("model"), "model.tfcw");
  EXPECT_EQ(defaultWeightsPath("a.b/model"), "a.b/model.tfcw");
  EXPECT_EQ(defaultWeightsPath("dir/.hidden"), "dir/.hidden.tfcw");
  EXPECT_EQ(defaultWeightsPath("m.v2.so"), "m.v2.tfcw");
}

namespace {
TensorSpec spec(const char *name, tfc_dtype dtype,
                std::vector<int64_t> dims) {
  TensorSpec s;
  s.name = name;
  s.dtype = dtype;
  s.rank = static_cast<int32_t>(dims.size());
  for (size_t i = 0; i < dims.size(); ++i)
    s.dims[i] = dims[i];
  return s;
}
const std::vector<TensorSpec> kHidden = {
    spec("last_hidden_state", TFC_DTYPE_F32, {-1, -1, 4})};
} // namespace

TEST(ModelInputs, PlanAcceptsSubsetsInAnyOrder) {
  ModelLayout l;
  std::string err;
  ASSERT_TRUE(planModel({spec("attention_mask", TFC_DTYPE_I64, {-1, -1}),
                         spec("input_ids", TFC_DTYPE_I32, {-1, -1})},
                        kHidden, l, err))
      << err;
  EXPECT_EQ(l.inputs, (std::vector<InputKind>{InputKind::AttentionMask,
                                              InputKind::InputIds}));
  EXPECT_FALSE(l.outputPooled);
  ASSERT_TRUE(planModel({spec("input_ids", TFC_DTYPE_I64, {1, 128})},
                        {spec("sentence_embedding", TFC_DTYPE_F16, {1, 4})}, l,
                        err));
  EXPECT_EQ(l.staticBatch, 1);
  EXPECT_EQ(l.staticSeq, 128);
  EXPECT_TRUE(l.outputPooled);
}

TEST(ModelInputs, PlanRejects) {
  ModelLayout l;
  std::string err;
  EXPECT_FALSE(planModel({spec("pixel_values", TFC_DTYPE_F32, {-1, 3})},
                         kHidden, l, err));
  EXPECT_NE(err.find("'pixel_values' is not one bert-embed can fill"),
            std::string::npos);
  EXPECT_FALSE(planModel({spec("attention_mask", TFC_DTYPE_I64, {-1, -1})},
                         kHidden, l, err));
  EXPECT_NE(err.find("no 'input_ids'"), std::string::npos);
  EXPECT_FALSE(planModel({spec("input_ids", TFC_DTYPE_F32, {-1, -1})}, kHidden,
                         l, err));
  EXPECT_FALSE(planModel({spec("input_ids", TFC_DTYPE_I64, {-1})}, kHidden, l,
                         err));
  EXPECT_FALSE(planModel({spec("input_ids", TFC_DTYPE_I64, {2, 8}),
                          spec("attention_mask", TFC_DTYPE_I64, {2, 9})},
                         kHidden, l, err));
  EXPECT_FALSE(planModel({spec("input_ids", TFC_DTYPE_I64, {-1, -1})},
                         {spec("logits", TFC_DTYPE_F32, {-1})}, l, err));
  EXPECT_FALSE(planModel({spec("input_ids", TFC_DTYPE_I64, {-1, -1})},
                         {spec("ids", TFC_DTYPE_I64, {-1, -1, 4})}, l, err));
  EXPECT_FALSE(planModel({spec("input_ids", TFC_DTYPE_I64, {-1, -1})}, {}, l,
                         err));
}

// The path of a text through bert-embed, with a made-up model output.
TEST(ModelInputs, TokenizeRunPool) {
  auto tok = std::make_unique<tfc::tokenizer::WordPieceTokenizer>();
  ASSERT_TRUE(tok->setVocab(std::vector<std::string>{
                               "[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello",
                               "world", "!"})
                  .ok());
  ASSERT_TRUE(tok->init({}).ok());
  tok->setTemplate({2}, {3});
  tfc::tokenizer::SpecialTokens sp;
  sp.pad = 0;
  tok->setSpecialTokens(sp);

  BatchEncoding batch;
  BatchOptions opt;
  ASSERT_TRUE(encodeBatch(*tok, {"Hello world!", "hello"}, opt, batch).ok());
  ASSERT_EQ(batch.seqLen, 5u);

  ModelLayout l;
  std::string err;
  ASSERT_TRUE(planModel({spec("token_type_ids", TFC_DTYPE_I64, {-1, -1}),
                         spec("input_ids", TFC_DTYPE_I32, {-1, -1}),
                         spec("attention_mask", TFC_DTYPE_I64, {-1, -1})},
                        {spec("last_hidden_state", TFC_DTYPE_F64, {-1, -1, 2})},
                        l, err));
  std::vector<std::vector<int32_t>> scratch;
  std::vector<tfc_tensor> in = makeInputTensors(l, batch, scratch);
  ASSERT_EQ(in.size(), 3u);
  for (const tfc_tensor &t : in) {
    EXPECT_EQ(t.rank, 2);
    EXPECT_EQ(t.shape[0], 2);
    EXPECT_EQ(t.shape[1], 5);
  }
  EXPECT_EQ(in[1].dtype, TFC_DTYPE_I32);
  const int32_t *ids = static_cast<const int32_t *>(in[1].data);
  EXPECT_EQ(std::vector<int32_t>(ids, ids + 10),
            (std::vector<int32_t>{2, 4, 5, 6, 3, 2, 4, 3, 0, 0}));
  const int64_t *mask = static_cast<const int64_t *>(in[2].data);
  EXPECT_EQ(std::vector<int64_t>(mask, mask + 10),
            (std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 0, 0}));
  const int64_t *types = static_cast<const int64_t *>(in[0].data);
  EXPECT_EQ(std::vector<int64_t>(types, types + 10), std::vector<int64_t>(10, 0));

  // A "model" whose hidden state is (id, 1) per token, f64: the mean over
  // the real tokens of row 1 is (3, 1), padding (id 0) excluded.
  std::vector<double> hidden;
  for (int k = 0; k < 10; ++k) {
    hidden.push_back(batch.inputIds[k]);
    hidden.push_back(1);
  }
  tfc_tensor out{};
  out.dtype = TFC_DTYPE_F64;
  out.rank = 3;
  out.shape[0] = 2;
  out.shape[1] = 5;
  out.shape[2] = 2;
  out.data = hidden.data();
  std::vector<float> emb, norms;
  size_t dim = 0;
  ASSERT_TRUE(embeddingsFromOutput(l, out, batch, emb, norms, dim, err)) << err;
  ASSERT_EQ(dim, 2u);
  EXPECT_NEAR(norms[0], std::sqrt(4.0 * 4.0 + 1), 1e-6); // mean id (2+4+5+6+3)/5
  EXPECT_NEAR(norms[1], std::sqrt(10.0), 1e-6);
  EXPECT_NEAR(emb[2], 3 / std::sqrt(10.0), 1e-6);
  EXPECT_NEAR(emb[3], 1 / std::sqrt(10.0), 1e-6);
  out.shape[1] = 4; // does not match the batch
  EXPECT_FALSE(embeddingsFromOutput(l, out, batch, emb, norms, dim, err));
}
