//===- Signature.cpp - parse the signature table of a model descriptor ----===//

#include "Signature.h"
#include "Internal.h"

#include <cctype>
#include <cstring>
#include <sstream>

namespace tfcrt {

bool parseDtype(const std::string &name, tfc_dtype &out) {
  static const struct {
    const char *name;
    tfc_dtype dtype;
  } table[] = {
      {"f32", TFC_DTYPE_F32}, {"f16", TFC_DTYPE_F16}, {"bf16", TFC_DTYPE_BF16},
      {"f64", TFC_DTYPE_F64}, {"i64", TFC_DTYPE_I64}, {"i32", TFC_DTYPE_I32},
      {"i8", TFC_DTYPE_I8},   {"u8", TFC_DTYPE_U8},   {"bool", TFC_DTYPE_BOOL}};
  for (const auto &e : table) {
    if (name == e.name) {
      out = e.dtype;
      return true;
    }
  }
  return false;
}

namespace {

bool isNumber(const std::string &s) {
  if (s.empty() || s.size() > 18)
    return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
  return true;
}

bool isSymbol(const std::string &s) {
  if (s.empty())
    return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
      return false;
  return true;
}

} // namespace

bool parseSignature(const tfc_model_desc &desc, Signature &out,
                    std::string &error) {
  out = Signature();
  if (!desc.signature) {
    error = "descriptor has no signature";
    return false;
  }
  std::istringstream lines(desc.signature);
  std::string line;
  int lineNo = 0;
  while (std::getline(lines, line)) {
    ++lineNo;
    std::istringstream words(line);
    std::string kind;
    if (!(words >> kind))
      continue; // blank line
    auto fail = [&](const std::string &why) {
      error = format("signature line %d ('%s'): %s", lineNo, line.c_str(),
                     why.c_str());
      return false;
    };
    if (kind != "in" && kind != "out")
      return fail("expected 'in' or 'out', got '" + kind + "'");
    TensorSpec spec;
    std::string dtype, rank;
    if (!(words >> spec.name >> dtype >> rank))
      return fail("expected '<in|out> <name> <dtype> <rank> <dims...>'");
    if (!parseDtype(dtype, spec.dtype))
      return fail("unknown dtype '" + dtype + "'");
    if (!isNumber(rank) || std::stoll(rank) > TFC_MAX_RANK)
      return fail(format("rank '%s' is not an integer in [0, %d]", rank.c_str(),
                         TFC_MAX_RANK));
    spec.rank = static_cast<int32_t>(std::stoll(rank));
    for (int32_t d = 0; d < spec.rank; ++d) {
      std::string dim;
      if (!(words >> dim))
        return fail(format("expected %d dims, got %d", spec.rank, d));
      if (isNumber(dim)) {
        spec.dims[d] = std::stoll(dim);
      } else if (isSymbol(dim)) {
        spec.dims[d] = -1;
        spec.symbols[d] = dim;
      } else {
        return fail("dim '" + dim + "' is neither an integer nor a symbol");
      }
    }
    std::string extra;
    if (words >> extra)
      return fail("unexpected trailing '" + extra + "'");
    (kind == "in" ? out.inputs : out.outputs).push_back(spec);
  }
  if (out.inputs.size() != desc.num_inputs ||
      out.outputs.size() != desc.num_outputs) {
    error = format("signature lists %zu inputs and %zu outputs but the "
                   "descriptor says %u and %u",
                   out.inputs.size(), out.outputs.size(), desc.num_inputs,
                   desc.num_outputs);
    return false;
  }
  return true;
}

bool parseSignatureText(const tfc_model_desc &desc, const char *text,
                        Signature &out, std::string &error) {
  tfc_model_desc d = desc;
  d.signature = text;
  d.num_inputs = d.num_outputs = 0;
  for (const char *p = text; p && *p;) {
    if (!std::strncmp(p, "in ", 3))
      ++d.num_inputs;
    else if (!std::strncmp(p, "out ", 4))
      ++d.num_outputs;
    const char *nl = std::strchr(p, '\n');
    if (!nl)
      break;
    p = nl + 1;
  }
  return parseSignature(d, out, error);
}

} // namespace tfcrt
