//===- Signature.h - parsed input/output signature of a model ---*- C++ -*-===//
#ifndef TFC_LIB_RUNTIME_SIGNATURE_H
#define TFC_LIB_RUNTIME_SIGNATURE_H

#include "tfc/Runtime/tfc_runtime.h"

#include <string>
#include <vector>

namespace tfcrt {

/// The most inputs the entry can be called with (one case per count).
constexpr size_t kMaxInputs = 16;

struct TensorSpec {
  std::string name;
  tfc_dtype dtype = TFC_DTYPE_F32;
  int32_t rank = 0;
  int64_t dims[TFC_MAX_RANK] = {};   // -1 for a dynamic dim
  std::string symbols[TFC_MAX_RANK]; // symbol of a dynamic dim, else ""
};

struct Signature {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

/// Parses desc->signature (format in tfc_runtime.h) and checks it against
/// the counts in the descriptor. On failure returns false and sets `error`.
bool parseSignature(const tfc_model_desc &desc, Signature &out,
                    std::string &error);

/// Parses a signature text that is not desc.signature itself (a part's or
/// step entry's), with the counts taken from the text.
bool parseSignatureText(const tfc_model_desc &desc, const char *text,
                        Signature &out, std::string &error);

/// Parses "f32", "i64", ... ; false if unknown.
bool parseDtype(const std::string &name, tfc_dtype &out);

} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_SIGNATURE_H
