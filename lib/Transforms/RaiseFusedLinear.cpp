//===- RaiseFusedLinear.cpp - split fused projections (qkv, gate_up) ------===//
//
// Part of --tfc-raise-linear. Phi-3-style models fuse projections into one
// weight: `qkv_proj` ([d, (hq + 2 hkv) * hd]) and `gate_up_proj` ([d, 2 h]),
// and slice the product along its last dim (ONNX Slice or Split). When every
// use of a tfc.linear with a constant weight is such a slice (static offset
// and size on the last dim, the whole extent of every other dim, stride 1),
// the linear becomes one tfc.linear per slice over the matching columns of
// the weight (and entries of the bias). The attention, gated-MLP and rotary
// raisings then see ordinary q/k/v and gate/up projections, and the tensor
// partition shards them like any other. Overlapping slices are fine (each
// gets its own copy of the columns); a linear with any other use is left
// alone. A slice that provably takes all of its source is dropped too (the
// rotary part of a partial-rotary model whose rotary covers the whole head).
//
//===----------------------------------------------------------------------===//
#include "RaiseFusedLinear.h"
#include "RaiseUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::raise;

namespace {

/// True when `v` is an arith.constant with a static shape and whole-byte
/// elements held as dense or resource elements (with data).
bool isSliceableConstant(Value v) {
  auto c = def<arith::ConstantOp>(v);
  if (!c)
    return false;
  auto type = dyn_cast<RankedTensorType>(c.getType());
  if (!type || !type.hasStaticShape() || !type.getElementType().isIntOrFloat() ||
      type.getElementTypeBitWidth() % 8 != 0)
    return false;
  if (isa<DenseElementsAttr>(c.getValue()))
    return true;
  auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue());
  return res && res.getRawHandle().getBlob();
}

/// A new constant holding [start, start + len) of `cst` along `axis`.
Value sliceConstant(PatternRewriter &rewriter, Value cst, int64_t axis,
                    int64_t start, int64_t len) {
  auto c = cst.getDefiningOp<arith::ConstantOp>();
  auto type = cast<RankedTensorType>(c.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[axis] = len;
  auto newType = type.clone(shape);
  Attribute attr;
  auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
  if (dense && dense.isSplat()) {
    attr = dense.resizeSplat(newType);
  } else {
    auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue());
    ArrayRef<char> data =
        dense ? dense.getRawData() : res.getRawHandle().getBlob()->getData();
    int64_t inner = type.getElementTypeBitWidth() / 8, outer = 1;
    for (int64_t i = axis + 1; i < type.getRank(); ++i)
      inner *= type.getDimSize(i);
    for (int64_t i = 0; i < axis; ++i)
      outer *= type.getDimSize(i);
    std::vector<char> out;
    out.reserve(outer * len * inner);
    for (int64_t o = 0; o < outer; ++o) {
      const char *src =
          data.data() + (o * type.getDimSize(axis) + start) * inner;
      out.insert(out.end(), src, src + len * inner);
    }
    if (dense) {
      attr = DenseElementsAttr::getFromRawBuffer(newType, out);
    } else {
      std::string name = (res.getRawHandle().getKey() + "_c" + Twine(start) +
                          "_" + Twine(len))
                             .str();
      attr = DenseResourceElementsAttr::get(
          newType, name,
          HeapAsmResourceBlob::allocateAndCopyWithAlign(
              ArrayRef<char>(out), alignof(std::max_align_t)));
    }
  }
  return arith::ConstantOp::create(rewriter, c.getLoc(), cast<TypedAttr>(attr));
}

/// The [offset, size) a slice takes of the last dim of `src`, if it takes the
/// whole of every other dim with unit strides.
std::optional<std::pair<int64_t, int64_t>>
lastDimSlice(tensor::ExtractSliceOp s, Value src) {
  auto st = rtt(src);
  int64_t r = st.getRank();
  if (s.getSource() != src || rtt(s.getResult()).getRank() != r)
    return std::nullopt;
  SmallVector<OpFoldResult> offs = s.getMixedOffsets(),
                            sizes = s.getMixedSizes(),
                            strides = s.getMixedStrides();
  for (int64_t i = 0; i < r; ++i) {
    std::optional<int64_t> st1 = getConstantIntValue(strides[i]);
    std::optional<int64_t> off = getConstantIntValue(offs[i]);
    if (!st1 || *st1 != 1 || !off)
      return std::nullopt;
    if (i == r - 1)
      continue;
    if (*off != 0)
      return std::nullopt;
    DimRef whole = resolveDim(src, i);
    DimRef taken;
    if (std::optional<int64_t> c = getConstantIntValue(sizes[i]))
      taken.size = *c;
    else
      taken = resolveSize(cast<Value>(sizes[i]));
    if (!sameDim(whole, taken) && !sameDim(s.getResult(), i, src, i))
      return std::nullopt;
  }
  std::optional<int64_t> off = getConstantIntValue(offs[r - 1]);
  std::optional<int64_t> size = getConstantIntValue(sizes[r - 1]);
  if (!size)
    return std::nullopt;
  return std::make_pair(*off, *size);
}

struct SplitFusedLinear : OpRewritePattern<LinearOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LinearOp op,
                                PatternRewriter &rewriter) const override {
    Value res = op.getResult();
    if (res.use_empty() || !isSliceableConstant(op.getWeight()) ||
        (op.getBias() && !isSliceableConstant(op.getBias())))
      return rewriter.notifyMatchFailure(op, "weight or bias not sliceable");
    int64_t n = rtt(res).getShape().back();
    SmallVector<std::pair<tensor::ExtractSliceOp, std::pair<int64_t, int64_t>>>
        slices;
    for (Operation *user : res.getUsers()) {
      auto s = dyn_cast<tensor::ExtractSliceOp>(user);
      if (!s)
        return rewriter.notifyMatchFailure(op, "a use is not a slice");
      auto piece = lastDimSlice(s, res);
      if (!piece || piece->first < 0 || piece->second <= 0 ||
          piece->first + piece->second > n)
        return rewriter.notifyMatchFailure(op, "not a last-dim slice");
      slices.push_back({s, *piece});
    }
    // One slice of all the columns is no fusion.
    if (slices.size() == 1 && slices[0].second.second == n)
      return failure();
    int64_t outAxis = op.getTransposeWeight() ? 0 : 1;
    for (auto &[s, piece] : slices) {
      rewriter.setInsertionPoint(s);
      Value w = sliceConstant(rewriter, op.getWeight(), outAxis, piece.first,
                              piece.second);
      Value b;
      if (op.getBias())
        b = sliceConstant(rewriter, op.getBias(), 0, piece.first,
                          piece.second);
      rewriter.replaceOpWithNewOp<LinearOp>(s, s.getResult().getType(),
                                            op.getInput(), w, b,
                                            op.getTransposeWeight());
    }
    rewriter.eraseOp(op);
    return success();
  }
};

/// A slice that provably takes the whole source (zero offsets, unit strides,
/// every size the source's dim) is the source. Canonicalization cannot see
/// it when the sizes are dynamic values of another tensor (Phi-3's
/// `q[..., :rotary_dim]` with a full-width rotary).
struct DropWholeSlice : OpRewritePattern<tensor::ExtractSliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(tensor::ExtractSliceOp s,
                                PatternRewriter &rewriter) const override {
    Value src = s.getSource();
    auto st = rtt(src);
    if (rtt(s.getResult()).getRank() != st.getRank())
      return failure();
    SmallVector<OpFoldResult> offs = s.getMixedOffsets(),
                              sizes = s.getMixedSizes(),
                              strides = s.getMixedStrides();
    for (int64_t i = 0; i < st.getRank(); ++i) {
      if (getConstantIntValue(offs[i]) != std::optional<int64_t>(0) ||
          getConstantIntValue(strides[i]) != std::optional<int64_t>(1))
        return failure();
      DimRef taken;
      if (std::optional<int64_t> c = getConstantIntValue(sizes[i]))
        taken.size = *c;
      else
        taken = resolveSize(cast<Value>(sizes[i]));
      if (!sameDim(resolveDim(src, i), taken))
        return failure();
    }
    if (src.getType() == s.getResult().getType())
      rewriter.replaceOp(s, src);
    else
      rewriter.replaceOpWithNewOp<tensor::CastOp>(s, s.getResult().getType(),
                                                  src);
    return success();
  }
};

} // namespace

void mlir::tfc::raise::populateSplitFusedLinearPatterns(
    RewritePatternSet &patterns) {
  patterns.add<SplitFusedLinear, DropWholeSlice>(patterns.getContext());
}
