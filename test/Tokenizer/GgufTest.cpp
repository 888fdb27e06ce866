//===- GgufTest.cpp - GGUF reader and GGUF vocabularies -------------------===//

#include "tfc/Tokenizer/Gguf.h"
#include "tfc/Tokenizer/Loader.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

using namespace tfc::tokenizer;

namespace {

// Builds GGUF bytes (little-endian).
class GgufWriter {
public:
  explicit GgufWriter(uint32_t version = 3) {
    bytes.append("GGUF", 4);
    u32(version);
    tensorCountAt = bytes.size();
    u64(0);
    kvCountAt = bytes.size();
    u64(0);
  }
  void u8(uint8_t v) { bytes.push_back(static_cast<char>(v)); }
  void u32(uint32_t v) { raw(&v, 4); }
  void u64(uint64_t v) { raw(&v, 8); }
  void raw(const void *p, size_t n) {
    bytes.append(static_cast<const char *>(p), n);
  }
  void str(const std::string &s) {
    u64(s.size());
    bytes += s;
  }
  void key(const std::string &k, GgufType t) {
    str(k);
    u32(static_cast<uint32_t>(t));
    ++numKv;
  }
  template <typename T> void scalar(const std::string &k, GgufType t, T v) {
    key(k, t);
    raw(&v, sizeof(T));
  }
  void string(const std::string &k, const std::string &v) {
    key(k, GgufType::String);
    str(v);
  }
  void strings(const std::string &k, const std::vector<std::string> &v) {
    key(k, GgufType::Array);
    u32(static_cast<uint32_t>(GgufType::String));
    u64(v.size());
    for (const auto &s : v)
      str(s);
  }
  void int32s(const std::string &k, const std::vector<int32_t> &v) {
    key(k, GgufType::Array);
    u32(static_cast<uint32_t>(GgufType::Int32));
    u64(v.size());
    for (int32_t x : v)
      raw(&x, 4);
  }
  void tensor(const std::string &name, std::vector<uint64_t> dims,
              uint32_t type, uint64_t offset) {
    str(name);
    u32(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims)
      u64(d);
    u32(type);
    u64(offset);
    ++numTensors;
  }
  // Counts are patched in; call once, after all keys and tensors.
  std::string finish() {
    std::memcpy(&bytes[tensorCountAt], &numTensors, 8);
    std::memcpy(&bytes[kvCountAt], &numKv, 8);
    return bytes;
  }

  std::string bytes;

private:
  size_t tensorCountAt, kvCountAt;
  uint64_t numKv = 0, numTensors = 0;
};

std::string allTypesFile() {
  GgufWriter w;
  w.string("general.architecture", "bert");
  w.scalar<uint8_t>("t.u8", GgufType::UInt8, 200);
  w.scalar<int8_t>("t.i8", GgufType::Int8, -100);
  w.scalar<uint16_t>("t.u16", GgufType::UInt16, 60000);
  w.scalar<int16_t>("t.i16", GgufType::Int16, -30000);
  w.scalar<uint32_t>("t.u32", GgufType::UInt32, 4000000000u);
  w.scalar<int32_t>("t.i32", GgufType::Int32, -2000000000);
  w.scalar<float>("t.f32", GgufType::Float32, 1e-12f);
  w.scalar<uint8_t>("t.bool", GgufType::Bool, 1);
  w.scalar<uint64_t>("t.u64", GgufType::UInt64, ~0ull);
  w.scalar<int64_t>("t.i64", GgufType::Int64, -5);
  w.scalar<double>("t.f64", GgufType::Float64, 2.5);
  w.int32s("t.arr_i32", {1, -2, 3});
  w.strings("t.arr_str", {"a", "", "\xE2\x96\x81x"});
  // An array of two arrays of uint8.
  w.key("t.arr_arr", GgufType::Array);
  w.u32(static_cast<uint32_t>(GgufType::Array));
  w.u64(2);
  for (int k = 0; k < 2; ++k) {
    w.u32(static_cast<uint32_t>(GgufType::UInt8));
    w.u64(k + 1);
    for (int j = 0; j <= k; ++j)
      w.u8(static_cast<uint8_t>(10 * k + j));
  }
  w.scalar<uint32_t>("general.alignment", GgufType::UInt32, 64);
  w.tensor("token_embd.weight", {384, 30522}, 1, 0);
  w.tensor("norm.weight", {384}, 0, 64 * 360);
  return w.finish();
}

} // namespace

TEST(Gguf, AllTypes) {
  std::string bytes = allTypesFile();
  GgufFile f;
  Status s = GgufFile::parse(bytes.data(), bytes.size(), f);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.keys().size(), 16u);
  EXPECT_EQ(f.keys().front(), "general.architecture");
  std::string arch;
  EXPECT_TRUE(f.getString("general.architecture", arch));
  EXPECT_EQ(arch, "bert");
  int64_t i;
  uint64_t u;
  double d;
  bool b;
  EXPECT_TRUE(f.getUInt("t.u8", u) && u == 200);
  EXPECT_TRUE(f.getInt("t.i8", i) && i == -100);
  EXPECT_FALSE(f.getUInt("t.i8", u)); // negative
  EXPECT_TRUE(f.getUInt("t.u16", u) && u == 60000);
  EXPECT_TRUE(f.getInt("t.i16", i) && i == -30000);
  EXPECT_TRUE(f.getUInt("t.u32", u) && u == 4000000000u);
  EXPECT_TRUE(f.getInt("t.i32", i) && i == -2000000000);
  EXPECT_TRUE(f.getFloat("t.f32", d));
  EXPECT_FLOAT_EQ(static_cast<float>(d), 1e-12f);
  EXPECT_TRUE(f.getBool("t.bool", b) && b);
  EXPECT_TRUE(f.getUInt("t.u64", u) && u == ~0ull);
  EXPECT_FALSE(f.getInt("t.u64", i)); // does not fit
  EXPECT_TRUE(f.getInt("t.i64", i) && i == -5);
  EXPECT_TRUE(f.getFloat("t.f64", d) && d == 2.5);
  EXPECT_FALSE(f.getString("t.u8", arch)); // wrong type
  EXPECT_EQ(f.find("missing"), nullptr);

  const GgufValue *a = f.find("t.arr_i32");
  ASSERT_TRUE(a && a->isArray());
  EXPECT_EQ(a->elementType(), GgufType::Int32);
  ASSERT_EQ(a->size(), 3u);
  EXPECT_TRUE(a->intAt(1, i) && i == -2);
  EXPECT_FALSE(a->intAt(3, i));
  EXPECT_EQ(a->summary(), "[int32 x 3]");
  const GgufValue *s2 = f.find("t.arr_str");
  ASSERT_TRUE(s2);
  EXPECT_EQ(s2->strings(), (std::vector<std::string>{"a", "", "\xE2\x96\x81x"}));
  const GgufValue *nested = f.find("t.arr_arr");
  ASSERT_TRUE(nested && nested->arrays().size() == 2);
  EXPECT_EQ(nested->arrays()[1].size(), 2u);
  EXPECT_TRUE(nested->arrays()[1].intAt(1, i) && i == 11);

  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.tensors()[0].name, "token_embd.weight");
  EXPECT_EQ(f.tensors()[0].dims, (std::vector<uint64_t>{384, 30522}));
  EXPECT_EQ(f.tensors()[1].offset, 64u * 360);
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.dataOffset() % 64, 0u);
  EXPECT_GE(f.dataOffset(), bytes.size());
}

TEST(Gguf, EveryTruncationFailsCleanly) {
  std::string bytes = allTypesFile();
  for (size_t n = 0; n < bytes.size(); ++n) {
    GgufFile f;
    Status s = GgufFile::parse(bytes.data(), n, f);
    EXPECT_FALSE(s.ok()) << "prefix of " << n << " bytes parsed";
    EXPECT_FALSE(s.message().empty());
  }
}

TEST(Gguf, RejectsBadHeaders) {
  GgufFile f;
  EXPECT_NE(GgufFile::parse("GGUX\3\0\0\0", 8, f).message().find("magic"),
            std::string::npos);
  GgufWriter v1(1);
  std::string b = v1.finish();
  EXPECT_NE(GgufFile::parse(b.data(), b.size(), f).message().find("version 1"),
            std::string::npos);
  GgufWriter be(0x03000000u);
  b = be.finish();
  EXPECT_NE(GgufFile::parse(b.data(), b.size(), f).message().find("big-endian"),
            std::string::npos);
  GgufWriter v9(9);
  b = v9.finish();
  EXPECT_FALSE(GgufFile::parse(b.data(), b.size(), f).ok());
}

TEST(Gguf, RejectsCorruptValues) {
  GgufFile f;
  {
    GgufWriter w;
    w.key("k", static_cast<GgufType>(13));
    std::string b = w.finish();
    Status s = GgufFile::parse(b.data(), b.size(), f);
    EXPECT_NE(s.message().find("unknown value type 13"), std::string::npos)
        << s.message();
  }
  {
    GgufWriter w; // an array that claims more elements than bytes left
    w.key("k", GgufType::Array);
    w.u32(static_cast<uint32_t>(GgufType::UInt32));
    w.u64(1ull << 40);
    std::string b = w.finish();
    Status s = GgufFile::parse(b.data(), b.size(), f);
    EXPECT_NE(s.message().find("exceeds"), std::string::npos) << s.message();
  }
  {
    GgufWriter w;
    w.string("k", "a");
    w.string("k", "b");
    std::string b = w.finish();
    EXPECT_NE(GgufFile::parse(b.data(), b.size(), f).message().find("duplicate"),
              std::string::npos);
  }
  {
    GgufWriter w;
    w.scalar<uint32_t>("general.alignment", GgufType::UInt32, 48);
    std::string b = w.finish();
    EXPECT_NE(
        GgufFile::parse(b.data(), b.size(), f).message().find("power of two"),
        std::string::npos);
  }
}

// A copy that went through a UTF-8 text conversion: the u32 384 (80 01 00 00)
// became EF BF BD 01 00 00, which shifts the rest. The error says so.
TEST(Gguf, ExplainsUtf8Damage) {
  GgufWriter w;
  w.scalar<uint32_t>("bert.embedding_length", GgufType::UInt32, 384);
  w.string("general.name", "x");
  std::string b = w.finish();
  std::string damaged = b;
  size_t at = damaged.find(std::string("\x80\x01\x00\x00", 4));
  ASSERT_NE(at, std::string::npos);
  damaged.replace(at, 1, "\xEF\xBF\xBD");
  GgufFile f;
  Status s = GgufFile::parse(damaged.data(), damaged.size(), f);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("UTF-8 text conversion"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find("bert.embedding_length"), std::string::npos);
}

TEST(Gguf, OpenFile) {
  GgufFile f;
  Status s = GgufFile::open("/nonexistent/x.gguf", f);
  EXPECT_NE(s.message().find("cannot open"), std::string::npos);
  std::string path = ::testing::TempDir() + "/tfc-all-types.gguf";
  std::string bytes = allTypesFile();
  std::FILE *out = std::fopen(path.c_str(), "wb");
  ASSERT_TRUE(out);
  std::fwrite(bytes.data(), 1, bytes.size(), out);
  std::fclose(out);
  s = GgufFile::open(path, f);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(f.tensors().size(), 2u);
}

//===----------------------------------------------------------------------===//
// GGUF vocabularies
//===----------------------------------------------------------------------===//

namespace {
const std::string kSp = "\xE2\x96\x81"; // U+2581

// A BERT vocabulary as llama.cpp's converter writes it.
std::string bertVocabFile(bool withTypes = true,
                          const std::string &model = "bert") {
  GgufWriter w;
  w.string("general.architecture", "bert");
  w.string("tokenizer.ggml.model", model);
  std::vector<std::string> tokens = {
      "[PAD]",         "[UNK]",     "[CLS]",      "[SEP]",  "[MASK]",
      kSp + "hello",   kSp + "world", kSp + "un", "aff",    "able",
      kSp + "!",       kSp + ",",   kSp + "naive", kSp + "[", "[unused0]",
      kSp + "\xE4\xBD\xA0"};
  w.strings("tokenizer.ggml.tokens", tokens);
  if (withTypes) {
    std::vector<int32_t> types(tokens.size(), 1);
    for (int k = 0; k < 5; ++k)
      types[k] = 3;
    w.int32s("tokenizer.ggml.token_type", types);
  }
  w.scalar<uint32_t>("tokenizer.ggml.unknown_token_id", GgufType::UInt32, 1);
  w.scalar<uint32_t>("tokenizer.ggml.seperator_token_id", GgufType::UInt32, 3);
  w.scalar<uint32_t>("tokenizer.ggml.padding_token_id", GgufType::UInt32, 0);
  w.scalar<uint32_t>("tokenizer.ggml.cls_token_id", GgufType::UInt32, 2);
  w.scalar<uint32_t>("tokenizer.ggml.mask_token_id", GgufType::UInt32, 4);
  return w.finish();
}

Status fromBytes(const std::string &bytes, std::unique_ptr<Tokenizer> &tok,
                 const LoadOptions &options = {}) {
  GgufFile f;
  Status s = GgufFile::parse(bytes.data(), bytes.size(), f);
  if (!s.ok())
    return s;
  return tokenizerFromGguf(f, tok, options);
}
} // namespace

TEST(GgufVocab, BertWordPiece) {
  std::unique_ptr<Tokenizer> tok;
  Status s = fromBytes(bertVocabFile(), tok);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_STREQ(tok->modelName(), "wordpiece");
  // The converter's token forms are undone.
  EXPECT_EQ(tok->tokenText(5), "hello");
  EXPECT_EQ(tok->tokenText(8), "##aff");
  EXPECT_EQ(tok->tokenText(13), "[");
  EXPECT_EQ(tok->tokenText(14), "[unused0]");
  std::vector<int32_t> ids;
  ASSERT_TRUE(tok->encode("Hello, UNAFFABLE world! Naïve [MASK] [mask]", ids).ok());
  EXPECT_EQ(ids, (std::vector<int32_t>{5, 11, 7, 8, 9, 6, 10, 12, 4, 13, 1, 1}));
  ASSERT_TRUE(tok->encodeWithSpecial("hello \xE4\xBD\xA0!", 0, ids).ok());
  EXPECT_EQ(ids, (std::vector<int32_t>{2, 5, 15, 10, 3}));
  const SpecialTokens &sp = tok->specialTokens();
  EXPECT_EQ(sp.cls, 2);
  EXPECT_EQ(sp.sep, 3);
  EXPECT_EQ(sp.pad, 0);
  EXPECT_EQ(sp.unk, 1);
  EXPECT_EQ(sp.mask, 4);
}

TEST(GgufVocab, CasedOverride) {
  std::unique_ptr<Tokenizer> tok;
  ASSERT_TRUE(fromBytes(bertVocabFile(), tok, {0, 0}).ok());
  std::vector<int32_t> ids;
  ASSERT_TRUE(tok->encode("Hello hello", ids).ok());
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 5}));
}

TEST(GgufVocab, WithoutTokenTypes) {
  std::unique_ptr<Tokenizer> tok;
  ASSERT_TRUE(fromBytes(bertVocabFile(false), tok).ok());
  std::vector<int32_t> ids;
  ASSERT_TRUE(tok->encode("[CLS]hello[SEP]", ids).ok());
  EXPECT_EQ(ids, (std::vector<int32_t>{2, 5, 3}));
}

TEST(GgufVocab, Errors) {
  std::unique_ptr<Tokenizer> tok;
  Status s = fromBytes(bertVocabFile(true, "rwkv"), tok);
  EXPECT_NE(s.message().find("'rwkv' is not supported"), std::string::npos)
      << s.message();
  // A "llama" vocabulary needs scores.
  s = fromBytes(bertVocabFile(true, "llama"), tok);
  EXPECT_NE(s.message().find("tokenizer.ggml.scores"), std::string::npos)
      << s.message();
  GgufWriter w;
  w.string("general.architecture", "bert");
  std::string b = w.finish();
  s = fromBytes(b, tok);
  EXPECT_NE(s.message().find("tokenizer.ggml.model"), std::string::npos);
  GgufWriter w2;
  w2.string("tokenizer.ggml.model", "bert");
  w2.strings("tokenizer.ggml.tokens", {"[UNK]", "[CLS]", "[SEP]"});
  w2.scalar<uint32_t>("tokenizer.ggml.cls_token_id", GgufType::UInt32, 7);
  b = w2.finish();
  s = fromBytes(b, tok);
  EXPECT_NE(s.message().find("outside the vocabulary"), std::string::npos)
      << s.message();
  EXPECT_FALSE(loadGgufTokenizer("/nonexistent.gguf", tok).ok());
}
