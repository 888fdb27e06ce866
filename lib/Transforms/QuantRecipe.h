//===- QuantRecipe.h - what --tfc-quantize does to which op -----*- C++ -*-===//
//
// A recipe assigns a quantization scheme per op class (embedding, qkv,
// attention products, out_proj, mlp, lm_head) and per layer by name pattern,
// with a skip list. Presets (int8-dynamic, int8-static, w8, w4, mixed, bf16)
// are recipes; a JSON file gives any other (docs/DESIGN.md "Quantization"):
//
//   {"method": "rtn" | "gptq", "clip": "minmax" | "mse" | "hmse",
//    "classes": {"qkv": {"bits": 4, "group": 128, "symmetric": false,
//                        "activations": "none"}, "lm_head": "skip", ...},
//    "layers": [{"match": "*layers.0.*", "bits": 8}, {"match": "*down*",
//                "skip": true}],
//    "skip": ["*lm_head*"]}
//
// Later layer entries override earlier ones and the class scheme; `skip`
// wins over everything. Every error names the key (and the op, for schemes
// an op cannot take).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TRANSFORMS_QUANTRECIPE_H
#define TFC_LIB_TRANSFORMS_QUANTRECIPE_H

#include "QuantMath.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlir::tfc::quant {

enum class OpClass { Embedding, Qkv, Attention, OutProj, Mlp, LmHead };
const char *className(OpClass c);
std::optional<OpClass> classFromName(llvm::StringRef name);

/// One scheme. `bits` 4 or 8 integer weights, or 16 with `floatType`
/// ("bf16" / "fp16") for mixed precision.
struct Scheme {
  int64_t bits = 8;
  int64_t group = 0; // along k; 0 = one scale per output channel
  bool symmetric = true;
  QuantActivation activations = QuantActivation::none;
  std::string floatType; // "bf16" / "fp16" when bits == 16
  bool isFloat() const { return !floatType.empty(); }
  std::string describe() const;
};

/// A scheme or "leave in fp32".
struct Choice {
  bool skip = true;
  Scheme scheme;
};

/// A per-layer rule: `skip`, or fields overriding the class's scheme (a
/// class left in fp32 gets the default scheme with these fields).
struct LayerRule {
  std::string match; // glob over the op's name
  bool skip = false;
  std::optional<int64_t> bits, group;
  std::optional<bool> symmetric;
  std::optional<QuantActivation> activations;
};

struct Recipe {
  std::string name; // preset name or file path, for messages
  std::string method = "rtn";
  Clip clip = Clip::MinMax; // how group grids are chosen (QuantMath.h)
  std::map<OpClass, Choice> classes;
  std::vector<LayerRule> layers;
  std::vector<std::string> skip;
  bool needsStats() const;

  /// The scheme for an op of `cls` named `opName`.
  Choice choose(OpClass cls, llvm::StringRef opName) const;
};

/// A preset by name, adjusted by the driver's --quant-group / --quant-sym
/// (group -1 / sym unset = the preset's); or a JSON recipe file. Fails with
/// a message naming the key.
std::optional<Recipe> loadRecipe(llvm::StringRef spec, int64_t group,
                                 std::optional<bool> symmetric,
                                 std::string &error);

/// Whether `op` (of `cls`) can take `s`; the reason when not.
std::optional<std::string> cannotTake(OpClass cls, const Scheme &s);

/// fnmatch-style glob ('*', '?') over the whole string.
bool globMatch(llvm::StringRef pattern, llvm::StringRef text);

} // namespace mlir::tfc::quant

#endif
