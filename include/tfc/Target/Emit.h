//===- Emit.h - object, header and model descriptor emission ----*- C++ -*-===//
#ifndef TFC_TARGET_EMIT_H
#define TFC_TARGET_EMIT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include <string>
#include <utility>
#include <vector>

namespace mlir::tfc {

/// The entry function (marked `tfc.entry`) or null; for a partitioned
/// module (tfc --partition), part 0's.
func::FuncOp findEntry(ModuleOp module);
/// The cached step entry added by tfc-kv-cache (`tfc.step_entry`) or null;
/// part 0's for a partitioned module.
func::FuncOp findStepEntry(ModuleOp module);
/// Every entry (`tfc.entry`) / step entry (`tfc.step_entry`), indexed by
/// their `tfc.part` (an unpartitioned module: one, at 0). Empty when a part
/// is missing or two claim the same index.
SmallVector<func::FuncOp> findEntries(ModuleOp module);
SmallVector<func::FuncOp> findStepEntries(ModuleOp module);
/// The module's `tfc.partition = {kind, parts}`: TFC_PARTITION_* kind and
/// parts, or {0, 0} when the module is not partitioned.
std::pair<uint32_t, uint32_t> partitionOf(ModuleOp module);

/// The runtime signature text of the entry (see tfc_model_desc.signature),
/// from the `tfc.name` / `tfc.dims` attributes the importer set.
FailureOr<std::string> collectSignature(func::FuncOp entry);

struct ModelDescInfo {
  std::string name;       // sanitized model name
  std::string signature;  // collectSignature()
  std::string entrySymbol;
  uint64_t weightsSize = 0, weightsHash = 0;
  std::string opClasses;
  bool exportGenericAlias = false; // also define tfc_model_desc_v1
  uint32_t flags = 0;              // tfc_model_desc.flags (TFC_MODEL_FLAG_*)
  // KV cache (TFC_MODEL_FLAG_KV_CACHE): step entry, its signature, defaults.
  std::string stepEntrySymbol;     // "" = none
  std::string stepSignature;
  uint64_t kvMaxLen = 0, kvWindow = 0;
  // Partitioned models (TFC_MODEL_FLAG_PARTITIONED): kind and one entry per
  // part; entrySymbol/signature above are part 0's entry and the model's
  // signature as a whole. Step symbols are "" without --kv-cache.
  struct Part {
    std::string entrySymbol, signature, stepEntrySymbol, stepSignature;
  };
  uint32_t partitionKind = 0; // TFC_PARTITION_*, 0 = not partitioned
  std::vector<Part> parts;
  // Requirements (TFC_MODEL_FLAG_REQUIREMENTS, always emitted for CPU
  // models): TFC_ISA_* bits of the generated code, packed-weights version.
  uint32_t requiredIsa = 0, packVersion = 0;
};

/// Adds the `tfc_<name>_desc` global to a module in the LLVM dialect.
LogicalResult addModelDesc(ModuleOp llvmModule, const ModelDescInfo &info);

struct ObjectOptions {
  std::string cpu = "x86-64-v3"; // "host", or an LLVM CPU name (x86-64-v3,
                                 // znver4): what the generated loops use
  std::string features;       // extra features, e.g. "+avx512f"
  int optLevel = 3;
};

/// Translates an LLVM-dialect module to LLVM IR, optimizes it and writes an
/// object file; `llvmIrOut` (if set) receives the optimized IR text instead
/// of an object being written.
LogicalResult emitObject(ModuleOp llvmModule, const ObjectOptions &opts,
                         const std::string &objPath, std::string *llvmIrOut,
                         std::string &error);

/// The TFC_ISA_* bits code generated for `opts` (cpu + features) needs.
FailureOr<uint32_t> requiredIsaOf(const ObjectOptions &opts,
                                  std::string &error);

/// Writes the C header declaring the model's descriptor and documenting its
/// inputs and outputs.
LogicalResult writeHeader(const ModelDescInfo &info, const std::string &path,
                          std::string &error);

} // namespace mlir::tfc

#endif
