//===- ReshapeViews.cpp - contiguous expand/collapse_shape -> reinterpret
//--===//
//
// MLIR 22.1's expand-strided-metadata crashes on memref.expand_shape with
// dynamic output sizes (test/Upstream/expand-strided-metadata-reshape-
// crash.mlir). For the contiguous, identity-layout case that bufferization
// produces here, a reshape view is a reinterpret_cast with row-major strides,
// which this pass emits directly.
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "tfc/Conversion/Pipelines.h"

using namespace mlir;

namespace {

/// Row-major strides for `sizes` (last stride 1).
SmallVector<OpFoldResult> rowMajorStrides(OpBuilder &b, Location loc,
                                          ArrayRef<OpFoldResult> sizes) {
  SmallVector<OpFoldResult> strides(sizes.size());
  OpFoldResult acc = b.getIndexAttr(1);
  for (int64_t i = (int64_t)sizes.size() - 1; i >= 0; --i) {
    strides[i] = acc;
    auto a = getConstantIntValue(acc), s = getConstantIntValue(sizes[i]);
    if (a && s)
      acc = b.getIndexAttr(*a * *s);
    else
      acc = b.createOrFold<arith::MulIOp>(
          loc, getValueOrCreateConstantIndexOp(b, loc, acc),
          getValueOrCreateConstantIndexOp(b, loc, sizes[i]));
  }
  return strides;
}

/// Whether replaceWithReinterpret takes `src` -> `resultType`: an identity
/// source with an identity result, or a 1-D unit-stride source at an offset.
/// Checked before a pattern creates anything: a pattern that builds ops
/// (the collapse's memref.dim) and then fails makes the greedy driver
/// erase them and try again, forever (a [1, ?] slice of a constant,
/// collapsed, never converged and failed the pass without a word).
bool canReinterpret(MemRefType srcType, MemRefType resultType) {
  if (srcType.getLayout().isIdentity())
    return resultType.getLayout().isIdentity();
  SmallVector<int64_t> strides;
  int64_t offset;
  return srcType.getRank() == 1 &&
         succeeded(srcType.getStridesAndOffset(strides, offset)) &&
         strides[0] == 1;
}

LogicalResult replaceWithReinterpret(PatternRewriter &rw, Operation *op,
                                     Value src, MemRefType resultType,
                                     ArrayRef<OpFoldResult> sizes) {
  auto srcType = cast<MemRefType>(src.getType());
  OpFoldResult offset = rw.getIndexAttr(0);
  if (!srcType.getLayout().isIdentity()) {
    // Also a contiguous 1-D slice at an offset (a subview of a flat
    // buffer, as the all_gather lowering makes): the view keeps its offset.
    SmallVector<int64_t> srcStrides;
    int64_t srcOffset;
    if (srcType.getRank() != 1 ||
        failed(srcType.getStridesAndOffset(srcStrides, srcOffset)) ||
        srcStrides[0] != 1)
      return failure();
    offset = ShapedType::isDynamic(srcOffset)
                 ? OpFoldResult(memref::ExtractStridedMetadataOp::create(
                                    rw, op->getLoc(), src)
                                    .getOffset())
                 : OpFoldResult(rw.getIndexAttr(srcOffset));
  } else if (!resultType.getLayout().isIdentity()) {
    return failure();
  }
  SmallVector<OpFoldResult> strides = rowMajorStrides(rw, op->getLoc(), sizes);
  rw.replaceOpWithNewOp<memref::ReinterpretCastOp>(op, resultType, src, offset,
                                                   sizes, strides);
  return success();
}

struct ExpandToReinterpret : OpRewritePattern<memref::ExpandShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::ExpandShapeOp op,
                                PatternRewriter &rw) const override {
    if (!canReinterpret(op.getSrcType(), op.getResultType()))
      return failure();
    return replaceWithReinterpret(rw, op, op.getSrc(), op.getResultType(),
                                  op.getMixedOutputShape());
  }
};

struct CollapseToReinterpret : OpRewritePattern<memref::CollapseShapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(memref::CollapseShapeOp op,
                                PatternRewriter &rw) const override {
    if (!canReinterpret(op.getSrcType(), op.getResultType()))
      return failure();
    Location loc = op.getLoc();
    SmallVector<OpFoldResult> sizes;
    auto srcType = op.getSrcType();
    for (const ReassociationIndices &group : op.getReassociationIndices()) {
      OpFoldResult acc = rw.getIndexAttr(1);
      for (int64_t d : group) {
        OpFoldResult s =
            srcType.isDynamicDim(d)
                ? OpFoldResult(memref::DimOp::create(rw, loc, op.getSrc(), d)
                                   .getResult())
                : OpFoldResult(rw.getIndexAttr(srcType.getDimSize(d)));
        auto a = getConstantIntValue(acc), c = getConstantIntValue(s);
        acc = (a && c) ? OpFoldResult(rw.getIndexAttr(*a * *c))
                       : OpFoldResult(rw.createOrFold<arith::MulIOp>(
                             loc, getValueOrCreateConstantIndexOp(rw, loc, acc),
                             getValueOrCreateConstantIndexOp(rw, loc, s)));
      }
      sizes.push_back(acc);
    }
    return replaceWithReinterpret(rw, op, op.getSrc(), op.getResultType(),
                                  sizes);
  }
};

struct LowerReshapeViewsPass
    : public PassWrapper<LowerReshapeViewsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(LowerReshapeViewsPass)
  StringRef getArgument() const override { return "tfc-lower-reshape-views"; }
  StringRef getDescription() const override {
    return "Rewrite contiguous memref.expand_shape/collapse_shape as "
           "memref.reinterpret_cast with row-major strides";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<memref::MemRefDialect, arith::ArithDialect>();
  }
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandToReinterpret, CollapseToReinterpret>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns)))) {
      getOperation().emitError(
          "tfc-lower-reshape-views: the reshape rewrites did not converge");
      signalPassFailure();
    }
  }
};
} // namespace

std::unique_ptr<Pass> mlir::tfc::createLowerReshapeViewsPass() {
  return std::make_unique<LowerReshapeViewsPass>();
}
