//===- QuantToLinalg.cpp - reference lowering of the quantization ops ----===//
//
// Part of tfc-to-linalg. The plain semantics of dialects/Tfc/TfcQuantOps.td,
// the oracle the quantized kernels are tested against: codes are widened and
// dequantized elementwise, activations of a quantized linear are
// quantized-then-dequantized exactly as its `activation` mode says, and the
// products are f32 matmuls. Rounding is half to even everywhere (ONNX's
// QuantizeLinear and the kernels agree).
//
//===----------------------------------------------------------------------===//
#include "LoweringUtils.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::lowering;

namespace {

RankedTensorType rtt(Value v) { return cast<RankedTensorType>(v.getType()); }

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// A linalg.generic over `sizes` computing each element from the indices.
Value indexed(OpBuilder &b, Location loc, RankedTensorType type,
              ArrayRef<OpFoldResult> sizes,
              function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  int64_t rank = type.getRank();
  Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  SmallVector<AffineMap> maps = {
      AffineMap::getMultiDimIdentityMap(rank, b.getContext())};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  auto g = linalg::GenericOp::create(
      b, loc, init.getType(), ValueRange{}, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange) {
        SmallVector<Value> ivs;
        for (int64_t i = 0; i < rank; ++i)
          ivs.push_back(linalg::IndexOp::create(nb, nl, i));
        linalg::YieldOp::create(nb, nl, body(nb, nl, ivs));
      });
  Value r = g.getResult(0);
  if (r.getType() != type)
    r = tensor::CastOp::create(b, loc, type, r);
  return r;
}

/// Indices into quant params `p` (scale or zero point) of the data element
/// at `iv` (data of static shape `data`), per TfcQuantOps.td.
SmallVector<Value> paramIndex(OpBuilder &b, Location loc, Value p,
                              ArrayRef<int64_t> data, ValueRange iv,
                              int64_t group, int64_t groupAxis) {
  auto pt = rtt(p);
  SmallVector<Value> idx;
  if (pt.getRank() == 0)
    return idx;
  bool single = pt.hasStaticShape() && pt.getNumElements() == 1;
  for (int64_t i = 0; i < pt.getRank(); ++i) {
    int64_t s = pt.getDimSize(i);
    if (single || s == 1) {
      idx.push_back(cIndex(b, loc, 0));
    } else if (group > 0 && i == groupAxis &&
               !(s == data[i] && !ShapedType::isDynamic(s))) {
      idx.push_back(arith::DivUIOp::create(b, loc, iv[i],
                                           cIndex(b, loc, group)));
    } else {
      idx.push_back(iv[i]);
    }
  }
  return idx;
}

/// f32 value of an i8 code read as signed or unsigned.
Value codeToF32(OpBuilder &b, Location loc, Value code, bool isUnsigned) {
  Type i32 = b.getI32Type();
  Value w = isUnsigned ? arith::ExtUIOp::create(b, loc, i32, code).getResult()
                       : arith::ExtSIOp::create(b, loc, i32, code).getResult();
  return arith::SIToFPOp::create(b, loc, b.getF32Type(), w);
}

/// round_half_even(x / scale) + zp clamped to [lo, hi], as f32.
Value quantizeScalar(OpBuilder &b, Location loc, Value x, Value scale, Value zp,
                     double lo, double hi) {
  Type f32 = b.getF32Type();
  Value q = math::RoundEvenOp::create(
      b, loc, arith::DivFOp::create(b, loc, x, scale));
  if (zp)
    q = arith::AddFOp::create(b, loc, q, zp);
  q = arith::MaximumFOp::create(b, loc, q, floatConst(b, loc, f32, lo));
  return arith::MinimumFOp::create(b, loc, q, floatConst(b, loc, f32, hi));
}

/// The code range of `bits`-bit codes.
std::pair<double, double> codeRange(int64_t bits, bool isUnsigned) {
  if (isUnsigned)
    return {0.0, double((1 << bits) - 1)};
  return {-double(1 << (bits - 1)), double((1 << (bits - 1)) - 1)};
}

/// f32 tensor: dequantize(q, scale, zp).
Value dequantize(OpBuilder &b, Location loc, Value q, Value scale, Value zp,
                 bool isUnsigned, int64_t group, int64_t groupAxis) {
  auto qt = rtt(q);
  auto type = RankedTensorType::get(qt.getShape(), b.getF32Type());
  return indexed(
      b, loc, type, sizesOf(b, loc, q),
      [&](OpBuilder &nb, Location nl, ValueRange iv) -> Value {
        Value c = codeToF32(nb, nl, tensor::ExtractOp::create(nb, nl, q, iv),
                            isUnsigned);
        if (zp) {
          Value z = tensor::ExtractOp::create(
              nb, nl, zp,
              paramIndex(nb, nl, zp, qt.getShape(), iv, group, groupAxis));
          c = arith::SubFOp::create(nb, nl, c, codeToF32(nb, nl, z, isUnsigned));
        }
        Value s = tensor::ExtractOp::create(
            nb, nl, scale,
            paramIndex(nb, nl, scale, qt.getShape(), iv, group, groupAxis));
        return arith::MulFOp::create(nb, nl, c, s);
      });
}

/// max over the last dim of |x| (absMax) or (min, max) pairs: one reduction.
Value reduceLast(OpBuilder &b, Location loc, Value x, bool takeMax, bool abs) {
  auto xt = rtt(x);
  Type f32 = b.getF32Type();
  double init = takeMax ? -INFINITY : INFINITY;
  if (abs)
    init = 0.0;
  return buildReduction(
      b, loc, x, {xt.getRank() - 1}, b.getFloatAttr(f32, init),
      [&](OpBuilder &nb, Location nl, Value a, Value acc) -> Value {
        if (abs)
          a = math::AbsFOp::create(nb, nl, a);
        return takeMax ? arith::MaximumFOp::create(nb, nl, a, acc).getResult()
                       : arith::MinimumFOp::create(nb, nl, a, acc).getResult();
      });
}

/// Reduction of all elements of x to a rank-0 tensor (min or max).
Value reduceAll(OpBuilder &b, Location loc, Value x, bool takeMax) {
  auto xt = rtt(x);
  SmallVector<int64_t> axes;
  for (int64_t i = 0; i < xt.getRank(); ++i)
    axes.push_back(i);
  return buildReduction(
      b, loc, x, axes,
      b.getFloatAttr(b.getF32Type(), takeMax ? -INFINITY : INFINITY),
      [&](OpBuilder &nb, Location nl, Value a, Value acc) -> Value {
        return takeMax ? arith::MaximumFOp::create(nb, nl, a, acc).getResult()
                       : arith::MinimumFOp::create(nb, nl, a, acc).getResult();
      });
}

/// Per-tensor asymmetric uint8 parameters (ONNX DynamicQuantizeLinear):
/// rank-0 scale and zero point (as f32 holding an integer).
std::pair<Value, Value> tensorParams(OpBuilder &b, Location loc, Value x) {
  Type f32 = b.getF32Type();
  Value mn = reduceAll(b, loc, x, false), mx = reduceAll(b, loc, x, true);
  auto scalar = RankedTensorType::get({}, f32);
  Value scale = buildElementwise(
      b, loc, scalar, ValueRange{mn, mx},
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value zero = floatConst(nb, nl, f32, 0.0);
        Value lo = arith::MinimumFOp::create(nb, nl, a[0], zero);
        Value hi = arith::MaximumFOp::create(nb, nl, a[1], zero);
        return arith::DivFOp::create(nb, nl,
                                     arith::SubFOp::create(nb, nl, hi, lo),
                                     floatConst(nb, nl, f32, 255.0));
      });
  Value zp = buildElementwise(
      b, loc, scalar, ValueRange{mn, scale},
      [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
        Value zero = floatConst(nb, nl, f32, 0.0);
        Value lo = arith::MinimumFOp::create(nb, nl, a[0], zero);
        Value s = a[1];
        // An all-zero tensor has scale 0: zero point 0.
        Value isZero =
            arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, s, zero);
        Value safe = arith::SelectOp::create(nb, nl, isZero,
                                             floatConst(nb, nl, f32, 1.0), s);
        Value z = math::RoundEvenOp::create(
            nb, nl,
            arith::SubFOp::create(nb, nl, zero,
                                  arith::DivFOp::create(nb, nl, lo, safe)));
        z = arith::MaximumFOp::create(nb, nl, z, zero);
        return arith::MinimumFOp::create(nb, nl, z,
                                         floatConst(nb, nl, f32, 255.0));
      });
  return {scale, zp};
}

/// x rounded to the grid a linear's `activation` mode puts it on.
Value fakeQuantActivation(OpBuilder &b, Location loc, Value x,
                          QuantActivation act, std::optional<double> actScale,
                          std::optional<int64_t> actZp) {
  auto xt = rtt(x);
  Type f32 = b.getF32Type();
  int64_t r = xt.getRank();
  switch (act) {
  case QuantActivation::none:
    return x;
  case QuantActivation::row: {
    Value amax = keepDims(b, loc, reduceLast(b, loc, x, true, true), r, {r - 1});
    return buildElementwise(
        b, loc, xt, ValueRange{x, amax},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value zero = floatConst(nb, nl, f32, 0.0);
          Value s = arith::DivFOp::create(nb, nl, a[1],
                                          floatConst(nb, nl, f32, 127.0));
          Value isZero =
              arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, s, zero);
          s = arith::SelectOp::create(nb, nl, isZero,
                                      floatConst(nb, nl, f32, 1.0), s);
          Value q = quantizeScalar(nb, nl, a[0], s, Value(), -127.0, 127.0);
          return arith::MulFOp::create(nb, nl, q, s);
        });
  }
  case QuantActivation::block32: {
    // Block maxima [..., ceil(k / 32)] by an inner loop per block.
    int64_t k = xt.getShape().back();
    SmallVector<OpFoldResult> bs = sizesOf(b, loc, x);
    Value kv = tensor::DimOp::create(b, loc, x, r - 1);
    bs.back() = OpFoldResult(arith::CeilDivUIOp::create(
        b, loc, kv, cIndex(b, loc, 32)).getResult());
    SmallVector<int64_t> bshape(xt.getShape());
    bshape.back() = ShapedType::isDynamic(k) ? k : (k + 31) / 32;
    auto btype = RankedTensorType::get(bshape, f32);
    Value bmax = indexed(
        b, loc, btype, bs,
        [&](OpBuilder &nb, Location nl, ValueRange iv) -> Value {
          Value start =
              arith::MulIOp::create(nb, nl, iv.back(), cIndex(nb, nl, 32));
          Value end = arith::MinUIOp::create(
              nb, nl, arith::AddIOp::create(nb, nl, start, cIndex(nb, nl, 32)),
              kv);
          auto loop = scf::ForOp::create(
              nb, nl, start, end, cIndex(nb, nl, 1),
              ValueRange{floatConst(nb, nl, f32, 0.0)},
              [&](OpBuilder &lb, Location ll, Value j, ValueRange acc) {
                SmallVector<Value> at(iv.begin(), iv.end());
                at.back() = j;
                Value v = math::AbsFOp::create(
                    lb, ll, tensor::ExtractOp::create(lb, ll, x, at));
                scf::YieldOp::create(
                    lb, ll,
                    arith::MaximumFOp::create(lb, ll, v, acc[0]).getResult());
              });
          return loop.getResult(0);
        });
    return indexed(
        b, loc, xt, sizesOf(b, loc, x),
        [&](OpBuilder &nb, Location nl, ValueRange iv) -> Value {
          SmallVector<Value> at(iv.begin(), iv.end());
          at.back() = arith::DivUIOp::create(nb, nl, iv.back(),
                                             cIndex(nb, nl, 32));
          Value zero = floatConst(nb, nl, f32, 0.0);
          Value s = arith::DivFOp::create(
              nb, nl, tensor::ExtractOp::create(nb, nl, bmax, at),
              floatConst(nb, nl, f32, 127.0));
          Value isZero =
              arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ, s, zero);
          s = arith::SelectOp::create(nb, nl, isZero,
                                      floatConst(nb, nl, f32, 1.0), s);
          Value xv = tensor::ExtractOp::create(nb, nl, x, iv);
          Value q = quantizeScalar(nb, nl, xv, s, Value(), -127.0, 127.0);
          return arith::MulFOp::create(nb, nl, q, s);
        });
  }
  case QuantActivation::tensor: {
    auto [scale, zp] = tensorParams(b, loc, x);
    return buildElementwise(
        b, loc, xt, ValueRange{x, scale, zp},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value zero = floatConst(nb, nl, f32, 0.0);
          Value isZero = arith::CmpFOp::create(nb, nl, arith::CmpFPredicate::OEQ,
                                               a[1], zero);
          Value s = arith::SelectOp::create(nb, nl, isZero,
                                            floatConst(nb, nl, f32, 1.0), a[1]);
          Value q = quantizeScalar(nb, nl, a[0], s, a[2], 0.0, 255.0);
          return arith::MulFOp::create(
              nb, nl, arith::SubFOp::create(nb, nl, q, a[2]), a[1]);
        });
  }
  case QuantActivation::static_: {
    double s = actScale.value_or(1.0);
    int64_t z = actZp.value_or(0);
    bool asym = z != 0;
    return buildElementwise(
        b, loc, xt, ValueRange{x},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          Value sv = floatConst(nb, nl, f32, s);
          Value zv = asym ? floatConst(nb, nl, f32, double(z)) : Value();
          Value q = asym ? quantizeScalar(nb, nl, a[0], sv, zv, 0.0, 255.0)
                         : quantizeScalar(nb, nl, a[0], sv, Value(), -127.0,
                                          127.0);
          if (asym)
            q = arith::SubFOp::create(nb, nl, q, zv);
          return arith::MulFOp::create(nb, nl, q, sv);
        });
  }
  }
  return x;
}

/// y = fakequant(x) W + bias for a [k, n] weight given as codes.
Value qlinear(OpBuilder &b, Location loc, Value x, Value w, Value scale,
              Value zp, Value bias, bool isUnsigned, int64_t group,
              QuantActivation act, std::optional<double> actScale,
              std::optional<int64_t> actZp, RankedTensorType resultType) {
  Value wf = dequantize(b, loc, w, scale, zp, isUnsigned, group, 0);
  Value xq = fakeQuantActivation(b, loc, x, act, actScale, actZp);
  Value y = buildMatmul(b, loc, xq, wf, resultType);
  if (!bias)
    return y;
  return buildElementwise(b, loc, resultType, ValueRange{y, bias},
                          [](OpBuilder &nb, Location nl, ValueRange a) -> Value {
                            return arith::AddFOp::create(nb, nl, a[0], a[1]);
                          });
}

} // namespace

bool mlir::tfc::lowering::isQuantOp(Operation *op) {
  return isa<QuantizeOp, DequantizeOp, DynamicQuantizeOp, QLinearOp,
             QGatedMlpOp, QEmbeddingOp>(op);
}

LogicalResult mlir::tfc::lowering::lowerQuantOp(OpBuilder &b, Operation *op) {
  Location loc = op->getLoc();
  b.setInsertionPoint(op);
  Type f32 = b.getF32Type();
  SmallVector<Value> results;
  if (auto o = dyn_cast<QuantizeOp>(op)) {
    auto xt = rtt(o.getInput());
    auto [lo, hi] = codeRange(o.getBits(), o.getUnsignedCodes());
    Value x = o.getInput(), scale = o.getScale(), zp = o.getZeroPoint();
    bool isUnsigned = o.getUnsignedCodes();
    int64_t group = o.getGroup(), axis = o.getGroupAxis();
    results.push_back(indexed(
        b, loc, rtt(o.getResult()), sizesOf(b, loc, x),
        [&](OpBuilder &nb, Location nl, ValueRange iv) -> Value {
          Value xv = tensor::ExtractOp::create(nb, nl, x, iv);
          if (!xv.getType().isF32())
            xv = arith::ExtFOp::create(nb, nl, f32, xv);
          Value s = tensor::ExtractOp::create(
              nb, nl, scale,
              paramIndex(nb, nl, scale, xt.getShape(), iv, group, axis));
          Value z;
          if (zp)
            z = codeToF32(nb, nl,
                          tensor::ExtractOp::create(
                              nb, nl, zp,
                              paramIndex(nb, nl, zp, xt.getShape(), iv, group,
                                         axis)),
                          isUnsigned);
          Value q = quantizeScalar(nb, nl, xv, s, z, lo, hi);
          // Codes in i8 storage: unsigned 128..255 wrap to negative bytes.
          Value qi = arith::FPToSIOp::create(nb, nl, nb.getI32Type(), q);
          return arith::TruncIOp::create(nb, nl, nb.getIntegerType(8), qi);
        }));
  } else if (auto o = dyn_cast<DequantizeOp>(op)) {
    results.push_back(dequantize(b, loc, o.getInput(), o.getScale(),
                                 o.getZeroPoint(), o.getUnsignedCodes(),
                                 o.getGroup(), o.getGroupAxis()));
  } else if (auto o = dyn_cast<DynamicQuantizeOp>(op)) {
    Value x = o.getInput();
    auto xt = rtt(x);
    if (!xt.getElementType().isF32())
      return op->emitOpError("reference lowering needs an f32 input");
    Type i8 = b.getIntegerType(8);
    if (o.getPerRow()) {
      int64_t r = xt.getRank();
      Value amax =
          keepDims(b, loc, reduceLast(b, loc, x, true, true), r, {r - 1});
      Value scale = buildElementwise(
          b, loc, rtt(o.getScale()), ValueRange{amax},
          [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            Value zero = floatConst(nb, nl, f32, 0.0);
            Value s = arith::DivFOp::create(nb, nl, a[0],
                                            floatConst(nb, nl, f32, 127.0));
            Value isZero = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OEQ, s, zero);
            return arith::SelectOp::create(nb, nl, isZero,
                                           floatConst(nb, nl, f32, 1.0), s);
          });
      Value q = buildElementwise(
          b, loc, rtt(o.getResult()), ValueRange{x, scale},
          [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            Value qf = quantizeScalar(nb, nl, a[0], a[1], Value(), -127.0, 127.0);
            return arith::TruncIOp::create(
                nb, nl, i8, arith::FPToSIOp::create(nb, nl, nb.getI32Type(), qf));
          });
      Value zp = buildElementwise(
          b, loc, rtt(o.getZeroPoint()), ValueRange{scale},
          [&](OpBuilder &nb, Location nl, ValueRange) -> Value {
            return arith::ConstantIntOp::create(nb, nl, 0, 8);
          });
      results = {q, scale, zp};
    } else {
      auto [scale, zpF] = tensorParams(b, loc, x);
      Value q = buildElementwise(
          b, loc, rtt(o.getResult()), ValueRange{x, scale, zpF},
          [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            Value zero = floatConst(nb, nl, f32, 0.0);
            Value isZero = arith::CmpFOp::create(
                nb, nl, arith::CmpFPredicate::OEQ, a[1], zero);
            Value s = arith::SelectOp::create(
                nb, nl, isZero, floatConst(nb, nl, f32, 1.0), a[1]);
            Value qf = quantizeScalar(nb, nl, a[0], s, a[2], 0.0, 255.0);
            return arith::TruncIOp::create(
                nb, nl, i8, arith::FPToSIOp::create(nb, nl, nb.getI32Type(), qf));
          });
      Value zp = buildElementwise(
          b, loc, rtt(o.getZeroPoint()), ValueRange{zpF},
          [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
            return arith::TruncIOp::create(
                nb, nl, i8,
                arith::FPToSIOp::create(nb, nl, nb.getI32Type(), a[0]));
          });
      results = {q, scale, zp};
    }
  } else if (auto o = dyn_cast<QLinearOp>(op)) {
    std::optional<double> as;
    if (o.getActScaleAttr())
      as = o.getActScaleAttr().getValueAsDouble();
    results.push_back(qlinear(b, loc, o.getInput(), o.getWeight(), o.getScale(),
                              o.getZeroPoint(), o.getBias(),
                              o.getUnsignedCodes(), o.getGroup(),
                              o.getActivation(), as, o.getActZeroPoint(),
                              rtt(o.getResult())));
  } else if (auto o = dyn_cast<QGatedMlpOp>(op)) {
    auto xt = rtt(o.getInput());
    auto gt = rtt(o.getWGate());
    SmallVector<int64_t> hs(xt.getShape());
    hs.back() = gt.getDimSize(1);
    auto ht = RankedTensorType::get(hs, f32);
    bool hasZ = !o.getZeroPoints().empty();
    auto z = [&](int i) { return hasZ ? o.getZeroPoints()[i] : Value(); };
    QuantActivation act = o.getActivation();
    Value g = qlinear(b, loc, o.getInput(), o.getWGate(), o.getSGate(), z(0),
                      Value(), o.getUnsignedCodes(), o.getGroup(), act,
                      std::nullopt, std::nullopt, ht);
    Value u = qlinear(b, loc, o.getInput(), o.getWUp(), o.getSUp(), z(1),
                      Value(), o.getUnsignedCodes(), o.getGroup(), act,
                      std::nullopt, std::nullopt, ht);
    UnaryKind fn = o.getAct();
    Value h = buildElementwise(
        b, loc, ht, ValueRange{g, u},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          return arith::MulFOp::create(nb, nl,
                                       scalarUnary(nb, nl, fn, a[0], f32), a[1]);
        });
    results.push_back(qlinear(b, loc, h, o.getWDown(), o.getSDown(), z(2),
                              Value(), o.getUnsignedCodes(), o.getGroup(), act,
                              std::nullopt, std::nullopt, rtt(o.getResult())));
  } else if (auto o = dyn_cast<QEmbeddingOp>(op)) {
    auto type = rtt(o.getResult());
    auto tt = rtt(o.getTable());
    int64_t ir = rtt(o.getIds()).getRank();
    SmallVector<OpFoldResult> sz = sizesOf(b, loc, o.getIds());
    sz.push_back(sizesOf(b, loc, o.getTable())[1]);
    Value vocab = tensor::DimOp::create(b, loc, o.getTable(), 0);
    Value table = o.getTable(), scale = o.getScale(), zp = o.getZeroPoint();
    bool isUnsigned = o.getUnsignedCodes();
    int64_t group = o.getGroup();
    results.push_back(indexed(
        b, loc, type, sz, [&](OpBuilder &nb, Location nl, ValueRange iv) -> Value {
          Value raw = tensor::ExtractOp::create(nb, nl, o.getIds(),
                                                iv.take_front(ir));
          Value idx = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), raw);
          Value zero = cIndex(nb, nl, 0);
          Value neg = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt,
                                            idx, zero);
          idx = arith::SelectOp::create(
              nb, nl, neg, arith::AddIOp::create(nb, nl, idx, vocab), idx);
          idx = arith::MaxSIOp::create(nb, nl, idx, zero);
          idx = arith::MinSIOp::create(
              nb, nl, idx, arith::SubIOp::create(nb, nl, vocab, cIndex(nb, nl, 1)));
          SmallVector<Value> at = {idx, iv[ir]};
          Value c = codeToF32(nb, nl, tensor::ExtractOp::create(nb, nl, table, at),
                              isUnsigned);
          if (zp) {
            Value zv = tensor::ExtractOp::create(
                nb, nl, zp, paramIndex(nb, nl, zp, tt.getShape(), at, group, 1));
            c = arith::SubFOp::create(nb, nl, c, codeToF32(nb, nl, zv, isUnsigned));
          }
          Value s = tensor::ExtractOp::create(
              nb, nl, scale, paramIndex(nb, nl, scale, tt.getShape(), at, group, 1));
          return arith::MulFOp::create(nb, nl, c, s);
        }));
  } else {
    return failure();
  }
  for (auto [r, v] : llvm::zip(op->getResults(), results)) {
    if (v.getType() != r.getType())
      v = tensor::CastOp::create(b, loc, r.getType(), v);
    r.replaceAllUsesWith(v);
  }
  op->erase();
  return success();
}
