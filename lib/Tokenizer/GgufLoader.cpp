//===- GgufLoader.cpp - tokenizers from GGUF metadata ---------------------===//
//
// "bert" here; "llama" (SentencePiece BPE) and "gpt2" (byte-level BPE) in
// GgufBpeLoader.cpp.
//
// llama.cpp's conversion of a BERT vocabulary (convert_hf_to_gguf.py,
// BertModel.set_vocab) rewrites the tokens: "##ing" becomes "ing" and a
// word-initial "ing" becomes "\u2581ing"; "[...]" tokens stay as they are.
// This loader undoes that to get the WordPiece vocabulary back.
//
//===----------------------------------------------------------------------===//

#include "tfc/Tokenizer/Loader.h"
#include "tfc/Tokenizer/WordPiece.h"

#include "LoaderUtils.h"

namespace tfc {
namespace tokenizer {

namespace {

// llama_token_type values stored in tokenizer.ggml.token_type.
enum GgufTokenType : int64_t {
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,
  kTokenUserDefined = 4,
  kTokenUnused = 5,
  kTokenByte = 6,
};

const char kPhantomSpace[] = "\xE2\x96\x81"; // U+2581

} // namespace

// Reads an optional token id; -1 when absent. Fails on a value of another
// type or outside the vocabulary.
Status ggufOptionalId(const GgufFile &file, const char *key, size_t vocabSize,
                      int32_t &id) {
  id = -1;
  const GgufValue *v = file.find(key);
  if (!v)
    return Status::success();
  int64_t x;
  if (!v->asInt64(x) || v->type() == GgufType::Bool)
    return Status::error(std::string(key) + " must be an integer, got " +
                         v->summary());
  if (x < 0 || static_cast<uint64_t>(x) >= vocabSize)
    return Status::error(std::string(key) + " = " + std::to_string(x) +
                         " is outside the vocabulary (size " +
                         std::to_string(vocabSize) + ")");
  id = static_cast<int32_t>(x);
  return Status::success();
}

namespace {

Status optionalId(const GgufFile &file, const char *key, size_t vocabSize,
                  int32_t &id) {
  return ggufOptionalId(file, key, vocabSize, id);
}

Status wordPieceFromGguf(const GgufFile &file,
                         const std::vector<std::string> &ggufTokens,
                         const std::vector<int64_t> &types,
                         std::unique_ptr<Tokenizer> &out,
                         const LoadOptions &options) {
  size_t n = ggufTokens.size();
  std::vector<std::string> vocab(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string &t = ggufTokens[i];
    bool special = !types.empty() && (types[i] == kTokenControl ||
                                      types[i] == kTokenUserDefined);
    if (special || (t.size() >= 2 && t.front() == '[' && t.back() == ']'))
      vocab[i] = t;
    else if (t.compare(0, 3, kPhantomSpace) == 0)
      vocab[i] = t.substr(3);
    else
      vocab[i] = "##" + t;
  }

  SpecialTokens special;
  TFC_TRY(optionalId(file, "tokenizer.ggml.unknown_token_id", n, special.unk));
  TFC_TRY(optionalId(file, "tokenizer.ggml.cls_token_id", n, special.cls));
  // gguf-py spells the key "seperator"; accept the correct spelling too.
  TFC_TRY(optionalId(file, "tokenizer.ggml.seperator_token_id", n,
                     special.sep));
  if (special.sep < 0)
    TFC_TRY(optionalId(file, "tokenizer.ggml.separator_token_id", n,
                       special.sep));
  TFC_TRY(optionalId(file, "tokenizer.ggml.padding_token_id", n, special.pad));
  TFC_TRY(optionalId(file, "tokenizer.ggml.mask_token_id", n, special.mask));
  TFC_TRY(optionalId(file, "tokenizer.ggml.bos_token_id", n, special.bos));
  TFC_TRY(optionalId(file, "tokenizer.ggml.eos_token_id", n, special.eos));
  // Older conversions stored [CLS]/[SEP] as BOS/EOS only.
  if (special.cls < 0)
    special.cls = special.bos;
  if (special.sep < 0)
    special.sep = special.eos;

  auto tok = std::make_unique<WordPieceTokenizer>();
  TFC_TRY(tok->setVocab(vocab));
  WordPieceOptions wp;
  // The GGUF stores no casing settings; llama.cpp's WPM tokenizer always
  // lowercases and strips accents.
  wp.lowercase = options.lowercase != 0;
  wp.stripAccents =
      options.stripAccents >= 0 ? options.stripAccents != 0 : wp.lowercase;
  if (special.unk >= 0)
    wp.unkToken = vocab[special.unk];
  TFC_TRY(tok->init(wp));
  if (special.unk < 0)
    special.unk = tok->tokenId(wp.unkToken);
  if (special.cls < 0 || special.sep < 0)
    return Status::error("BERT vocabulary without [CLS]/[SEP] ids "
                         "(tokenizer.ggml.cls_token_id / seperator_token_id)");
  tok->setTemplate({special.cls}, {special.sep});

  // Control and user-defined tokens are matched literally in the text, as
  // Hugging Face does with its special added tokens.
  for (size_t i = 0; i < n; ++i) {
    bool literal = types.empty()
                       ? (static_cast<int32_t>(i) == special.unk ||
                          static_cast<int32_t>(i) == special.cls ||
                          static_cast<int32_t>(i) == special.sep ||
                          static_cast<int32_t>(i) == special.pad ||
                          static_cast<int32_t>(i) == special.mask)
                       : (types[i] == kTokenControl ||
                          types[i] == kTokenUserDefined);
    if (literal && !vocab[i].empty())
      TFC_TRY(tok->addAddedToken({vocab[i], static_cast<int32_t>(i), false}));
  }
  tok->setSpecialTokens(special);
  out = std::move(tok);
  return Status::success();
}

} // namespace

Status tokenizerFromGguf(const GgufFile &file, std::unique_ptr<Tokenizer> &out,
                         const LoadOptions &options) {
  std::string model;
  if (!file.getString("tokenizer.ggml.model", model))
    return Status::error("no tokenizer.ggml.model in the GGUF metadata");
  const GgufValue *tokens = file.find("tokenizer.ggml.tokens");
  if (!tokens || !tokens->isArray() ||
      tokens->elementType() != GgufType::String)
    return Status::error("tokenizer.ggml.tokens is missing or not an array "
                         "of strings");
  size_t n = tokens->size();
  if (n == 0)
    return Status::error("tokenizer.ggml.tokens is empty");

  std::vector<int64_t> types;
  if (const GgufValue *tt = file.find("tokenizer.ggml.token_type")) {
    if (!tt->isArray() || tt->size() != n)
      return Status::error("tokenizer.ggml.token_type must be an array of " +
                           std::to_string(n) + " integers, got " +
                           tt->summary());
    types.resize(n);
    for (size_t i = 0; i < n; ++i)
      if (!tt->intAt(i, types[i]))
        return Status::error("tokenizer.ggml.token_type holds non-integers");
  }

  if (model == "bert")
    return wordPieceFromGguf(file, tokens->strings(), types, out, options);
  if (model == "llama")
    return sentencePieceFromGguf(file, tokens->strings(), types, out);
  if (model == "gpt2")
    return byteLevelBpeFromGguf(file, tokens->strings(), types, out);
  return Status::error("tokenizer model '" + model +
                       "' is not supported (only 'bert', 'llama' and "
                       "'gpt2')");
}

Status loadGgufTokenizer(const std::string &path,
                         std::unique_ptr<Tokenizer> &out,
                         const LoadOptions &options) {
  GgufFile file;
  TFC_TRY(GgufFile::open(path, file));
  return tokenizerFromGguf(file, out, options).withContext(path);
}

} // namespace tokenizer
} // namespace tfc
