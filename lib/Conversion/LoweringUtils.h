//===- LoweringUtils.h - helpers for the tfc -> linalg lowering -*- C++ -*-===//
#ifndef TFC_LIB_CONVERSION_LOWERINGUTILS_H
#define TFC_LIB_CONVERSION_LOWERINGUTILS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"

namespace mlir::tfc::lowering {

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// The raw bytes of a constant tensor of any element type (nullopt when not
/// a constant with a static shape, or a splat / i1 dense one); `hasData`
/// false when its resource data is elided.
struct ConstBytes {
  ArrayRef<char> bytes;
  bool hasData = false;
  RankedTensorType type;
};
std::optional<ConstBytes> constBytes(Value v);

/// Joined constants already made, keyed by the parts' values and the axis
/// (a KV-cache model's main and step entries hold the same constants: one
/// copy in the weights file).
using ConcatCache = DenseMap<Attribute, TypedAttr>;

/// The constants `parts` joined along `axis` (a new constant): rank-2
/// [k, n_i] side by side along axis 1 ([k, sum n_i]: gate | up, q | k | v),
/// rank 1 or 2 one after the other along axis 0. Null when a part is not a
/// constant with its data (a splat, an elided or computed weight) or the
/// parts' types do not fit together.
Value concatConstants(OpBuilder &b, Location loc, ArrayRef<Value> parts,
                      int64_t axis, ConcatCache &cache);

/// Sizes of a ranked tensor value as OpFoldResults (static as attributes).
SmallVector<OpFoldResult> sizesOf(OpBuilder &b, Location loc, Value v);

/// Result sizes of an ONNX-style broadcast of `operands` to `resultType`:
/// each dynamic result dim is read from an operand whose dim is not a
/// static 1.
SmallVector<OpFoldResult> broadcastSizes(OpBuilder &b, Location loc,
                                         RankedTensorType resultType,
                                         ValueRange operands);

/// Builds `linalg.generic` computing body(elements of operands) elementwise
/// with broadcasting into a new tensor of `resultType`.
Value buildElementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                       ValueRange operands, BodyFn body);
/// Same with explicit result sizes.
Value buildElementwiseWithSizes(OpBuilder &b, Location loc,
                                RankedTensorType resultType,
                                ArrayRef<OpFoldResult> sizes,
                                ValueRange operands, BodyFn body);

/// Reduces `input` over `axes` with `combine`, starting from `init`; the
/// result drops the reduced dims.
Value buildReduction(OpBuilder &b, Location loc, Value input,
                     ArrayRef<int64_t> axes, TypedAttr init,
                     function_ref<Value(OpBuilder &, Location, Value, Value)>
                         combine);

/// Reinserts reduced dims as size 1 (keepdims).
Value keepDims(OpBuilder &b, Location loc, Value reduced, int64_t fullRank,
               ArrayRef<int64_t> axes);

/// Scalar helpers.
Value scalarUnary(OpBuilder &b, Location loc, UnaryKind kind, Value x,
                  Type resultType);
Value scalarBinary(OpBuilder &b, Location loc, BinaryKind kind, Value x,
                   Value y);
Value scalarCast(OpBuilder &b, Location loc, Value x, Type to);
Value floatConst(OpBuilder &b, Location loc, Type t, double v);

/// Batched matmul of lhs [..., m, k] x rhs [..., k, n] with broadcast batch
/// dims, as linalg.matmul / linalg.batch_matmul on collapsed operands.
Value buildMatmul(OpBuilder &b, Location loc, Value lhs, Value rhs,
                  RankedTensorType resultType);

/// A row-major reshape to `resultType` with `dynDims` for its dynamic dims.
Value buildReshape(OpBuilder &b, Location loc, Value input,
                   RankedTensorType resultType, ValueRange dynDims);

/// Softmax along `axis`; with `zeroIfAllMasked`, a row whose max is -inf
/// gives zeros instead of NaN.
Value buildSoftmax(OpBuilder &b, Location loc, Value input, int64_t axis,
                   bool zeroIfAllMasked);

/// LowerComm.cpp: tfc.all_reduce / all_gather / send / recv -> calls of
/// libtfcrt's communication kernels on contiguous buffers (still on
/// tensors); tfc.observe -> tfcrt_observe. Fails on any other op.
LogicalResult lowerCommOp(OpBuilder &b, Operation *op);

/// QuantToLinalg.cpp: the reference lowering of the quantization ops
/// (tfc.quantize / dequantize / dynamic_quantize / qlinear / qgated_mlp /
/// qembedding), replacing and erasing `op`.
bool isQuantOp(Operation *op);
LogicalResult lowerQuantOp(OpBuilder &b, Operation *op);

} // namespace mlir::tfc::lowering

#endif
