//===- TokenizerFuzz.cpp - fuzz targets: the GGUF and tokenizer.json loaders -===//
//
// Built twice: TFC_FUZZ_GGUF reads the input as a GGUF file
// (GgufFile::parse, then tokenizerFromGguf: bert, llama and gpt2 models);
// otherwise as the text of a Hugging Face tokenizer.json
// (loadHfTokenizerJson: WordPiece and byte-level BPE). A tokenizer that loads
// must encode and decode a fixed text (ASCII, digits, accents, CJK, an emoji,
// invalid UTF-8) without failing on ids it gave itself.
//
//===----------------------------------------------------------------------===//
#include "FuzzTarget.h"

#include "tfc/Tokenizer/Gguf.h"
#include "tfc/Tokenizer/Loader.h"

#include <memory>
#include <string_view>

using namespace tfc::tokenizer;

namespace {
void exercise(const Tokenizer &tok) {
  static const char kText[] = "Hello, world! 12345 caf\xc3\xa9 \xe4\xb8\xad"
                              "\xe6\x96\x87 \xf0\x9f\x98\x80 \xff\xfe tabs\t"
                              "and\nnewlines  [MASK] <s>";
  std::vector<int32_t> ids;
  if (!tok.encode(std::string_view(kText, sizeof(kText) - 1), ids).ok())
    return; // a tokenizer may refuse text (e.g. no unknown token): fine
  for (int32_t id : ids)
    if (id < 0 || static_cast<size_t>(id) >= tok.vocabSize())
      tfcFuzzBug("encode gave an id outside the vocabulary");
  (void)tok.decode(ids);
  (void)tok.decode(ids, /*special=*/true);
  std::vector<int32_t> withSpecial;
  (void)tok.encodeWithSpecial("a b c", 8, withSpecial);
}
} // namespace

bool tfcFuzzOne(const uint8_t *data, size_t size, std::string &error) {
  std::unique_ptr<Tokenizer> tok;
#ifdef TFC_FUZZ_GGUF
  GgufFile file;
  Status s = GgufFile::parse(data, size, file);
  if (s.ok())
    s = tokenizerFromGguf(file, tok);
#else
  Status s = loadHfTokenizerJson(
      std::string_view(reinterpret_cast<const char *>(data), size), tok);
#endif
  if (!s.ok()) {
    error = s.message();
    if (error.empty())
      tfcFuzzBug("refused without a message");
    return false;
  }
  if (!tok)
    tfcFuzzBug("success without a tokenizer");
  exercise(*tok);
  return true;
}
