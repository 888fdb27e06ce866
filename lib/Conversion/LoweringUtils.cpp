//===- LoweringUtils.cpp - helpers for the tfc -> linalg lowering ---------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::lowering;

std::optional<ConstBytes> lowering::constBytes(Value v) {
  auto c = v ? v.getDefiningOp<arith::ConstantOp>() : nullptr;
  if (!c)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(c.getType());
  if (!type || !type.hasStaticShape())
    return std::nullopt;
  ConstBytes out;
  out.type = type;
  if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
    if (AsmResourceBlob *blob = res.getRawHandle().getBlob()) {
      out.bytes = blob->getData();
      out.hasData = true;
    }
    return out;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue())) {
    if (dense.isSplat() || type.getElementType().isInteger(1))
      return std::nullopt;
    out.bytes = dense.getRawData();
    out.hasData = true;
    return out;
  }
  return std::nullopt;
}

Value lowering::concatConstants(OpBuilder &b, Location loc,
                                ArrayRef<Value> parts, int64_t axis,
                                ConcatCache &cache) {
  if (parts.empty())
    return {};
  SmallVector<Attribute> key;
  for (Value v : parts) {
    auto c = v.getDefiningOp<arith::ConstantOp>();
    if (!c)
      return {};
    key.push_back(c.getValue());
  }
  key.push_back(b.getI64IntegerAttr(axis));
  ArrayAttr keyAttr = b.getArrayAttr(key);
  if (auto it = cache.find(keyAttr); it != cache.end())
    return arith::ConstantOp::create(b, loc, it->second);
  SmallVector<ConstBytes> data;
  for (Value v : parts) {
    std::optional<ConstBytes> d = constBytes(v);
    if (!d || !d->hasData)
      return {};
    data.push_back(*d);
  }
  RankedTensorType t0 = data.front().type;
  int64_t rank = t0.getRank();
  if ((rank != 1 && rank != 2) || axis < 0 || axis >= rank ||
      t0.getElementTypeBitWidth() % 8 != 0)
    return {};
  int64_t elem = t0.getElementTypeBitWidth() / 8;
  int64_t joined = 0; // the result's size along `axis`
  for (const ConstBytes &d : data) {
    if (d.type.getRank() != rank ||
        d.type.getElementType() != t0.getElementType() ||
        (int64_t)d.bytes.size() != d.type.getNumElements() * elem)
      return {};
    for (int64_t i = 0; i < rank; ++i)
      if (i != axis && d.type.getShape()[i] != t0.getShape()[i])
        return {};
    joined += d.type.getShape()[axis];
  }
  // Along the last axis each of the k rows takes every part's row in turn;
  // along axis 0 of a matrix (or a vector) the parts follow each other.
  int64_t rows = axis == rank - 1 && rank == 2 ? t0.getShape()[0] : 1;
  std::vector<char> out;
  out.reserve(rows == 1 ? joined * (rank == 2 ? t0.getShape()[1] : 1) * elem
                        : rows * joined * elem);
  for (int64_t r = 0; r < rows; ++r)
    for (const ConstBytes &d : data) {
      int64_t rowBytes = (int64_t)d.bytes.size() / rows;
      out.insert(out.end(), d.bytes.begin() + r * rowBytes,
                 d.bytes.begin() + (r + 1) * rowBytes);
    }
  SmallVector<int64_t> shape(t0.getShape());
  shape[axis] = joined;
  auto type = RankedTensorType::get(shape, t0.getElementType());
  auto attr = DenseResourceElementsAttr::get(
      type, "tfc_concat",
      HeapAsmResourceBlob::allocateAndCopyWithAlign(ArrayRef<char>(out),
                                                    alignof(std::max_align_t)));
  cache[keyAttr] = attr;
  return arith::ConstantOp::create(b, loc, attr);
}

SmallVector<OpFoldResult> lowering::sizesOf(OpBuilder &b, Location loc,
                                            Value v) {
  return tensor::getMixedSizes(b, loc, v);
}

Value lowering::floatConst(OpBuilder &b, Location loc, Type t, double v) {
  return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, v));
}

SmallVector<OpFoldResult> lowering::broadcastSizes(OpBuilder &b, Location loc,
                                                   RankedTensorType resultType,
                                                   ValueRange operands) {
  int64_t rank = resultType.getRank();
  SmallVector<OpFoldResult> sizes;
  for (int64_t i = 0; i < rank; ++i) {
    if (!resultType.isDynamicDim(i)) {
      sizes.push_back(b.getIndexAttr(resultType.getDimSize(i)));
      continue;
    }
    OpFoldResult chosen;
    for (Value v : operands) {
      auto t = cast<RankedTensorType>(v.getType());
      int64_t j = i - (rank - t.getRank());
      if (j < 0 || t.getDimSize(j) == 1)
        continue;
      if (t.isDynamicDim(j)) {
        chosen = tensor::DimOp::create(b, loc, v, j).getResult();
        break;
      }
      chosen = b.getIndexAttr(t.getDimSize(j));
    }
    sizes.push_back(chosen ? chosen : b.getIndexAttr(1));
  }
  return sizes;
}

Value lowering::buildElementwiseWithSizes(OpBuilder &b, Location loc,
                                          RankedTensorType resultType,
                                          ArrayRef<OpFoldResult> sizes,
                                          ValueRange operands, BodyFn body) {
  int64_t rank = resultType.getRank();
  Value init = tensor::EmptyOp::create(b, loc, sizes,
                                       resultType.getElementType());
  SmallVector<AffineMap> maps;
  MLIRContext *ctx = b.getContext();
  for (Value v : operands) {
    auto t = cast<RankedTensorType>(v.getType());
    SmallVector<AffineExpr> exprs;
    for (int64_t j = 0; j < t.getRank(); ++j) {
      int64_t i = j + rank - t.getRank();
      bool bcast = t.getDimSize(j) == 1 && resultType.getDimSize(i) != 1;
      exprs.push_back(bcast ? getAffineConstantExpr(0, ctx)
                            : getAffineDimExpr(i, ctx));
    }
    maps.push_back(AffineMap::get(rank, 0, exprs, ctx));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, ctx));
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, init.getType(), operands, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value r = body(nb, nl, args.drop_back());
        linalg::YieldOp::create(nb, nl, r);
      });
  Value result = generic.getResult(0);
  if (result.getType() != resultType)
    result = tensor::CastOp::create(b, loc, resultType, result);
  return result;
}

Value lowering::buildElementwise(OpBuilder &b, Location loc,
                                 RankedTensorType resultType,
                                 ValueRange operands, BodyFn body) {
  return buildElementwiseWithSizes(
      b, loc, resultType, broadcastSizes(b, loc, resultType, operands),
      operands, body);
}

Value lowering::buildReduction(
    OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
    TypedAttr init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  auto t = cast<RankedTensorType>(input.getType());
  int64_t rank = t.getRank();
  SmallVector<OpFoldResult> inSizes = sizesOf(b, loc, input), outSizes;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iters;
  MLIRContext *ctx = b.getContext();
  for (int64_t i = 0; i < rank; ++i) {
    if (llvm::is_contained(axes, i)) {
      iters.push_back(utils::IteratorType::reduction);
      continue;
    }
    iters.push_back(utils::IteratorType::parallel);
    outSizes.push_back(inSizes[i]);
    outExprs.push_back(getAffineDimExpr(i, ctx));
  }
  Value empty = tensor::EmptyOp::create(b, loc, outSizes, t.getElementType());
  Value initV = arith::ConstantOp::create(b, loc, init);
  Value filled =
      linalg::FillOp::create(b, loc, ValueRange{initV}, ValueRange{empty})
          .getResult(0);
  SmallVector<AffineMap> maps = {AffineMap::getMultiDimIdentityMap(rank, ctx),
                                 AffineMap::get(rank, 0, outExprs, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, filled.getType(), ValueRange{input}, ValueRange{filled}, maps,
      iters, [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, combine(nb, nl, args[0], args[1]));
      });
  return generic.getResult(0);
}

Value lowering::keepDims(OpBuilder &b, Location loc, Value reduced,
                         int64_t fullRank, ArrayRef<int64_t> axes) {
  auto t = cast<RankedTensorType>(reduced.getType());
  SmallVector<int64_t> shape;
  SmallVector<OpFoldResult> outSizes;
  SmallVector<OpFoldResult> rs = sizesOf(b, loc, reduced);
  SmallVector<ReassociationIndices> reassoc;
  int64_t k = 0;
  for (int64_t i = 0; i < fullRank; ++i) {
    if (llvm::is_contained(axes, i)) {
      shape.push_back(1);
      outSizes.push_back(b.getIndexAttr(1));
      if (reassoc.empty())
        reassoc.push_back({});
      reassoc.back().push_back(i);
      continue;
    }
    shape.push_back(t.getDimSize(k));
    outSizes.push_back(rs[k]);
    // A kept dim starts a new group unless the previous group has no kept
    // dim yet (leading reduced dims join the first kept one).
    if (reassoc.empty() || llvm::any_of(reassoc.back(), [&](int64_t d) {
          return !llvm::is_contained(axes, d);
        }))
      reassoc.push_back({});
    reassoc.back().push_back(i);
    ++k;
  }
  auto outType = RankedTensorType::get(shape, t.getElementType());
  if (t.getRank() == 0)
    return tensor::ExpandShapeOp::create(b, loc, outType, reduced,
                                         ArrayRef<ReassociationIndices>{},
                                         outSizes);
  return tensor::ExpandShapeOp::create(b, loc, outType, reduced, reassoc,
                                       outSizes);
}

Value lowering::scalarCast(OpBuilder &b, Location loc, Value x, Type to) {
  Type from = x.getType();
  if (from == to)
    return x;
  auto fromF = dyn_cast<FloatType>(from), toF = dyn_cast<FloatType>(to);
  if (to.isInteger(1)) {
    if (fromF)
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x,
                                   floatConst(b, loc, from, 0.0));
    return arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ne, x,
        arith::ConstantOp::create(b, loc, b.getIntegerAttr(from, 0)));
  }
  if (fromF && toF)
    return fromF.getWidth() < toF.getWidth()
               ? (Value)arith::ExtFOp::create(b, loc, to, x)
               : (Value)arith::TruncFOp::create(b, loc, to, x);
  if (fromF)
    return arith::FPToSIOp::create(b, loc, to, x);
  if (toF)
    return from.isInteger(1) ? (Value)arith::UIToFPOp::create(b, loc, to, x)
                             : (Value)arith::SIToFPOp::create(b, loc, to, x);
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (fw < tw)
    return from.isInteger(1) ? (Value)arith::ExtUIOp::create(b, loc, to, x)
                             : (Value)arith::ExtSIOp::create(b, loc, to, x);
  return arith::TruncIOp::create(b, loc, to, x);
}

static Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Type t = x.getType();
  Value one = floatConst(b, loc, t, 1.0);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one, arith::AddFOp::create(b, loc, one, e));
}

Value lowering::scalarUnary(OpBuilder &b, Location loc, UnaryKind kind, Value x,
                            Type resultType) {
  Type t = x.getType();
  bool isF = isa<FloatType>(t);
  switch (kind) {
  case UnaryKind::neg:
    if (isF)
      return arith::NegFOp::create(b, loc, x);
    return arith::SubIOp::create(
        b, loc, arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, 0)), x);
  case UnaryKind::abs:
    if (isF)
      return math::AbsFOp::create(b, loc, x);
    return math::AbsIOp::create(b, loc, x);
  case UnaryKind::sqrt: return math::SqrtOp::create(b, loc, x);
  case UnaryKind::rsqrt: return math::RsqrtOp::create(b, loc, x);
  case UnaryKind::reciprocal:
    return arith::DivFOp::create(b, loc, floatConst(b, loc, t, 1.0), x);
  case UnaryKind::exp: return math::ExpOp::create(b, loc, x);
  case UnaryKind::log: return math::LogOp::create(b, loc, x);
  case UnaryKind::erf: return math::ErfOp::create(b, loc, x);
  case UnaryKind::tanh: return math::TanhOp::create(b, loc, x);
  case UnaryKind::sigmoid: return sigmoid(b, loc, x);
  case UnaryKind::cos: return math::CosOp::create(b, loc, x);
  case UnaryKind::sin: return math::SinOp::create(b, loc, x);
  case UnaryKind::not_:
    return arith::XOrIOp::create(
        b, loc, x, arith::ConstantOp::create(b, loc, b.getBoolAttr(true)));
  case UnaryKind::isnan:
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, x, x);
  case UnaryKind::relu:
    if (isF)
      return arith::MaximumFOp::create(b, loc, x, floatConst(b, loc, t, 0.0));
    return arith::MaxSIOp::create(
        b, loc, x, arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, 0)));
  case UnaryKind::floor: return math::FloorOp::create(b, loc, x);
  case UnaryKind::ceil: return math::CeilOp::create(b, loc, x);
  case UnaryKind::silu:
    return arith::MulFOp::create(b, loc, x, sigmoid(b, loc, x));
  case UnaryKind::gelu: {
    // 0.5 * x * (1 + erf(x / sqrt(2)))
    Value s = arith::MulFOp::create(b, loc, x,
                                    floatConst(b, loc, t, M_SQRT1_2));
    Value e = math::ErfOp::create(b, loc, s);
    Value one = arith::AddFOp::create(b, loc, e, floatConst(b, loc, t, 1.0));
    Value h = arith::MulFOp::create(b, loc, x, floatConst(b, loc, t, 0.5));
    return arith::MulFOp::create(b, loc, h, one);
  }
  case UnaryKind::gelu_tanh: {
    // 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))
    Value x3 = arith::MulFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, x, x));
    Value inner = arith::AddFOp::create(
        b, loc, x,
        arith::MulFOp::create(b, loc, x3, floatConst(b, loc, t, 0.044715)));
    inner = arith::MulFOp::create(
        b, loc, inner, floatConst(b, loc, t, 0.7978845608028654));
    Value th = math::TanhOp::create(b, loc, inner);
    Value one = arith::AddFOp::create(b, loc, th, floatConst(b, loc, t, 1.0));
    Value h = arith::MulFOp::create(b, loc, x, floatConst(b, loc, t, 0.5));
    return arith::MulFOp::create(b, loc, h, one);
  }
  }
  return x;
}

Value lowering::scalarBinary(OpBuilder &b, Location loc, BinaryKind kind,
                             Value x, Value y) {
  bool isF = isa<FloatType>(x.getType());
  switch (kind) {
  case BinaryKind::add:
    return isF ? (Value)arith::AddFOp::create(b, loc, x, y)
               : (Value)arith::AddIOp::create(b, loc, x, y);
  case BinaryKind::sub:
    return isF ? (Value)arith::SubFOp::create(b, loc, x, y)
               : (Value)arith::SubIOp::create(b, loc, x, y);
  case BinaryKind::mul:
    return isF ? (Value)arith::MulFOp::create(b, loc, x, y)
               : (Value)arith::MulIOp::create(b, loc, x, y);
  case BinaryKind::div:
    return isF ? (Value)arith::DivFOp::create(b, loc, x, y)
               : (Value)arith::DivSIOp::create(b, loc, x, y);
  case BinaryKind::pow: {
    if (!isF)
      return math::IPowIOp::create(b, loc, x, y);
    // x^2 is common (norms) and exact as a product.
    if (auto c = y.getDefiningOp<arith::ConstantOp>())
      if (auto f = dyn_cast<FloatAttr>(c.getValue())) {
        if (f.getValueAsDouble() == 2.0)
          return arith::MulFOp::create(b, loc, x, x);
        if (f.getValueAsDouble() == 1.0)
          return x;
        if (f.getValueAsDouble() == 0.5)
          return math::SqrtOp::create(b, loc, x);
      }
    return math::PowFOp::create(b, loc, x, y);
  }
  case BinaryKind::max:
    return isF ? (Value)arith::MaximumFOp::create(b, loc, x, y)
               : (Value)arith::MaxSIOp::create(b, loc, x, y);
  case BinaryKind::min:
    return isF ? (Value)arith::MinimumFOp::create(b, loc, x, y)
               : (Value)arith::MinSIOp::create(b, loc, x, y);
  case BinaryKind::and_: return arith::AndIOp::create(b, loc, x, y);
  case BinaryKind::or_: return arith::OrIOp::create(b, loc, x, y);
  case BinaryKind::xor_: return arith::XOrIOp::create(b, loc, x, y);
  case BinaryKind::mod:
    return isF ? (Value)arith::RemFOp::create(b, loc, x, y)
               : (Value)arith::RemSIOp::create(b, loc, x, y);
  }
  return x;
}

Value lowering::buildReshape(OpBuilder &b, Location loc, Value input,
                             RankedTensorType resultType, ValueRange dynDims) {
  if (input.getType() == resultType && resultType.hasStaticShape())
    return input;
  // Row-major reshape as collapse-to-1-D then expand: both are views after
  // bufferization. (memref.reshape is avoided: expand-strided-metadata in
  // MLIR 22 crashes on loads through a memref.reshape of a view, see
  // test/Upstream/expand-strided-metadata-reshape-crash.mlir.)
  auto inType = cast<RankedTensorType>(input.getType());
  Type et = inType.getElementType();
  Value flat = input;
  if (inType.getRank() != 1) {
    if (inType.getRank() == 0) {
      flat = tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get({1}, et), input,
          ArrayRef<ReassociationIndices>{}, ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    } else {
      ReassociationIndices all;
      for (int64_t i = 0; i < inType.getRank(); ++i)
        all.push_back(i);
      flat = tensor::CollapseShapeOp::create(
          b, loc, input, ArrayRef<ReassociationIndices>{all});
    }
  }
  int64_t rank = resultType.getRank();
  if (rank == 1) {
    Value r = flat;
    if (r.getType() != resultType)
      r = tensor::CastOp::create(b, loc, resultType, r);
    return r;
  }
  if (rank == 0) {
    // Collapse [1] to a 0-d tensor.
    Value one = flat;
    auto oneType = RankedTensorType::get({1}, et);
    if (one.getType() != oneType)
      one = tensor::CastOp::create(b, loc, oneType, one);
    return tensor::CollapseShapeOp::create(b, loc, resultType, one,
                                           ArrayRef<ReassociationIndices>{});
  }
  SmallVector<OpFoldResult> outSizes;
  size_t k = 0;
  for (int64_t i = 0; i < rank; ++i)
    outSizes.push_back(resultType.isDynamicDim(i)
                           ? OpFoldResult(dynDims[k++])
                           : OpFoldResult(b.getIndexAttr(resultType.getDimSize(i))));
  // The flat source must have a dynamic (or matching) size.
  auto flatType = cast<RankedTensorType>(flat.getType());
  if (!flatType.isDynamicDim(0) && !resultType.hasStaticShape())
    flat = tensor::CastOp::create(
        b, loc, RankedTensorType::get({ShapedType::kDynamic}, et), flat);
  // A dynamic source (a dim known only as 1) into a static result: the flat
  // size is the result's.
  if (flatType.isDynamicDim(0) && resultType.hasStaticShape())
    flat = tensor::CastOp::create(
        b, loc, RankedTensorType::get({resultType.getNumElements()}, et), flat);
  ReassociationIndices all;
  for (int64_t i = 0; i < rank; ++i)
    all.push_back(i);
  return tensor::ExpandShapeOp::create(b, loc, resultType, flat,
                                       ArrayRef<ReassociationIndices>{all},
                                       outSizes);
}

/// Collapses all dims of `v` but the last `keep` into one.
static Value collapseLeading(OpBuilder &b, Location loc, Value v,
                             int64_t keep) {
  auto t = cast<RankedTensorType>(v.getType());
  int64_t rank = t.getRank();
  if (rank == keep + 1)
    return v;
  SmallVector<ReassociationIndices> re;
  ReassociationIndices first;
  for (int64_t i = 0; i <= rank - keep - 1; ++i)
    first.push_back(i);
  if (rank - keep - 1 < 0)
    first.clear();
  re.push_back(first);
  for (int64_t i = rank - keep; i < rank; ++i)
    re.push_back({i});
  if (rank == keep) {
    // Add a unit leading dim.
    SmallVector<int64_t> shape = {1};
    shape.append(t.getShape().begin(), t.getShape().end());
    SmallVector<ReassociationIndices> ex;
    for (int64_t i = 0; i < rank; ++i)
      ex.push_back(i == 0 ? ReassociationIndices{0, 1}
                          : ReassociationIndices{i + 1});
    SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)};
    auto s = tensor::getMixedSizes(b, loc, v);
    sizes.append(s.begin(), s.end());
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, t.getElementType()), v, ex, sizes);
  }
  return tensor::CollapseShapeOp::create(b, loc, v, re);
}

/// Broadcasts the batch dims of `v` [..., x, y] to `batchSizes`.
static Value broadcastBatch(OpBuilder &b, Location loc, Value v,
                            ArrayRef<int64_t> batchShape,
                            ArrayRef<OpFoldResult> batchSizes) {
  auto t = cast<RankedTensorType>(v.getType());
  int64_t nb = batchShape.size();
  SmallVector<int64_t> shape(batchShape);
  shape.push_back(t.getShape()[t.getRank() - 2]);
  shape.push_back(t.getShape().back());
  bool same = t.getRank() == nb + 2;
  for (int64_t i = 0; same && i < nb; ++i)
    same = t.getShape()[i] == batchShape[i] &&
           !(t.getShape()[i] == 1 && batchShape[i] != 1);
  if (same)
    return v;
  auto outType = RankedTensorType::get(shape, t.getElementType());
  SmallVector<OpFoldResult> sizes(batchSizes);
  auto s = tensor::getMixedSizes(b, loc, v);
  sizes.push_back(s[s.size() - 2]);
  sizes.push_back(s.back());
  return buildElementwiseWithSizes(
      b, loc, outType, sizes, ValueRange{v},
      [](OpBuilder &, Location, ValueRange a) { return a[0]; });
}

Value lowering::buildMatmul(OpBuilder &b, Location loc, Value lhs, Value rhs,
                            RankedTensorType resultType) {
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  Type et = resultType.getElementType();
  int64_t rank = resultType.getRank();
  Value zero = arith::ConstantOp::create(b, loc, b.getFloatAttr(et, 0.0));
  SmallVector<OpFoldResult> ls = sizesOf(b, loc, lhs), rs = sizesOf(b, loc, rhs);
  OpFoldResult m = ls[ls.size() - 2], n = rs.back();

  // Weight-like rhs (2-D): fold all lhs batch dims into m.
  if (rt.getRank() == 2) {
    Value a = collapseLeading(b, loc, lhs, 1); // [M, k]
    SmallVector<OpFoldResult> sz = {tensor::getMixedSizes(b, loc, a)[0], n};
    Value init = tensor::EmptyOp::create(b, loc, sz, et);
    Value fill = linalg::FillOp::create(b, loc, ValueRange{zero},
                                        ValueRange{init})
                     .getResult(0);
    Value mm = linalg::MatmulOp::create(b, loc, fill.getType(),
                                        ValueRange{a, rhs}, ValueRange{fill})
                   .getResult(0);
    if (lt.getRank() == 2)
      return tensor::CastOp::create(b, loc, resultType, mm);
    SmallVector<OpFoldResult> outSizes(ls.begin(), ls.end() - 1);
    outSizes.push_back(n);
    SmallVector<ReassociationIndices> re;
    ReassociationIndices first;
    for (int64_t i = 0; i < rank - 1; ++i)
      first.push_back(i);
    re.push_back(first);
    re.push_back({rank - 1});
    return tensor::ExpandShapeOp::create(b, loc, resultType, mm, re, outSizes);
  }

  // General case: broadcast batch dims, collapse them into one.
  SmallVector<int64_t> batchShape(resultType.getShape().drop_back(2));
  SmallVector<OpFoldResult> batchSizes;
  int64_t nb = batchShape.size();
  for (int64_t i = 0; i < nb; ++i) {
    if (!ShapedType::isDynamic(batchShape[i])) {
      batchSizes.push_back(b.getIndexAttr(batchShape[i]));
      continue;
    }
    OpFoldResult chosen;
    for (auto [v, t] : {std::pair<Value, RankedTensorType>{lhs, lt},
                        std::pair<Value, RankedTensorType>{rhs, rt}}) {
      int64_t j = i - (nb - (t.getRank() - 2));
      if (j < 0 || t.getDimSize(j) == 1)
        continue;
      chosen = tensor::DimOp::create(b, loc, v, j).getResult();
      break;
    }
    batchSizes.push_back(chosen ? chosen : b.getIndexAttr(1));
  }
  Value a = broadcastBatch(b, loc, lhs, batchShape, batchSizes);
  Value c = broadcastBatch(b, loc, rhs, batchShape, batchSizes);
  a = collapseLeading(b, loc, a, 2); // [B, m, k]
  c = collapseLeading(b, loc, c, 2); // [B, k, n]
  SmallVector<OpFoldResult> sz = {tensor::getMixedSizes(b, loc, a)[0], m, n};
  Value init = tensor::EmptyOp::create(b, loc, sz, et);
  Value fill =
      linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init})
          .getResult(0);
  Value mm = linalg::BatchMatmulOp::create(b, loc, fill.getType(),
                                           ValueRange{a, c}, ValueRange{fill})
                 .getResult(0);
  if (rank == 3)
    return tensor::CastOp::create(b, loc, resultType, mm);
  SmallVector<OpFoldResult> outSizes(batchSizes);
  outSizes.push_back(m);
  outSizes.push_back(n);
  SmallVector<ReassociationIndices> re;
  ReassociationIndices first;
  for (int64_t i = 0; i < nb; ++i)
    first.push_back(i);
  if (nb == 0)
    return tensor::CollapseShapeOp::create(
        b, loc, resultType, mm,
        SmallVector<ReassociationIndices>{{0, 1}, {2}});
  re.push_back(first);
  re.push_back({nb});
  re.push_back({nb + 1});
  return tensor::ExpandShapeOp::create(b, loc, resultType, mm, re, outSizes);
}

Value lowering::buildSoftmax(OpBuilder &b, Location loc, Value input,
                             int64_t axis, bool zeroIfAllMasked) {
  auto t = cast<RankedTensorType>(input.getType());
  Type et = t.getElementType();
  int64_t rank = t.getRank();
  auto negInf = b.getFloatAttr(
      et, APFloat::getInf(cast<FloatType>(et).getFloatSemantics(), true));
  Value mx = buildReduction(b, loc, input, {axis}, negInf,
                            [](OpBuilder &nb, Location nl, Value x, Value acc) {
                              return arith::MaximumFOp::create(nb, nl, x, acc)
                                  .getResult();
                            });
  Value mxk = keepDims(b, loc, mx, rank, {axis});
  Value e = buildElementwise(
      b, loc, t, ValueRange{input, mxk},
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value m = a[1];
        if (zeroIfAllMasked) {
          // A row of -inf would give exp(nan); use 0 as its max.
          Value isInf = arith::CmpFOp::create(
              nb, nl, arith::CmpFPredicate::OEQ, m,
              arith::ConstantOp::create(nb, nl, negInf));
          m = arith::SelectOp::create(nb, nl, isInf, floatConst(nb, nl, et, 0),
                                      m);
        }
        return math::ExpOp::create(nb, nl,
                                   arith::SubFOp::create(nb, nl, a[0], m));
      });
  Value sum = buildReduction(b, loc, e, {axis}, b.getFloatAttr(et, 0.0),
                             [](OpBuilder &nb, Location nl, Value x, Value acc) {
                               return arith::AddFOp::create(nb, nl, x, acc)
                                   .getResult();
                             });
  Value sumk = keepDims(b, loc, sum, rank, {axis});
  return buildElementwise(
      b, loc, t, ValueRange{e, sumk},
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        if (!zeroIfAllMasked)
          return arith::DivFOp::create(nb, nl, a[0], a[1]);
        Value isZero = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                             a[1], floatConst(nb, nl, et, 0));
        Value q = arith::DivFOp::create(nb, nl, a[0], a[1]);
        return arith::SelectOp::create(nb, nl, isZero,
                                       floatConst(nb, nl, et, 0), q);
      });
}
