//===- ParallelCalls.cpp - parallel bodies -> tfcrt_parallel_work ---------===//
//
// tfc-lower-parallel-calls, on the LLVM dialect after the CPU lowering. A
// call of a parallel body (a function tfc-outline-kernels named `*_par`,
// arguments: the captured values, then begin, end, work) becomes
//
//   ctx = alloca struct {captured...}; store each captured value
//   tfcrt_parallel_work(end, work, @<body>_thunk, ctx)
//
// with `<body>_thunk(ctx, begin, end)` loading the values back and calling
// the body on [begin, end). The runtime runs the body on the caller alone
// when the work is small, else on contiguous chunks over its thread pool.
// Done at the LLVM level because only there is every argument (memref
// descriptors included) a plain value that fits in a struct.
//
//===----------------------------------------------------------------------===//
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/Pass/Pass.h"
#include "tfc/Conversion/Pipelines.h"

using namespace mlir;

namespace {

constexpr const char *kRuntimeFn = "tfcrt_parallel_work";

LLVM::LLVMFuncOp getOrCreateThunk(ModuleOp module, LLVM::LLVMFuncOp body) {
  std::string name = (body.getSymName() + "_thunk").str();
  if (auto f = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return f;
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  b.setInsertionPointAfter(body);
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  auto i64 = IntegerType::get(ctx, 64);
  auto type = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                          {ptr, i64, i64});
  Location loc = body.getLoc();
  auto thunk = LLVM::LLVMFuncOp::create(b, loc, name, type,
                                        LLVM::Linkage::Internal);
  Block *entry = thunk.addEntryBlock(b);
  b.setInsertionPointToStart(entry);
  ArrayRef<Type> params = body.getFunctionType().getParams();
  size_t captured = params.size() - 3;
  SmallVector<Type> fields(params.begin(), params.begin() + captured);
  auto structType = LLVM::LLVMStructType::getLiteral(ctx, fields);
  SmallVector<Value> args;
  for (size_t i = 0; i < captured; ++i) {
    Value at = LLVM::GEPOp::create(
        b, loc, ptr, structType, entry->getArgument(0),
        ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
    args.push_back(LLVM::LoadOp::create(b, loc, fields[i], at));
  }
  args.push_back(entry->getArgument(1));
  args.push_back(entry->getArgument(2));
  args.push_back(LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(0)));
  LLVM::CallOp::create(b, loc, body, args);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  return thunk;
}

struct LowerParallelCallsPass
    : public PassWrapper<LowerParallelCallsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(LowerParallelCallsPass)
  StringRef getArgument() const override { return "tfc-lower-parallel-calls"; }
  StringRef getDescription() const override {
    return "Turn calls of parallel loop bodies (*_par, from "
           "tfc-outline-kernels) into tfcrt_parallel_work over a thunk";
  }
  void getDependentDialects(DialectRegistry &r) const override {
    r.insert<LLVM::LLVMDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    SmallVector<LLVM::CallOp> calls;
    module.walk([&](LLVM::CallOp call) {
      auto callee = call.getCallee();
      if (!callee || !callee->ends_with("_par"))
        return;
      auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(*callee);
      if (fn && !fn.isExternal() &&
          fn.getFunctionType().getNumParams() >= 3)
        calls.push_back(call);
    });
    if (calls.empty())
      return;
    OpBuilder b(ctx);
    if (!module.lookupSymbol(kRuntimeFn)) {
      b.setInsertionPointToStart(module.getBody());
      auto type = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx),
                                              {i64, i64, ptr, ptr});
      LLVM::LLVMFuncOp::create(b, module.getLoc(), kRuntimeFn, type);
    }
    for (LLVM::CallOp call : calls) {
      auto body = module.lookupSymbol<LLVM::LLVMFuncOp>(*call.getCallee());
      LLVM::LLVMFuncOp thunk = getOrCreateThunk(module, body);
      Location loc = call.getLoc();
      b.setInsertionPoint(call);
      ValueRange operands = call.getArgOperands();
      size_t captured = operands.size() - 3;
      SmallVector<Type> fields;
      for (size_t i = 0; i < captured; ++i)
        fields.push_back(operands[i].getType());
      Value ctxPtr;
      if (captured == 0) {
        ctxPtr = LLVM::ZeroOp::create(b, loc, ptr);
      } else {
        auto structType = LLVM::LLVMStructType::getLiteral(ctx, fields);
        // In the entry block of the caller, so the slot is static.
        OpBuilder::InsertionGuard g(b);
        auto caller = call->getParentOfType<LLVM::LLVMFuncOp>();
        b.setInsertionPointToStart(&caller.getBody().front());
        Value one = LLVM::ConstantOp::create(b, loc, i64, b.getI64IntegerAttr(1));
        ctxPtr = LLVM::AllocaOp::create(b, loc, ptr, structType, one);
      }
      if (captured) {
        auto structType = LLVM::LLVMStructType::getLiteral(ctx, fields);
        for (size_t i = 0; i < captured; ++i) {
          Value at = LLVM::GEPOp::create(
              b, loc, ptr, structType, ctxPtr,
              ArrayRef<LLVM::GEPArg>{0, static_cast<int32_t>(i)});
          LLVM::StoreOp::create(b, loc, operands[i], at);
        }
      }
      Value fnPtr = LLVM::AddressOfOp::create(b, loc, ptr, thunk.getSymName());
      Value end = operands[captured + 1];
      Value work = operands[captured + 2];
      LLVM::CallOp::create(b, loc, TypeRange{}, kRuntimeFn,
                           ValueRange{end, work, fnPtr, ctxPtr});
      call.erase();
    }
  }
};

} // namespace

std::unique_ptr<Pass> mlir::tfc::createLowerParallelCallsPass() {
  return std::make_unique<LowerParallelCallsPass>();
}
