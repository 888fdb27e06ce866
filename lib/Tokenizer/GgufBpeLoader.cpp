//===- GgufBpeLoader.cpp - "llama" and "gpt2" vocabularies from GGUF ------===//
//
// llama.cpp's conversions (convert_hf_to_gguf.py):
//   - "llama": SentencePiece pieces as they are (U+2581, <0xXX>), with
//     tokenizer.ggml.scores and token_type (SentencePiece's piece types);
//     tokenizer.ggml.add_space_prefix (default true) is add_dummy_prefix;
//   - "gpt2": byte-level BPE tokens ("Ġthe") with tokenizer.ggml.merges
//     ("Ġ t", rank order) and tokenizer.ggml.pre naming the pre-tokenizer.
// Control and user-defined tokens are matched literally in the text, as
// Hugging Face does with its added tokens.
//
//===----------------------------------------------------------------------===//

#include "tfc/Tokenizer/ByteLevelBpe.h"
#include "tfc/Tokenizer/Gguf.h"
#include "tfc/Tokenizer/SentencePiece.h"

#include "LoaderUtils.h"

namespace tfc {
namespace tokenizer {

namespace {

Status readSpecialIds(const GgufFile &file, size_t n, SpecialTokens &s) {
  TFC_TRY(ggufOptionalId(file, "tokenizer.ggml.unknown_token_id", n, s.unk));
  TFC_TRY(ggufOptionalId(file, "tokenizer.ggml.bos_token_id", n, s.bos));
  TFC_TRY(ggufOptionalId(file, "tokenizer.ggml.eos_token_id", n, s.eos));
  TFC_TRY(ggufOptionalId(file, "tokenizer.ggml.padding_token_id", n, s.pad));
  return Status::success();
}

bool flag(const GgufFile &file, const char *key, bool dflt) {
  bool v = dflt;
  file.getBool(key, v);
  return v;
}

/// BOS / EOS around every encoding as the GGUF's add_bos_token /
/// add_eos_token say (`addBos` when the key is absent).
void setGgufTemplate(const GgufFile &file, const SpecialTokens &special,
                     bool addBos, Tokenizer &tok) {
  std::vector<int32_t> prefix, suffix;
  if (special.bos >= 0 && flag(file, "tokenizer.ggml.add_bos_token", addBos))
    prefix.push_back(special.bos);
  if (special.eos >= 0 && flag(file, "tokenizer.ggml.add_eos_token", false))
    suffix.push_back(special.eos);
  tok.setTemplate(prefix, suffix);
}

} // namespace

Status sentencePieceFromGguf(const GgufFile &file,
                             const std::vector<std::string> &tokens,
                             const std::vector<int64_t> &types,
                             std::unique_ptr<Tokenizer> &out) {
  size_t n = tokens.size();
  const GgufValue *scores = file.find("tokenizer.ggml.scores");
  if (!scores || !scores->isArray() || scores->size() != n)
    return Status::error("tokenizer.ggml.scores must be an array of " +
                         std::to_string(n) + " floats");
  std::vector<SentencePieceEntry> pieces(n);
  size_t numBytes = 0;
  for (size_t i = 0; i < n; ++i) {
    SentencePieceEntry &e = pieces[i];
    e.piece = tokens[i];
    double sc;
    if (!scores->doubleAt(i, sc))
      return Status::error("tokenizer.ggml.scores holds non-numbers");
    e.score = static_cast<float>(sc);
    int64_t t = types.empty() ? 1 : types[i];
    if (t < 1 || t > 6)
      return Status::error("token " + std::to_string(i) + " has type " +
                           std::to_string(t));
    e.type = static_cast<PieceType>(t);
    numBytes += e.type == PieceType::Byte;
  }
  SpecialTokens special;
  TFC_TRY(readSpecialIds(file, n, special));
  auto tok = std::make_unique<SentencePieceTokenizer>();
  tok->setSpecialTokens(special);
  SentencePieceOptions o;
  o.addDummyPrefix = flag(file, "tokenizer.ggml.add_space_prefix", true);
  o.removeExtraWhitespaces =
      flag(file, "tokenizer.ggml.remove_extra_whitespaces", false);
  o.byteFallback = numBytes == 256;
  o.matchSpecialPieces = true;
  TFC_TRY(tok->init(std::move(pieces), o));
  setGgufTemplate(file, special, true, *tok);
  out = std::move(tok);
  return Status::success();
}

Status byteLevelBpeFromGguf(const GgufFile &file,
                            const std::vector<std::string> &tokens,
                            const std::vector<int64_t> &types,
                            std::unique_ptr<Tokenizer> &out) {
  size_t n = tokens.size();
  std::string pre = "default";
  file.getString("tokenizer.ggml.pre", pre);
  ByteLevelBpeOptions o;
  // llama.cpp's names (llama-vocab.cpp) of the pre-tokenizers implemented.
  if (pre == "gpt-2" || pre == "gpt2" || pre == "mpt" || pre == "olmo" ||
      pre == "jais")
    o.preTokenizer = BpePreTokenizer::Gpt2;
  else if (pre == "smollm" || pre == "starcoder" || pre == "refact" ||
           pre == "command-r" || pre == "codeshell" || pre == "exaone")
    o.preTokenizer = BpePreTokenizer::Gpt2IndividualDigits;
  else if (pre == "falcon")
    o.preTokenizer = BpePreTokenizer::Falcon;
  else
    return Status::error("byte-level BPE pre-tokenizer '" + pre +
                         "' (tokenizer.ggml.pre) is not supported (only "
                         "GPT-2's pattern, with or without individual digits, "
                         "and Falcon's)");
  o.addPrefixSpace = flag(file, "tokenizer.ggml.add_space_prefix", false);

  const GgufValue *m = file.find("tokenizer.ggml.merges");
  if (!m || !m->isArray() || m->elementType() != GgufType::String)
    return Status::error("tokenizer.ggml.merges is missing or not an array "
                         "of strings");
  std::vector<std::pair<std::string, std::string>> merges;
  merges.reserve(m->size());
  for (const std::string &rule : m->strings()) {
    // "a b": the first space separates (a token never starts with ' ').
    size_t sp = rule.find(' ', 1);
    if (sp == std::string::npos)
      return Status::error("merge rule '" + rule + "' has no space");
    merges.emplace_back(rule.substr(0, sp), rule.substr(sp + 1));
  }

  auto tok = std::make_unique<ByteLevelBpeTokenizer>();
  TFC_TRY(tok->setVocab(tokens));
  SpecialTokens special;
  TFC_TRY(readSpecialIds(file, n, special));
  tok->setSpecialTokens(special);
  TFC_TRY(tok->init(merges, o));
  for (size_t i = 0; i < types.size(); ++i) {
    // Control (3) and user-defined (4) tokens are matched in the text; only
    // control tokens are left out when decoding.
    if ((types[i] == 3 || types[i] == 4) && !tokens[i].empty())
      TFC_TRY(tok->addAddedToken(
          {tokens[i], static_cast<int32_t>(i), false, types[i] == 3}));
  }
  setGgufTemplate(file, special, false, *tok);
  out = std::move(tok);
  return Status::success();
}

} // namespace tokenizer
} // namespace tfc
