//===- KvCache.h - shared pieces of tfc-kv-cache ----------------*- C++ -*-===//
#ifndef TFC_LIB_TRANSFORMS_KVCACHE_H
#define TFC_LIB_TRANSFORMS_KVCACHE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <string>

namespace mlir::tfc::kvcache {

/// The argument of `f` named `name` (tfc.name), or null.
BlockArgument argNamed(func::FuncOp f, StringRef name);
/// A copy of the main entry right after it, named tfc_<name>_step and
/// marked tfc.step_entry (with the C interface).
func::FuncOp cloneAsStep(func::FuncOp main);
/// {tfc.name = name, tfc.dims = dims} for an entry argument.
DictionaryAttr argAttrs(OpBuilder &b, StringRef name,
                        ArrayRef<std::string> dims);
/// Erases the ops of `f` whose results are unused and that have no effects.
void eraseDeadOps(func::FuncOp f);

/// The i1 condition of a float mask `select(c, 0, fill)` whose fill is -inf
/// or a huge negative finite value (the exporters' float min), the mask
/// itself when it is i1, or null.
Value boolMaskOf(Value mask);

/// True when `main` takes Optimum-style past_key_values.<l>.key/value inputs.
bool hasPastInputs(func::FuncOp main);
/// KvCacheImported.cpp: maps a with-past export onto the two entries --
/// the step (past inputs -> cache rows [0, past), present outputs -> rows
/// written in place) and a full-sequence main (empty past, no presents).
LogicalResult buildFromWithPast(func::FuncOp main, int64_t maxLen);

} // namespace mlir::tfc::kvcache

#endif
