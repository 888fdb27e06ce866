//===- QuantContribOps.cpp - com.microsoft quantized matmuls -> qlinear ---===//
//
// MatMulNBits, ONNX Runtime's weight-only block-quantized matmul (contrib op
// spec, onnxruntime/core/graph/contrib_ops/contrib_defs.cc and
// docs/ContribOperators.md):
//   Y = A @ dequant(B)^T (+ bias), A [.., K] float,
//   B uint8 [N, k_blocks, blob], k_blocks = ceil(K / block_size),
//     blob = block_size * bits / 8, codes packed low bits first along K;
//   scales [N * k_blocks] (or [N, k_blocks]), one per (column, block);
//   zero_points optional uint8 packed the same way per column
//     ([N * ceil(k_blocks * bits / 8)]), default 2^(bits-1) (8 for 4 bits);
//   g_idx (act-order) and float zero points are refused.
// The weight is unpacked at import into tfc.qlinear's form: codes [K, N]
// one per i8, scale / zero point [k_blocks, N], group = block_size. Without
// zero points the codes are stored centred (code - 2^(bits-1), signed,
// symmetric), which is the same value and needs no zero-point term.
// accuracy_level 4 (ORT computes with A quantized per block to int8) maps
// to activation block32; lower levels compute in float: activation none.
// DynamicQuantizeMatMul (ORT's fusion of quantize_dynamic's chain, found in
// models saved after ORT's optimizer) -> activation `tensor`.
//
//===----------------------------------------------------------------------===//
#include "QuantImport.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::onnx_import;

namespace {

RankedTensorType rtt(Value v) { return cast<RankedTensorType>(v.getType()); }

LogicalResult importMatMulNBits(GraphImporter &g, const onnx::NodeProto &node) {
  int64_t k = GraphImporter::attrInt(node, "K", -1);
  int64_t n = GraphImporter::attrInt(node, "N", -1);
  int64_t bits = GraphImporter::attrInt(node, "bits", 4);
  int64_t bs = GraphImporter::attrInt(node, "block_size", -1);
  int64_t level = GraphImporter::attrInt(node, "accuracy_level", 0);
  if (k <= 0 || n <= 0)
    return g.fail(node, "attributes K and N must be given and positive");
  if (bits != 4 && bits != 8)
    return g.fail(node, "bits = " + Twine(bits) + " is not supported (4 or 8)");
  if (bs < 16 || (bs & (bs - 1)))
    return g.fail(node,
                  "block_size must be a power of 2 >= 16, got " + Twine(bs));
  if (g.hasInput(node, 4))
    return g.fail(node, "g_idx (act-order) is not supported");
  int64_t kb = (k + bs - 1) / bs, blob = bs * bits / 8;
  FailureOr<Value> a = g.tensorInput(node, 0);
  if (failed(a))
    return failure();
  auto at = rtt(*a);
  if (!at.getElementType().isF32())
    return g.fail(node, "A must be f32");
  if (at.getRank() < 1 ||
      (!at.isDynamicDim(at.getRank() - 1) && at.getShape().back() != k))
    return g.fail(node, "A's last dim must be K = " + Twine(k));
  FailureOr<Value> bv = g.tensorInput(node, 1), sv = g.tensorInput(node, 2);
  if (failed(bv) || failed(sv))
    return failure();
  std::optional<ConstData> bd = constData(*bv), sd = constData(*sv);
  if (!bd || !sd)
    return g.fail(node, "B and scales must be constants");
  // [N, k_blocks, blob]; some exporters write it as [N, k_blocks * blob].
  bool shapeOk = bd->type.getShape() == ArrayRef<int64_t>{n, kb, blob} ||
                 bd->type.getShape() == ArrayRef<int64_t>{n, kb * blob};
  if (!shapeOk || !bd->type.getElementType().isInteger(8))
    return g.fail(node, "B must be uint8 [N, k_blocks, blob] = [" + Twine(n) +
                            ", " + Twine(kb) + ", " + Twine(blob) + "]");
  if (!sd->type.getElementType().isF32() || sd->size() != n * kb)
    return g.fail(node, "scales must be f32 with N * k_blocks = " +
                            Twine(n * kb) + " elements");
  std::optional<ConstData> zd;
  int64_t zRow = (kb * bits + 7) / 8;
  if (g.hasInput(node, 3)) {
    FailureOr<Value> zv = g.tensorInput(node, 3);
    if (failed(zv))
      return failure();
    zd = constData(*zv);
    if (!zd)
      return g.fail(node, "zero_points must be a constant");
    if (!zd->type.getElementType().isInteger(8))
      return g.fail(node, "float zero_points are not supported (uint8 "
                          "packed zero points only)");
    if (zd->size() != n * zRow)
      return g.fail(node, "zero_points must hold N * ceil(k_blocks * bits / "
                          "8) = " +
                              Twine(n * zRow) + " bytes");
  }
  Value bias;
  if (g.hasInput(node, 5)) {
    FailureOr<Value> bb = g.tensorInput(node, 5);
    if (failed(bb))
      return failure();
    bias = *bb;
    auto bt = rtt(bias);
    if (!bt.getElementType().isF32() || bt.getRank() != 1 ||
        bt.getDimSize(0) != n)
      return g.fail(node, "bias must be f32 [N]");
  }
  // Unpack to codes [K, N], scale and zero point [k_blocks, N].
  auto unpack = [&](const char *row, int64_t i) -> int {
    uint8_t byte = uint8_t(row[i * bits / 8]);
    return bits == 8 ? byte : (byte >> (4 * (i % 2))) & 15;
  };
  int centre = 1 << (bits - 1);
  std::vector<char> codes(k * n), scales(kb * n * 4), zeros;
  if (zd)
    zeros.resize(kb * n);
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t blk = 0; blk < kb; ++blk) {
      const char *src = bd->bytes.data() + (c * kb + blk) * blob;
      for (int64_t i = 0; i < bs && blk * bs + i < k; ++i) {
        int v = unpack(src, i);
        codes[(blk * bs + i) * n + c] = char(zd ? v : v - centre);
      }
      float s = sd->at<float>(c * kb + blk);
      std::memcpy(scales.data() + (blk * n + c) * 4, &s, 4);
      if (zd)
        zeros[blk * n + c] = char(unpack(zd->bytes.data() + c * zRow, blk));
    }
  }
  Type i8 = g.b.getIntegerType(8);
  Value w = g.constantFromBytes(RankedTensorType::get({k, n}, i8), codes);
  Value s = g.constantFromBytes(
      RankedTensorType::get({kb, n}, g.b.getF32Type()), scales);
  Value z = zd ? g.constantFromBytes(RankedTensorType::get({kb, n}, i8), zeros)
               : Value();
  SmallVector<Value> od = g.dims(*a);
  od.back() = g.cIndex(n);
  QuantActivation act =
      level >= 4 ? QuantActivation::block32 : QuantActivation::none;
  Value r = QLinearOp::create(g.b, g.loc, g.typeFromDims(od, g.b.getF32Type()),
                              *a, w, s, z, bias, g.b.getI64IntegerAttr(bits),
                              g.b.getBoolAttr(static_cast<bool>(zd)),
                              g.b.getI64IntegerAttr(bs),
                              QuantActivationAttr::get(g.b.getContext(), act),
                              FloatAttr(), IntegerAttr());
  g.recordDims(r, od);
  g.setOutput(node, 0, r);
  return success();
}

/// com.microsoft DynamicQuantizeMatMul (what ORT's optimizer fuses
/// quantize_dynamic's chain into, and saves in optimized models): A f32
/// quantized per tensor to uint8 at run time (DynamicQuantizeLinear), B
/// int8 / uint8 [K, N] with b_scale and optional b_zero_point (scalar or
/// [N]), optional bias [N] -> tfc.qlinear activation `tensor`.
LogicalResult importDynamicQuantizeMatMul(GraphImporter &g,
                                          const onnx::NodeProto &node) {
  FailureOr<Value> a = g.tensorInput(node, 0), bv = g.tensorInput(node, 1),
                   sv = g.tensorInput(node, 2);
  if (failed(a) || failed(bv) || failed(sv))
    return failure();
  auto at = rtt(*a);
  if (!at.getElementType().isF32() || at.getRank() < 1)
    return g.fail(node, "A must be f32 of rank >= 1");
  std::optional<ConstData> bd = constData(*bv), sd = constData(*sv);
  if (!bd || bd->type.getRank() != 2 || !bd->type.getElementType().isInteger(8))
    return g.fail(node, "B must be a constant 2-D int8 / uint8 tensor");
  int64_t k = bd->type.getDimSize(0), n = bd->type.getDimSize(1);
  if (!at.isDynamicDim(at.getRank() - 1) && at.getShape().back() != k)
    return g.fail(node, "A's last dim must be B's rows " + Twine(k));
  if (!sd || !sd->type.getElementType().isF32() ||
      (sd->size() != 1 && sd->size() != n))
    return g.fail(node, "b_scale must be a constant f32 scalar or [N]");
  QCodeType ct = codeTypeOf(g, *bv);
  Value zp;
  if (g.hasInput(node, 3)) {
    FailureOr<Value> zv = g.tensorInput(node, 3);
    if (failed(zv))
      return failure();
    std::optional<ConstData> zd = constData(*zv);
    if (!zd || zd->size() != sd->size() ||
        !zd->type.getElementType().isInteger(8))
      return g.fail(node, "b_zero_point must be a constant like b_scale");
    auto it = g.codeTypes.find(*zv);
    if (it != g.codeTypes.end())
      ct = it->second;
    bool any = llvm::any_of(zd->bytes, [](char c) { return c != 0; });
    if (any || ct.isUnsigned) {
      std::vector<char> z(n);
      for (int64_t c = 0; c < n; ++c)
        z[c] = zd->bytes[zd->size() == 1 ? 0 : c];
      zp = g.constantFromBytes(
          RankedTensorType::get({1, n}, g.b.getIntegerType(8)), z);
    }
  }
  std::vector<char> s(n * 4);
  for (int64_t c = 0; c < n; ++c) {
    float v = sd->at<float>(sd->size() == 1 ? 0 : c);
    std::memcpy(s.data() + c * 4, &v, 4);
  }
  Value scale =
      g.constantFromBytes(RankedTensorType::get({1, n}, g.b.getF32Type()), s);
  Value bias;
  if (g.hasInput(node, 4)) {
    FailureOr<Value> bb = g.tensorInput(node, 4);
    if (failed(bb))
      return failure();
    bias = *bb;
    auto bt = rtt(bias);
    if (!bt.getElementType().isF32() || bt.getRank() != 1 ||
        bt.getDimSize(0) != n)
      return g.fail(node, "bias must be f32 [N]");
  }
  SmallVector<Value> od = g.dims(*a);
  od.back() = g.cIndex(n);
  Value r = QLinearOp::create(
      g.b, g.loc, g.typeFromDims(od, g.b.getF32Type()), *a, *bv, scale, zp,
      bias, g.b.getI64IntegerAttr(8), g.b.getBoolAttr(ct.isUnsigned),
      g.b.getI64IntegerAttr(0),
      QuantActivationAttr::get(g.b.getContext(), QuantActivation::tensor),
      FloatAttr(), IntegerAttr());
  g.recordDims(r, od);
  g.setOutput(node, 0, r);
  return success();
}

} // namespace

void mlir::tfc::onnx_import::registerQuantContribOps(HandlerMap &m) {
  m["com.microsoft.MatMulNBits"] = importMatMulNBits;
  m["com.microsoft.DynamicQuantizeMatMul"] = importDynamicQuantizeMatMul;
}
