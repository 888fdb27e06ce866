//===- Loader.h - build a tokenizer from files on disk ----------*- C++ -*-===//
//
// Sources:
//   - a Hugging Face model folder: tokenizer.json (WordPiece model with a
//     BertNormalizer or a Sequence of Lowercase / StripAccents / NFD, a
//     BertPreTokenizer, TemplateProcessing or BertProcessing), or, without
//     it, vocab.txt + tokenizer_config.json (do_lower_case, strip_accents,
//     tokenize_chinese_chars and the *_token names);
//   - a GGUF file whose tokenizer.ggml.model is "bert" (llama.cpp's
//     conversion: word-initial tokens carry a U+2581 prefix, continuation
//     tokens carry none; the GGUF stores no casing settings, so the tokenizer
//     lowercases and strips accents unless LoadOptions say otherwise).
//   - a GGUF file whose tokenizer.ggml.model is "llama" (SentencePiece BPE:
//     tokens, scores, token types) or "gpt2" (byte-level BPE: tokens,
//     merges, tokenizer.ggml.pre naming the pre-tokenizer);
//   - a Hugging Face tokenizer.json whose model is BPE with a ByteLevel
//     pre-tokenizer (GPT-2, SmolLM2), with BOS/EOS from tokenizer_config.json
//     when it is in the same folder;
//   - a SentencePiece tokenizer.model (BPE type), or a folder holding one;
//   - llama2.c's tokenizer.bin (a .bin file).
// A file or folder the loader does not understand is an error that says why
// (unsupported normalizer, model type ...), never a silently different
// tokenizer.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOKENIZER_LOADER_H
#define TFC_TOKENIZER_LOADER_H

#include "tfc/Tokenizer/Gguf.h"
#include "tfc/Tokenizer/Tokenizer.h"

#include <memory>
#include <string>

namespace tfc {
namespace tokenizer {

/// Overrides for settings a source may not carry; -1 = keep the source's.
struct LoadOptions {
  int lowercase = -1;
  int stripAccents = -1;
};

/// Dispatches on `path`: a folder (Hugging Face), a tokenizer.json file, a
/// .gguf file, a SentencePiece .model or a llama2.c .bin file.
Status loadTokenizer(const std::string &path, std::unique_ptr<Tokenizer> &out,
                     const LoadOptions &options = {});
Status loadHfTokenizer(const std::string &dir, std::unique_ptr<Tokenizer> &out,
                       const LoadOptions &options = {});
/// From the text of a tokenizer.json.
Status loadHfTokenizerJson(std::string_view json,
                           std::unique_ptr<Tokenizer> &out,
                           const LoadOptions &options = {});
Status loadGgufTokenizer(const std::string &path,
                         std::unique_ptr<Tokenizer> &out,
                         const LoadOptions &options = {});
Status tokenizerFromGguf(const GgufFile &file, std::unique_ptr<Tokenizer> &out,
                         const LoadOptions &options = {});

} // namespace tokenizer
} // namespace tfc

#endif // TFC_TOKENIZER_LOADER_H
