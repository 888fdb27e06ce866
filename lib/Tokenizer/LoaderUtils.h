//===- LoaderUtils.h - helpers shared by the loaders ------------*- C++ -*-===//
#ifndef TFC_LIB_TOKENIZER_LOADERUTILS_H
#define TFC_LIB_TOKENIZER_LOADERUTILS_H

#include "tfc/Tokenizer/Status.h"

#include <string>

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

} // namespace tokenizer
} // namespace tfc

#endif // TFC_LIB_TOKENIZER_LOADERUTILS_H
