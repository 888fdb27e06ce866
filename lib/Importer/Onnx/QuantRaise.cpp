//===- QuantRaise.cpp - quantized ONNX patterns -> tfc.qlinear ------------===//
//
// Runs once the whole graph is imported (the op handlers see one node at a
// time; the patterns span several). Every Q/DQ op was imported with its
// exact semantics (QuantOps.cpp), so raising is an optimization: a pattern
// that does not match keeps running correctly, and gets a remark naming
// its node (`tfc --remarks`). Patterns (docs/DESIGN.md "Import of quantized
// models"):
//
//  1. ONNX Runtime quantize_dynamic:
//       q, s, z = DynamicQuantizeLinear(x)
//       y = Mul(Cast<f32>(MatMulInteger(q, Wq, z, Wz)), Mul(s, Ws))
//     -> tfc.qlinear(x, Wq, Ws, Wz) activation `tensor` (Ws per tensor or
//     per column: per_channel=True).
//  2. QDQ (quantize_static, QAT exports, MatMulNBits-free int4 models):
//       y = MatMul(X, DequantizeLinear(Wq const, Ws, Wz))     (also Gemm's
//       transB: the DQ'd [N, K] weight transposed)
//     -> tfc.qlinear(X, ...) with the weight per tensor, per column or in
//     blocks along K (opset 21 block_size); X = DQ(Q(x, s, z), s, z) with a
//     constant uint8 s, z (z != 0) gives activation `static` on x itself
//     (same grid: [0, 255] around z); other activation Q/DQ pairs stay as
//     they are in front of an activation-`none` qlinear.
//  3. quantize_dynamic's tables: DequantizeLinear(Gather(codes, ids)) per
//     tensor -> tfc.qembedding.
//
//===----------------------------------------------------------------------===//
#include "QuantImport.h"

#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::onnx_import;

namespace {

RankedTensorType rtt(Value v) { return cast<RankedTensorType>(v.getType()); }

std::string nodeName(Operation *op) {
  if (auto nl = dyn_cast<NameLoc>(op->getLoc()))
    return nl.getName().str();
  return "?";
}

/// A constant rank-0 / one-element f32 equal to `v`.
std::optional<float> constF32Scalar(Value v) {
  std::optional<ConstData> c = constData(v);
  if (!c || c->size() != 1 || !c->type.getElementType().isF32())
    return std::nullopt;
  return c->at<float>(0);
}
std::optional<int64_t> constCodeScalar(GraphImporter &g, Value v) {
  std::optional<ConstData> c = constData(v);
  if (!c || c->size() != 1 || !c->type.getElementType().isInteger(8))
    return std::nullopt;
  return codeValue(c->at<int8_t>(0), codeTypeOf(g, v).isUnsigned);
}

/// A quantized [k, n] weight in tfc.qlinear's form.
struct QWeight {
  Value codes, scale, zp;
  int64_t k = 0, n = 0, group = 0;
  QCodeType ct;
};

/// Builds the weight from constant codes [rows, cols] and quant params in
/// TfcQuantOps.td form (rank 0 or [1|rows|groups, 1|cols]); `transposed`
/// when the data is [n, k]. Fails (with the reason) for the schemes
/// tfc.qlinear cannot hold: a scale per k row, blocks along n.
FailureOr<QWeight> buildWeight(GraphImporter &g, Value codes, Value scale,
                               Value zp, int64_t group, int64_t groupAxis,
                               QCodeType ct, bool transposed,
                               std::string &why) {
  std::optional<ConstData> cd = constData(codes), sd = constData(scale);
  std::optional<ConstData> zd = zp ? constData(zp) : std::nullopt;
  if (!cd || cd->type.getRank() != 2 || !sd || (zp && !zd)) {
    why = "the weight, its scale or zero point is not a 2-D constant";
    return failure();
  }
  int64_t rows = cd->type.getDimSize(0), cols = cd->type.getDimSize(1);
  int64_t kAxis = transposed ? 1 : 0;
  QWeight w;
  w.k = transposed ? cols : rows;
  w.n = transposed ? rows : cols;
  w.ct = ct;
  // Param index along each data axis: shared (1), per index, or per group.
  SmallVector<int64_t> ps = {1, 1};
  if (sd->type.getRank() == 2)
    ps = {sd->type.getDimSize(0), sd->type.getDimSize(1)};
  else if (sd->size() != 1) {
    why = "unexpected scale shape";
    return failure();
  }
  int64_t pk = ps[kAxis], pn = ps[1 - kAxis];
  if (pn != 1 && pn != w.n) {
    why = "blocks along the output dim";
    return failure();
  }
  if (pk != 1) {
    if (group > 0 && groupAxis == kAxis && pk == (w.k + group - 1) / group) {
      w.group = group;
    } else {
      why = "a scale per input row (axis along K) has no tfc.qlinear form";
      return failure();
    }
  }
  int64_t groups = w.group ? (w.k + w.group - 1) / w.group : 1;
  auto pidx = [&](int64_t kk, int64_t nn) {
    int64_t gi = pk == 1 ? 0 : kk / w.group, ni = pn == 1 ? 0 : nn;
    int64_t r = transposed ? ni : gi, c = transposed ? gi : ni;
    return r * ps[1] + c;
  };
  std::vector<char> wc(w.k * w.n), sc(groups * w.n * 4), zc;
  bool anyZ = false;
  if (zd)
    zc.resize(groups * w.n);
  for (int64_t kk = 0; kk < w.k; ++kk)
    for (int64_t nn = 0; nn < w.n; ++nn)
      wc[kk * w.n + nn] =
          cd->bytes[transposed ? nn * cols + kk : kk * cols + nn];
  for (int64_t gi = 0; gi < groups; ++gi)
    for (int64_t nn = 0; nn < w.n; ++nn) {
      int64_t at = pidx(gi * std::max<int64_t>(w.group, 1), nn);
      float s = sd->at<float>(at);
      std::memcpy(sc.data() + (gi * w.n + nn) * 4, &s, 4);
      if (zd) {
        zc[gi * w.n + nn] = zd->bytes[at];
        anyZ |= zd->bytes[at] != 0;
      }
    }
  Type i8 = g.b.getIntegerType(8);
  w.codes = transposed
                ? g.constantFromBytes(RankedTensorType::get({w.k, w.n}, i8), wc)
                : codes;
  w.scale = g.constantFromBytes(
      RankedTensorType::get({groups, w.n}, g.b.getF32Type()), sc);
  // A zero point of 0 on signed codes is the symmetric scheme: no operand
  // (the int8 kernels need it so); unsigned codes keep theirs.
  if (zd && (anyZ || ct.isUnsigned))
    w.zp = g.constantFromBytes(RankedTensorType::get({groups, w.n}, i8), zc);
  return w;
}

Value makeQLinear(GraphImporter &g, Location loc, Type resultType, Value x,
                  const QWeight &w, Value bias, QuantActivation act,
                  std::optional<float> actScale, std::optional<int64_t> actZp) {
  auto &b = g.b;
  return QLinearOp::create(
      b, loc, resultType, x, w.codes, w.scale, w.zp, bias,
      b.getI64IntegerAttr(w.ct.bits), b.getBoolAttr(w.ct.isUnsigned),
      b.getI64IntegerAttr(w.group),
      QuantActivationAttr::get(b.getContext(), act),
      actScale ? b.getF32FloatAttr(*actScale) : FloatAttr(),
      actZp ? b.getI64IntegerAttr(*actZp) : IntegerAttr());
}

/// Pattern 1 at `mul` (the final Mul of ORT's scale chain).
bool raiseDynamic(GraphImporter &g, BinaryOp mul) {
  if (mul.getFn() != BinaryKind::mul)
    return false;
  for (int side = 0; side < 2; ++side) {
    Value castOut = side ? mul.getRhs() : mul.getLhs();
    Value scaleProd = side ? mul.getLhs() : mul.getRhs();
    auto toF32 = castOut.getDefiningOp<CastOp>();
    if (!toF32 || !rtt(toF32.getInput()).getElementType().isInteger(32))
      continue;
    auto toI32 = toF32.getInput().getDefiningOp<CastOp>();
    auto mm = toI32 ? toI32.getInput().getDefiningOp<MatmulOp>() : nullptr;
    if (!mm)
      continue;
    auto dqa = mm.getLhs().getDefiningOp<DequantizeOp>();
    auto dqb = mm.getRhs().getDefiningOp<DequantizeOp>();
    if (!dqa || !dqb || constF32Scalar(dqa.getScale()) != 1.0f ||
        constF32Scalar(dqb.getScale()) != 1.0f)
      continue;
    auto dyn = dqa.getInput().getDefiningOp<DynamicQuantizeOp>();
    if (!dyn || dyn.getPerRow() || dqa.getZeroPoint() != dyn.getZeroPoint())
      continue;
    auto sm = scaleProd.getDefiningOp<BinaryOp>();
    if (!sm || sm.getFn() != BinaryKind::mul)
      continue;
    Value ws = sm.getLhs() == dyn.getScale()   ? sm.getRhs()
               : sm.getRhs() == dyn.getScale() ? sm.getLhs()
                                               : Value();
    std::optional<ConstData> wsd = ws ? constData(ws) : std::nullopt;
    std::optional<ConstData> wq = constData(dqb.getInput());
    if (!wsd || !wsd->type.getElementType().isF32() || !wq ||
        wq->type.getRank() != 2)
      continue;
    int64_t n = wq->type.getDimSize(1);
    if (wsd->size() != 1 && wsd->size() != n)
      continue;
    // Ws as [1, n] quant params of the [k, n] codes.
    Value scale2 = reshapeTo(g, ws,
                             wsd->size() == 1 ? SmallVector<int64_t>{}
                                              : SmallVector<int64_t>{1, n});
    std::string why;
    g.b.setInsertionPoint(mul);
    QCodeType ct = codeTypeOf(g, dqb.getInput());
    FailureOr<QWeight> w = buildWeight(
        g, dqb.getInput(), scale2, dqb.getZeroPoint(), 0, 0, ct, false, why);
    if (failed(w))
      continue;
    auto rt = rtt(mul.getResult());
    auto xt = rtt(dyn.getInput());
    if (rt.getRank() != xt.getRank() || rt.getShape().back() != n)
      continue;
    Value q = makeQLinear(g, mm.getLoc(), rt, dyn.getInput(), *w, Value(),
                          QuantActivation::tensor, std::nullopt, std::nullopt);
    mul.getResult().replaceAllUsesWith(q);
    return true;
  }
  return false;
}

/// Pattern 2 at a tfc.matmul with a dequantized constant weight.
void raiseWeightDQ(GraphImporter &g, MatmulOp mm) {
  Value rhs = mm.getRhs();
  bool transposed = false;
  if (auto t = rhs.getDefiningOp<TransposeOp>()) {
    if (t.getPerm() != ArrayRef<int64_t>{1, 0})
      return;
    rhs = t.getInput();
    transposed = true;
  }
  auto dq = rhs.getDefiningOp<DequantizeOp>();
  if (!dq || !constData(dq.getInput()))
    return;
  // MatMulInteger's own lowering (scale 1, result cast to i32) is pattern 1.
  for (Operation *u : mm->getUsers())
    if (isa<CastOp>(u))
      return;
  auto xt = rtt(mm.getLhs()), rt = rtt(mm.getResult());
  if (rtt(dq.getInput()).getRank() != 2 || xt.getRank() != rt.getRank() ||
      !xt.getElementType().isF32())
    return;
  std::string why;
  g.b.setInsertionPoint(mm);
  QCodeType ct{int64_t(dq.getBits()), dq.getUnsignedCodes()};
  FailureOr<QWeight> w =
      buildWeight(g, dq.getInput(), dq.getScale(), dq.getZeroPoint(),
                  dq.getGroup(), dq.getGroupAxis(), ct, transposed, why);
  if (failed(w)) {
    mm->emitRemark() << "the dequantized weight of '" << nodeName(mm)
                     << "' is not raised to tfc.qlinear (" << why
                     << "): dequantize + f32 matmul";
    return;
  }
  // Activation: a Q/DQ pair with one constant uint8 grid around z != 0 is
  // exactly tfc.qlinear's `static` (codes [0, 255], x - z times s).
  Value x = mm.getLhs();
  QuantActivation act = QuantActivation::none;
  std::optional<float> as;
  std::optional<int64_t> az;
  if (auto dqx = x.getDefiningOp<DequantizeOp>())
    if (auto qx = dqx.getInput().getDefiningOp<QuantizeOp>()) {
      std::optional<float> s1 = constF32Scalar(qx.getScale()),
                           s2 = constF32Scalar(dqx.getScale());
      std::optional<int64_t> z1 = qx.getZeroPoint()
                                      ? constCodeScalar(g, qx.getZeroPoint())
                                      : std::optional<int64_t>(0);
      std::optional<int64_t> z2 = dqx.getZeroPoint()
                                      ? constCodeScalar(g, dqx.getZeroPoint())
                                      : std::optional<int64_t>(0);
      bool same = s1 && s2 && *s1 == *s2 && *s1 > 0 && z1 && z2 && *z1 == *z2;
      bool grid = qx.getBits() == 8 && qx.getUnsignedCodes() &&
                  dqx.getBits() == 8 && dqx.getUnsignedCodes();
      if (same && grid && *z1 != 0) {
        x = qx.getInput();
        act = QuantActivation::static_;
        as = s1;
        az = z1;
      } else {
        mm->emitRemark() << "the activation Q/DQ of '" << nodeName(mm)
                         << "' is kept in front of a weight-only "
                            "tfc.qlinear (its grid is not uint8 around a "
                            "nonzero constant zero point)";
      }
    }
  Value q = makeQLinear(g, mm.getLoc(), rt, x, *w, Value(), act, as, az);
  mm.getResult().replaceAllUsesWith(q);
}

/// Pattern 3 (quantize_dynamic's embedding tables): DequantizeLinear of a
/// Gather of constant codes [vocab, dim] along axis 0, per tensor ->
/// tfc.qembedding (scale / zero point repeated per row: [vocab, 1]).
/// In-range ids read the same row either way (Gather's negative ids count
/// from the end, as qembedding's do).
bool raiseEmbedding(GraphImporter &g, DequantizeOp dq) {
  auto gather = dq.getInput().getDefiningOp<GatherOp>();
  if (!gather || gather.getAxis() != 0 || dq.getGroup() != 0)
    return false;
  std::optional<ConstData> table = constData(gather.getInput());
  std::optional<float> s = constF32Scalar(dq.getScale());
  std::optional<ConstData> z =
      dq.getZeroPoint() ? constData(dq.getZeroPoint()) : std::nullopt;
  if (!table || table->type.getRank() != 2 || !s ||
      (dq.getZeroPoint() && (!z || z->size() != 1)))
    return false;
  int64_t vocab = table->type.getDimSize(0);
  std::vector<char> sc(vocab * 4), zc;
  for (int64_t v = 0; v < vocab; ++v)
    std::memcpy(sc.data() + v * 4, &*s, 4);
  g.b.setInsertionPoint(dq);
  Type i8 = g.b.getIntegerType(8);
  Value scale = g.constantFromBytes(
      RankedTensorType::get({vocab, 1}, g.b.getF32Type()), sc);
  Value zp;
  if (z && (z->bytes[0] != 0 || dq.getUnsignedCodes())) {
    zc.assign(vocab, z->bytes[0]);
    zp = g.constantFromBytes(RankedTensorType::get({vocab, 1}, i8), zc);
  }
  Value r = QEmbeddingOp::create(
      g.b, dq.getLoc(), dq.getResult().getType(), gather.getInput(), scale, zp,
      gather.getIndices(), g.b.getI64IntegerAttr(dq.getBits()),
      g.b.getBoolAttr(dq.getUnsignedCodes()), g.b.getI64IntegerAttr(0));
  dq.getResult().replaceAllUsesWith(r);
  return true;
}

bool isDeadRemovable(Operation *op) {
  if (!op->use_empty() || op->getNumRegions())
    return false;
  return isa<arith::ConstantOp, QuantizeOp, DequantizeOp, DynamicQuantizeOp,
             MatmulOp, CastOp, BinaryOp, TransposeOp, ReshapeOp, GatherOp>(op);
}

} // namespace

void mlir::tfc::onnx_import::raiseQuantPatterns(GraphImporter &g,
                                                func::FuncOp func) {
  SmallVector<BinaryOp> muls;
  SmallVector<MatmulOp> mms;
  SmallVector<DequantizeOp> dqs;
  bool any = false;
  func.walk([&](Operation *op) {
    if (auto m = dyn_cast<BinaryOp>(op))
      muls.push_back(m);
    else if (auto m = dyn_cast<MatmulOp>(op))
      mms.push_back(m);
    else if (auto d = dyn_cast<DequantizeOp>(op))
      dqs.push_back(d);
    any |= isa<QuantizeOp, DequantizeOp, DynamicQuantizeOp, QLinearOp>(op);
  });
  if (!any)
    return;
  OpBuilder::InsertionGuard guard(g.b);
  for (BinaryOp m : muls)
    (void)raiseDynamic(g, m);
  for (MatmulOp m : mms)
    if (!m->use_empty())
      raiseWeightDQ(g, m);
  for (DequantizeOp d : dqs)
    if (!d->use_empty())
      (void)raiseEmbedding(g, d);
  // Drop what the raised ops replaced (reverse order frees chains).
  Block &body = func.getBody().front();
  for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
    if (isDeadRemovable(&op))
      op.erase();
  // What is left runs as imported: say so, naming the node.
  func.walk([&](Operation *op) {
    if (auto dq = dyn_cast<DequantizeOp>(op)) {
      // MatMulInteger's fallback: one remark, on its A operand.
      bool matmulInteger = llvm::any_of(dq->getUsers(), [&](Operation *u) {
        return isa<MatmulOp>(u) &&
               llvm::any_of(u->getUsers(),
                            [](Operation *c) { return isa<CastOp>(c); });
      });
      bool isA = llvm::any_of(dq->getUsers(), [&](Operation *u) {
        return isa<MatmulOp>(u) && u->getOperand(0) == dq.getResult();
      });
      if (matmulInteger && !isA)
        return;
      if (matmulInteger)
        op->emitRemark() << "MatMulInteger '" << nodeName(op)
                         << "' is not raised to tfc.qlinear: an f32 matmul "
                            "of the exact codes";
      else
        op->emitRemark() << "DequantizeLinear '" << nodeName(op)
                         << "' is not part of a raised pattern: "
                            "tfc.dequantize, then f32";
    } else if (isa<QuantizeOp>(op)) {
      op->emitRemark() << "QuantizeLinear '" << nodeName(op)
                       << "' is not part of a raised pattern: tfc.quantize";
    } else if (isa<DynamicQuantizeOp>(op)) {
      op->emitRemark() << "DynamicQuantizeLinear '" << nodeName(op)
                       << "' is not part of a raised pattern: "
                          "tfc.dynamic_quantize";
    }
  });
}
