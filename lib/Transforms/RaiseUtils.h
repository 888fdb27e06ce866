//===- RaiseUtils.h - matchers shared by the raising passes ----*- C++ -*-===//
//
// Small def-chain matchers over the tfc graph ops: typed producers, splat
// constants, commutative operand orders, flattening of scalar products, and
// symbolic reasoning about dynamic dims (two dims are "the same" when they
// resolve to the same static size, the same SSA index value, or the same dim
// of the same tensor).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_TRANSFORMS_RAISEUTILS_H
#define TFC_LIB_TRANSFORMS_RAISEUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"

#include <optional>

namespace mlir::tfc::raise {

inline RankedTensorType rtt(Value v) {
  return dyn_cast<RankedTensorType>(v.getType());
}

/// The op of type OpTy that defines `v`, or null.
template <typename OpTy> OpTy def(Value v) {
  return v ? v.getDefiningOp<OpTy>() : OpTy();
}

/// `v` defined by `tfc.binary` of kind `k`, or null.
BinaryOp binaryOf(Value v, BinaryKind k);
/// `v` defined by `tfc.unary` of kind `k`, or null.
UnaryOp unaryOf(Value v, UnaryKind k);

/// Strips float-to-float `tfc.cast`s (the exporters' "compute in f32" casts;
/// identity for f32 models, where canonicalization already folds them).
Value stripFloatCasts(Value v);

/// True when `v` is an `arith.constant` (dense or resource elements).
bool isConstant(Value v);
/// The value of a float constant with exactly one element (any rank, e.g.
/// tensor<f32> or tensor<1x1xf32>), or nullopt.
std::optional<double> scalarFloat(Value v);
/// True when `v` is a one-element float constant within a relative 1e-5 of
/// `expected` (exporters write 1/sqrt(2) and friends at f32 precision).
bool isScalar(Value v, double expected);
/// A splat float constant of any shape (e.g. a [n] vector of ones), or nullopt.
std::optional<double> splatFloat(Value v);
/// The value of an integer constant with exactly one element, or nullopt.
std::optional<int64_t> scalarInt(Value v);

/// Calls `fn(a, b)` with the operands of `op` in both orders; true when one
/// order matched (the first that does).
bool matchEitherOrder(Operation *op, llvm::function_ref<bool(Value, Value)> fn);

/// Flattens a product tree: mul(a, b) -> factors of a and b; div(a, c) and
/// mul by one-element float constants fold into `scale`; pow(a, n) with a
/// small integer constant n gives n copies of a. Only nodes of `v`'s type
/// and scalar constants are walked through; the non-constant leaves are
/// returned in order. At most `maxLeaves` leaves (fails beyond).
struct Product {
  double scale = 1.0;
  SmallVector<Value, 4> factors;
};
std::optional<Product> flattenProduct(Value v, unsigned maxLeaves = 4);

/// Symbolic description of one dim.
struct DimRef {
  int64_t size = ShapedType::kDynamic; // static size, if known
  Value index;                         // SSA index value giving the size
  Value tensor;                        // else: dim `pos` of `tensor`
  int64_t pos = -1;
  bool isStatic() const { return !ShapedType::isDynamic(size); }
};
/// Resolves dim `i` of `v` through reshape/expand dim operands, tensor.dim,
/// transposes, elementwise ops and matmul/linear/gather result dims.
DimRef resolveDim(Value v, int64_t i);
/// Resolves an index value giving a size (constant, tensor.dim, max(dim, 0)).
DimRef resolveSize(Value index);
/// True when the two dims are provably equal.
bool sameDim(Value a, int64_t i, Value b, int64_t j);
bool sameDim(const DimRef &a, const DimRef &b);

/// True when `t` has exactly one element and is float.
bool isOneElementFloat(Type t);

/// A 1-D float constant of `n` copies of `value` with element type `et`.
Value splatVector(OpBuilder &b, Location loc, Type et, int64_t n, double value);

/// Greedy driver configuration used by the raising passes: no region
/// simplification, top-down traversal.
GreedyRewriteConfig raiseConfig();

} // namespace mlir::tfc::raise

#endif
