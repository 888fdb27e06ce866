//===- LowerComm.cpp - communication ops -> libtfcrt calls ----------------===//
//
// Part of tfc-to-linalg. tfc.all_reduce / all_gather / send / recv become
// calls of the communication kernels of include/tfc/Runtime/tfc_kernels.h
// (and tfc.observe, in calibration builds, a call of tfcrt_observe)
// on contiguous buffers, still on tensors (before one-shot bufferization):
//   - an input is first copied into a fresh tensor (linalg.copy into
//     tensor.empty), so its buffer has the identity layout the kernels
//     read, then taken with `bufferization.to_buffer read_only`;
//   - a result buffer is a `memref.alloc` the kernel fills, returned to the
//     tensor world with `bufferization.to_tensor restrict writable`;
//   - buffers are passed as unranked memrefs (rank + descriptor), so one
//     kernel serves every rank; recv first asks the message's dims
//     (tfcrt_recv_dims into a stack array) to size its buffer.
// The kernels are declared private with `llvm.emit_c_interface`.
//
//===----------------------------------------------------------------------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"

using namespace mlir;
using namespace mlir::tfc;

namespace {

/// Declares `name` (private, C interface) unless the module has it.
void declare(Operation *at, StringRef name, TypeRange args) {
  auto module = at->getParentOfType<ModuleOp>();
  if (module.lookupSymbol(name))
    return;
  OpBuilder b(module.getBodyRegion());
  auto f = func::FuncOp::create(b, module.getLoc(), name,
                                b.getFunctionType(args, {}));
  f.setPrivate();
  f->setAttr("llvm.emit_c_interface", b.getUnitAttr());
}

UnrankedMemRefType unranked(Type elem) {
  return UnrankedMemRefType::get(elem, /*memorySpace=*/0);
}

/// Sizes of `t` as index values (dynamic ones via tensor.dim).
SmallVector<Value> dynSizes(OpBuilder &b, Location loc, Value t) {
  SmallVector<Value> out;
  auto type = cast<RankedTensorType>(t.getType());
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      out.push_back(tensor::DimOp::create(b, loc, t, i));
  return out;
}

/// A contiguous, read-only buffer holding `t` (unranked).
Value inputBuffer(OpBuilder &b, Location loc, Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  Value empty = tensor::EmptyOp::create(
      b, loc, type.getShape(), type.getElementType(), dynSizes(b, loc, t));
  Value copy = linalg::CopyOp::create(b, loc, ValueRange{t}, ValueRange{empty})
                   .getResult(0);
  auto mt = MemRefType::get(type.getShape(), type.getElementType());
  Value buf = bufferization::ToBufferOp::create(b, loc, mt, copy,
                                                /*read_only=*/true);
  return memref::CastOp::create(b, loc, unranked(type.getElementType()), buf);
}

/// A new buffer of `type` (dynamic sizes `dyn`) and its unranked view.
std::pair<Value, Value> outputBuffer(OpBuilder &b, Location loc,
                                     RankedTensorType type, ValueRange dyn) {
  auto mt = MemRefType::get(type.getShape(), type.getElementType());
  Value buf = memref::AllocOp::create(b, loc, mt, dyn);
  Value u =
      memref::CastOp::create(b, loc, unranked(type.getElementType()), buf);
  return {buf, u};
}

Value asTensor(OpBuilder &b, Location loc, RankedTensorType type, Value buf) {
  return bufferization::ToTensorOp::create(b, loc, type, buf,
                                           /*restrict=*/true,
                                           /*writable=*/true);
}

Value i64Const(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, v, 64);
}

/// Rank-major concatenation (the kernel's flat output) -> the result laid
/// out along `axis`: block j has the input's shape with dim axis = sizes[j].
Value unflattenGather(OpBuilder &b, Location loc, AllGatherOp op, Value flat) {
  auto in = cast<RankedTensorType>(op.getInput().getType());
  auto outType = cast<RankedTensorType>(op.getResult().getType());
  int64_t axis = op.getAxis(), rank = in.getRank();
  ArrayRef<int64_t> sizes = op.getSizes();
  // Sizes of the other dims (the input's, equal on every rank).
  SmallVector<OpFoldResult> other;
  Value otherCount = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t i = 0; i < rank; ++i) {
    OpFoldResult d =
        in.isDynamicDim(i)
            ? OpFoldResult(
                  tensor::DimOp::create(b, loc, op.getInput(), i).getResult())
            : OpFoldResult(b.getIndexAttr(in.getDimSize(i)));
    other.push_back(d);
    if (i != axis)
      otherCount = arith::MulIOp::create(
          b, loc, otherCount, getValueOrCreateConstantIndexOp(b, loc, d));
  }
  SmallVector<Value> outDyn;
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  for (int64_t i = 0; i < rank; ++i)
    if (outType.isDynamicDim(i))
      outDyn.push_back(
          i == axis ? arith::ConstantIndexOp::create(b, loc, total).getResult()
                    : getValueOrCreateConstantIndexOp(b, loc, other[i]));
  Value result = tensor::EmptyOp::create(b, loc, outType.getShape(),
                                         outType.getElementType(), outDyn);
  int64_t before = 0;
  SmallVector<ReassociationIndices> all(1);
  for (int64_t i = 0; i < rank; ++i)
    all[0].push_back(i);
  for (auto [j, size] : llvm::enumerate(sizes)) {
    if (size == 0)
      continue;
    Value off = arith::MulIOp::create(
        b, loc, otherCount, arith::ConstantIndexOp::create(b, loc, before));
    Value len = arith::MulIOp::create(
        b, loc, otherCount, arith::ConstantIndexOp::create(b, loc, size));
    Value piece = tensor::ExtractSliceOp::create(
        b, loc, flat, ArrayRef<OpFoldResult>{off}, ArrayRef<OpFoldResult>{len},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
    SmallVector<OpFoldResult> shape = other;
    shape[axis] = b.getIndexAttr(size);
    SmallVector<int64_t> staticShape;
    for (OpFoldResult s : shape)
      staticShape.push_back(
          getConstantIntValue(s).value_or(ShapedType::kDynamic));
    auto blockType = RankedTensorType::get(staticShape, in.getElementType());
    Value block =
        tensor::ExpandShapeOp::create(b, loc, blockType, piece, all, shape);
    SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0));
    offsets[axis] = b.getIndexAttr(before);
    SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
    result = tensor::InsertSliceOp::create(b, loc, block, result, offsets,
                                           shape, strides);
    before += size;
  }
  return result;
}

} // namespace

LogicalResult mlir::tfc::lowering::lowerCommOp(OpBuilder &b, Operation *op) {
  Location loc = op->getLoc();
  b.setInsertionPoint(op);
  MLIRContext *ctx = op->getContext();
  Type f32 = Float32Type::get(ctx), i64 = IntegerType::get(ctx, 64);
  Type uf = unranked(f32);
  if (auto ar = dyn_cast<AllReduceOp>(op)) {
    declare(op, "tfcrt_all_reduce_f32", {uf, uf});
    auto type = cast<RankedTensorType>(ar.getType());
    Value in = inputBuffer(b, loc, ar.getInput());
    auto [buf, out] =
        outputBuffer(b, loc, type, dynSizes(b, loc, ar.getInput()));
    func::CallOp::create(b, loc, "tfcrt_all_reduce_f32", TypeRange{},
                         ValueRange{in, out});
    ar.getResult().replaceAllUsesWith(asTensor(b, loc, type, buf));
    op->erase();
    return success();
  }
  if (auto ag = dyn_cast<AllGatherOp>(op)) {
    declare(op, "tfcrt_all_gather_f32", {uf, uf});
    auto in = cast<RankedTensorType>(ag.getInput().getType());
    int64_t total = 0;
    for (int64_t s : ag.getSizes())
      total += s;
    // Flat output: total * (product of the other dims) elements.
    Value count = arith::ConstantIndexOp::create(b, loc, total);
    for (int64_t i = 0; i < in.getRank(); ++i) {
      if (i == (int64_t)ag.getAxis())
        continue;
      Value d =
          in.isDynamicDim(i)
              ? tensor::DimOp::create(b, loc, ag.getInput(), i).getResult()
              : arith::ConstantIndexOp::create(b, loc, in.getDimSize(i))
                    .getResult();
      count = arith::MulIOp::create(b, loc, count, d);
    }
    auto flatType = RankedTensorType::get({ShapedType::kDynamic}, f32);
    Value inBuf = inputBuffer(b, loc, ag.getInput());
    auto [buf, out] = outputBuffer(b, loc, flatType, ValueRange{count});
    func::CallOp::create(b, loc, "tfcrt_all_gather_f32", TypeRange{},
                         ValueRange{inBuf, out});
    Value flat = asTensor(b, loc, flatType, buf);
    Value result = unflattenGather(b, loc, ag, flat);
    if (result.getType() != ag.getType())
      result = tensor::CastOp::create(b, loc, ag.getType(), result);
    ag.getResult().replaceAllUsesWith(result);
    op->erase();
    return success();
  }
  if (auto send = dyn_cast<SendOp>(op)) {
    declare(op, "tfcrt_send_f32", {uf, i64, i64});
    Value in = inputBuffer(b, loc, send.getInput());
    func::CallOp::create(b, loc, "tfcrt_send_f32", TypeRange{},
                         ValueRange{in, i64Const(b, loc, send.getPeer()),
                                    i64Const(b, loc, send.getTag())});
    op->erase();
    return success();
  }
  if (auto obs = dyn_cast<ObserveOp>(op)) {
    // Calibration builds (tfc --observe): tfcrt_observe(id, x) hands a
    // contiguous copy of x to the application's observer.
    declare(op, "tfcrt_observe", {i64, uf});
    Value in = inputBuffer(b, loc, obs.getInput());
    func::CallOp::create(b, loc, "tfcrt_observe", TypeRange{},
                         ValueRange{i64Const(b, loc, obs.getId()), in});
    op->erase();
    return success();
  }
  if (auto recv = dyn_cast<RecvOp>(op)) {
    auto dimsType = MemRefType::get({ShapedType::kDynamic}, i64);
    declare(op, "tfcrt_recv_dims", {dimsType, i64, i64});
    declare(op, "tfcrt_recv_f32", {uf, i64, i64});
    auto type = cast<RankedTensorType>(recv.getType());
    Value peer = i64Const(b, loc, recv.getPeer());
    Value tag = i64Const(b, loc, recv.getTag());
    Value dims = memref::AllocaOp::create(
        b, loc, MemRefType::get({std::max<int64_t>(type.getRank(), 1)}, i64));
    Value dimsDyn = memref::CastOp::create(b, loc, dimsType, dims);
    func::CallOp::create(b, loc, "tfcrt_recv_dims", TypeRange{},
                         ValueRange{dimsDyn, peer, tag});
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < type.getRank(); ++i)
      if (type.isDynamicDim(i)) {
        Value d = memref::LoadOp::create(
            b, loc, dims,
            ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
        dyn.push_back(arith::IndexCastOp::create(b, loc, b.getIndexType(), d));
      }
    auto [buf, out] = outputBuffer(b, loc, type, dyn);
    func::CallOp::create(b, loc, "tfcrt_recv_f32", TypeRange{},
                         ValueRange{out, peer, tag});
    recv.getResult().replaceAllUsesWith(asTensor(b, loc, type, buf));
    op->erase();
    return success();
  }
  return failure();
}
