//===- LinalgToKernels.cpp - f32 matmuls -> libtfcrt micro-kernels --------===//
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "tfc/Transforms/Passes.h"

using namespace mlir;

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCLINALGTOKERNELS
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

namespace {

constexpr const char *kMatmulKernel = "tfcrt_matmul_f32";

MemRefType strided3(MLIRContext *ctx, Type elem = {}) {
  int64_t d = ShapedType::kDynamic;
  return MemRefType::get({d, d, d}, elem ? elem : Float32Type::get(ctx),
                         StridedLayoutAttr::get(ctx, d, {d, d, d}));
}

/// A rank-3 strided view of a rank-2 or rank-3 memref (rank 2 gets a leading
/// unit batch dim with stride 0).
Value as3d(OpBuilder &b, Location loc, Value m) {
  auto t = cast<MemRefType>(m.getType());
  MemRefType s3 = strided3(b.getContext(), t.getElementType());
  if (t.getRank() == 3)
    return memref::CastOp::create(b, loc, s3, m);
  auto md = memref::ExtractStridedMetadataOp::create(b, loc, m);
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(1)}, strides = {
                                                             b.getIndexAttr(0)};
  for (Value s : md.getSizes())
    sizes.push_back(s);
  for (Value s : md.getStrides())
    strides.push_back(s);
  return memref::ReinterpretCastOp::create(b, loc, s3, md.getBaseBuffer(),
                                           OpFoldResult(md.getOffset()), sizes,
                                           strides);
}

/// Conservatively: may `op` write the buffer `v`?
bool mayWrite(Operation *op, Value v) {
  if (auto copy = dyn_cast<memref::CopyOp>(op))
    return copy.getTarget() == v;
  if (auto lop = dyn_cast<linalg::LinalgOp>(op))
    return llvm::is_contained(lop.getDpsInits(), v);
  if (isa<memref::DimOp, memref::DeallocOp>(op))
    return false;
  if (op->getNumRegions() && !isa<linalg::LinalgOp>(op))
    return true; // loops may write through captured views
  return llvm::is_contained(op->getOperands(), v);
}

/// The op that zero-initializes `out` before the matmul accumulates onto
/// it: a linalg.fill of zero, or a memref.copy from a zero-filled buffer
/// (after CSE merged identical fills). Searched backwards in the block,
/// giving up at any other use of `out`.
Operation *zeroInitBefore(Operation *from, Value out, bool allowCopy = true) {
  bool sawReader = false;
  for (Operation *op = from->getPrevNode(); op; op = op->getPrevNode()) {
    if (auto fill = dyn_cast<linalg::FillOp>(op)) {
      if (fill.getOutputs()[0] == out)
        return matchPattern(fill.getInputs()[0], m_AnyZeroFloat())
                   ? op
                   : nullptr;
    }
    if (auto copy = dyn_cast<memref::CopyOp>(op)) {
      if (copy.getTarget() == out) {
        // The copy is erased later, so nothing may read `out` in between.
        if (!allowCopy || sawReader)
          return nullptr;
        auto *init = zeroInitBefore(op, copy.getSource(), false);
        return init ? op : nullptr;
      }
    }
    if (mayWrite(op, out))
      return nullptr;
    if (!isa<memref::DimOp>(op) && llvm::is_contained(op->getOperands(), out))
      sawReader = true;
  }
  return nullptr;
}

/// The constant `w` when `v` is a buffer that only a linalg.transpose [1, 0]
/// of `w` (a memref.get_global, never written) fills and that is otherwise
/// only the right operand of matmuls or freed: a tied lm head (tfc.linear
/// with transpose_weight). The kernel then reads `w` through a transposed
/// view instead of a copy made on every run (113 MB for SmolLM2's
/// embedding, more than the rest of a decode step's temporaries).
Value transposedConstant(Value v) {
  auto alloc = v.getDefiningOp<memref::AllocOp>();
  if (!alloc || cast<MemRefType>(v.getType()).getRank() != 2)
    return {};
  linalg::TransposeOp tr;
  for (OpOperand &use : v.getUses()) {
    Operation *u = use.getOwner();
    if (auto t = dyn_cast<linalg::TransposeOp>(u)) {
      if (tr || t.getInit() != v)
        return {};
      tr = t;
    } else if (auto mm = dyn_cast<linalg::MatmulOp>(u)) {
      if (use.getOperandNumber() != 1)
        return {};
    } else if (!isa<memref::DeallocOp>(u)) {
      return {};
    }
  }
  if (!tr || tr.getPermutation() != ArrayRef<int64_t>{1, 0} ||
      !tr.getInput().getDefiningOp<memref::GetGlobalOp>())
    return {};
  return tr.getInput();
}

/// True iff every use of `out` other than `fill` and `mm` (and memref.dim)
/// comes after `mm` in its block: the zeros written by `fill` are read by
/// nothing but `mm`, which overwrites them.
bool onlyUsedAfter(Operation *fill, Operation *mm, Value out) {
  Block *block = mm->getBlock();
  if (fill->getBlock() != block)
    return false;
  for (Operation *u : out.getUsers()) {
    if (u == fill || u == mm || isa<memref::DimOp>(u))
      continue;
    Operation *at = block->findAncestorOpInBlock(*u);
    if (!at || !mm->isBeforeInBlock(at))
      return false;
  }
  return true;
}

struct LinalgToKernelsPass
    : public tfc::impl::TfcLinalgToKernelsBase<LinalgToKernelsPass> {
  using TfcLinalgToKernelsBase::TfcLinalgToKernelsBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    bool gpu = target == "cuda";
    if (!gpu && target != "cpu") {
      module.emitError("tfc-linalg-to-kernels: unknown target '")
          << target << "' (expected cpu or cuda)";
      return signalPassFailure();
    }
    // The kernel for an element type, or "" when there is none.
    auto kernelFor = [&](Type t) -> std::string {
      if (t.isF32())
        return gpu ? "tfcrt_gpu_matmul_f32" : kMatmulKernel;
      if (gpu && t.isF16())
        return "tfcrt_gpu_matmul_f16";
      if (gpu && t.isBF16())
        return "tfcrt_gpu_matmul_bf16";
      return "";
    };
    // Each matmul with the op that zero-initializes its output.
    SmallVector<std::pair<Operation *, Operation *>> matmuls;
    module.walk([&](Operation *op) {
      if (!isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op))
        return;
      auto lop = cast<linalg::LinalgOp>(op);
      if (!lop.hasPureBufferSemantics())
        return;
      // Default (non-transposed, non-broadcast) indexing maps only.
      if (auto mmOp = dyn_cast<linalg::MatmulOp>(op))
        if (mmOp.hasUserDefinedMaps())
          return;
      if (auto bmOp = dyn_cast<linalg::BatchMatmulOp>(op))
        if (bmOp.hasUserDefinedMaps())
          return;
      Type elem = cast<MemRefType>(op->getOperand(0).getType()).getElementType();
      if (kernelFor(elem).empty())
        return;
      for (Value v : op->getOperands())
        if (cast<MemRefType>(v.getType()).getElementType() != elem)
          return;
      if (Operation *init =
              zeroInitBefore(op, lop.getDpsInitOperand(0)->get()))
        matmuls.push_back({op, init});
    });
    if (matmuls.empty())
      return;
    OpBuilder b(ctx);
    auto declare = [&](Type elem) {
      std::string name = kernelFor(elem);
      if (!module.lookupSymbol<func::FuncOp>(name)) {
        MemRefType s3 = strided3(ctx, elem);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(module.getBody());
        auto decl = func::FuncOp::create(b, module.getLoc(), name,
                                         b.getFunctionType({s3, s3, s3}, {}));
        decl.setPrivate();
        decl->setAttr("llvm.emit_c_interface", b.getUnitAttr());
      }
      return name;
    };
    SetVector<Operation *> transposed; // allocs now read through views
    for (auto [op, init] : matmuls) {
      auto lop = cast<linalg::LinalgOp>(op);
      Value out = lop.getDpsInitOperand(0)->get();
      // Decided before the views of `out` for the call exist.
      bool dropFill = gpu && isa<linalg::FillOp>(init) &&
                      onlyUsedAfter(init, op, out);
      b.setInsertionPoint(op);
      Location loc = op->getLoc();
      Value a = as3d(b, loc, lop.getDpsInputOperand(0)->get());
      Value rhs = lop.getDpsInputOperand(1)->get();
      if (Value src = transposedConstant(rhs)) {
        transposed.insert(rhs.getDefiningOp());
        rhs = memref::TransposeOp::create(
            b, loc, src,
            AffineMapAttr::get(
                AffineMap::getPermutationMap(ArrayRef<unsigned>{1, 0}, ctx)));
      }
      Value w = as3d(b, loc, rhs);
      Value c = as3d(b, loc, out);
      std::string kernel =
          declare(cast<MemRefType>(out.getType()).getElementType());
      func::CallOp::create(b, loc, kernel, TypeRange{}, ValueRange{a, w, c});
      // The kernel overwrites its output, so a copy of zeros into it is dead.
      // A fill is kept: CSE may have shared the filled buffer as the source
      // of copies for other matmuls.
      if (isa<memref::CopyOp>(init)) {
        init->erase();
      } else if (dropFill) {
        // On the GPU a fill is a kernel launch: drop it when nothing but
        // the matmul (and code after it) uses the buffer.
        init->erase();
      }
      op->erase();
    }
    // Transposed copies no kernel reads any more: drop them.
    for (Operation *alloc : transposed) {
      if (!llvm::all_of(alloc->getUsers(), [](Operation *u) {
            return isa<linalg::TransposeOp, memref::DeallocOp>(u);
          }))
        continue;
      for (Operation *u : llvm::make_early_inc_range(alloc->getUsers()))
        u->erase();
      alloc->erase();
    }
  }
};

} // namespace
