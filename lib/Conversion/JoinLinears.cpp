//===- JoinLinears.cpp - sibling projections as one GEMM ------------------===//
//
// tfc-join-linears (before tfc-cpu-kernels: the CPU target with its linear
// kernels, and CUDA with cuBLASLt GEMMs): the linears that read one
// activation and
// whose results are each split into heads of one head size -- an
// attention's q, k and v projections --
//
//   %q = tfc.linear %x, %wq                      [.., nq]
//   %q4 = tfc.reshape %q[dims] -> [.., nq / d, d]
//   %k = tfc.linear %x, %wk  ...  %v = ...
//
// become one linear over their weights side by side (a new constant
// [k, nq + nk + nv], made once per set of weights, so a KV-cache model's
// two entries share it; biases joined the same way) whose result is split
// into heads once and sliced per projection:
//
//   %qkv = tfc.linear %x, %wqkv                  [.., nq + nk + nv]
//   %h = tfc.reshape %qkv[dims] -> [.., (nq + nk + nv) / d, d]
//   %q4 = tensor.extract_slice %h[0, .., 0, 0] [.., nq / d, d]
//   %k4 = tensor.extract_slice %h[0, .., nq / d, 0] [.., nk / d, d]  ...
//
// One GEMM instead of three (on the GPU a decode step's GEMMs are
// launch-bound; on the CPU a wider GEMM runs closer to the FMA peak and
// packs its rows once), with every output element the same dot product as
// before. The head slices are
// views (strided in the heads dim): the rotary, the heads transposes and the
// attention read them in place, so no copy replaces the saved launches.
// Why heads: a slice of the flat [.., n] product would be non-contiguous,
// and the reshape after it would need a copy.
//
// Joined only: linears in one block with an f32 activation, a constant
// weight (with its data) of one type and layout, all with constant f32
// biases or none, each result used only by a reshape that splits its last
// dim into [n / d, d] with the same static d. Anything else (an epilogue
// candidate such as an activation or a residual add, a computed weight, a
// different head size) is left as it is.
//
//===----------------------------------------------------------------------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassRegistry.h"
#include "tfc/Conversion/Pipelines.h"
#include "llvm/ADT/MapVector.h"

using namespace mlir;
using namespace mlir::tfc;

namespace {

RankedTensorType rtt(Value v) { return cast<RankedTensorType>(v.getType()); }

/// A projection that may be joined: its head reshape and head size.
struct Projection {
  LinearOp op;
  ReshapeOp heads;
  int64_t headDim;
};

std::optional<Projection> projectionOf(LinearOp op) {
  auto xt = rtt(op.getInput()), wt = rtt(op.getWeight()),
       rt = rtt(op.getResult());
  if (!xt.getElementType().isF32() || !rt.getElementType().isF32() ||
      xt.getRank() < 2 || wt.getRank() != 2 || !wt.hasStaticShape() ||
      rt.isDynamicDim(rt.getRank() - 1))
    return std::nullopt;
  Type we = wt.getElementType();
  if (!(we.isF32() || we.isF16() || we.isBF16()) ||
      !op.getWeight().getDefiningOp<arith::ConstantOp>())
    return std::nullopt;
  if (Value bias = op.getBias())
    if (!bias.getDefiningOp<arith::ConstantOp>() || rtt(bias).getRank() != 1 ||
        !rtt(bias).getElementType().isF32())
      return std::nullopt;
  if (!op.getResult().hasOneUse())
    return std::nullopt;
  auto heads = dyn_cast<ReshapeOp>(*op.getResult().getUsers().begin());
  if (!heads)
    return std::nullopt;
  auto ht = rtt(heads.getResult());
  int64_t r = ht.getRank();
  if (r < 3)
    return std::nullopt;
  int64_t h = ht.getShape()[r - 2], d = ht.getShape()[r - 1];
  if (ShapedType::isDynamic(h) || ShapedType::isDynamic(d) ||
      h * d != rt.getShape().back())
    return std::nullopt;
  return Projection{op, heads, d};
}

/// Whether `p` can be joined with `q` (the first of its group).
bool compatible(Projection p, Projection q) {
  return p.op->getBlock() == q.op->getBlock() && p.headDim == q.headDim &&
         rtt(p.op.getWeight()).getElementType() ==
             rtt(q.op.getWeight()).getElementType() &&
         p.op.getTransposeWeight() == q.op.getTransposeWeight() &&
         !p.op.getBias() == !q.op.getBias() &&
         rtt(p.heads.getResult()).getRank() ==
             rtt(q.heads.getResult()).getRank();
}

/// Rewrites `group` (in block order) as one linear and head slices; false
/// when the joined constants cannot be made (the IR is then unchanged but
/// for unused constants).
bool join(ArrayRef<Projection> group, lowering::ConcatCache &cache) {
  LinearOp first = group.front().op;
  OpBuilder b(first);
  SmallVector<Location> locs;
  for (Projection p : group)
    locs.push_back(p.op.getLoc());
  Location loc = b.getFusedLoc(locs);
  bool tw = first.getTransposeWeight();
  SmallVector<Value> ws, bs;
  for (Projection p : group) {
    ws.push_back(p.op.getWeight());
    if (p.op.getBias())
      bs.push_back(p.op.getBias());
  }
  Value w = lowering::concatConstants(b, loc, ws, tw ? 0 : 1, cache);
  if (!w)
    return false;
  Value bias;
  if (!bs.empty() &&
      !(bias = lowering::concatConstants(b, loc, bs, /*axis=*/0, cache)))
    return false;
  int64_t n = rtt(w).getShape()[tw ? 0 : 1];
  auto rt = rtt(first.getResult());
  SmallVector<int64_t> shape(rt.getShape());
  shape.back() = n;
  auto joined = LinearOp::create(b, loc, rt.clone(shape), first.getInput(), w,
                                 bias, b.getBoolAttr(tw));
  // Annotations (tfc-quantize's scheme) as the first projection's.
  for (NamedAttribute a : first->getDiscardableAttrs())
    joined->setAttr(a.getName(), a.getValue());

  int64_t d = group.front().headDim, offset = 0;
  for (Projection p : group) {
    ReshapeOp rs = p.heads;
    auto ht = rtt(rs.getResult());
    int64_t r = ht.getRank(), h = ht.getShape()[r - 2];
    b.setInsertionPoint(rs);
    // [lead.., n / d, d] with the projection's own lead dims.
    SmallVector<int64_t> allShape(ht.getShape());
    allShape[r - 2] = n / d;
    Value all = ReshapeOp::create(b, rs.getLoc(), ht.clone(allShape),
                                  joined.getResult(), rs.getDims());
    SmallVector<OpFoldResult> offsets(r, b.getIndexAttr(0)), sizes,
        strides(r, b.getIndexAttr(1));
    offsets[r - 2] = b.getIndexAttr(offset / d);
    unsigned dyn = 0;
    for (int64_t i = 0; i < r; ++i)
      sizes.push_back(ht.isDynamicDim(i) ? OpFoldResult(rs.getDims()[dyn++])
                                         : b.getIndexAttr(ht.getDimSize(i)));
    Value slice = tensor::ExtractSliceOp::create(b, rs.getLoc(), ht, all,
                                                 offsets, sizes, strides);
    rs.getResult().replaceAllUsesWith(slice);
    rs.erase();
    p.op.erase();
    offset += h * d;
  }
  return true;
}

struct JoinLinearsPass
    : public PassWrapper<JoinLinearsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(JoinLinearsPass)
  StringRef getArgument() const override { return "tfc-join-linears"; }
  StringRef getDescription() const override {
    return "Join the linears that read one activation and whose results are "
           "split into heads of one size (q / k / v) into one linear over a "
           "joined constant weight, sliced per projection (the CUDA target: "
           "one GEMM instead of several)";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<tensor::TensorDialect, arith::ArithDialect>();
  }
  void runOnOperation() override {
    // Per activation, its projections in block order.
    llvm::MapVector<Value, SmallVector<Projection>> byInput;
    getOperation().walk([&](LinearOp op) {
      if (std::optional<Projection> p = projectionOf(op))
        byInput[op.getInput()].push_back(*p);
    });
    lowering::ConcatCache cache;
    for (auto &[x, all] : byInput) {
      SmallVector<Projection> group;
      for (Projection p : all)
        if (compatible(p, all.front()))
          group.push_back(p);
      if (group.size() > 1)
        (void)join(group, cache);
    }
  }
};

} // namespace

std::unique_ptr<Pass> mlir::tfc::createJoinLinearsPass() {
  return std::make_unique<JoinLinearsPass>();
}

void mlir::tfc::registerJoinLinearsPass() {
  PassRegistration<JoinLinearsPass>();
}
