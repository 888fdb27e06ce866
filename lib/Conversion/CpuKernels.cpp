//===- CpuKernels.cpp - transformer ops -> libtfcrt kernel calls ----------===//
//
// tfc-cpu-kernels (docs/DESIGN.md "CPU kernels"): before tfc-to-linalg, on
// the CPU target, the ops whose cost dominates become calls of the runtime's
// kernels, still on tensors:
//
//   tfc.linear (constant weight) [-> tfc.unary gelu|gelu_tanh|silu|relu]
//                                [-> tfc.binary add of a same-shape tensor]
//     => tfcrt_linear(x, blob, bias, residual, y, act): the weight packed now
//        (lib/Runtime/Linear/Pack.h) into one i8 constant, the activation and
//        residual add fused into the kernel's epilogue;
//   tfc.gated_mlp (constant weights) [-> add]
//     => tfcrt_linear(x, gate+up gated blob, act) then tfcrt_linear(h, down)
//        (+ residual);
//   tfc.layer_norm / tfc.rms_norm (f32) => tfcrt_layer_norm_f32 /
//   tfcrt_rms_norm_f32 on the input viewed as [rows, n];
//   tfc.embedding (f32 table, ids of rank 1 or 2) => tfcrt_embedding_f32
//   (rows copied whole);
//   tfc.attention => tfcrt_attention_f32 (blocked attention; K/V that are a
//   quantized KV cache's f16 / int8 values read back: tfcrt_attention_kv_f16
//   / _i8 on the stored tensors; the op's masks
//        as broadcastable views, causal / window / sinks / block as
//        arguments, a block layout as a constant i8 [P, Q] view).
//
// f32 weights with zeros may be packed in a sparse format instead (the
// cost model of FormatSparse.h, option `sparse`; a remark says which and
// why): the kernel call is the same, the blob's header names the format.
//
// Operands go through `bufferization.to_buffer` with fully dynamic strided
// layouts (no copy for views: the kernels take any strides); results are
// buffers the call fills, back in the tensor world through `to_tensor
// restrict writable`. Anything not matched (non-constant weights, other
// dtypes, dynamic k / n) keeps the reference lowering, which stays the
// oracle: `tfc --no-kernels` compiles without this pass.
//
//===----------------------------------------------------------------------===//
#include "../Runtime/Linear/FormatSparse.h"
#include "../Runtime/Linear/Pack.h"
#include "LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Transforms/Passes.h"
#include "llvm/ADT/SetVector.h"

#include <cmath>
#include <cstring>

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCCPUKERNELS
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;
namespace pack = tfcrt::pack;
using mlir::tfc::lowering::ConstBytes;
using mlir::tfc::lowering::constBytes;

namespace {

constexpr const char *kLinear = "tfcrt_linear";
constexpr const char *kAttention = "tfcrt_attention_f32";
constexpr const char *kAttentionSinkQ = "tfcrt_attention_sq_f32";
constexpr const char *kAttentionKvF16 = "tfcrt_attention_kv_f16";
constexpr const char *kAttentionKvI8 = "tfcrt_attention_kv_i8";
constexpr const char *kAttentionParts = "tfcrt_attention_parts_f32";
constexpr const char *kAttentionPartsF16 = "tfcrt_attention_parts_kv_f16";
constexpr const char *kAttentionPartsI8 = "tfcrt_attention_parts_kv_i8";
constexpr const char *kLayerNorm = "tfcrt_layer_norm_f32";
constexpr const char *kRmsNorm = "tfcrt_rms_norm_f32";
constexpr const char *kEmbedding = "tfcrt_embedding_f32";

RankedTensorType rtt(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Records in a packed blob's header (tfc_pack_header.op_class) the class
/// the weight serves: the one --tfc-quantize annotated `op` with (its
/// `tfc.quant` = "CLASS: scheme"), else the op's kind without the q of a
/// quantized variant (linear, gated_mlp). tfc-run reports weights bytes and
/// precision per class from it.
void stampOpClass(MutableArrayRef<char> blob, Operation *op) {
  if (blob.size() < sizeof(tfc_pack_header))
    return;
  std::string cls;
  if (auto a = op->getAttrOfType<StringAttr>("tfc.quant"))
    cls = a.getValue().split(':').first.trim().str();
  if (cls.empty()) {
    cls = op->getName().stripDialect().str();
    if (cls.size() > 1 && cls[0] == 'q')
      cls.erase(0, 1);
  }
  char field[sizeof(tfc_pack_header::op_class)] = {};
  std::memcpy(field, cls.data(), std::min(cls.size(), sizeof(field) - 1));
  std::memcpy(blob.data() + offsetof(tfc_pack_header, op_class), field,
              sizeof(field));
}

/// memref<d0 x .. x T, strided<[?, ..], offset: ?>> with every dim dynamic.
MemRefType anyStrided(MLIRContext *ctx, int64_t rank, Type elem) {
  SmallVector<int64_t> shape(rank, ShapedType::kDynamic);
  SmallVector<int64_t> strides(rank, ShapedType::kDynamic);
  return MemRefType::get(
      shape, elem,
      StridedLayoutAttr::get(ctx, ShapedType::kDynamic, strides));
}

/// The bytes of a constant f32 tensor, or nullopt when it has none here
/// (elided in printed IR: `hasData` false, shape still known).
struct ConstF32 {
  ArrayRef<char> bytes;
  bool hasData = false;
  std::string key;
};
std::optional<ConstF32> constF32(Value v) {
  auto c = v.getDefiningOp<arith::ConstantOp>();
  if (!c)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(c.getType());
  if (!type || !type.getElementType().isF32() || !type.hasStaticShape())
    return std::nullopt;
  ConstF32 out;
  if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
    out.key = res.getRawHandle().getKey().str();
    if (AsmResourceBlob *blob = res.getRawHandle().getBlob()) {
      out.bytes = blob->getData();
      out.hasData = true;
    }
    return out;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue())) {
    if (dense.isSplat())
      return std::nullopt; // a splat weight is not worth a kernel
    out.bytes = dense.getRawData();
    out.hasData = true;
    out.key = "dense";
    return out;
  }
  return std::nullopt;
}

/// A quantized weight as the IR holds it (TfcQuantOps.td).
struct QWeightRef {
  Value codes, scales, zeros;
};

struct CpuKernelsPass
    : public tfc::impl::TfcCpuKernelsBase<CpuKernelsPass> {
  using TfcCpuKernelsBase::TfcCpuKernelsBase;

  ModuleOp module;
  pack::SparseMode sparseMode = pack::SparseMode::Auto;
  int blobCounter = 0;
  lowering::ConcatCache concatCache; // gate | up weights joined (GPU)
  bool packedSomething = false;
  bool f16Remarked = false;

  /// Declares `name` (private, C interface) unless the module has it.
  void declare(StringRef name, TypeRange args) {
    if (module.lookupSymbol(name))
      return;
    OpBuilder b(module.getBodyRegion());
    auto f = func::FuncOp::create(b, module.getLoc(), name,
                                  b.getFunctionType(args, {}));
    f.setPrivate();
    f->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  }

  /// A read-only strided view of tensor `t`.
  Value view(OpBuilder &b, Location loc, Value t) {
    auto type = rtt(t);
    MemRefType exact = MemRefType::get(
        type.getShape(), type.getElementType(),
        StridedLayoutAttr::get(
            b.getContext(), ShapedType::kDynamic,
            SmallVector<int64_t>(type.getRank(), ShapedType::kDynamic)));
    Value buf = bufferization::ToBufferOp::create(b, loc, exact, t,
                                                  /*read_only=*/true);
    return memref::CastOp::create(
        b, loc, anyStrided(b.getContext(), type.getRank(), type.getElementType()),
        buf);
  }

  /// An empty (all sizes 0) operand of `rank` and `elem` meaning "none".
  Value none(OpBuilder &b, Location loc, int64_t rank, Type elem) {
    auto t = MemRefType::get(SmallVector<int64_t>(rank, 0), elem);
    Value m = memref::AllocaOp::create(b, loc, t);
    return memref::CastOp::create(b, loc,
                                  anyStrided(b.getContext(), rank, elem), m);
  }

  /// Sizes of tensor `t` as index values.
  SmallVector<Value> sizes(OpBuilder &b, Location loc, Value t) {
    SmallVector<Value> out;
    for (int64_t i = 0; i < rtt(t).getRank(); ++i)
      out.push_back(tensor::DimOp::create(b, loc, t, i));
    return out;
  }

  /// `t` [d0, .., dr-2, k] as [1, d0*..*dr-2, k].
  Value as3d(OpBuilder &b, Location loc, Value t) {
    auto type = rtt(t);
    int64_t r = type.getRank();
    ArrayRef<int64_t> shape = type.getShape();
    int64_t m = 1;
    for (int64_t i = 0; i + 1 < r; ++i)
      m = (m == ShapedType::kDynamic || shape[i] == ShapedType::kDynamic)
              ? ShapedType::kDynamic
              : m * shape[i];
    Value flat = t;
    if (r != 2) {
      SmallVector<ReassociationIndices> re(1);
      for (int64_t i = 0; i + 1 < r; ++i)
        re[0].push_back(i);
      re.push_back({r - 1});
      flat = tensor::CollapseShapeOp::create(
          b, loc, RankedTensorType::get({m, shape.back()}, type.getElementType()),
          t, re);
    }
    OpFoldResult rows =
        m == ShapedType::kDynamic
            ? OpFoldResult(tensor::DimOp::create(b, loc, flat, 0).getResult())
            : OpFoldResult(b.getIndexAttr(m));
    // A dynamic k (a graph whose reshapes hide the contraction size, e.g.
    // heads merged as [b, s, h * d] with d unknown) is read off the tensor.
    OpFoldResult cols =
        ShapedType::isDynamic(shape.back())
            ? OpFoldResult(tensor::DimOp::create(b, loc, flat, 1).getResult())
            : OpFoldResult(b.getIndexAttr(shape.back()));
    SmallVector<OpFoldResult> outShape = {b.getIndexAttr(1), rows, cols};
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get({1, m, shape.back()}, type.getElementType()),
        flat, SmallVector<ReassociationIndices>{{0, 1}, {2}}, outShape);
  }

  /// The sparse part (docs/DESIGN.md "Sparse encodings and kernels"): W's
  /// zeros and N:M pattern, the cost model's choice, a remark; a sparse
  /// blob in `blob` (with its key and type) when chosen, else `blob` stays
  /// empty (pack dense). False only when packing failed (error emitted).
  bool packSparseIfWorth(const float *w, int64_t k, int64_t n, bool transposed,
                         uint32_t flags, Operation *forDiag, StringRef what,
                         std::vector<char> &blob, std::string &key,
                         RankedTensorType &type) {
    if (sparseMode == pack::SparseMode::Off)
      return true;
    pack::SparsityStats stats = pack::analyzeSparsity(w, k, n, transposed);
    pack::SparseChoice choice = pack::chooseSparseFormat(stats, sparseMode);
    if (choice.format != TFC_PACK_F32 || stats.fraction() >= 0.05)
      forDiag->emitRemark() << what << " [" << k << ", " << n
                            << "]: " << choice.why;
    if (choice.format == TFC_PACK_F32)
      return true;
    const uint64_t nnz =
        pack::sparseNnz(choice.format, w, k, n, transposed);
    pack::Layout layout;
    std::string err;
    if (!pack::sparseLayoutOf(choice.format, k, n, 0, flags, nnz, layout,
                              err)) {
      forDiag->emitError() << "sparse packing failed: " << err;
      return false;
    }
    blob.resize(layout.total);
    if (!pack::packSparse(choice.format, w, k, n, transposed, flags,
                          blob.data(), blob.size(), err)) {
      forDiag->emitError() << "sparse packing failed: " << err;
      return false;
    }
    key = (choice.format == TFC_PACK_SPARSE_24 ? "packed_sparse24_"
                                               : "packed_sparsemask_") +
          std::to_string(blobCounter++);
    type = RankedTensorType::get({(int64_t)layout.total},
                                 IntegerType::get(forDiag->getContext(), 8));
    return true;
  }

  /// The packed blob of W (a constant [k, n], or [n, k] when transposed; or
  /// the gate and up weights of a gated MLP) as an i8 constant.
  FailureOr<Value> packF32(OpBuilder &b, Location loc, Value w, Value up,
                           bool transposed, Operation *forDiag) {
    std::optional<ConstF32> cw = constF32(w);
    std::optional<ConstF32> cu = up ? constF32(up) : std::nullopt;
    if (!cw || (up && !cu))
      return failure();
    auto wt = rtt(w);
    int64_t k = wt.getShape()[transposed ? 1 : 0];
    int64_t n = wt.getShape()[transposed ? 0 : 1];
    uint32_t flags = up ? TFC_PACK_FLAG_GATED : 0u;
    int64_t nTotal = up ? 2 * n : n;
    tfcrt::pack::Layout layout;
    std::string err;
    if (!tfcrt::pack::layoutOf(TFC_PACK_F32, k, nTotal, 0, flags, layout,
                               err)) {
      forDiag->emitRemark() << "kept on the reference path: " << err;
      return failure();
    }
    auto type = RankedTensorType::get({(int64_t)layout.total},
                                      b.getIntegerType(8));
    std::string key = "packed_f32_" + std::to_string(blobCounter++);
    Attribute attr;
    if (!cw->hasData || (up && !cu->hasData)) {
      // Elided weights (printed IR): an elided blob of the right size.
      attr = DenseResourceElementsAttr::get(
          type, DenseResourceElementsHandle::getManagerInterface(
                    b.getContext())
                    .insert(key));
    } else {
      std::vector<float> src;
      const float *data =
          reinterpret_cast<const float *>(cw->bytes.data());
      if (up) {
        // concat(gate, up) [k, 2n] in the gated column order.
        const float *u = reinterpret_cast<const float *>(cu->bytes.data());
        std::vector<int64_t> order =
            tfcrt::pack::gatedColumnOrder(n, layout.panel);
        src.resize(static_cast<size_t>(k * 2 * n));
        for (int64_t kk = 0; kk < k; ++kk)
          for (int64_t c = 0; c < 2 * n; ++c) {
            int64_t col = order[c];
            const float *m = col < n ? data : u;
            int64_t j = col < n ? col : col - n;
            // the gated_mlp op's weights are [k, n] (not transposed)
            src[kk * 2 * n + c] = m[kk * n + j];
          }
        data = src.data();
        transposed = false;
      }
      std::vector<char> blob;
      if (!packSparseIfWorth(data, k, nTotal, transposed, flags, forDiag,
                             up ? "gate+up" : "weight", blob, key, type))
        return failure();
      if (blob.empty()) {
        blob.resize(layout.total);
        if (!tfcrt::pack::packF32(data, k, nTotal, transposed, flags,
                                  blob.data(), blob.size(), err)) {
          forDiag->emitError() << "packing the weight failed: " << err;
          return failure();
        }
      }
      stampOpClass(blob, forDiag);
      attr = DenseResourceElementsAttr::get(
          type, key,
          HeapAsmResourceBlob::allocateAndCopyWithAlign(
              ArrayRef<char>(blob), TFC_PACK_ALIGN));
    }
    packedSomething = true;
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(
        &forDiag->getParentOfType<func::FuncOp>().front());
    Value c = arith::ConstantOp::create(b, loc, cast<TypedAttr>(attr));
    return view(b, loc, c);
  }

  /// The i8 constant holding a blob of `bytes` bytes (elided when `data` is
  /// empty), as a read-only view.
  Value blobConstant(OpBuilder &b, Location loc, Operation *forDiag,
                     ArrayRef<char> data, uint64_t bytes, StringRef kind) {
    auto type = RankedTensorType::get({(int64_t)bytes}, b.getIntegerType(8));
    std::string key = ("packed_" + kind + "_" + Twine(blobCounter++)).str();
    Attribute attr;
    if (data.empty())
      attr = DenseResourceElementsAttr::get(
          type, DenseResourceElementsHandle::getManagerInterface(
                    b.getContext())
                    .insert(key));
    else {
      std::vector<char> stamped(data.begin(), data.end());
      stampOpClass(stamped, forDiag);
      attr = DenseResourceElementsAttr::get(
          type, key,
          HeapAsmResourceBlob::allocateAndCopyWithAlign(ArrayRef<char>(stamped),
                                                        TFC_PACK_ALIGN));
    }
    packedSomething = true;
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(
        &forDiag->getParentOfType<func::FuncOp>().front());
    Value c = arith::ConstantOp::create(b, loc, cast<TypedAttr>(attr));
    return view(b, loc, c);
  }

  /// A bf16 weight [k, n] (or [n, k] transposed) packed as TFC_PACK_BF16;
  /// an f16 one as TFC_PACK_F32 (exact; this CPU path has no f16 kernel).
  FailureOr<Value> packHalf(OpBuilder &b, Location loc, Value w, bool transposed,
                            Operation *forDiag) {
    std::optional<ConstBytes> c = constBytes(w);
    if (!c)
      return failure();
    Type et = c->type.getElementType();
    bool bf = et.isBF16();
    if (!bf && !et.isF16())
      return failure();
    int64_t k = c->type.getDimSize(transposed ? 1 : 0);
    int64_t n = c->type.getDimSize(transposed ? 0 : 1);
    uint32_t format = bf ? TFC_PACK_BF16 : TFC_PACK_F32;
    tfcrt::pack::Layout layout;
    std::string err;
    if (!tfcrt::pack::layoutOf(format, k, n, 0, 0, layout, err)) {
      forDiag->emitRemark() << "kept on the reference path: " << err;
      return failure();
    }
    if (!f16Remarked && !bf) {
      forDiag->emitRemark()
          << "fp16 weights run through the f32 kernel on the CPU (no fp16 "
             "arithmetic on Zen 3 / Zen 4): same results, no speed-up";
      f16Remarked = true;
    }
    if (!c->hasData)
      return blobConstant(b, loc, forDiag, {}, layout.total, bf ? "bf16" : "f16");
    std::vector<float> f(static_cast<size_t>(k * n));
    const uint16_t *h = reinterpret_cast<const uint16_t *>(c->bytes.data());
    for (size_t i = 0; i < f.size(); ++i) {
      APFloat v(bf ? APFloat::BFloat() : APFloat::IEEEhalf(),
                APInt(16, h[i]));
      bool lost;
      v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
      f[i] = v.convertToFloat();
    }
    std::vector<char> blob(layout.total);
    bool ok = bf ? tfcrt::pack::packBf16(f.data(), k, n, transposed, 0,
                                         blob.data(), blob.size(), err)
                 : tfcrt::pack::packF32(f.data(), k, n, transposed, 0,
                                        blob.data(), blob.size(), err);
    if (!ok) {
      forDiag->emitError() << "packing the weight failed: " << err;
      return failure();
    }
    return blobConstant(b, loc, forDiag, blob, layout.total, bf ? "bf16" : "f16");
  }

  /// Packs quantized weights (one, or gate + up as a gated blob) for the
  /// kernel the scheme needs: S8 for int8 x int8 activations (row /
  /// static), W8 / W4 for weight-only (none / block32). Fails (with a
  /// remark) for schemes no kernel takes: they keep the reference lowering.
  FailureOr<Value> packQuant(OpBuilder &b, Location loc, Operation *forDiag,
                             QWeightRef gate, std::optional<QWeightRef> up,
                             int64_t bits, bool isUnsigned, int64_t group,
                             QuantActivation act, std::optional<double> actScale,
                             std::optional<int64_t> actZp) {
    auto remark = [&](const Twine &why) -> FailureOr<Value> {
      forDiag->emitRemark() << "kept on the reference path (dequantize + f32 "
                               "matmul): "
                            << why;
      return failure();
    };
    std::optional<ConstBytes> q = constBytes(gate.codes),
                              sc = constBytes(gate.scales),
                              z = constBytes(gate.zeros);
    std::optional<ConstBytes> q2, sc2, z2;
    if (up) {
      q2 = constBytes(up->codes);
      sc2 = constBytes(up->scales);
      z2 = constBytes(up->zeros);
    }
    if (!q || !sc || (gate.zeros && !z) ||
        (up && (!q2 || !sc2 || (up->zeros && !z2))))
      return remark("weights that are not constants");
    int64_t k = q->type.getDimSize(0), nEach = q->type.getDimSize(1);
    int64_t n = up ? 2 * nEach : nEach;
    bool hasZ = static_cast<bool>(gate.zeros);
    uint32_t format;
    uint32_t flags = up ? TFC_PACK_FLAG_GATED : 0u;
    bool int8Act = act == QuantActivation::row || act == QuantActivation::static_;
    if (act == QuantActivation::tensor)
      return remark("per-tensor asymmetric uint8 activations (ONNX "
                    "DynamicQuantizeLinear) have no kernel");
    if (int8Act) {
      if (bits != 8 || group != 0 || hasZ || isUnsigned)
        return remark("int8 x int8 needs symmetric 8-bit per-channel weights");
      if (act == QuantActivation::static_ && actZp.value_or(0) != 0)
        return remark("static activations with a zero point (uint8) have no "
                      "kernel");
      format = TFC_PACK_S8;
      if (act == QuantActivation::static_)
        flags |= TFC_PACK_FLAG_ACT_STATIC;
    } else {
      if (bits != 8 && bits != 4)
        return remark("weight-only kernels take 4- or 8-bit codes");
      if (group != 0 && group != 32 && group != 64 && group != 128)
        return remark("weight-only kernels take groups of 32, 64 or 128");
      format = bits == 8 ? TFC_PACK_W8 : TFC_PACK_W4;
      if (hasZ)
        flags |= TFC_PACK_FLAG_ASYM;
      if (act == QuantActivation::none)
        flags |= TFC_PACK_FLAG_ACT_F32;
    }
    tfcrt::pack::Layout layout;
    std::string err;
    if (!tfcrt::pack::layoutOf(format, k, n, group, flags, layout, err))
      return remark(err);
    StringRef kind = format == TFC_PACK_S8 ? "s8"
                     : format == TFC_PACK_W8 ? "w8"
                                             : "w4";
    bool data = q->hasData && sc->hasData && (!hasZ || z->hasData) &&
                (!up || (q2->hasData && sc2->hasData && (!hasZ || z2->hasData)));
    if (!data)
      return blobConstant(b, loc, forDiag, {}, layout.total, kind);
    int64_t groups = sc->type.getDimSize(0);
    // Codes, scales, zeros of the (gated) [k, n] matrix in packing order,
    // codes and zeros in the kernel's domain (Pack.h).
    std::vector<int64_t> order;
    if (up)
      order = tfcrt::pack::gatedColumnOrder(nEach, layout.panel);
    auto col = [&](int64_t c, bool &second) {
      int64_t src = up ? order[c] : c;
      second = src >= nEach;
      return second ? src - nEach : src;
    };
    auto codeOf = [&](const ConstBytes &cb, int64_t kk, int64_t j) -> int32_t {
      int8_t raw = cb.bytes[kk * nEach + j];
      int32_t v = isUnsigned ? int32_t(uint8_t(raw)) : int32_t(raw);
      if (format == TFC_PACK_W4 && !isUnsigned)
        v += 8; // signed [-8, 7] -> the kernel's 0..15 around 8
      if (format == TFC_PACK_W8 && isUnsigned)
        v -= 128; // unsigned [0, 255] -> -128..127 (zeros shift alike)
      return v;
    };
    std::vector<int8_t> codes(static_cast<size_t>(k * n));
    std::vector<float> scales(static_cast<size_t>(groups * n));
    std::vector<float> zeros(hasZ ? groups * n : 0);
    const float *s1 = reinterpret_cast<const float *>(sc->bytes.data());
    const float *s2 = up ? reinterpret_cast<const float *>(sc2->bytes.data())
                         : nullptr;
    for (int64_t c = 0; c < n; ++c) {
      bool second;
      int64_t j = col(c, second);
      const ConstBytes &qc = second ? *q2 : *q;
      for (int64_t kk = 0; kk < k; ++kk)
        codes[kk * n + c] = static_cast<int8_t>(codeOf(qc, kk, j));
      for (int64_t g = 0; g < groups; ++g) {
        scales[g * n + c] = (second ? s2 : s1)[g * nEach + j];
        if (hasZ) {
          int8_t raw = (second ? *z2 : *z).bytes[g * nEach + j];
          int32_t zv = isUnsigned ? int32_t(uint8_t(raw)) : int32_t(raw);
          if (format == TFC_PACK_W8 && isUnsigned)
            zv -= 128;
          zeros[g * n + c] = static_cast<float>(zv);
        }
      }
    }
    // Pruned then quantized: the zero codes of a symmetric W8 weight may pay
    // as TFC_PACK_SPARSE_MASK_W8 (docs/DESIGN.md "Sparse encodings and
    // kernels"); other int8 / int4 layouts have no sparse form.
    if (sparseMode != pack::SparseMode::Off) {
      pack::SparsityStats st = pack::analyzeSparsityCodes(codes.data(), k, n);
      const bool sym8 = format == TFC_PACK_W8 && !hasZ;
      if (!sym8) {
        // Zero weights are the codes at their group's zero point (W4's
        // symmetric codes sit around 8 here; an asymmetric group's minimum
        // is code 0 without being a zero weight).
        const int64_t gs = group ? group : k;
        st.zeros = 0;
        for (int64_t kk = 0; kk < k; ++kk)
          for (int64_t c = 0; c < n; ++c) {
            const float zp = hasZ                    ? zeros[(kk / gs) * n + c]
                             : format == TFC_PACK_W4 ? 8.0f
                                                     : 0.0f;
            st.zeros += float(codes[kk * n + c]) == zp;
          }
      }
      if (sym8) {
        pack::SparseChoice choice = pack::chooseSparseW8Format(st, sparseMode);
        if (choice.format != TFC_PACK_W8 || st.fraction() >= 0.05)
          forDiag->emitRemark()
              << "weight [" << k << ", " << n << "]: " << choice.why;
        if (choice.format == TFC_PACK_SPARSE_MASK_W8) {
          pack::Layout sl;
          const uint64_t nnz = pack::sparseW8Nnz(codes.data(), k, n);
          std::vector<char> sb;
          bool sok = pack::sparseLayoutOf(TFC_PACK_SPARSE_MASK_W8, k, n, group,
                                          flags, nnz, sl, err);
          if (sok) {
            sb.resize(sl.total);
            sok = pack::packSparseW8(codes.data(), scales.data(), k, n, group,
                                     flags, sb.data(), sb.size(), err);
          }
          if (!sok) {
            forDiag->emitError() << "sparse packing failed: " << err;
            return failure();
          }
          return blobConstant(b, loc, forDiag, sb, sl.total, "sparsemaskw8");
        }
      } else if (st.fraction() >= 0.5 && format != TFC_PACK_S8) {
        // Formats without a sparse form say so only where a sparse one
        // could pay (a quantized model rounds many small weights to zero:
        // 10-20 % at 4 bits, which is no pruning).
        forDiag->emitRemark()
            << "weight [" << k << ", " << n << "]: dense " << kind
            << ": zero weights "
            << static_cast<int>(std::lround(100 * st.fraction()))
            << "%, but only symmetric 8-bit weight-only codes have a sparse "
               "format (sparse-mask-w8)";
      } else if (st.fraction() >= 0.5) {
        forDiag->emitRemark()
            << "weight [" << k << ", " << n
            << "]: dense s8 (int8 x int8): zero weights "
            << static_cast<int>(std::lround(100 * st.fraction()))
            << "%, but int8 x int8 has no sparse format (sparse-mask-w8 is "
               "weight-only: --quantize=w8)";
      }
    }
    std::vector<char> blob(layout.total);
    bool ok;
    if (format == TFC_PACK_S8)
      ok = tfcrt::pack::packS8(codes.data(), scales.data(), k, n, false, flags,
                               actScale ? float(*actScale) : 0.0f, 0,
                               blob.data(), blob.size(), err);
    else
      ok = tfcrt::pack::packWeightOnly(format, codes.data(), scales.data(),
                                       hasZ ? zeros.data() : nullptr, k, n,
                                       group, false, flags, blob.data(),
                                       blob.size(), err);
    if (!ok) {
      forDiag->emitError() << "packing the quantized weight failed: " << err;
      return failure();
    }
    return blobConstant(b, loc, forDiag, blob, layout.total, kind);
  }

  /// Emits y = act(x W + bias) + residual with W the packed `blob`; returns
  /// y with x's leading dims and last dim `nOut`.
  Value emitLinear(OpBuilder &b, Location loc, Value x, Value blob, Value bias,
                   Value residual, int64_t act, int64_t nOut,
                   RankedTensorType resultType) {
    return emitLinearCall(b, loc, kLinear, x, x, [&] { return blob; }, bias,
                          residual, {act}, nOut, resultType);
  }

  /// callee(x as [1, M, k], weight(), bias, residual, out, ints...) into a
  /// fresh f32 [1, M, nOut] buffer `out` (tfcrt_linear and the GPU's
  /// tfcrt_gpu_linear_*), returned as a tensor of `resultType` whose leading
  /// dims are `shapeOf`'s.
  Value emitLinearCall(OpBuilder &b, Location loc, StringRef callee, Value x,
                       Value shapeOf, function_ref<Value()> weight, Value bias,
                       Value residual, ArrayRef<int64_t> ints, int64_t nOut,
                       RankedTensorType resultType) {
    MLIRContext *ctx = b.getContext();
    Type f32 = b.getF32Type();
    Value x3 = as3d(b, loc, x);
    Value rows = tensor::DimOp::create(b, loc, x3, 1);
    auto outType = MemRefType::get({1, ShapedType::kDynamic, nOut}, f32);
    Value out = memref::AllocOp::create(b, loc, outType, ValueRange{rows});
    Value biasV = bias ? view(b, loc, bias) : none(b, loc, 1, f32);
    Value resV = residual ? view(b, loc, as3d(b, loc, residual))
                          : none(b, loc, 3, f32);
    Value outV = memref::CastOp::create(b, loc, anyStrided(ctx, 3, f32), out);
    SmallVector<Value> intV;
    for (int64_t v : ints)
      intV.push_back(arith::ConstantIntOp::create(b, loc, v, 64));
    SmallVector<Value> args = {view(b, loc, x3), weight(), biasV, resV, outV};
    args.append(intV);
    declare(callee, ValueRange(args).getTypes());
    func::CallOp::create(b, loc, callee, TypeRange{}, args);
    return resultOf(b, loc, out, shapeOf, nOut, resultType);
  }

  /// The [1, M, n] buffer `out` (f32, or the half result of a GLU call)
  /// written by a kernel call as a tensor of `resultType` (x's leading dims,
  /// then n).
  Value resultOf(OpBuilder &b, Location loc, Value out, Value x, int64_t nOut,
                 RankedTensorType resultType) {
    Type et = cast<MemRefType>(out.getType()).getElementType(); // f32 or half
    Value y = bufferization::ToTensorOp::create(
        b, loc, RankedTensorType::get({1, ShapedType::kDynamic, nOut}, et), out,
        /*restrict=*/true, /*writable=*/true);
    // [1, M, n] -> the result's shape.
    Value flat = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({ShapedType::kDynamic, nOut}, et), y,
        SmallVector<ReassociationIndices>{{0, 1}, {2}});
    SmallVector<OpFoldResult> shape;
    for (int64_t i = 0; i + 1 < rtt(x).getRank(); ++i)
      shape.push_back(
          rtt(x).isDynamicDim(i)
              ? OpFoldResult(tensor::DimOp::create(b, loc, x, i).getResult())
              : OpFoldResult(b.getIndexAttr(rtt(x).getDimSize(i))));
    shape.push_back(b.getIndexAttr(nOut));
    if (resultType.getRank() == 2)
      return tensor::CastOp::create(b, loc, resultType, flat);
    SmallVector<ReassociationIndices> re(1);
    for (int64_t i = 0; i + 1 < resultType.getRank(); ++i)
      re[0].push_back(i);
    re.push_back({resultType.getRank() - 1});
    int64_t m = 1; // a static product of the leading dims: a static flat dim
    for (int64_t i = 0; i + 1 < resultType.getRank(); ++i)
      m = (m == ShapedType::kDynamic || resultType.isDynamicDim(i))
              ? ShapedType::kDynamic
              : m * resultType.getDimSize(i);
    if (m != ShapedType::kDynamic)
      flat = tensor::CastOp::create(b, loc,
                                    RankedTensorType::get({m, nOut}, et), flat);
    return tensor::ExpandShapeOp::create(b, loc, resultType, flat, re, shape);
  }

  static int64_t actOf(UnaryKind k) {
    switch (k) {
    case UnaryKind::gelu:
      return TFCRT_ACT_GELU;
    case UnaryKind::gelu_tanh:
      return TFCRT_ACT_GELU_TANH;
    case UnaryKind::silu:
      return TFCRT_ACT_SILU;
    case UnaryKind::relu:
      return TFCRT_ACT_RELU;
    default:
      return -1;
    }
  }

  /// The single user of `v` if it is an add of `v` and a tensor of the same
  /// type (a residual connection), with that other operand.
  static std::pair<BinaryOp, Value> residualAdd(Value v) {
    if (!v.hasOneUse())
      return {};
    auto add = dyn_cast<BinaryOp>(*v.getUsers().begin());
    if (!add || add.getFn() != BinaryKind::add ||
        add.getResult().getType() != v.getType() ||
        add.getLhs().getType() != add.getRhs().getType())
      return {};
    Value other = add.getLhs() == v ? add.getRhs() : add.getLhs();
    if (other == v)
      return {};
    return {add, other};
  }

  /// Location with the op class the profiler attributes the call to.
  /// The ops of `fused` other than `op` (an activation, a residual add the
  /// kernel's epilogue takes over) keep their own op class and location
  /// inside it, so the profiler names them too (InsertProfiling.cpp).
  static Location classLoc(Operation *op, StringRef cls,
                           ArrayRef<Operation *> fused = {}) {
    MLIRContext *ctx = op->getContext();
    SmallVector<Location> locs = {op->getLoc()};
    for (Operation *f : fused) {
      if (f == op)
        continue;
      std::string name = f->getName().stripDialect().str();
      if (auto u = dyn_cast<UnaryOp>(f))
        name += "." + stringifyUnaryKind(u.getFn()).str();
      else if (auto bo = dyn_cast<BinaryOp>(f))
        name += "." + stringifyBinaryKind(bo.getFn()).str();
      locs.push_back(
          FusedLoc::get(ctx, {f->getLoc()}, StringAttr::get(ctx, name)));
    }
    return FusedLoc::get(ctx, locs, StringAttr::get(ctx, cls));
  }

  void lowerLinear(LinearOp op) {
    auto xt = rtt(op.getInput());
    auto wt = rtt(op.getWeight());
    if (!xt.getElementType().isF32() || xt.getRank() < 2 || wt.getRank() != 2 ||
        !wt.hasStaticShape())
      return;
    Type wet = wt.getElementType();
    if (!wet.isF32() && !wet.isBF16() && !wet.isF16())
      return;
    // Fuse an activation, then a residual add, that only this linear feeds.
    int64_t act;
    Value residual;
    SmallVector<Operation *> chain = epilogueChain(op, act, residual);
    Operation *last = chain.back();
    OpBuilder b(last);
    Location loc = classLoc(op, "linear", chain);
    FailureOr<Value> blob =
        wt.getElementType().isF32()
            ? packF32(b, loc, op.getWeight(), Value(), op.getTransposeWeight(),
                      op)
            : packHalf(b, loc, op.getWeight(), op.getTransposeWeight(), op);
    if (failed(blob))
      return;
    int64_t n = wt.getShape()[op.getTransposeWeight() ? 0 : 1];
    Value y = emitLinear(b, loc, op.getInput(), *blob, op.getBias(), residual,
                         act, n,
                         cast<RankedTensorType>(last->getResult(0).getType()));
    last->getResult(0).replaceAllUsesWith(y);
    for (Operation *o : llvm::reverse(chain))
      o->erase();
  }

  /// --target=cuda (gpu-linear): tfc.linear as one cuBLASLt GEMM whose
  /// epilogue adds the bias, then a tanh-GELU / ReLU or a residual, into an
  /// f32 result (tfcrt_gpu_linear_*); a half weight's x is rounded first.
  /// With `rmsX` (gpu-fuse-norm: op reads an RMS norm of rmsX with scale
  /// `rmsScale`), the call reads rmsX itself and computes the norm as it
  /// stages it (tfcrt_gpu_linear_ex_*). False when the linear stays as it
  /// is.
  bool lowerGpuLinear(LinearOp op, Value rmsX = {}, Value rmsScale = {},
                      double eps = 0, bool dryRun = false) {
    auto xt = rtt(op.getInput());
    auto wt = rtt(op.getWeight());
    auto rt = rtt(op.getResult());
    if (!xt.getElementType().isF32() || !rt.getElementType().isF32() ||
        xt.getRank() < 2 || wt.getRank() != 2 || !wt.hasStaticShape())
      return false;
    Type wet = wt.getElementType();
    const char *callee = wet.isF32()    ? "tfcrt_gpu_linear_f32"
                         : wet.isF16()  ? "tfcrt_gpu_linear_f16"
                         : wet.isBF16() ? "tfcrt_gpu_linear_bf16"
                                        : nullptr;
    Value bias = op.getBias();
    if (!callee || (bias && (rtt(bias).getRank() != 1 ||
                             !rtt(bias).getElementType().isF32())))
      return false;
    const int64_t n = wt.getShape()[op.getTransposeWeight() ? 0 : 1];
    // cuBLASLt's epilogue: act(x w + bias) + residual, with act one of its
    // own (its GELU is the tanh form) and a residual only without one.
    int64_t act;
    Value residual;
    SmallVector<Operation *> chain = epilogueChain(op, act, residual);
    if (act != TFCRT_ACT_NONE && act != TFCRT_ACT_GELU_TANH &&
        act != TFCRT_ACT_RELU)
      // An activation the epilogue lacks (erf GELU, SiLU): the linalg
      // lowering fuses the bias add (and the widening of a half product)
      // into the activation's kernel, which reads the product once,
      // half-sized with a half weight. (A norm before it then stays whole.)
      return false;
    if (residual && act != TFCRT_ACT_NONE) { // the add stays its own op
      chain.pop_back();
      residual = Value();
    }
    // With a half weight the add is left to the row kernel of a norm after
    // it, which reads the half product with the residual (an f32 C would
    // cost a wider write and save nothing); where no norm reads the sum --
    // gpu-fuse-norm took the norms into the next GEMMs -- the GEMM adds it.
    if (residual && !wet.isF32() &&
        (!gpuFuseNorm ||
         llvm::any_of(chain.back()->getResult(0).getUsers(), [](Operation *u) {
           return isa<LayerNormOp, RmsNormOp>(u);
         })))
      return false;
    if (dryRun)
      return true;
    Operation *last = chain.back();
    OpBuilder b(last);
    Location loc = classLoc(op, "linear", chain);
    auto weight = [&] { return view(b, loc, op.getWeight()); };
    auto resultType = cast<RankedTensorType>(last->getResult(0).getType());
    Value y;
    if (rmsX) {
      std::string ex = std::string(callee);
      ex.insert(strlen("tfcrt_gpu_linear"), "_ex");
      y = emitLinearExCall(b, loc, ex, rmsX, weight, bias, rmsScale, residual,
                           op.getTransposeWeight(), act, TFCRT_LX_RMS, eps,
                           rtt(rmsX).getShape().back(), n, b.getF32Type(),
                           resultType);
    } else {
      Value x = op.getInput();
      if (!wet.isF32())
        x = CastOp::create(b, loc, xt.clone(wet), x);
      y = emitLinearCall(b, loc, callee, x, op.getInput(), weight, bias,
                         residual, {op.getTransposeWeight() ? 1 : 0, act}, n,
                         resultType);
    }
    last->getResult(0).replaceAllUsesWith(y);
    for (Operation *o : llvm::reverse(chain))
      o->erase();
    return true;
  }

  /// gpu-fuse-norm: a gated MLP as two calls, gate | up with the GLU in the
  /// epilogue (tfcrt_gpu_linear_ex_*, TFCRT_LX_GLU; a half result for half
  /// weights, which down reads as is), then down with a following residual
  /// add (tfcrt_gpu_linear_*). With `rmsX` as lowerGpuLinear. False when
  /// the op stays as it is.
  bool lowerGpuGatedMlp(GatedMlpOp op, Value rmsX = {}, Value rmsScale = {},
                        double eps = 0, bool dryRun = false) {
    auto xt = rtt(op.getInput());
    auto wg = rtt(op.getWGate()), wu = rtt(op.getWUp()),
         wd = rtt(op.getWDown());
    int64_t act = actOf(op.getActivation());
    Type wet = wg.getElementType();
    if (!xt.getElementType().isF32() || xt.getRank() < 2 || act < 0 ||
        !rtt(op.getResult()).getElementType().isF32() || !wg.hasStaticShape() ||
        wg != wu || !wd.hasStaticShape() || wd.getElementType() != wet ||
        !(wet.isF32() || wet.isF16() || wet.isBF16()))
      return false;
    std::optional<ConstBytes> g = constBytes(op.getWGate()),
                              u = constBytes(op.getWUp());
    if (!g || !u || !g->hasData || !u->hasData)
      return false;
    if (dryRun)
      return true;
    const char *suffix = wet.isF32() ? "f32" : wet.isF16() ? "f16" : "bf16";
    auto [add, residual] = residualAdd(op.getResult());
    Operation *last = add ? add.getOperation() : op.getOperation();
    OpBuilder b(last);
    Location loc = classLoc(op, "gated_mlp", {last});
    Value gu = lowering::concatConstants(b, loc, {op.getWGate(), op.getWUp()},
                                         /*axis=*/1, concatCache);
    if (!gu)
      return false;
    int64_t k = wg.getDimSize(0), h = wg.getDimSize(1);
    Value x = rmsX ? rmsX : op.getInput();
    if (!rmsX && !wet.isF32())
      x = CastOp::create(b, loc, xt.clone(wet), x);
    SmallVector<int64_t> hs(xt.getShape());
    hs.back() = h;
    int64_t flags = TFCRT_LX_GLU | (rmsX ? TFCRT_LX_RMS : 0) |
                    (wet.isF32() ? 0 : TFCRT_LX_OUT_HALF);
    // One symbol per operand types (the descriptors' element types differ;
    // the runtime's entries are the same function): _xh a half x, _oh a
    // half out.
    std::string ex = std::string("tfcrt_gpu_linear_ex_") + suffix +
                     (!rmsX && !wet.isF32() ? "_xh" : "") +
                     (wet.isF32() ? "" : "_oh");
    Value hidden = emitLinearExCall(
        b, loc, ex, x, [&] { return view(b, loc, gu); }, Value(), rmsScale,
        Value(), false, act, flags, eps, k, 2 * h, wet,
        RankedTensorType::get(hs, wet));
    Value y = emitLinearCall(
        b, loc, std::string("tfcrt_gpu_linear_") + suffix, hidden,
        rmsX ? rmsX : op.getInput(),
        [&] { return view(b, loc, op.getWDown()); }, Value(), residual,
        {0, TFCRT_ACT_NONE}, wd.getDimSize(1),
        cast<RankedTensorType>(last->getResult(0).getType()));
    last->getResult(0).replaceAllUsesWith(y);
    if (add)
      add->erase();
    op->erase();
    return true;
  }

  /// gpu-fuse-norm: an RMS norm whose every reader is a linear or a gated
  /// MLP that lowerGpuLinear / lowerGpuGatedMlp take is computed inside each
  /// reader's call (x and the scale passed, 1 / rms(x) from the row the
  /// call stages anyway); the norm goes.
  void lowerGpuNorm(RmsNormOp norm) {
    auto st = rtt(norm.getScale());
    Value x = norm.getInput(), n = norm.getResult(), scale = norm.getScale();
    auto xt = rtt(x);
    if (!xt.getElementType().isF32() || xt.getRank() < 2 ||
        xt.isDynamicDim(xt.getRank() - 1) || n.use_empty() ||
        !st.getElementType().isF32() || st.getRank() != 1 ||
        st.getDimSize(0) != xt.getShape().back())
      return;
    double eps = norm.getEpsilon().convertToDouble();
    SmallVector<Operation *> users(n.getUsers());
    for (Operation *u : users) {
      bool ok = false;
      if (auto l = dyn_cast<LinearOp>(u))
        ok = l.getInput() == n && l.getWeight() != n &&
             (!l.getBias() || l.getBias() != n) &&
             lowerGpuLinear(l, x, scale, eps, /*dryRun=*/true);
      else if (auto g = dyn_cast<GatedMlpOp>(u))
        ok = g.getInput() == n && g.getWGate() != n && g.getWUp() != n &&
             g.getWDown() != n && lowerGpuGatedMlp(g, x, scale, eps, true);
      if (!ok)
        return;
    }
    llvm::SetVector<Operation *> unique(users.begin(), users.end());
    for (Operation *u : unique) {
      if (auto l = dyn_cast<LinearOp>(u))
        (void)lowerGpuLinear(l, x, scale, eps);
      else
        (void)lowerGpuGatedMlp(cast<GatedMlpOp>(u), x, scale, eps);
    }
    if (n.use_empty())
      norm->erase();
  }

  /// callee(x as [1, M, k], weight(), bias, scale, residual, out, tmp,
  /// transpose_w, act, flags, eps) (tfcrt_gpu_linear_ex_*; scale: the RMS
  /// norm's, or none) into a fresh [1, M, nOut] buffer of `outElem` (nOut:
  /// w's columns, halved by the GLU), with an f32 [1, M, k + nW] scratch
  /// buffer for the runtime; returns the result as a tensor of
  /// `resultType`.
  Value emitLinearExCall(OpBuilder &b, Location loc, StringRef callee, Value x,
                         function_ref<Value()> weight, Value bias, Value scale,
                         Value residual, bool transposeW, int64_t act,
                         int64_t flags, double eps, int64_t k, int64_t nW,
                         Type outElem, RankedTensorType resultType) {
    MLIRContext *ctx = b.getContext();
    Type f32 = b.getF32Type();
    int64_t nOut = (flags & TFCRT_LX_GLU) ? nW / 2 : nW;
    Value x3 = as3d(b, loc, x);
    Value rows = tensor::DimOp::create(b, loc, x3, 1);
    Value out = memref::AllocOp::create(
        b, loc, MemRefType::get({1, ShapedType::kDynamic, nOut}, outElem),
        ValueRange{rows});
    Value tmp = memref::AllocOp::create(
        b, loc, MemRefType::get({1, ShapedType::kDynamic, k + nW}, f32),
        ValueRange{rows});
    Value biasV = bias ? view(b, loc, bias) : none(b, loc, 1, f32);
    Value scaleV = scale ? view(b, loc, scale) : none(b, loc, 1, f32);
    Value resV =
        residual ? view(b, loc, as3d(b, loc, residual)) : none(b, loc, 3, f32);
    SmallVector<Value> args = {
        view(b, loc, x3),
        weight(),
        biasV,
        scaleV,
        resV,
        memref::CastOp::create(b, loc, anyStrided(ctx, 3, outElem), out),
        memref::CastOp::create(b, loc, anyStrided(ctx, 3, f32), tmp)};
    for (int64_t v : {transposeW ? int64_t(1) : int64_t(0), act, flags})
      args.push_back(arith::ConstantIntOp::create(b, loc, v, 64));
    args.push_back(
        arith::ConstantFloatOp::create(b, loc, b.getF64Type(), APFloat(eps)));
    declare(callee, ValueRange(args).getTypes());
    func::CallOp::create(b, loc, callee, TypeRange{}, args);
    return resultOf(b, loc, out, x, nOut, resultType);
  }

  /// The activation / residual chain after a linear-like op's result.
  SmallVector<Operation *> epilogueChain(Operation *op, int64_t &act,
                                         Value &residual) {
    SmallVector<Operation *> chain = {op};
    Value result = op->getResult(0);
    act = TFCRT_ACT_NONE;
    if (result.hasOneUse())
      if (auto u = dyn_cast<UnaryOp>(*result.getUsers().begin()))
        if (actOf(u.getFn()) >= 0 &&
            u.getResult().getType() == result.getType()) {
          act = actOf(u.getFn());
          chain.push_back(u);
          result = u.getResult();
        }
    auto [add, res] = residualAdd(result);
    residual = res;
    if (add)
      chain.push_back(add);
    return chain;
  }

  void lowerQLinear(QLinearOp op) {
    auto xt = rtt(op.getInput());
    if (xt.getRank() < 2 || !rtt(op.getWeight()).hasStaticShape())
      return;
    int64_t act;
    Value residual;
    SmallVector<Operation *> chain = epilogueChain(op, act, residual);
    Operation *last = chain.back();
    OpBuilder b(last);
    Location loc = classLoc(op, "qlinear", chain);
    std::optional<double> as;
    if (op.getActScaleAttr())
      as = op.getActScaleAttr().getValueAsDouble();
    FailureOr<Value> blob = packQuant(
        b, loc, op, {op.getWeight(), op.getScale(), op.getZeroPoint()},
        std::nullopt, op.getBits(), op.getUnsignedCodes(), op.getGroup(),
        op.getActivation(), as, op.getActZeroPoint());
    if (failed(blob))
      return;
    Value y = emitLinear(b, loc, op.getInput(), *blob, op.getBias(), residual,
                         act, rtt(op.getWeight()).getDimSize(1),
                         cast<RankedTensorType>(last->getResult(0).getType()));
    last->getResult(0).replaceAllUsesWith(y);
    for (Operation *o : llvm::reverse(chain))
      o->erase();
  }

  void lowerQGatedMlp(QGatedMlpOp op) {
    auto xt = rtt(op.getInput());
    int64_t act = actOf(op.getAct());
    if (xt.getRank() < 2 || act < 0)
      return;
    auto [add, residual] = residualAdd(op.getResult());
    Operation *last = add ? add.getOperation() : op.getOperation();
    OpBuilder b(last);
    Location loc = classLoc(op, "qgated_mlp", {last});
    bool hasZ = !op.getZeroPoints().empty();
    auto z = [&](int i) { return hasZ ? op.getZeroPoints()[i] : Value(); };
    FailureOr<Value> gu = packQuant(
        b, loc, op, {op.getWGate(), op.getSGate(), z(0)},
        QWeightRef{op.getWUp(), op.getSUp(), z(1)}, op.getBits(),
        op.getUnsignedCodes(), op.getGroup(), op.getActivation(), std::nullopt,
        std::nullopt);
    if (failed(gu))
      return;
    FailureOr<Value> down = packQuant(
        b, loc, op, {op.getWDown(), op.getSDown(), z(2)}, std::nullopt,
        op.getBits(), op.getUnsignedCodes(), op.getGroup(), op.getActivation(),
        std::nullopt, std::nullopt);
    if (failed(down))
      return;
    int64_t h = rtt(op.getWGate()).getDimSize(1);
    SmallVector<int64_t> hs(xt.getShape());
    hs.back() = h;
    Value hidden = emitLinear(b, loc, op.getInput(), *gu, Value(), Value(), act,
                              h, RankedTensorType::get(hs, b.getF32Type()));
    Value y = emitLinear(b, loc, hidden, *down, Value(), residual,
                         TFCRT_ACT_NONE, rtt(op.getWDown()).getDimSize(1),
                         cast<RankedTensorType>(last->getResult(0).getType()));
    last->getResult(0).replaceAllUsesWith(y);
    if (add)
      add->erase();
    op->erase();
  }

  /// A gated MLP with bf16 / f16 weights: gate + up as one gated blob.
  void lowerHalfGatedMlp(GatedMlpOp op, int64_t act) {
    std::optional<ConstBytes> g = constBytes(op.getWGate()),
                              u = constBytes(op.getWUp());
    if (!g || !u || !g->hasData || !u->hasData)
      return;
    auto [add, residual] = residualAdd(op.getResult());
    Operation *last = add ? add.getOperation() : op.getOperation();
    OpBuilder b(last);
    Location loc = classLoc(op, "gated_mlp", {last});
    // Interleave gate and up as one [k, 2h] half-precision constant.
    int64_t k = g->type.getDimSize(0), h = g->type.getDimSize(1);
    Type et = g->type.getElementType();
    bool bf = et.isBF16();
    tfcrt::pack::Layout layout;
    std::string err;
    if (!tfcrt::pack::layoutOf(bf ? TFC_PACK_BF16 : TFC_PACK_F32, k, 2 * h, 0,
                               TFC_PACK_FLAG_GATED, layout, err))
      return;
    std::vector<int64_t> order = tfcrt::pack::gatedColumnOrder(h, layout.panel);
    std::vector<float> f(static_cast<size_t>(k * 2 * h));
    const uint16_t *gp = reinterpret_cast<const uint16_t *>(g->bytes.data());
    const uint16_t *up = reinterpret_cast<const uint16_t *>(u->bytes.data());
    for (int64_t kk = 0; kk < k; ++kk)
      for (int64_t c = 0; c < 2 * h; ++c) {
        int64_t src = order[c];
        uint16_t bits = src < h ? gp[kk * h + src] : up[kk * h + src - h];
        APFloat v(bf ? APFloat::BFloat() : APFloat::IEEEhalf(),
                  APInt(16, bits));
        bool lost;
        v.convert(APFloat::IEEEsingle(), APFloat::rmNearestTiesToEven, &lost);
        f[kk * 2 * h + c] = v.convertToFloat();
      }
    std::vector<char> blob(layout.total);
    bool ok = bf ? tfcrt::pack::packBf16(f.data(), k, 2 * h, false,
                                         TFC_PACK_FLAG_GATED, blob.data(),
                                         blob.size(), err)
                 : tfcrt::pack::packF32(f.data(), k, 2 * h, false,
                                        TFC_PACK_FLAG_GATED, blob.data(),
                                        blob.size(), err);
    if (!ok) {
      op->emitError() << "packing the weight failed: " << err;
      return;
    }
    Value gu = blobConstant(b, loc, op, blob, layout.total, "gated_half");
    FailureOr<Value> down = packHalf(b, loc, op.getWDown(), false, op);
    if (failed(down))
      return;
    auto xt = rtt(op.getInput());
    SmallVector<int64_t> hs(xt.getShape());
    hs.back() = h;
    Value hidden = emitLinear(b, loc, op.getInput(), gu, Value(), Value(), act,
                              h, RankedTensorType::get(hs, b.getF32Type()));
    Value y = emitLinear(b, loc, hidden, *down, Value(), residual,
                         TFCRT_ACT_NONE, rtt(op.getWDown()).getDimSize(1),
                         cast<RankedTensorType>(last->getResult(0).getType()));
    last->getResult(0).replaceAllUsesWith(y);
    if (add)
      add->erase();
    op->erase();
  }

  void lowerGatedMlp(GatedMlpOp op) {
    auto xt = rtt(op.getInput());
    if (!xt.getElementType().isF32() || xt.getRank() < 2)
      return;
    int64_t act = actOf(op.getActivation());
    auto wg = rtt(op.getWGate()), wd = rtt(op.getWDown());
    if (act < 0 || !wg.hasStaticShape() || !wd.hasStaticShape())
      return;
    if (!wg.getElementType().isF32())
      return lowerHalfGatedMlp(op, act);
    auto [add, residual] = residualAdd(op.getResult());
    Operation *last = add ? add.getOperation() : op.getOperation();
    OpBuilder b(last);
    Location loc = classLoc(op, "gated_mlp", {last});
    FailureOr<Value> gu =
        packF32(b, loc, op.getWGate(), op.getWUp(), false, op);
    if (failed(gu))
      return;
    FailureOr<Value> down = packF32(b, loc, op.getWDown(), Value(), false, op);
    if (failed(down))
      return;
    int64_t h = wg.getShape()[1];
    SmallVector<int64_t> hs(xt.getShape());
    hs.back() = h;
    Value hidden = emitLinear(b, loc, op.getInput(), *gu, Value(), Value(), act,
                              h, RankedTensorType::get(hs, b.getF32Type()));
    Value y = emitLinear(b, loc, hidden, *down, Value(), residual,
                         TFCRT_ACT_NONE, wd.getShape()[1],
                         cast<RankedTensorType>(last->getResult(0).getType()));
    last->getResult(0).replaceAllUsesWith(y);
    if (add)
      add->erase();
    op->erase();
  }

  /// `t` with leading unit dims up to rank 4.
  Value as4d(OpBuilder &b, Location loc, Value t) {
    auto type = rtt(t);
    int64_t r = type.getRank();
    if (r == 4)
      return t;
    SmallVector<int64_t> shape(4 - r, 1);
    shape.append(type.getShape().begin(), type.getShape().end());
    SmallVector<ReassociationIndices> re;
    if (r == 0)
      return tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get(shape, type.getElementType()), t,
          SmallVector<ReassociationIndices>{});
    re.push_back({});
    for (int64_t i = 0; i <= 4 - r; ++i)
      re[0].push_back(i);
    for (int64_t i = 1; i < r; ++i)
      re.push_back({4 - r + i});
    SmallVector<OpFoldResult> out;
    for (int64_t i = 0; i < 4 - r; ++i)
      out.push_back(b.getIndexAttr(1));
    for (int64_t i = 0; i < r; ++i)
      out.push_back(type.isDynamicDim(i)
                        ? OpFoldResult(tensor::DimOp::create(b, loc, t, i).getResult())
                        : OpFoldResult(b.getIndexAttr(type.getDimSize(i))));
    return tensor::ExpandShapeOp::create(
        b, loc, RankedTensorType::get(shape, type.getElementType()), t, re, out);
  }

  /// K and V of `op` as a quantized KV cache stores them (tfc --kv-dtype):
  /// both `tfc.cast` from f16, or both `tfc.dequantize` of signed 8-bit
  /// codes with per-row scales [b, h, t, 1] and no zero point. Fills
  /// stored[2] (and scales[2]); returns the entry to call, or null.
  const char *quantizedKv(AttentionOp op, Value *stored, Value *scales) {
    Value kv[2] = {op.getKey(), op.getValue()};
    int f16 = 0, i8 = 0;
    for (int i = 0; i < 2; ++i) {
      if (auto c = kv[i].getDefiningOp<CastOp>()) {
        if (rtt(c.getInput()).getElementType().isF16()) {
          stored[i] = c.getInput();
          ++f16;
        }
      } else if (auto dq = kv[i].getDefiningOp<DequantizeOp>()) {
        auto st = rtt(dq.getScale());
        if (rtt(dq.getInput()).getElementType().isInteger(8) &&
            dq.getBits() == 8 && !dq.getUnsignedCodes() &&
            !dq.getZeroPoint() && dq.getGroup() == 0 && st.getRank() == 4 &&
            st.getDimSize(3) == 1) {
          stored[i] = dq.getInput();
          scales[i] = dq.getScale();
          ++i8;
        }
      }
    }
    return f16 == 2 ? kAttentionKvF16 : i8 == 2 ? kAttentionKvI8 : nullptr;
  }

  /// Whether `v` is a tensor.concat along the keys (dim 2) of 2 to 4
  /// [b, h, t_i, d] tensors used once (a ring cache step's K / V,
  /// tfc-kv-cache: sink slots, the ring from its oldest slot, its first
  /// slots, the new rows).
  static bool isKeyConcat(Value v) {
    auto c = v.getDefiningOp<tensor::ConcatOp>();
    return c && v.hasOneUse() && c.getDim() == 2 && c.getInputs().size() >= 2 &&
           c.getInputs().size() <= 4 && rtt(v).getRank() == 4;
  }

  /// The inputs of the key concat `v` (isKeyConcat), front-padded to 4 with
  /// an empty slice.
  SmallVector<Value> keyParts(OpBuilder &b, Location loc, Value v) {
    auto c = v.getDefiningOp<tensor::ConcatOp>();
    SmallVector<Value> parts(c.getInputs().begin(), c.getInputs().end());
    while (parts.size() < 4) {
      Value first = parts.front();
      SmallVector<OpFoldResult> offs(4, b.getIndexAttr(0)), szs,
          str(4, b.getIndexAttr(1));
      for (int64_t i = 0; i < 4; ++i)
        szs.push_back(i == 2 ? OpFoldResult(b.getIndexAttr(0))
                             : tensor::getMixedSize(b, loc, first, i));
      parts.insert(parts.begin(),
                   tensor::ExtractSliceOp::create(b, loc, first, offs, szs, str)
                       .getResult());
    }
    return parts;
  }

  /// Whether `v` is tfc.transpose(x, [0, 2, 1, 3]): heads split out of a
  /// [b, s, h, d] tensor, the way exporters feed attention.
  static TransposeOp headsTranspose(Value v) {
    auto t = v.getDefiningOp<TransposeOp>();
    if (t && t.getPerm() == ArrayRef<int64_t>{0, 2, 1, 3})
      return t;
    return nullptr;
  }

  /// A [b, h, s, d] operand of the attention kernel. When it is a heads
  /// transpose of x [b, s, h, d], the kernel reads x through a permuted
  /// strided view (memref.transpose) and the copy disappears.
  Value headsView(OpBuilder &b, Location loc, Value t) {
    TransposeOp tr = headsTranspose(t);
    if (!tr || !tfcTransposeFold)
      return view(b, loc, t);
    return swapHeads(b, loc, view(b, loc, tr.getInput()));
  }

  /// The [b, s, h, d] <-> [b, h, s, d] view of a rank-4 strided memref.
  Value swapHeads(OpBuilder &b, Location loc, Value m) {
    auto perm = AffineMap::getPermutationMap(ArrayRef<unsigned>{0, 2, 1, 3},
                                             b.getContext());
    Value v = memref::TransposeOp::create(b, loc, m, AffineMapAttr::get(perm));
    return memref::CastOp::create(
        b, loc,
        anyStrided(b.getContext(), 4,
                   cast<MemRefType>(m.getType()).getElementType()),
        v);
  }

  /// gpu-rope: one layer of a KV-cache step around its attention
  /// (matchRopeCaches): the new keys' rotary inserted into the cache, the
  /// new values after them, the attention of q's rotary over the cache.
  struct RopeCache {
    RotaryOp q, k;
    tensor::InsertSliceOp insK, insV;
    tensor::ExtractSliceOp exK, exV;
  };

  static bool isIndex(OpFoldResult o, int64_t v) {
    std::optional<int64_t> c = getConstantIntValue(o);
    return c && *c == v;
  }

  /// [l, kv, 0, 0, at, 0] offsets, unit sizes on the first two dims and
  /// unit strides of a rank-6 slice of the cache into / as a rank-4 tensor
  /// (kv 0: keys, 1: values); l and at (a value, or null for 0) returned.
  static bool cacheSlice(OffsetSizeAndStrideOpInterface op, int64_t kv,
                         int64_t &l, OpFoldResult &at) {
    SmallVector<OpFoldResult> off = op.getMixedOffsets(),
                              sz = op.getMixedSizes(),
                              st = op.getMixedStrides();
    if (off.size() != 6 || !isIndex(off[1], kv) || !isIndex(off[2], 0) ||
        !isIndex(off[3], 0) || !isIndex(off[5], 0) || !isIndex(sz[0], 1) ||
        !isIndex(sz[1], 1) ||
        !llvm::all_of(st, [](OpFoldResult x) { return isIndex(x, 1); }))
      return false;
    std::optional<int64_t> lc = getConstantIntValue(off[0]);
    if (!lc)
      return false;
    l = *lc;
    at = off[4];
    return true;
  }

  /// A rotate-half tfc.rotary of a rank-4 f32 [b, h, s, d] input (d static
  /// and even) with rank-4 f32 cos / sin.
  static RotaryOp halfRotary(Value v) {
    auto r = v.getDefiningOp<RotaryOp>();
    if (!r || r.getStyle() != RotaryStyle::half)
      return nullptr;
    auto it = rtt(r.getInput());
    if (it.getRank() != 4 || !it.getElementType().isF32() ||
        it.isDynamicDim(3) || it.getDimSize(3) % 2 != 0 ||
        r.getResult().getType() != Type(it))
      return nullptr;
    for (Value c : {r.getCos(), r.getSin()})
      if (rtt(c).getRank() != 4 || !rtt(c).getElementType().isF32())
        return nullptr;
    return r;
  }

  /// gpu-rope: the layers of a KV-cache step (tfc-kv-cache) whose cache,
  /// the memref argument under `tt` (a restrict writable to_tensor), is
  /// only a chain of, per layer,
  ///   c1 = insert_slice rotary(k) into c[l, 0, 0, 0, past, 0]
  ///   c2 = insert_slice v into c1[l, 1, 0, 0, past, 0]
  ///   attention(rotary(q), c2[l, 0, 0, 0, 0, 0], c2[l, 1, 0, 0, 0, 0])
  /// (the rotaries rotate-half with the same cos / sin, the slices' only
  /// reader the attention) ending in one materialize_in_destination into
  /// the argument; past (the same value in every layer) the index cast of
  /// the element of a rank-0 i64 argument, returned in `pastT`. Empty unless
  /// every link matches: the calls write the argument directly, so no tensor of
  /// the cache may be left.
  SmallVector<RopeCache>
  matchRopeCaches(bufferization::ToTensorOp tt, Value &pastT,
                  bufferization::MaterializeInDestinationOp &fin) {
    SmallVector<RopeCache> layers;
    auto arg = dyn_cast<BlockArgument>(tt.getBuffer());
    if (!arg || !tt.getRestrict() || !tt.getWritable() ||
        rtt(tt.getResult()).getRank() != 6 ||
        !rtt(tt.getResult()).getElementType().isF32())
      return {};
    Value c = tt.getResult(), past;
    if (!c.hasOneUse())
      return {};
    Operation *u = *c.getUsers().begin(); // the chain's next link
    while (true) {
      if (auto m = dyn_cast<bufferization::MaterializeInDestinationOp>(u)) {
        if (m.getSource() != c || m.getDest() != arg)
          return {};
        fin = m;
        break;
      }
      RopeCache rc;
      rc.insK = dyn_cast<tensor::InsertSliceOp>(u);
      int64_t l = -1, l2 = -1;
      OpFoldResult atK, atV;
      if (!rc.insK || rc.insK.getDest() != c ||
          !cacheSlice(rc.insK, 0, l, atK) || !rc.insK->hasOneUse())
        return {};
      rc.insV = dyn_cast<tensor::InsertSliceOp>(*rc.insK->getUsers().begin());
      if (!rc.insV || rc.insV.getDest() != rc.insK.getResult() ||
          !cacheSlice(rc.insV, 1, l2, atV) || l2 != l || atV != atK)
        return {};
      // One position for every layer: an index cast of a rank-0 i64
      // tensor's element.
      Value at = dyn_cast<Value>(atK);
      if (!at || (past && at != past))
        return {};
      past = at;
      Value next = rc.insV.getResult();
      Operation *after = nullptr;
      for (Operation *r : next.getUsers()) {
        auto ex = dyn_cast<tensor::ExtractSliceOp>(r);
        int64_t le = -1;
        OpFoldResult atE;
        if (ex && cacheSlice(ex, 0, le, atE) && le == l && isIndex(atE, 0) &&
            !rc.exK)
          rc.exK = ex;
        else if (ex && cacheSlice(ex, 1, le, atE) && le == l &&
                 isIndex(atE, 0) && !rc.exV)
          rc.exV = ex;
        else if (!after)
          after = r;
        else
          return {};
      }
      if (!rc.exK || !rc.exV || !after || !rc.exK->hasOneUse() ||
          !rc.exV->hasOneUse())
        return {};
      auto att = dyn_cast<AttentionOp>(*rc.exK->getUsers().begin());
      if (!att || att.getKey() != rc.exK.getResult() ||
          att.getValue() != rc.exV.getResult() ||
          *rc.exV->getUsers().begin() != att.getOperation() ||
          rtt(att.getQuery()).getRank() != 4)
        return {};
      rc.q = halfRotary(att.getQuery());
      rc.k = halfRotary(rc.insK.getSource());
      if (!rc.q || !rc.k || !rc.k->hasOneUse() ||
          rc.q.getCos() != rc.k.getCos() || rc.q.getSin() != rc.k.getSin() ||
          rtt(rc.q.getInput()).getDimSize(3) !=
              rtt(rc.k.getInput()).getDimSize(3) ||
          rtt(rc.insV.getSource()).getRank() != 4 ||
          !rtt(rc.insV.getSource()).getElementType().isF32())
        return {};
      layers.push_back(rc);
      c = next;
      u = after;
    }
    auto cast = past ? past.getDefiningOp<arith::IndexCastOp>() : nullptr;
    auto ext = cast ? cast.getIn().getDefiningOp<tensor::ExtractOp>() : nullptr;
    // An input of the entry: the runtime passes it in memory the host
    // wrote before the run, which the kernels may read before their PDL
    // wait.
    if (!ext || !isa<BlockArgument>(ext.getTensor()) ||
        rtt(ext.getTensor()).getRank() != 0 ||
        !rtt(ext.getTensor()).getElementType().isInteger(64))
      return {};
    pastT = ext.getTensor();
    return layers;
  }

  /// gpu-rope over every function: where matchRopeCaches takes a cache,
  /// each of its attentions becomes one tfcrt_gpu_attention_*_rope call
  /// (lowerAttention) and the chain, the rotaries and the materialization
  /// disappear.
  void fuseRopeCaches() {
    SmallVector<bufferization::ToTensorOp> caches;
    module.walk([&](bufferization::ToTensorOp tt) { caches.push_back(tt); });
    for (bufferization::ToTensorOp tt : caches) {
      Value pastT;
      bufferization::MaterializeInDestinationOp fin;
      SmallVector<RopeCache> layers = matchRopeCaches(tt, pastT, fin);
      if (layers.empty())
        continue;
      // Every attention must take the call (lowerAttention's conditions),
      // else none: check them all before changing anything.
      if (!llvm::all_of(layers, [&](RopeCache &rc) {
            auto a = cast<AttentionOp>(*rc.exK->getUsers().begin());
            return attentionFits(a) && !a.getSinkQuery();
          }))
        continue;
      for (RopeCache &rc : layers) {
        auto att = cast<AttentionOp>(*rc.exK->getUsers().begin());
        lowerAttention(att, &rc, tt.getBuffer(), pastT);
      }
      // The chain from the last layer back: each c2's uses become c's.
      fin->erase();
      for (RopeCache &rc : llvm::reverse(layers)) {
        rc.exK->erase();
        rc.exV->erase();
        rc.insV.getResult().replaceAllUsesWith(rc.insK.getDest());
        Value vNew = rc.insV.getSource();
        rc.insV->erase();
        rc.insK->erase();
        // The heads transposes the call reads through views (q, k and v
        // may share one).
        llvm::SetVector<Operation *> transposes;
        auto noteTranspose = [&](Value in) {
          if (TransposeOp tr = headsTranspose(in))
            transposes.insert(tr);
        };
        noteTranspose(vNew);
        for (RotaryOp r : {rc.k, rc.q})
          if (r->use_empty()) {
            noteTranspose(r.getInput());
            r->erase();
          }
        for (Operation *tr : transposes)
          if (tr->use_empty())
            tr->erase();
      }
      if (tt->use_empty())
        tt->erase();
    }
  }

  /// lowerAttention's conditions (the call takes the op).
  bool attentionFits(AttentionOp op) {
    // Sinks at their cache positions (tfc-sink-query): the CPU kernels
    // (tfcrt_attention_sq_f32, tfcrt_attention_kv_{f16,i8}_sq); the GPU
    // kernels take the reference lowering.
    if (op.getSinkQuery() && (gpuEntry || op.getSinks() > 64))
      return false;
    auto qt = rtt(op.getQuery());
    if (!qt.getElementType().isF32() || qt.getRank() != 4 ||
        rtt(op.getKey()).getRank() != 4 || rtt(op.getValue()).getRank() != 4)
      return false;
    // The GPU kernels keep a row of q and of the output in registers or
    // shared memory: static head dims of at most 256, f32 K / V.
    if (gpuEntry) {
      auto kt = rtt(op.getKey()), vt = rtt(op.getValue());
      if (!kt.getElementType().isF32() || !vt.getElementType().isF32() ||
          qt.isDynamicDim(3) || vt.isDynamicDim(3) || qt.getDimSize(3) > 256 ||
          vt.getDimSize(3) > 256)
        return false;
    }
    Value mask = op.getMask();
    if (mask &&
        (rtt(mask).getRank() > 4 || !(rtt(mask).getElementType().isInteger(1) ||
                                      rtt(mask).getElementType().isF32())))
      return false;
    return true;
  }

  /// The [b, h, t, d] view of the cache argument `cache` that extract_slice
  /// `ex` took (rank-reduced dims 0 and 1), as a strided memref.
  Value cacheView(OpBuilder &b, Location loc, Value cache,
                  tensor::ExtractSliceOp ex) {
    auto mt = cast<MemRefType>(cache.getType());
    auto rt = rtt(ex.getResult());
    auto sub = memref::SubViewOp::create(
        b, loc,
        cast<MemRefType>(memref::SubViewOp::inferRankReducedResultType(
            rt.getShape(), mt, ex.getStaticOffsets(), ex.getStaticSizes(),
            ex.getStaticStrides())),
        cache, ex.getMixedOffsets(), ex.getMixedSizes(), ex.getMixedStrides());
    return memref::CastOp::create(
        b, loc, anyStrided(b.getContext(), 4, rt.getElementType()), sub);
  }

  /// tfc.attention => tfcrt_gpu_attention_* (gpu) or the CPU kernels. With
  /// `rc` (gpu-rope): the _rope entry over the cache argument `cache`'s
  /// views, q before its rotary and the rotary's and the new rows'
  /// operands appended (tfc_kernels.h).
  void lowerAttention(AttentionOp op, RopeCache *rc = nullptr,
                      Value cache = nullptr, Value pastT = nullptr) {
    if (!attentionFits(op))
      return;
    Value mask = op.getMask();
    OpBuilder b(op);
    Location loc = classLoc(op, "attention");
    MLIRContext *ctx = b.getContext();
    Type f32 = b.getF32Type(), i1 = b.getI1Type(), i8 = b.getIntegerType(8);
    Value keep = none(b, loc, 4, i1), addMask = none(b, loc, 4, f32);
    if (mask) {
      Value m4 = view(b, loc, as4d(b, loc, mask));
      if (rtt(mask).getElementType().isInteger(1))
        keep = m4;
      else if (rtt(mask).getElementType().isF32())
        addMask = m4;
      else
        return;
    }
    auto rt = cast<RankedTensorType>(op.getResult().getType());
    // A result whose only use merges the heads back ([b, hq, s, dv] ->
    // [b, s, hq, dv]) is written in that layout directly.
    TransposeOp outTr;
    if (tfcTransposeFold && op.getResult().hasOneUse())
      if (auto t = dyn_cast<TransposeOp>(*op.getResult().getUsers().begin()))
        if (t.getPerm() == ArrayRef<int64_t>{0, 2, 1, 3})
          outTr = t;
    auto allocType =
        outTr ? cast<RankedTensorType>(outTr.getResult().getType()) : rt;
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < 4; ++i)
      if (allocType.isDynamicDim(i)) {
        // [b, hq, s, dv]: b, hq, s from q, dv from v (dims 1 and 2 swap
        // for the merged layout).
        int64_t d = outTr && (i == 1 || i == 2) ? 3 - i : i;
        Value src = d == 3 ? (rc ? rc->insV.getSource() : op.getValue())
                    : rc   ? rc->q.getInput()
                           : op.getQuery();
        // Through a folded heads transpose, from its input (perm [0, 2, 1,
        // 3] is its own inverse), so that the transpose is left unused.
        if (TransposeOp tr = headsTranspose(src); tr && tfcTransposeFold) {
          src = tr.getInput();
          d = d == 1 || d == 2 ? 3 - d : d;
        }
        dyn.push_back(tensor::DimOp::create(b, loc, src, d));
      }
    auto outType = MemRefType::get(allocType.getShape(), f32);
    Value out = memref::AllocOp::create(b, loc, outType, dyn);
    Value outV = memref::CastOp::create(b, loc, anyStrided(ctx, 4, f32), out);
    if (outTr)
      outV = swapHeads(b, loc, outV);
    auto i64c = [&](int64_t v) -> Value {
      return arith::ConstantIntOp::create(b, loc, v, 64);
    };
    Value scale = arith::ConstantOp::create(
        b, loc, b.getF32FloatAttr(op.getScale().convertToDouble()));
    // A quantized KV cache's K/V are read as stored (the dequantize / cast
    // then has no other use and disappears).
    Value stored[2], scales[2];
    const char *entry = gpuEntry ? nullptr : quantizedKv(op, stored, scales);
    Value q = op.getQuery(), kv[2] = {op.getKey(), op.getValue()};
    SmallVector<Value> args = {headsView(b, loc, rc ? rc->q.getInput() : q)};
    // A ring cache's K / V (and int8 scales) as concats of their parts:
    // the parts entry reads each in place, the concats (copies) go.
    SmallVector<Value> parts[4]; // K, K scales, V, V scales
    bool inParts = !gpuEntry && !rc;
    for (int i = 0; i < 4 && inParts; ++i) {
      const bool sc = i % 2, isV = i / 2;
      if (sc && entry != kAttentionKvI8)
        continue;
      // All checked before any empty slice is made.
      inParts = isKeyConcat(sc ? scales[isV] : entry ? stored[isV] : kv[isV]);
    }
    SetVector<Operation *> concatOps; // erased after the call if unused
    if (inParts) {
      for (int i = 0; i < 4; ++i) {
        const bool sc = i % 2, isV = i / 2;
        if (sc && entry != kAttentionKvI8)
          continue;
        Value whole = sc ? scales[isV] : entry ? stored[isV] : kv[isV];
        concatOps.insert(whole.getDefiningOp());
        parts[i] = keyParts(b, loc, whole);
      }
      for (int i = 0; i < 4; ++i)
        for (Value x : parts[i])
          args.push_back(headsView(b, loc, x));
      entry = entry == kAttentionKvI8    ? kAttentionPartsI8
              : entry == kAttentionKvF16 ? kAttentionPartsF16
                                         : kAttentionParts;
    } else if (rc)
      args.append({cacheView(b, loc, cache, rc->exK),
                   cacheView(b, loc, cache, rc->exV)});
    else if (entry == kAttentionKvI8)
      args.append({view(b, loc, stored[0]), view(b, loc, scales[0]),
                   view(b, loc, stored[1]), view(b, loc, scales[1])});
    else if (entry)
      args.append({view(b, loc, stored[0]), view(b, loc, stored[1])});
    else
      args.append({headsView(b, loc, kv[0]), headsView(b, loc, kv[1])});
    if (!entry)
      entry = gpuEntry ? gpuEntry : kAttention;
    // Block pattern (tfc-sparsify-attention bigbird): a constant i8 [P, Q].
    Value layout = none(b, loc, 2, i8);
    if (auto l = op.getLayoutAttr()) {
      Value c = arith::ConstantOp::create(b, loc, cast<TypedAttr>(l));
      layout = view(b, loc, c);
    }
    args.append({keep, addMask, outV, scale, i64c(op.getCausal() ? 1 : 0),
                 i64c(op.getWindow()), i64c(op.getSinks()),
                 i64c(op.getBlock()), layout, i64c(op.getLayoutBlock())});
    std::string name = entry;
    if (inParts) {
      // The parts entries always take sink_q (all sizes 0: none).
      Value sq = op.getSinkQuery();
      args.push_back(sq ? headsView(b, loc, sq) : none(b, loc, 4, f32));
    } else if (Value sq = op.getSinkQuery()) {
      name = entry == kAttention ? std::string(kAttentionSinkQ)
                                 : std::string(entry) + "_sq";
      args.push_back(headsView(b, loc, sq));
    }
    if (rc) {
      name += "_rope";
      Value past = view(b, loc, pastT);
      args.append({headsView(b, loc, rc->k.getInput()),
                   headsView(b, loc, rc->insV.getSource()),
                   view(b, loc, rc->q.getCos()), view(b, loc, rc->q.getSin()),
                   past});
    }
    declare(name, ValueRange(args).getTypes());
    func::CallOp::create(b, loc, name, TypeRange{}, args);
    Value y = bufferization::ToTensorOp::create(b, loc, allocType, out,
                                                /*restrict=*/true,
                                                /*writable=*/true);
    if (outTr) {
      outTr.getResult().replaceAllUsesWith(y);
      outTr->erase();
    } else {
      op.getResult().replaceAllUsesWith(y);
    }
    op->erase();
    if (rc)
      return; // fuseRopeCaches erases the chain
    // Heads transposes read through views are left without a use (each
    // once: q, k and v may be one value).
    SetVector<Operation *> dead;
    for (Value v : {q, kv[0], kv[1]})
      if (TransposeOp tr = headsTranspose(v))
        dead.insert(tr);
    for (Operation *tr : dead)
      if (tr->use_empty())
        tr->erase();
    if (stored[0])
      for (int i = 0; i < (kv[0] == kv[1] ? 1 : 2); ++i)
        if (Operation *d = kv[i].getDefiningOp(); d && d->use_empty())
          d->erase();
    // The concats read in parts (kv[] are gone where a quantized K / V's
    // dequantize was erased above: its concats are the stored ones).
    for (Operation *c : concatOps)
      if (c->use_empty())
        c->erase();
  }

  /// tfc.layer_norm / tfc.rms_norm with f32 input, scale and bias =>
  /// tfcrt_layer_norm_f32 / tfcrt_rms_norm_f32 on the input viewed as
  /// [rows, n] (the op always normalizes the last dim); the result is that
  /// [rows, n] buffer reshaped back.
  void lowerNorm(Operation *op, Value x, Value scale, Value bias, double eps,
                 bool rms) {
    auto xt = rtt(x);
    auto f32Vector = [](Value v) {
      return rtt(v).getElementType().isF32() && rtt(v).getRank() == 1;
    };
    if (!xt.getElementType().isF32() || xt.getRank() < 1 ||
        op->getResult(0).getType() != xt || !f32Vector(scale) ||
        (bias && !f32Vector(bias)))
      return;
    OpBuilder b(op);
    Location loc = classLoc(op, rms ? "rms_norm" : "layer_norm");
    MLIRContext *ctx = b.getContext();
    Type f32 = b.getF32Type();
    const int64_t r = xt.getRank();
    ArrayRef<int64_t> shape = xt.getShape();
    // [d0, .., dr-2, n] <-> [d0*..*dr-2, n]; [n] <-> [1, n].
    SmallVector<ReassociationIndices> re(1);
    int64_t rows = 1;
    for (int64_t i = 0; i + 1 < r; ++i) {
      re[0].push_back(i);
      rows = ShapedType::isDynamic(rows) || xt.isDynamicDim(i)
                 ? ShapedType::kDynamic
                 : rows * shape[i];
    }
    if (r == 1)
      re[0] = {0, 1};
    else
      re.push_back({r - 1});
    auto t2 = RankedTensorType::get({rows, shape.back()}, f32);
    Value x2 = x;
    if (r == 1)
      x2 = tensor::ExpandShapeOp::create(
          b, loc, t2, x, re,
          SmallVector<OpFoldResult>{b.getIndexAttr(1),
                                    tensor::getMixedSize(b, loc, x, 0)});
    else if (r > 2)
      x2 = tensor::CollapseShapeOp::create(b, loc, t2, x, re);
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < 2; ++i)
      if (t2.isDynamicDim(i))
        dyn.push_back(tensor::DimOp::create(b, loc, x2, i));
    Value out = memref::AllocOp::create(
        b, loc, MemRefType::get(t2.getShape(), f32), dyn);
    SmallVector<Value> args = {view(b, loc, x2), view(b, loc, scale)};
    if (!rms)
      args.push_back(bias ? view(b, loc, bias) : none(b, loc, 1, f32));
    args.push_back(
        memref::CastOp::create(b, loc, anyStrided(ctx, 2, f32), out));
    args.push_back(arith::ConstantOp::create(b, loc, b.getF32FloatAttr(eps)));
    const char *entry = rms ? kRmsNorm : kLayerNorm;
    declare(entry, ValueRange(args).getTypes());
    func::CallOp::create(b, loc, entry, TypeRange{}, args);
    Value y = bufferization::ToTensorOp::create(b, loc, t2, out,
                                                /*restrict=*/true,
                                                /*writable=*/true);
    if (r == 1)
      y = tensor::CollapseShapeOp::create(b, loc, xt, y, re);
    else if (r > 2)
      y = tensor::ExpandShapeOp::create(b, loc, xt, y, re,
                                        tensor::getMixedSizes(b, loc, x));
    op->getResult(0).replaceAllUsesWith(y);
    op->erase();
  }

  /// tfc.embedding with an f32 table [vocab, d] and signless integer ids of
  /// rank 1 or 2 => tfcrt_embedding_f32 on the ids (widened to i64; rank 1
  /// as [1, n]) into a fresh [B, S, d] buffer. The ids are passed as a
  /// strided view, never collapsed (the position ids are a slice of a
  /// constant). The reference lowering's gather, fused with the adds after
  /// it, ran as a scalar loop that loaded and clamped its id per element;
  /// the adds stay an elementwise generic (vectorized).
  void lowerEmbedding(EmbeddingOp op) {
    auto tt = rtt(op.getTable());
    auto it = rtt(op.getIds());
    auto idsInt = dyn_cast<IntegerType>(it.getElementType());
    const int64_t r = it.getRank();
    if (!tt.getElementType().isF32() || tt.getRank() != 2 || !idsInt ||
        !idsInt.isSignless() || idsInt.getWidth() > 64 || r < 1 || r > 2)
      return;
    OpBuilder b(op);
    Location loc = classLoc(op, "embedding");
    MLIRContext *ctx = b.getContext();
    Type f32 = b.getF32Type(), i64 = b.getI64Type();
    Value ids = op.getIds();
    if (idsInt.getWidth() != 64) {
      // Signless ids are signed (ONNX Gather indices; the reference
      // lowering's index_cast sign-extends too).
      ids = lowering::buildElementwise(
          b, loc, RankedTensorType::get(it.getShape(), i64), ids,
          [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            return arith::ExtSIOp::create(nb, nl, i64, a[0]);
          });
    }
    if (r == 1)
      ids = tensor::ExpandShapeOp::create(
          b, loc, RankedTensorType::get({1, it.getDimSize(0)}, i64), ids,
          SmallVector<ReassociationIndices>{{0, 1}},
          SmallVector<OpFoldResult>{b.getIndexAttr(1),
                                    tensor::getMixedSize(b, loc, ids, 0)});
    auto i2 = rtt(ids);
    const int64_t d = tt.getDimSize(1);
    auto t3 = RankedTensorType::get({i2.getDimSize(0), i2.getDimSize(1), d}, f32);
    SmallVector<Value> dyn;
    for (int64_t i = 0; i < 2; ++i)
      if (i2.isDynamicDim(i))
        dyn.push_back(tensor::DimOp::create(b, loc, ids, i));
    if (ShapedType::isDynamic(d))
      dyn.push_back(tensor::DimOp::create(b, loc, op.getTable(), 1));
    Value out = memref::AllocOp::create(
        b, loc, MemRefType::get(t3.getShape(), f32), dyn);
    SmallVector<Value> args = {
        view(b, loc, ids), view(b, loc, op.getTable()),
        memref::CastOp::create(b, loc, anyStrided(ctx, 3, f32), out)};
    declare(kEmbedding, ValueRange(args).getTypes());
    func::CallOp::create(b, loc, kEmbedding, TypeRange{}, args);
    Value y = bufferization::ToTensorOp::create(b, loc, t3, out,
                                                /*restrict=*/true,
                                                /*writable=*/true);
    auto rt = rtt(op.getResult());
    if (r == 1)
      y = tensor::CollapseShapeOp::create(
          b, loc, RankedTensorType::get({i2.getDimSize(1), d}, f32), y,
          SmallVector<ReassociationIndices>{{0, 1}, {2}});
    if (y.getType() != Type(rt))
      y = tensor::CastOp::create(b, loc, rt, y);
    op->getResult(0).replaceAllUsesWith(y);
    op->erase();
  }

  /// The GPU attention entry (option gpu), else null (the CPU kernels).
  const char *gpuEntry = nullptr;

  void runOnOperation() override {
    module = getOperation();
    if (gpu == "f32")
      gpuEntry = "tfcrt_gpu_attention_f32";
    else if (gpu == "f16")
      gpuEntry = "tfcrt_gpu_attention_f16mma";
    else if (gpu == "bf16")
      gpuEntry = "tfcrt_gpu_attention_bf16mma";
    else if (!gpu.empty()) {
      module.emitError() << "tfc-cpu-kernels: gpu=" << gpu
                         << " is not f32, f16 or bf16";
      return signalPassFailure();
    }
    if (sparse == "auto")
      sparseMode = pack::SparseMode::Auto;
    else if (sparse == "off")
      sparseMode = pack::SparseMode::Off;
    else if (sparse == "force")
      sparseMode = pack::SparseMode::Force;
    else {
      module.emitError() << "tfc-cpu-kernels: sparse=" << sparse
                         << " is not auto, off or force";
      return signalPassFailure();
    }
    if (gpuLinear && gpuFuseNorm && linear) {
      // First: a norm takes its readers (linears, gated MLPs) with it.
      SmallVector<RmsNormOp> norms;
      module.walk([&](RmsNormOp n) { norms.push_back(n); });
      for (RmsNormOp n : norms)
        lowerGpuNorm(n);
    }
    if (gpuEntry && attention && gpuRope)
      fuseRopeCaches();
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<LinearOp, GatedMlpOp, AttentionOp, QLinearOp, QGatedMlpOp,
              LayerNormOp, RmsNormOp, EmbeddingOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (gpuEntry || gpuLinear) { // the GPU target: its own entries only
        if (auto a = dyn_cast<AttentionOp>(op)) {
          if (gpuEntry && attention)
            lowerAttention(a);
        } else if (auto l = dyn_cast<LinearOp>(op)) {
          if (gpuLinear && linear)
            (void)lowerGpuLinear(l);
        } else if (auto g = dyn_cast<GatedMlpOp>(op)) {
          if (gpuLinear && gpuFuseNorm && linear)
            (void)lowerGpuGatedMlp(g);
        }
        continue;
      }
      if (auto l = dyn_cast<LinearOp>(op)) {
        if (linear)
          lowerLinear(l);
      } else if (auto g = dyn_cast<GatedMlpOp>(op)) {
        if (linear)
          lowerGatedMlp(g);
      } else if (auto q = dyn_cast<QLinearOp>(op)) {
        if (linear)
          lowerQLinear(q);
      } else if (auto q = dyn_cast<QGatedMlpOp>(op)) {
        if (linear)
          lowerQGatedMlp(q);
      } else if (auto a = dyn_cast<AttentionOp>(op)) {
        if (attention)
          lowerAttention(a);
      } else if (auto n = dyn_cast<LayerNormOp>(op)) {
        if (norm)
          lowerNorm(n, n.getInput(), n.getScale(), n.getBias(),
                    n.getEpsilon().convertToDouble(), /*rms=*/false);
      } else if (auto n = dyn_cast<RmsNormOp>(op)) {
        if (norm)
          lowerNorm(n, n.getInput(), n.getScale(), Value(),
                    n.getEpsilon().convertToDouble(), /*rms=*/true);
      } else if (auto e = dyn_cast<EmbeddingOp>(op)) {
        if (embedding)
          lowerEmbedding(e);
      }
    }
    if (packedSomething)
      module->setAttr("tfc.pack_version",
                      IntegerAttr::get(IntegerType::get(&getContext(), 32),
                                       TFC_PACK_VERSION));
  }
};

} // namespace
