//===- BpeTest.cpp - SentencePiece BPE, byte-level BPE, decoding ----------===//
//
// Small hand-made vocabularies, so each rule is seen in isolation: merge
// order by score / rank and ties, byte fallback, unknown pieces, dummy
// prefix, the GPT-2 split pattern, individual digits, the file formats'
// parsers (llama2.c .bin, SentencePiece .model) and streaming decoding.
//
//===----------------------------------------------------------------------===//

#include "tfc/Tokenizer/ByteLevelBpe.h"
#include "tfc/Tokenizer/Decode.h"
#include "tfc/Tokenizer/Loader.h"
#include "tfc/Tokenizer/SentencePiece.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace tfc::tokenizer;
using Ids = std::vector<int32_t>;

namespace {

const std::string kSp = "\xE2\x96\x81"; // U+2581

// <unk> <s> </s>, 256 byte pieces (3..258), then `normal` with scores.
std::vector<SentencePieceEntry>
spmVocab(const std::vector<std::pair<std::string, float>> &normal) {
  std::vector<SentencePieceEntry> v = {{"<unk>", 0, PieceType::Unknown},
                                       {"<s>", 0, PieceType::Control},
                                       {"</s>", 0, PieceType::Control}};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    v.push_back({name, 0, PieceType::Byte});
  }
  for (const auto &n : normal)
    v.push_back({n.first, n.second, PieceType::Normal});
  return v;
}

std::unique_ptr<SentencePieceTokenizer>
makeSpm(const std::vector<std::pair<std::string, float>> &normal,
        SentencePieceOptions o = {}) {
  auto tok = std::make_unique<SentencePieceTokenizer>();
  SpecialTokens s;
  s.unk = 0;
  s.bos = 1;
  s.eos = 2;
  tok->setSpecialTokens(s);
  Status st = tok->init(spmVocab(normal), o);
  EXPECT_TRUE(st.ok()) << st.message();
  return tok;
}

Ids enc(const Tokenizer &t, const std::string &text) {
  Ids ids;
  EXPECT_TRUE(t.encode(text, ids).ok());
  return ids;
}

} // namespace

TEST(SentencePiece, MergesByScoreLeftmostFirst) {
  // 259 ▁ 260 a 261 b 262 ab 263 ▁a 264 ▁ab 265 ba
  auto tok = makeSpm({{kSp, -10},
                      {"a", -10},
                      {"b", -10},
                      {"ab", -1},
                      {kSp + "a", -2},
                      {kSp + "ab", -3},
                      {"ba", -1}});
  // "▁ab": ab (-1) beats ▁a (-2); then ▁ + ab -> ▁ab.
  EXPECT_EQ(enc(*tok, "ab"), (Ids{264}));
  // "▁aba": ab and ba tie at -1: the leftmost (ab) wins, then ▁ab, a.
  EXPECT_EQ(enc(*tok, "aba"), (Ids{264, 260}));
  // Spaces become ▁ and every stretch keeps its own.
  EXPECT_EQ(enc(*tok, "ab ab"), (Ids{264, 264}));
  EXPECT_EQ(enc(*tok, ""), (Ids{}));
}

TEST(SentencePiece, ByteFallbackAndUnknown) {
  auto tok = makeSpm({{kSp, -1}, {"a", -1}});
  // 'é' (C3 A9) is not a piece: its bytes.
  EXPECT_EQ(enc(*tok, "a\xC3\xA9"), (Ids{259, 260, 3 + 0xC3, 3 + 0xA9}));
  SentencePieceOptions o;
  o.byteFallback = false;
  auto noBytes = makeSpm({{kSp, -1}, {"a", -1}}, o);
  // Without byte fallback: one <unk> for a run of unknown symbols.
  EXPECT_EQ(enc(*noBytes, "a\xC3\xA9\xC3\xA9"), (Ids{259, 260, 0}));
}

TEST(SentencePiece, NormalizerOptions) {
  SentencePieceOptions o;
  o.removeExtraWhitespaces = true;
  auto tok = makeSpm({{kSp, -1}, {"a", -1}}, o);
  EXPECT_EQ(tok->normalize("  a   a "), kSp + "a" + kSp + "a");
  o.removeExtraWhitespaces = false;
  o.addDummyPrefix = false;
  auto raw = makeSpm({{kSp, -1}, {"a", -1}}, o);
  EXPECT_EQ(raw->normalize(" a  "), kSp + "a" + kSp + kSp);
}

TEST(SentencePiece, SpecialPiecesInText) {
  auto tok = makeSpm({{kSp, -1}, {"a", -1}, {kSp + "a", -0.5f}});
  // Each stretch after a special piece gets its own dummy prefix.
  EXPECT_EQ(enc(*tok, "a<s>a"), (Ids{261, 1, 261}));
  SentencePieceOptions o;
  o.matchSpecialPieces = false;
  auto literal = makeSpm({{kSp, -1}, {"a", -1}, {kSp + "a", -0.5f}}, o);
  EXPECT_EQ(enc(*literal, "<s>").size(), 4u); // ▁ then 3 byte pieces
}

TEST(SentencePiece, DecodeStripsDummyPrefix) {
  auto tok = makeSpm({{kSp, -1}, {"a", -1}, {kSp + "a", -0.5f}});
  EXPECT_EQ(tok->decode(enc(*tok, " a a\xC3\xA9")), " a a\xC3\xA9");
  EXPECT_EQ(tok->decode({1, 261, 261, 2}), "a a");
  EXPECT_EQ(tok->decode({1, 261, 2}, /*special=*/true), "<s>a</s>");
}

TEST(SentencePiece, Errors) {
  SentencePieceTokenizer tok;
  std::vector<SentencePieceEntry> v = {{"<unk>", 0, PieceType::Unknown},
                                       {"<0xZZ>", 0, PieceType::Byte}};
  EXPECT_NE(tok.init(v, {}).message().find("<0xXX>"), std::string::npos);
  v = {{"<unk>", 0, PieceType::Unknown}, {"a", 0, PieceType::Normal}};
  EXPECT_NE(tok.init(v, {}).message().find("<0x00>"), std::string::npos);
  SentencePieceOptions o;
  o.byteFallback = false;
  EXPECT_TRUE(tok.init(v, o).ok());
}

namespace {
void putI32(std::string &s, int32_t v) {
  s.append(reinterpret_cast<const char *>(&v), 4);
}
void putF32(std::string &s, float v) {
  s.append(reinterpret_cast<const char *>(&v), 4);
}

// A llama2.c tokenizer.bin: <unk>, "\n<s>\n", "\n</s>\n", bytes, " ", "a",
// " a" (llama2.c writes ' ' for U+2581).
std::string llama2cFile() {
  std::string f;
  putI32(f, 6);
  auto tokRec = [&](const std::string &t, float score) {
    putF32(f, score);
    putI32(f, static_cast<int32_t>(t.size()));
    f += t;
  };
  tokRec("<unk>", 0);
  tokRec("\n<s>\n", 0);
  tokRec("\n</s>\n", 0);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    tokRec(name, 0);
  }
  tokRec(" ", -1);
  tokRec("a", -2);
  tokRec(" a", -0.5f);
  return f;
}

// Protobuf helpers for a minimal ModelProto.
void varint(std::string &s, uint64_t v) {
  while (v >= 0x80) {
    s += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  s += static_cast<char>(v);
}
void lenField(std::string &s, int field, const std::string &payload) {
  varint(s, static_cast<uint64_t>(field) << 3 | 2);
  varint(s, payload.size());
  s += payload;
}
std::string pieceMsg(const std::string &p, float score, int type) {
  std::string m;
  lenField(m, 1, p);
  varint(m, 2 << 3 | 5);
  putF32(m, score);
  varint(m, 3 << 3 | 0);
  varint(m, static_cast<uint64_t>(type));
  return m;
}
} // namespace

TEST(SentencePieceFiles, Llama2cBin) {
  std::unique_ptr<Tokenizer> tok;
  Status s = llama2cTokenizerFromBytes(llama2cFile(), tok);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(tok->tokenText(1), "<s>");
  EXPECT_EQ(tok->tokenText(261), kSp + "a");
  EXPECT_EQ(enc(*tok, "a a"), (Ids{261, 261}));
  EXPECT_EQ(enc(*tok, "<s>").size(), 4u); // llama2.c reads no special tokens
  EXPECT_EQ(tok->templatePrefix(), (Ids{1}));
  std::string bad = llama2cFile();
  bad.resize(bad.size() - 1);
  EXPECT_NE(llama2cTokenizerFromBytes(bad, tok).message().find("truncated"),
            std::string::npos);
  EXPECT_FALSE(llama2cTokenizerFromBytes("", tok).ok());
}

TEST(SentencePieceFiles, ModelProto) {
  std::string model;
  lenField(model, 1, pieceMsg("<unk>", 0, 2));
  lenField(model, 1, pieceMsg("<s>", 0, 3));
  lenField(model, 1, pieceMsg("</s>", 0, 3));
  lenField(model, 1, pieceMsg(kSp, -1, 1));
  lenField(model, 1, pieceMsg("a", -2, 1));
  lenField(model, 1, pieceMsg(kSp + "a", -0.5f, 1));
  std::string trainer;
  varint(trainer, 3 << 3);
  varint(trainer, 2); // BPE
  lenField(model, 2, trainer);
  std::string normalizer;
  lenField(normalizer, 1, "identity");
  lenField(model, 3, normalizer);
  std::unique_ptr<Tokenizer> tok;
  Status s = sentencePieceModelFromBytes(model, tok);
  ASSERT_TRUE(s.ok()) << s.message();
  // remove_extra_whitespaces defaults to true in the proto.
  EXPECT_EQ(enc(*tok, "  a   a "), (Ids{5, 5}));
  EXPECT_EQ(enc(*tok, "b"), (Ids{3, 0})); // no byte fallback: ▁ <unk>
  EXPECT_EQ(tok->specialTokens().eos, 2);

  std::string unigram = model;
  std::string t2;
  varint(t2, 3 << 3);
  varint(t2, 1);
  lenField(unigram, 2, t2); // a later field wins, as in protobuf
  EXPECT_NE(
      sentencePieceModelFromBytes(unigram, tok).message().find("only BPE"),
      std::string::npos);
  std::string nfkc = model;
  std::string n2;
  lenField(n2, 1, "nmt_nfkc");
  lenField(n2, 2, "charsmap");
  lenField(nfkc, 3, n2);
  EXPECT_NE(sentencePieceModelFromBytes(nfkc, tok).message().find("nmt_nfkc"),
            std::string::npos);
  EXPECT_FALSE(sentencePieceModelFromBytes(model.substr(0, 7), tok).ok());
}

//===----------------------------------------------------------------------===//
// Byte-level BPE
//===----------------------------------------------------------------------===//

namespace {
std::vector<std::string> split(const std::string &text, BpePreTokenizer k) {
  std::vector<std::string_view> words;
  ByteLevelBpeTokenizer::preTokenize(text, k, words);
  return std::vector<std::string>(words.begin(), words.end());
}
using Words = std::vector<std::string>;
} // namespace

TEST(ByteLevelBpe, Gpt2Pattern) {
  auto g = BpePreTokenizer::Gpt2;
  EXPECT_EQ(split("Hello world", g), (Words{"Hello", " world"}));
  EXPECT_EQ(split("I'm it's we'll 'x", g),
            (Words{"I", "'m", " it", "'s", " we", "'ll", " '", "x"}));
  EXPECT_EQ(split("a   b", g), (Words{"a", "  ", " b"}));
  EXPECT_EQ(split("a \n\nb ", g), (Words{"a", " \n", "\n", "b", " "}));
  EXPECT_EQ(split("x123 4.5!!", g), (Words{"x", "123", " 4", ".", "5", "!!"}));
  EXPECT_EQ(split("na\xC3\xAFve \xE6\x97\xA5\xE6\x9C\xAC", g),
            (Words{"na\xC3\xAFve", " \xE6\x97\xA5\xE6\x9C\xAC"}));
  // Invalid UTF-8 bytes stand alone as "other" characters.
  EXPECT_EQ(split("a\xFF\xFE b", g), (Words{"a", "\xFF\xFE", " b"}));
  auto d = BpePreTokenizer::Gpt2IndividualDigits;
  EXPECT_EQ(split("x123  42", d), (Words{"x", "1", "2", "3", "  ", "4", "2"}));
}

// Falcon's pre-tokenizer against Hugging Face tokenizers 0.23.3's
// Sequence([Punctuation('contiguous'), ByteLevel(add_prefix_space=False),
// Digits(individual_digits=False), Split('[0-9][0-9][0-9]', 'isolated')])
// .pre_tokenize_str, its byte-level words mapped back to bytes. Digits sees
// the byte-level characters: U+00B2 / U+00BD (the bytes B2 / BD of "ò" =
// C3 B2 and "½" = C2 BD) are numeric, so those characters split in two.
TEST(ByteLevelBpe, FalconPattern) {
  auto f = BpePreTokenizer::Falcon;
  EXPECT_EQ(split("ied 4 \xC2\xBD months", f),
            (Words{"ied", " ", "4", " \xC2", "\xBD", " months"}));
  EXPECT_EQ(split("\xC3\xB2\xC2\xBD\xC2\xB2\xC2\xB9 12345 x1234567", f),
            (Words{"\xC3", "\xB2", "\xC2", "\xBD", "\xC2", "\xB2", "\xC2",
                   "\xB9", " ", "123", "45", " x", "123", "456", "7"}));
  EXPECT_EQ(split("Hello, world!! it's 3.14159", f),
            (Words{"Hello", ",", " world", "!!", " it", "'", "s", " ", "3", ".",
                   "141", "59"}));
  EXPECT_EQ(split("a...b $100+200", f),
            (Words{"a", "...", "b", " ", "$", "100", "+", "200"}));
}

TEST(ByteLevelBpe, MergesByRank) {
  auto tok = std::make_unique<ByteLevelBpeTokenizer>();
  std::vector<std::string> vocab;
  for (int b = 0; b < 256; ++b) {
    std::string s;
    char32_t c = ByteLevelBpeTokenizer::byteToChar(static_cast<uint8_t>(b));
    // UTF-8 of c (c < 0x800 here).
    if (c < 0x80)
      s += static_cast<char>(c);
    else {
      s += static_cast<char>(0xC0 | (c >> 6));
      s += static_cast<char>(0x80 | (c & 0x3F));
    }
    vocab.push_back(s);
  }
  const std::string G = "\xC4\xA0"; // U+0120, the byte ' '
  vocab.push_back(G + "a");         // 256
  vocab.push_back("ab");            // 257
  vocab.push_back(G + "ab");        // 258
  vocab.push_back("<|end|>");       // 259
  ASSERT_TRUE(tok->setVocab(vocab).ok());
  ASSERT_TRUE(tok->init({{"a", "b"}, {G, "a"}, {G, "ab"}}, {}).ok());
  ASSERT_TRUE(tok->addAddedToken({"<|end|>", 259}).ok());
  // " ab": a+b (rank 0) before Ġ+a (rank 1), then Ġ+ab.
  EXPECT_EQ(enc(*tok, " ab"), (Ids{258}));
  EXPECT_EQ(enc(*tok, " ac"), (Ids{256, 'c'}));
  EXPECT_EQ(enc(*tok, "ab<|end|> a"), (Ids{257, 259, 256}));
  EXPECT_EQ(tok->decode(enc(*tok, "ab<|end|> a\xC3\xA9")), "ab a\xC3\xA9");
  EXPECT_EQ(tok->decode({257, 259}, true), "ab<|end|>");
  std::vector<std::pair<std::string, std::string>> bad = {{"a", "zz"}};
  EXPECT_FALSE(tok->init(bad, {}).ok());
}

//===----------------------------------------------------------------------===//
// Decoding
//===----------------------------------------------------------------------===//

TEST(Decode, CompleteUtf8Prefix) {
  EXPECT_EQ(completeUtf8Prefix("abc"), 3u);
  EXPECT_EQ(completeUtf8Prefix("a\xE6\x97"), 1u);     // 2 of 3 bytes
  EXPECT_EQ(completeUtf8Prefix("a\xF0\x9F\xA6"), 1u); // 3 of 4
  EXPECT_EQ(completeUtf8Prefix("a\xF0\x9F\xA6\x99"), 5u);
  EXPECT_EQ(completeUtf8Prefix("a\xE0\x80"), 3u); // invalid: not held back
  EXPECT_EQ(completeUtf8Prefix("a\xFF"), 2u);
  EXPECT_EQ(sanitizeUtf8("a\xFF"
                         "b"),
            "a\xEF\xBF\xBD"
            "b");
}

TEST(Decode, StreamHoldsBackPartialSequences) {
  auto tok = makeSpm({{kSp, -1}, {"a", -1}});
  StreamDecoder d(*tok);
  // BOS, "▁a", then U+1F999 as four byte pieces.
  EXPECT_EQ(d.push(1), "");
  EXPECT_EQ(d.push(259), ""); // "▁" right after BOS: dummy prefix dropped
  EXPECT_EQ(d.push(260), "a");
  EXPECT_EQ(d.push(3 + 0xF0), "");
  EXPECT_EQ(d.push(3 + 0x9F), "");
  EXPECT_EQ(d.push(3 + 0xA6), "");
  EXPECT_EQ(d.push(3 + 0x99), "\xF0\x9F\xA6\x99");
  EXPECT_EQ(d.push(259), " ");
  EXPECT_EQ(d.push(3 + 0xE6), "");
  EXPECT_EQ(d.finish(), "\xEF\xBF\xBD"); // an unfinished sequence at the end
}

TEST(Decode, LoaderDispatch) {
  std::unique_ptr<Tokenizer> tok;
  EXPECT_NE(
      loadTokenizer("/nonexistent.model", tok).message().find("does not exist"),
      std::string::npos);
}
