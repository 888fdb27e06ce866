//===- LoaderUtils.h - helpers shared by the loaders ------------*- C++ -*-===//
#ifndef TFC_LIB_TOKENIZER_LOADERUTILS_H
#define TFC_LIB_TOKENIZER_LOADERUTILS_H

#include "tfc/Tokenizer/Status.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

// Returns the Status of `expr` from the enclosing function when it failed.
#define TFC_TRY(expr)                                                          \
  do {                                                                         \
    ::tfc::tokenizer::Status tfcTryStatus = (expr);                            \
    if (!tfcTryStatus.ok())                                                    \
      return tfcTryStatus;                                                     \
  } while (0)

namespace tfc {
namespace tokenizer {

/// Reads a whole file.
Status readFile(const std::string &path, std::string &out);

class GgufFile;
class Tokenizer;

/// An optional token id from GGUF metadata; -1 when absent. Fails on a value
/// of another type or outside the vocabulary.
Status ggufOptionalId(const GgufFile &file, const char *key, size_t vocabSize,
                      int32_t &id);
/// tokenizer.ggml.model "llama" and "gpt2" (GgufBpeLoader.cpp); `types` is
/// tokenizer.ggml.token_type, empty when absent.
Status sentencePieceFromGguf(const GgufFile &file,
                             const std::vector<std::string> &tokens,
                             const std::vector<int64_t> &types,
                             std::unique_ptr<Tokenizer> &out);
Status byteLevelBpeFromGguf(const GgufFile &file,
                            const std::vector<std::string> &tokens,
                            const std::vector<int64_t> &types,
                            std::unique_ptr<Tokenizer> &out);

} // namespace tokenizer
} // namespace tfc

#endif // TFC_LIB_TOKENIZER_LOADERUTILS_H
