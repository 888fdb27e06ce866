//===- QuantOps.cpp - ONNX QuantizeLinear, DequantizeLinear, MatMulInteger ===//
//
// The ONNX quantization ops, imported with their exact semantics onto the
// tfc quantization ops (dialects/Tfc/TfcQuantOps.td): QuantizeLinear ->
// tfc.quantize, DequantizeLinear -> tfc.dequantize (per tensor, per axis,
// opset 21 blocks; int8 / uint8 / int4 / uint4 codes), DynamicQuantizeLinear
// -> tfc.dynamic_quantize (per tensor, uint8), MatMulInteger -> the codes
// minus their zero points as f32, an f32 matmul and a cast to i32 (exact
// while the sums stay below 2^24, the rounding of any f32 matmul beyond).
// QuantRaise.cpp then turns the patterns ONNX Runtime's quantizers emit
// into tfc.qlinear; whatever stays runs through these ops correctly.
//
//===----------------------------------------------------------------------===//
#include "QuantImport.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::onnx_import;

std::optional<ConstData> mlir::tfc::onnx_import::constData(Value v) {
  auto c = v ? v.getDefiningOp<arith::ConstantOp>() : nullptr;
  if (!c)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(c.getType());
  if (!type || !type.hasStaticShape() || type.getElementType().isInteger(1))
    return std::nullopt;
  ConstData out;
  out.type = type;
  int64_t width = type.getElementTypeBitWidth() / 8;
  int64_t n = type.getNumElements();
  if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob || (int64_t)blob->getData().size() != n * width)
      return std::nullopt;
    out.bytes.assign(blob->getData().begin(), blob->getData().end());
    return out;
  }
  auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
  if (!dense)
    return std::nullopt;
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    out.bytes.resize(n * width);
    for (int64_t i = 0; i < n; ++i)
      std::memcpy(out.bytes.data() + i * width, raw.data(), width);
  } else {
    out.bytes.assign(raw.begin(), raw.end());
  }
  return out;
}

QCodeType mlir::tfc::onnx_import::codeTypeOf(GraphImporter &g, Value v) {
  for (int depth = 0; depth < 16 && v; ++depth) {
    auto it = g.codeTypes.find(v);
    if (it != g.codeTypes.end())
      return it->second;
    Operation *op = v.getDefiningOp();
    if (!op || op->getNumResults() != 1)
      break;
    Value next;
    for (Value o : op->getOperands()) {
      auto t = dyn_cast<RankedTensorType>(o.getType());
      if (!t || !t.getElementType().isInteger(8))
        continue;
      if (next) // two code operands (Concat, Where, ...): ambiguous
        return {};
      next = o;
    }
    v = next;
  }
  return {};
}

Value mlir::tfc::onnx_import::reshapeTo(GraphImporter &g, Value v,
                                        ArrayRef<int64_t> shape) {
  auto t = cast<RankedTensorType>(v.getType());
  auto nt = RankedTensorType::get(shape, t.getElementType());
  if (nt == t)
    return v;
  if (std::optional<ConstData> c = constData(v)) {
    Value r = g.constantFromBytes(nt, c->bytes);
    auto it = g.codeTypes.find(v);
    if (it != g.codeTypes.end())
      g.codeTypes[r] = it->second;
    return r;
  }
  SmallVector<Value> d;
  for (int64_t s : shape)
    d.push_back(g.cIndex(s));
  Value r = g.reshape(v, d);
  auto it = g.codeTypes.find(v);
  if (it != g.codeTypes.end())
    g.codeTypes[r] = it->second;
  return r;
}

namespace {

RankedTensorType rtt(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Scale / zero point of a (De)QuantizeLinear as tfc quant params of data
/// of `dataType` (TfcQuantOps.td): per tensor (rank 0), per axis
/// ([1, .., C, .., 1]) or blocked (opset 21: same rank, ceil(d / block)
/// along axis: group = block, group_axis = axis).
struct QParams {
  Value scale, zp;
  int64_t group = 0, groupAxis = 0;
};

FailureOr<QParams> quantParams(GraphImporter &g, const onnx::NodeProto &node,
                               RankedTensorType dataType) {
  QParams p;
  FailureOr<Value> s = g.tensorInput(node, 1);
  if (failed(s))
    return failure();
  p.scale = *s;
  if (g.hasInput(node, 2)) {
    FailureOr<Value> z = g.tensorInput(node, 2);
    if (failed(z))
      return failure();
    p.zp = *z;
  }
  auto st = rtt(p.scale);
  if (!st.getElementType().isF32())
    return g.fail(node, "scale must be f32 (f16 / bf16 scales are not "
                        "supported yet)");
  if (p.zp && rtt(p.zp).getElementType() != dataType.getElementType() &&
      !(dataType.getElementType().isF32() &&
        rtt(p.zp).getElementType().isInteger(8)))
    return g.fail(node, "zero point type differs from the codes' type");
  if (p.zp && rtt(p.zp).getShape() != st.getShape() &&
      !(rtt(p.zp).getNumElements() == 1 && st.getNumElements() == 1))
    return g.fail(node, "zero point and scale shapes differ");
  if (!st.hasStaticShape())
    return g.fail(node, "scale must have a static shape");
  int64_t rank = dataType.getRank();
  int64_t block = GraphImporter::attrInt(node, "block_size", 0);
  if (block < 0)
    return g.fail(node, "block_size must be >= 0, got " + Twine(block));
  auto axisOr = normAxis(GraphImporter::attrInt(node, "axis", 1),
                         std::max<int64_t>(rank, 1));
  bool perTensor =
      st.getRank() == 0 ||
      (block == 0 && st.getNumElements() == 1 && st.getRank() == 1);
  if (perTensor) {
    p.scale = reshapeTo(g, p.scale, {});
    if (p.zp)
      p.zp = reshapeTo(g, p.zp, {});
    return p;
  }
  if (failed(axisOr) || rank == 0)
    return g.fail(node, "axis " +
                            Twine(GraphImporter::attrInt(node, "axis", 1)) +
                            " is out of range for rank " + Twine(rank));
  int64_t axis = *axisOr;
  int64_t d = dataType.getDimSize(axis);
  if (block > 0) {
    if (st.getRank() != rank)
      return g.fail(node,
                    "blocked scale must have the data's rank " + Twine(rank));
    for (int64_t i = 0; i < rank; ++i) {
      int64_t want = i == axis
                         ? (ShapedType::isDynamic(d) ? ShapedType::kDynamic
                                                     : (d + block - 1) / block)
                         : dataType.getDimSize(i);
      if (!ShapedType::isDynamic(want) && st.getDimSize(i) != want)
        return g.fail(node, "blocked scale dim " + Twine(i) + " is " +
                                Twine(st.getDimSize(i)) + ", expected " +
                                Twine(want));
    }
    p.group = block;
    p.groupAxis = axis;
    return p;
  }
  if (st.getRank() != 1)
    return g.fail(node, "per-axis scale must be 1-D");
  if (!ShapedType::isDynamic(d) && st.getDimSize(0) != d)
    return g.fail(node, "per-axis scale has " + Twine(st.getDimSize(0)) +
                            " elements, axis " + Twine(axis) + " has " +
                            Twine(d));
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = st.getDimSize(0);
  p.scale = reshapeTo(g, p.scale, shape);
  if (p.zp)
    p.zp = reshapeTo(g, p.zp, shape);
  return p;
}

/// The code type of a Q/DQ node: its zero point's ONNX type when it has
/// one (ONNX requires the data's to match), else the data's.
QCodeType nodeCodeType(GraphImporter &g, Value data, Value zp) {
  if (zp) {
    auto it = g.codeTypes.find(zp);
    if (it != g.codeTypes.end())
      return it->second;
  }
  return codeTypeOf(g, data);
}

LogicalResult importDequantizeLinear(GraphImporter &g,
                                     const onnx::NodeProto &node) {
  FailureOr<Value> x = g.tensorInput(node, 0);
  if (failed(x))
    return failure();
  auto xt = rtt(*x);
  if (!xt.getElementType().isInteger(8) && !xt.getElementType().isInteger(32))
    return g.fail(node, "input must be int8, uint8, int4, uint4 or int32");
  FailureOr<QParams> p = quantParams(g, node, xt);
  if (failed(p))
    return failure();
  auto ft = RankedTensorType::get(xt.getShape(), g.b.getF32Type());
  if (xt.getElementType().isInteger(32)) {
    // int32 (a quantized bias): (x - zp) * scale in f32.
    auto bin = [&](BinaryKind k, Value l, Value r) -> Value {
      FailureOr<SmallVector<Value>> d = g.broadcastDims({l, r});
      Value v =
          BinaryOp::create(g.b, g.loc, g.typeFromDims(*d, g.b.getF32Type()), l,
                           r, BinaryKindAttr::get(g.b.getContext(), k));
      g.recordDims(v, *d);
      return v;
    };
    Value xf = CastOp::create(g.b, g.loc, ft, *x);
    g.recordDims(xf, g.dims(*x));
    if (p->zp) {
      auto zt = rtt(p->zp);
      Value zf = CastOp::create(
          g.b, g.loc, RankedTensorType::get(zt.getShape(), g.b.getF32Type()),
          p->zp);
      xf = bin(BinaryKind::sub, xf, zf);
    }
    Value r = bin(BinaryKind::mul, xf, p->scale);
    if (p->group)
      return g.fail(node, "blocked int32 DequantizeLinear is not supported");
    g.setOutput(node, 0, r);
    return success();
  }
  QCodeType ct = nodeCodeType(g, *x, p->zp);
  Value r = DequantizeOp::create(
      g.b, g.loc, ft, *x, p->scale, p->zp, g.b.getI64IntegerAttr(ct.bits),
      g.b.getBoolAttr(ct.isUnsigned), g.b.getI64IntegerAttr(p->group),
      g.b.getI64IntegerAttr(p->groupAxis));
  g.recordDims(r, g.dims(*x));
  g.setOutput(node, 0, r);
  return success();
}

LogicalResult importQuantizeLinear(GraphImporter &g,
                                   const onnx::NodeProto &node) {
  FailureOr<Value> x = g.tensorInput(node, 0);
  if (failed(x))
    return failure();
  auto xt = rtt(*x);
  if (!xt.getElementType().isF32())
    return g.fail(node, "input must be f32");
  FailureOr<QParams> p = quantParams(g, node, xt);
  if (failed(p))
    return failure();
  // The code type: the zero point's, else output_dtype (opset 21), else
  // uint8 (the ONNX default).
  QCodeType ct{8, true};
  if (p->zp) {
    ct = codeTypeOf(g, p->zp);
  } else if (int64_t od = GraphImporter::attrInt(node, "output_dtype", 0)) {
    switch (od) {
    case onnx::TensorProto::UINT8:
      ct = {8, true};
      break;
    case onnx::TensorProto::INT8:
      ct = {8, false};
      break;
    case kOnnxUint4:
      ct = {4, true};
      break;
    case kOnnxInt4:
      ct = {4, false};
      break;
    default:
      return g.fail(node, "output_dtype " + Twine(od) +
                              " is not an 8- or 4-bit integer type");
    }
  }
  auto qt = RankedTensorType::get(xt.getShape(), g.b.getIntegerType(8));
  // A constant input (a QAT export's fake-quantized weight) folds to
  // constant codes, which the raise then treats as stored codes.
  std::optional<ConstData> xc = constData(*x), sc = constData(p->scale);
  std::optional<ConstData> zc = p->zp ? constData(p->zp) : std::nullopt;
  if (xc && sc && (!p->zp || zc)) {
    int64_t rank = xt.getRank(), n = xc->size();
    auto ps = sc->type.getShape();
    double lo = ct.isUnsigned ? 0 : -(1 << (ct.bits - 1));
    double hi = ct.isUnsigned ? (1 << ct.bits) - 1 : (1 << (ct.bits - 1)) - 1;
    std::vector<char> codes(n);
    SmallVector<int64_t> idx(rank, 0);
    for (int64_t i = 0; i < n; ++i) {
      int64_t at = 0;
      if (sc->size() > 1)
        for (int64_t d = 0; d < rank; ++d) {
          int64_t j = ps[d] == 1 ? 0 : idx[d];
          if (p->group && d == p->groupAxis && ps[d] != xt.getDimSize(d))
            j = idx[d] / p->group;
          at = at * ps[d] + j;
        }
      double z = zc ? codeValue(zc->at<int8_t>(at), ct.isUnsigned) : 0;
      double q =
          std::nearbyint(double(xc->at<float>(i) / sc->at<float>(at))) + z;
      codes[i] = char(int(std::min(std::max(q, lo), hi)));
      for (int64_t d = rank - 1; d >= 0 && ++idx[d] == xt.getDimSize(d); --d)
        idx[d] = 0;
    }
    Value r = g.constantFromBytes(qt, codes);
    g.codeTypes[r] = ct;
    g.setOutput(node, 0, r);
    return success();
  }
  Value r = QuantizeOp::create(
      g.b, g.loc, qt, *x, p->scale, p->zp, g.b.getI64IntegerAttr(ct.bits),
      g.b.getBoolAttr(ct.isUnsigned), g.b.getI64IntegerAttr(p->group),
      g.b.getI64IntegerAttr(p->groupAxis));
  g.recordDims(r, g.dims(*x));
  g.codeTypes[r] = ct;
  g.setOutput(node, 0, r);
  return success();
}

LogicalResult importDynamicQuantizeLinear(GraphImporter &g,
                                          const onnx::NodeProto &node) {
  FailureOr<Value> x = g.tensorInput(node, 0);
  if (failed(x))
    return failure();
  auto xt = rtt(*x);
  if (!xt.getElementType().isF32())
    return g.fail(node, "input must be f32");
  Type i8 = g.b.getIntegerType(8);
  auto op = DynamicQuantizeOp::create(
      g.b, g.loc,
      TypeRange{RankedTensorType::get(xt.getShape(), i8),
                RankedTensorType::get({}, g.b.getF32Type()),
                RankedTensorType::get({}, i8)},
      *x, g.b.getBoolAttr(false));
  g.recordDims(op.getResult(), g.dims(*x));
  g.codeTypes[op.getResult()] = {8, true};
  g.codeTypes[op.getZeroPoint()] = {8, true};
  g.setOutput(node, 0, op.getResult());
  g.setOutput(node, 1, op.getScale());
  g.setOutput(node, 2, op.getZeroPoint());
  return success();
}

/// Codes minus zero point as exact f32: tfc.dequantize with scale 1.
FailureOr<Value> centred(GraphImporter &g, const onnx::NodeProto &node, Value q,
                         int zpInput, bool perColumn) {
  auto qt = rtt(q);
  if (!qt.getElementType().isInteger(8))
    return g.fail(node, "operands must be int8 or uint8");
  Value zp;
  if (g.hasInput(node, zpInput)) {
    FailureOr<Value> z = g.tensorInput(node, zpInput);
    if (failed(z))
      return failure();
    zp = *z;
    auto zt = rtt(zp);
    if (!zt.getElementType().isInteger(8) || !zt.hasStaticShape())
      return g.fail(node, "zero points must be static int8 / uint8");
    if (zt.getNumElements() == 1) {
      zp = reshapeTo(g, zp, {});
    } else if (perColumn && qt.getRank() == 2 && zt.getRank() == 1 &&
               zt.getDimSize(0) == qt.getDimSize(1)) {
      zp = reshapeTo(g, zp, {1, zt.getDimSize(0)});
    } else {
      return g.fail(node, Twine(perColumn ? "b" : "a") +
                              "_zero_point of shape other than a scalar" +
                              (perColumn ? " or [N] for a 2-D B" : "") +
                              " is not supported");
    }
  }
  QCodeType ct = nodeCodeType(g, q, zp);
  Value one = g.scalarConstant(g.b.getF32Type(), 1.0);
  auto ft = RankedTensorType::get(qt.getShape(), g.b.getF32Type());
  Value r = DequantizeOp::create(
      g.b, g.loc, ft, q, one, zp, g.b.getI64IntegerAttr(ct.bits),
      g.b.getBoolAttr(ct.isUnsigned), g.b.getI64IntegerAttr(0),
      g.b.getI64IntegerAttr(0));
  g.recordDims(r, g.dims(q));
  return r;
}

LogicalResult importMatMulInteger(GraphImporter &g,
                                  const onnx::NodeProto &node) {
  FailureOr<Value> a = g.tensorInput(node, 0), bm = g.tensorInput(node, 1);
  if (failed(a) || failed(bm))
    return failure();
  if (rtt(*a).getRank() < 2 || rtt(*bm).getRank() < 2)
    return g.fail(node, "A and B must have rank >= 2");
  FailureOr<Value> af = centred(g, node, *a, 2, false);
  if (failed(af))
    return failure();
  FailureOr<Value> bf = centred(g, node, *bm, 3, true);
  if (failed(bf))
    return failure();
  SmallVector<Value> ad = g.dims(*af), bd = g.dims(*bf);
  std::optional<int64_t> k1 = g.constIndex(ad.back()),
                         k2 = g.constIndex(bd[bd.size() - 2]);
  if (k1 && k2 && *k1 != *k2)
    return g.fail(node, "contraction dims differ: " + Twine(*k1) + " vs " +
                            Twine(*k2));
  // Batch dims broadcast as numpy.matmul's (both operands may carry them:
  // quantize_dynamic with MatMulConstBOnly off quantizes attention too).
  size_t ab = ad.size() - 2, bb = bd.size() - 2, nb = std::max(ab, bb);
  SmallVector<Value> od;
  for (size_t i = 0; i < nb; ++i) {
    Value x = i < ab ? ad[ab - 1 - i] : Value();
    Value y = i < bb ? bd[bb - 1 - i] : Value();
    od.insert(od.begin(), !x ? y
                          : !y || g.constIndex(x) != std::optional<int64_t>(1)
                              ? x
                              : y);
  }
  od.push_back(ad[ad.size() - 2]);
  od.push_back(bd.back());
  Value m = MatmulOp::create(g.b, g.loc, g.typeFromDims(od, g.b.getF32Type()),
                             *af, *bf);
  g.recordDims(m, od);
  Value r = CastOp::create(g.b, g.loc, g.typeFromDims(od, g.b.getI32Type()), m);
  g.recordDims(r, od);
  g.setOutput(node, 0, r);
  return success();
}

} // namespace

void mlir::tfc::onnx_import::registerQuantOps(HandlerMap &m) {
  m["QuantizeLinear"] = importQuantizeLinear;
  m["DequantizeLinear"] = importDequantizeLinear;
  m["DynamicQuantizeLinear"] = importDynamicQuantizeLinear;
  m["MatMulInteger"] = importMatMulInteger;
  registerQuantContribOps(m);
}
