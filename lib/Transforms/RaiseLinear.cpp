//===- RaiseLinear.cpp - matmul / gather -> linear / embedding ------------===//
//
// tfc.matmul(x, W) with W a 2-D constant [k, n] (or a [1, 0] transpose of a
// constant [n, k], kept as `transpose_weight` so a tied embedding table is
// not duplicated) becomes tfc.linear; a following tfc.binary add of a 1-D
// constant [n] folds in as the bias. tfc.gather on axis 0 of a 2-D constant
// table with integer indices becomes tfc.embedding. A linear whose every use
// is a slice of its last dim (fused qkv_proj / gate_up_proj) is split into
// one linear per slice (RaiseFusedLinear.cpp).
//
//===----------------------------------------------------------------------===//
#include "RaiseFusedLinear.h"
#include "RaiseUtils.h"
#include "tfc/Transforms/Passes.h"

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCRAISELINEAR
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::raise;

namespace {

/// matmul(x [..., m, k], W [k, n]) -> linear(x, W).
struct MatmulToLinear : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    Value w = op.getRhs();
    if (rtt(w).getRank() != 2)
      return rewriter.notifyMatchFailure(op, "weight is not 2-D");
    bool transposed = false;
    if (!isConstant(w)) {
      auto tr = def<TransposeOp>(w);
      if (!tr || !isConstant(tr.getInput()) ||
          tr.getPerm() != ArrayRef<int64_t>{1, 0})
        return rewriter.notifyMatchFailure(op, "weight is not a constant");
      w = tr.getInput();
      transposed = true;
    }
    auto result = rtt(op.getResult());
    if (result.getRank() != rtt(op.getLhs()).getRank())
      return rewriter.notifyMatchFailure(op, "rank changes");
    rewriter.replaceOpWithNewOp<LinearOp>(op, result, op.getLhs(), w,
                                          /*bias=*/Value(), transposed);
    return success();
  }
};

/// add(linear(x, W), b [n]) (either order) -> linear(x, W, b).
struct FoldLinearBias : OpRewritePattern<BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BinaryOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getFn() != BinaryKind::add)
      return failure();
    LinearOp lin;
    Value bias;
    bool ok = matchEitherOrder(op, [&](Value a, Value b) {
      auto l = def<LinearOp>(a);
      if (!l || l.getBias() || !l->hasOneUse() || !isConstant(b))
        return false;
      auto bt = rtt(b), lt = rtt(l.getResult());
      if (bt.getRank() != 1 || bt.getElementType() != lt.getElementType() ||
          bt.getDimSize(0) != lt.getShape().back() ||
          ShapedType::isDynamic(bt.getDimSize(0)))
        return false;
      lin = l;
      bias = b;
      return true;
    });
    if (!ok)
      return rewriter.notifyMatchFailure(op, "not linear + 1-D constant");
    if (op.getResult().getType() != lin.getResult().getType())
      return rewriter.notifyMatchFailure(op, "bias add broadcasts");
    rewriter.replaceOpWithNewOp<LinearOp>(op, lin.getResult().getType(),
                                          lin.getInput(), lin.getWeight(), bias,
                                          lin.getTransposeWeight());
    return success();
  }
};

/// gather(table [vocab, dim] constant, ids, axis 0) -> embedding(table, ids).
struct GatherToEmbedding : OpRewritePattern<GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getAxis() != 0 || rtt(op.getInput()).getRank() != 2 ||
        !isConstant(op.getInput()))
      return rewriter.notifyMatchFailure(op, "not a constant 2-D table");
    if (!isa<IntegerType>(rtt(op.getIndices()).getElementType()))
      return failure();
    rewriter.replaceOpWithNewOp<EmbeddingOp>(op, op.getResult().getType(),
                                             op.getInput(), op.getIndices());
    return success();
  }
};

struct RaiseLinearPass : tfc::impl::TfcRaiseLinearBase<RaiseLinearPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<MatmulToLinear, FoldLinearBias, GatherToEmbedding>(
        &getContext());
    populateSplitFusedLinearPatterns(patterns);
    // Not converging is no error: whatever was raised is valid IR.
    (void)applyPatternsGreedily(getOperation(), std::move(patterns),
                                raiseConfig());
  }
};

} // namespace
