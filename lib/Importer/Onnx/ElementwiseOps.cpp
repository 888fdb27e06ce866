//===- ElementwiseOps.cpp - ONNX elementwise ops -> tfc -------------------===//
//
// Add Sub Mul Div Pow Max Min Sum Mod And Or Xor, Equal Less LessOrEqual
// Greater GreaterOrEqual, Where, the unary functions, Cast, CastLike,
// Identity and Dropout (inference: identity).
//
//===----------------------------------------------------------------------===//
#include "GraphImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::onnx_import;

namespace {

/// Broadcasts two element lists (rank <= 1) for scalar shape arithmetic.
static bool broadcastElems(const Tv &a, const Tv &b, size_t &n,
                           SmallVector<int64_t> &shape) {
  size_t na = a.elems->size(), nb = b.elems->size();
  if (na != nb && na != 1 && nb != 1)
    return false;
  n = std::max(na, nb);
  shape = a.elemShape.size() >= b.elemShape.size() ? a.elemShape : b.elemShape;
  if (!shape.empty())
    shape[0] = n;
  return true;
}

static bool isIntElems(const Tv &t) {
  return t.elems && isa<IntegerType>(t.elemType);
}

/// Index arithmetic for shape-valued integer tensors; returns null if the op
/// has no index form.
static Value indexBinary(GraphImporter &g, StringRef op, Value x, Value y) {
  OpBuilder &b = g.b;
  Location loc = g.loc;
  if (op == "Add") return b.createOrFold<arith::AddIOp>(loc, x, y);
  if (op == "Sub") return b.createOrFold<arith::SubIOp>(loc, x, y);
  if (op == "Mul") return b.createOrFold<arith::MulIOp>(loc, x, y);
  if (op == "Div") return b.createOrFold<arith::DivSIOp>(loc, x, y);
  if (op == "Max") return b.createOrFold<arith::MaxSIOp>(loc, x, y);
  if (op == "Min") return b.createOrFold<arith::MinSIOp>(loc, x, y);
  auto cmp = [&](arith::CmpIPredicate p) {
    Value c = b.createOrFold<arith::CmpIOp>(loc, p, x, y);
    return b.createOrFold<arith::SelectOp>(loc, c, g.cIndex(1), g.cIndex(0));
  };
  if (op == "Equal") return cmp(arith::CmpIPredicate::eq);
  if (op == "Less") return cmp(arith::CmpIPredicate::slt);
  if (op == "LessOrEqual") return cmp(arith::CmpIPredicate::sle);
  if (op == "Greater") return cmp(arith::CmpIPredicate::sgt);
  if (op == "GreaterOrEqual") return cmp(arith::CmpIPredicate::sge);
  return {};
}

static LogicalResult tryIndexBinary(GraphImporter &g,
                                    const onnx::NodeProto &node, Tv *a, Tv *c,
                                    bool &done) {
  done = false;
  if (!isIntElems(*a) || !isIntElems(*c))
    return success();
  size_t n;
  SmallVector<int64_t> shape;
  if (!broadcastElems(*a, *c, n, shape))
    return success();
  SmallVector<Value> out;
  for (size_t i = 0; i < n; ++i) {
    Value x = (*a->elems)[a->elems->size() == 1 ? 0 : i];
    Value y = (*c->elems)[c->elems->size() == 1 ? 0 : i];
    Value r = indexBinary(g, node.op_type(), x, y);
    if (!r)
      return success();
    out.push_back(r);
  }
  bool isCmp = node.op_type() != "Add" && node.op_type() != "Sub" &&
               node.op_type() != "Mul" && node.op_type() != "Div" &&
               node.op_type() != "Max" && node.op_type() != "Min";
  g.setOutputElems(node, 0, out, shape, isCmp ? g.b.getI1Type() : a->elemType);
  done = true;
  return success();
}

static Value emitCmp(GraphImporter &g, CmpPredicate p, Value l, Value r) {
  FailureOr<SmallVector<Value>> d = g.broadcastDims({l, r});
  Value v = CmpOp::create(g.b, g.loc, g.typeFromDims(*d, g.b.getI1Type()), l,
                          r, CmpPredicateAttr::get(g.b.getContext(), p));
  g.recordDims(v, *d);
  return v;
}

/// ONNX Mod. tfc.binary mod truncates (C fmod: the sign of the dividend),
/// which is `fmod=1`; the default `fmod=0` on integers takes the divisor's
/// sign (Python %): r = a rem b, plus b where r != 0 and r, b differ in sign.
/// Floats require fmod=1 (ONNX's rule).
static FailureOr<Value> emitMod(GraphImporter &g, const onnx::NodeProto &node,
                                Value a, Value b) {
  Type et = cast<RankedTensorType>(a.getType()).getElementType();
  bool fmod = GraphImporter::attrInt(node, "fmod", 0) != 0;
  if (isa<FloatType>(et) && !fmod)
    return g.fail(node, "unsupported attribute fmod=0 on float operands "
                        "(ONNX requires fmod=1 for floats)");
  if (!isa<FloatType>(et) && !isa<IntegerType>(et))
    return g.fail(node, "unsupported element type");
  Value r = g.binary(BinaryKind::mod, a, b);
  if (fmod)
    return r;
  Value zero = g.scalarConstant(et, 0);
  Value nonzero = emitCmp(g, CmpPredicate::ne, r, zero);
  Value rNeg = emitCmp(g, CmpPredicate::lt, r, zero);
  Value bNeg = emitCmp(g, CmpPredicate::lt, b, zero);
  Value fix = g.binary(BinaryKind::and_, nonzero,
                       g.binary(BinaryKind::xor_, rNeg, bNeg));
  Value shifted = g.binary(BinaryKind::add, r, b);
  SmallVector<Value> d = g.dims(shifted);
  Value v = SelectOp::create(g.b, g.loc, shifted.getType(), fix, shifted, r);
  g.recordDims(v, d);
  return v;
}

static LogicalResult importBinary(GraphImporter &g,
                                  const onnx::NodeProto &node) {
  StringRef op = node.op_type();
  if (node.input_size() < 1)
    return g.fail(node, "expects inputs");
  // Variadic Max/Min/Sum fold left; the others are binary.
  int n = node.input_size();
  if ((op != "Max" && op != "Min" && op != "Sum") && n != 2)
    return g.fail(node, "expects 2 inputs, got " + Twine(n));
  if (n == 2) {
    FailureOr<Tv *> a = g.input(node, 0), c = g.input(node, 1);
    if (failed(a) || failed(c))
      return failure();
    bool done;
    if (failed(tryIndexBinary(g, node, *a, *c, done)))
      return failure();
    if (done)
      return success();
  }
  BinaryKind kind = llvm::StringSwitch<BinaryKind>(op)
                        .Case("Add", BinaryKind::add)
                        .Case("Sum", BinaryKind::add)
                        .Case("Sub", BinaryKind::sub)
                        .Case("Mul", BinaryKind::mul)
                        .Case("Div", BinaryKind::div)
                        .Case("Pow", BinaryKind::pow)
                        .Case("Max", BinaryKind::max)
                        .Case("Min", BinaryKind::min)
                        .Case("And", BinaryKind::and_)
                        .Case("Or", BinaryKind::or_)
                        .Case("Xor", BinaryKind::xor_)
                        .Case("Mod", BinaryKind::mod);
  FailureOr<Value> acc = g.tensorInput(node, 0);
  if (failed(acc))
    return failure();
  Value result = *acc;
  for (int i = 1; i < n; ++i) {
    FailureOr<Value> rhs = g.tensorInput(node, i);
    if (failed(rhs))
      return failure();
    Value r = *rhs;
    Type le = cast<RankedTensorType>(result.getType()).getElementType();
    Type re = cast<RankedTensorType>(r.getType()).getElementType();
    if (le != re) {
      // Pow allows a different exponent type: convert it.
      if (kind != BinaryKind::pow)
        return g.fail(node, "operand element types differ");
      auto rt = cast<RankedTensorType>(r.getType());
      r = CastOp::create(g.b, g.loc, rt.clone(le), r);
      g.recordDims(r, g.dims(*rhs));
    }
    if (failed(g.broadcastDims({result, r})))
      return g.fail(node, "operand shapes are not broadcast-compatible");
    if (kind == BinaryKind::pow &&
        !isa<FloatType>(cast<RankedTensorType>(result.getType()).getElementType()))
      return g.fail(node, "unsupported element type: Pow of an integer base");
    if (kind == BinaryKind::mod) {
      FailureOr<Value> m = emitMod(g, node, result, r);
      if (failed(m))
        return failure();
      result = *m;
      continue;
    }
    result = g.binary(kind, result, r);
  }
  g.setOutput(node, 0, result);
  return success();
}

static LogicalResult importCompare(GraphImporter &g,
                                   const onnx::NodeProto &node) {
  FailureOr<Tv *> a = g.input(node, 0), c = g.input(node, 1);
  if (failed(a) || failed(c))
    return failure();
  bool done;
  if (failed(tryIndexBinary(g, node, *a, *c, done)))
    return failure();
  if (done)
    return success();
  CmpPredicate p = llvm::StringSwitch<CmpPredicate>(node.op_type())
                       .Case("Equal", CmpPredicate::eq)
                       .Case("Less", CmpPredicate::lt)
                       .Case("LessOrEqual", CmpPredicate::le)
                       .Case("Greater", CmpPredicate::gt)
                       .Case("GreaterOrEqual", CmpPredicate::ge);
  Value l = g.materialize(**a), r = g.materialize(**c);
  if (cast<RankedTensorType>(l.getType()).getElementType() !=
      cast<RankedTensorType>(r.getType()).getElementType())
    return g.fail(node, "operand element types differ");
  FailureOr<SmallVector<Value>> d = g.broadcastDims({l, r});
  if (failed(d))
    return g.fail(node, "operand shapes are not broadcast-compatible");
  Value v = CmpOp::create(g.b, g.loc, g.typeFromDims(*d, g.b.getI1Type()), l,
                          r, CmpPredicateAttr::get(g.b.getContext(), p));
  g.recordDims(v, *d);
  g.setOutput(node, 0, v);
  return success();
}

static LogicalResult importWhere(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Tv *> c = g.input(node, 0), x = g.input(node, 1),
                  y = g.input(node, 2);
  if (failed(c) || failed(x) || failed(y))
    return failure();
  if (isIntElems(**c) && isIntElems(**x) && isIntElems(**y) &&
      (*c)->elems->size() == (*x)->elems->size() &&
      (*x)->elems->size() == (*y)->elems->size()) {
    SmallVector<Value> out;
    for (size_t i = 0; i < (*c)->elems->size(); ++i) {
      Value cond = g.b.createOrFold<arith::CmpIOp>(g.loc, arith::CmpIPredicate::ne,
                                         (*(*c)->elems)[i], g.cIndex(0));
      out.push_back(g.b.createOrFold<arith::SelectOp>(g.loc, cond,
                                            (*(*x)->elems)[i],
                                            (*(*y)->elems)[i]));
    }
    g.setOutputElems(node, 0, out, (*x)->elemShape, (*x)->elemType);
    return success();
  }
  Value cv = g.materialize(**c), xv = g.materialize(**x),
        yv = g.materialize(**y);
  FailureOr<SmallVector<Value>> d = g.broadcastDims({cv, xv, yv});
  if (failed(d))
    return g.fail(node, "operand shapes are not broadcast-compatible");
  auto et = cast<RankedTensorType>(xv.getType()).getElementType();
  if (et != cast<RankedTensorType>(yv.getType()).getElementType())
    return g.fail(node, "value element types differ");
  Value v = SelectOp::create(g.b, g.loc, g.typeFromDims(*d, et), cv, xv, yv);
  g.recordDims(v, *d);
  g.setOutput(node, 0, v);
  return success();
}

static LogicalResult importUnary(GraphImporter &g, const onnx::NodeProto &node) {
  StringRef op = node.op_type();
  FailureOr<Tv *> in = g.input(node, 0);
  if (failed(in))
    return failure();
  // Shape arithmetic: Neg / Not / Abs on index elements.
  if (isIntElems(**in) && (op == "Neg" || op == "Abs" || op == "Not")) {
    SmallVector<Value> out;
    for (Value e : *(*in)->elems) {
      if (op == "Neg")
        out.push_back(g.b.createOrFold<arith::SubIOp>(g.loc, g.cIndex(0), e));
      else if (op == "Abs")
        out.push_back(arith::MaxSIOp::create(
            g.b, g.loc, e, g.b.createOrFold<arith::SubIOp>(g.loc, g.cIndex(0), e)));
      else
        out.push_back(g.b.createOrFold<arith::SubIOp>(g.loc, g.cIndex(1), e));
    }
    g.setOutputElems(node, 0, out, (*in)->elemShape, (*in)->elemType);
    return success();
  }
  UnaryKind kind = llvm::StringSwitch<UnaryKind>(op)
                       .Case("Neg", UnaryKind::neg)
                       .Case("Abs", UnaryKind::abs)
                       .Case("Sqrt", UnaryKind::sqrt)
                       .Case("Reciprocal", UnaryKind::reciprocal)
                       .Case("Exp", UnaryKind::exp)
                       .Case("Log", UnaryKind::log)
                       .Case("Erf", UnaryKind::erf)
                       .Case("Tanh", UnaryKind::tanh)
                       .Case("Sigmoid", UnaryKind::sigmoid)
                       .Case("Cos", UnaryKind::cos)
                       .Case("Sin", UnaryKind::sin)
                       .Case("Not", UnaryKind::not_)
                       .Case("IsNaN", UnaryKind::isnan)
                       .Case("Relu", UnaryKind::relu)
                       .Case("Floor", UnaryKind::floor)
                       .Case("Ceil", UnaryKind::ceil);
  Value x = g.materialize(**in);
  auto t = cast<RankedTensorType>(x.getType());
  Type et = (kind == UnaryKind::isnan) ? g.b.getI1Type() : t.getElementType();
  bool floatOnly = kind != UnaryKind::neg && kind != UnaryKind::abs &&
                   kind != UnaryKind::relu && kind != UnaryKind::not_;
  if (floatOnly && !isa<FloatType>(t.getElementType()))
    return g.fail(node, "needs a float input");
  if (kind == UnaryKind::not_ && !t.getElementType().isInteger(1))
    return g.fail(node, "needs a bool input");
  Value v = UnaryOp::create(g.b, g.loc, t.clone(et), x,
                            UnaryKindAttr::get(g.b.getContext(), kind));
  g.recordDims(v, g.dims(x));
  g.setOutput(node, 0, v);
  return success();
}

static LogicalResult castTo(GraphImporter &g, const onnx::NodeProto &node,
                            Type to) {
  FailureOr<Tv *> in = g.input(node, 0);
  if (failed(in))
    return failure();
  if ((*in)->elems && isa<IntegerType>(to)) {
    SmallVector<Value> out = *(*in)->elems;
    if (to.isInteger(1))
      for (Value &e : out) {
        Value c = g.b.createOrFold<arith::CmpIOp>(g.loc, arith::CmpIPredicate::ne, e,
                                        g.cIndex(0));
        e = g.b.createOrFold<arith::SelectOp>(g.loc, c, g.cIndex(1), g.cIndex(0));
      }
    g.setOutputElems(node, 0, out, (*in)->elemShape, to);
    return success();
  }
  Value x = g.materialize(**in);
  auto t = cast<RankedTensorType>(x.getType());
  if (t.getElementType() == to) {
    g.setOutput(node, 0, x);
    return success();
  }
  Value v = CastOp::create(g.b, g.loc, t.clone(to), x);
  g.recordDims(v, g.dims(x));
  g.setOutput(node, 0, v);
  return success();
}

static LogicalResult importCast(GraphImporter &g, const onnx::NodeProto &node) {
  const auto *to = GraphImporter::attr(node, "to");
  if (!to)
    return g.fail(node, "missing attribute 'to'");
  FailureOr<Type> t = g.convertElemType(to->i(), "Cast target");
  if (failed(t))
    return g.fail(node, "unsupported target type " + Twine(to->i()));
  return castTo(g, node, *t);
}

static LogicalResult importCastLike(GraphImporter &g,
                                    const onnx::NodeProto &node) {
  FailureOr<Tv *> like = g.input(node, 1);
  if (failed(like))
    return failure();
  return castTo(g, node, (*like)->elemType);
}

static LogicalResult importIdentity(GraphImporter &g,
                                    const onnx::NodeProto &node) {
  FailureOr<Tv *> in = g.input(node, 0);
  if (failed(in))
    return failure();
  // Dropout is the identity at inference; training mode (random masks) is not.
  if (node.op_type() == "Dropout" && g.hasInput(node, 2) &&
      g.constScalar(node, 2) != std::optional<double>(0.0))
    return g.fail(node, "unsupported input training_mode (not a constant "
                        "false: training dropout)");
  Tv copy = **in;
  if (copy.tensor)
    g.setOutput(node, 0, copy.tensor);
  else
    g.setOutputElems(node, 0, *copy.elems, copy.elemShape, copy.elemType);
  // Dropout's optional mask output is not supported at inference.
  if (node.op_type() == "Dropout" && node.output_size() > 1 &&
      !node.output(1).empty())
    return g.fail(node, "the mask output of Dropout is not supported");
  return success();
}

/// GELU and friends as one op: ONNX Gelu (opset 20: `approximate` "none" =
/// the erf form, "tanh"), and the activations ONNX Runtime's transformer
/// optimizer fuses (com.microsoft; onnxruntime/core/graph/contrib_ops):
/// Gelu (erf), BiasGelu (erf GELU of A + B), FastGelu (the tanh form of
/// X + the optional bias) and QuickGelu (x * sigmoid(alpha x), alpha 1.702
/// by default; alpha 1 is tfc.unary silu). The GELUs become tfc.unary gelu /
/// gelu_tanh, which the linear epilogues take.
static LogicalResult importGeluFamily(GraphImporter &g,
                                      const onnx::NodeProto &node) {
  StringRef op = node.op_type();
  const bool contrib = node.domain() == "com.microsoft";
  FailureOr<Value> x = g.tensorInput(node, 0);
  if (failed(x))
    return failure();
  auto t = cast<RankedTensorType>(x->getType());
  if (!isa<FloatType>(t.getElementType()))
    return g.fail(node, "needs a float input");
  Type et = t.getElementType();
  Value v = *x;
  // BiasGelu's B, FastGelu's optional bias: added to X first.
  if (op == "BiasGelu" || (op == "FastGelu" && g.hasInput(node, 1))) {
    FailureOr<Value> bias = g.tensorInput(node, 1);
    if (failed(bias))
      return failure();
    if (cast<RankedTensorType>(bias->getType()).getElementType() != et)
      return g.fail(node, "input #1 has another element type");
    if (failed(g.broadcastDims({v, *bias})))
      return g.fail(node, "input #1 does not broadcast to X");
    v = g.binary(BinaryKind::add, v, *bias);
  }
  auto unary = [&](Value in, UnaryKind k) {
    Value r = UnaryOp::create(g.b, g.loc, cast<RankedTensorType>(in.getType()),
                              in, UnaryKindAttr::get(g.b.getContext(), k));
    g.recordDims(r, g.dims(in));
    return r;
  };
  if (op == "QuickGelu") {
    const double alpha = GraphImporter::attrFloat(node, "alpha", 1.702f);
    // alpha = 1 is SiLU (what ORT fuses x * sigmoid(x) into): one op, which
    // the gated-MLP raising takes.
    if (alpha == 1.0) {
      g.setOutput(node, 0, unary(v, UnaryKind::silu));
      return success();
    }
    Value ax = g.binary(BinaryKind::mul, v, g.scalarConstant(et, alpha));
    g.setOutput(node, 0,
                g.binary(BinaryKind::mul, v, unary(ax, UnaryKind::sigmoid)));
    return success();
  }
  UnaryKind kind = UnaryKind::gelu;
  if (op == "FastGelu") {
    kind = UnaryKind::gelu_tanh;
  } else if (op == "Gelu" && !contrib) {
    std::string a = "none";
    if (const onnx::AttributeProto *at =
            GraphImporter::attr(node, "approximate"))
      a = at->s();
    if (a == "tanh")
      kind = UnaryKind::gelu_tanh;
    else if (a != "none")
      return g.fail(node, "unsupported attribute approximate='" + a +
                              "' (none or tanh)");
  }
  g.setOutput(node, 0, unary(v, kind));
  return success();
}

} // namespace

void mlir::tfc::onnx_import::registerElementwiseOps(HandlerMap &m) {
  m["Gelu"] = importGeluFamily;
  for (const char *op : {"com.microsoft.Gelu", "com.microsoft.BiasGelu",
                         "com.microsoft.FastGelu", "com.microsoft.QuickGelu"})
    m[op] = importGeluFamily;
  for (const char *op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum",
                         "And", "Or", "Xor", "Mod"})
    m[op] = importBinary;
  for (const char *op :
       {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"})
    m[op] = importCompare;
  for (const char *op : {"Neg", "Abs", "Sqrt", "Reciprocal", "Exp", "Log",
                         "Erf", "Tanh", "Sigmoid", "Cos", "Sin", "Not", "IsNaN",
                         "Relu", "Floor", "Ceil"})
    m[op] = importUnary;
  m["Where"] = importWhere;
  m["Cast"] = importCast;
  m["CastLike"] = importCastLike;
  m["Identity"] = importIdentity;
  m["Dropout"] = importIdentity;
}
