//===- MathOps.cpp - ONNX MatMul, Gemm, Softmax, reductions, norms --------===//
#include "GraphImporter.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::onnx_import;

namespace {

Value matmul(GraphImporter &g, Value a, Value b) {
  SmallVector<Value> ad = g.dims(a), bd = g.dims(b);
  // Batch dims broadcast like elementwise dims.
  SmallVector<Value> batch;
  size_t ab = ad.size() - 2, bb = bd.size() - 2, n = std::max(ab, bb);
  for (size_t i = 0; i < n; ++i) {
    Value x = i < ab ? ad[ab - 1 - i] : Value();
    Value y = i < bb ? bd[bb - 1 - i] : Value();
    Value r;
    if (!x) r = y;
    else if (!y) r = x;
    else if (g.constIndex(x) == std::optional<int64_t>(1)) r = y;
    else r = x;
    batch.insert(batch.begin(), r);
  }
  batch.push_back(ad[ad.size() - 2]);
  batch.push_back(bd.back());
  auto et = cast<RankedTensorType>(a.getType()).getElementType();
  Value r = MatmulOp::create(g.b, g.loc, g.typeFromDims(batch, et), a, b);
  g.recordDims(r, batch);
  return r;
}

/// MatMul's semantics (numpy matmul: 1-D operands promoted and squeezed
/// back) on x and y.
FailureOr<Value> matmulOf(GraphImporter &g, const onnx::NodeProto &node,
                          Value x, Value y) {
  auto at = cast<RankedTensorType>(x.getType());
  auto bt = cast<RankedTensorType>(y.getType());
  if (!isa<FloatType>(at.getElementType()) ||
      at.getElementType() != bt.getElementType())
    return g.fail(node, "operands must share a float element type");
  if (at.getRank() == 0 || bt.getRank() == 0)
    return g.fail(node, "operands must have rank >= 1");
  bool squeezeM = false, squeezeN = false;
  if (at.getRank() == 1) {
    x = g.reshape(x, {g.cIndex(1), g.dim(x, 0)});
    squeezeM = true;
  }
  if (bt.getRank() == 1) {
    y = g.reshape(y, {g.dim(y, 0), g.cIndex(1)});
    squeezeN = true;
  }
  std::optional<int64_t> k1 = g.constIndex(g.dims(x).back());
  std::optional<int64_t> k2 = g.constIndex(g.dims(y)[g.dims(y).size() - 2]);
  if (k1 && k2 && *k1 != *k2)
    return g.fail(node, "contraction dims differ: " + Twine(*k1) + " vs " +
                            Twine(*k2));
  Value r = matmul(g, x, y);
  if (squeezeM || squeezeN) {
    SmallVector<Value> d = g.dims(r);
    if (squeezeN)
      d.pop_back();
    if (squeezeM)
      d.erase(d.end() - (squeezeN ? 1 : 2));
    r = g.reshape(r, d);
  }
  return r;
}

LogicalResult importMatMul(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Value> a = g.tensorInput(node, 0), b = g.tensorInput(node, 1);
  if (failed(a) || failed(b))
    return failure();
  FailureOr<Value> r = matmulOf(g, node, *a, *b);
  if (failed(r))
    return failure();
  g.setOutput(node, 0, *r);
  return success();
}

/// com.microsoft FusedMatMul (ONNX Runtime's MatMulScaleFusion and
/// MatMulTransposeFusion, in models it saves at the extended level):
/// alpha * op(A) @ op(B), op transposing the last two dims where transA /
/// transB is 1. transBatchA / transBatchB (batch dims moved) are refused.
LogicalResult importFusedMatMul(GraphImporter &g, const onnx::NodeProto &node) {
  for (const char *attr : {"transBatchA", "transBatchB"})
    if (GraphImporter::attrInt(node, attr, 0))
      return g.fail(node, "unsupported attribute " + Twine(attr) + "=1");
  FailureOr<Value> a = g.tensorInput(node, 0), b = g.tensorInput(node, 1);
  if (failed(a) || failed(b))
    return failure();
  Value ops[2] = {*a, *b};
  const char *names[2] = {"transA", "transB"};
  for (int i = 0; i < 2; ++i) {
    if (!GraphImporter::attrInt(node, names[i], 0))
      continue;
    const int64_t rank = cast<RankedTensorType>(ops[i].getType()).getRank();
    if (rank < 2)
      return g.fail(node, Twine(names[i]) + "=1 needs an operand of rank >= 2");
    SmallVector<int64_t> perm;
    for (int64_t d = 0; d < rank; ++d)
      perm.push_back(d < rank - 2 ? d : 2 * rank - 3 - d);
    ops[i] = g.transpose(ops[i], perm);
  }
  FailureOr<Value> r = matmulOf(g, node, ops[0], ops[1]);
  if (failed(r))
    return failure();
  Value y = *r;
  const float alpha = GraphImporter::attrFloat(node, "alpha", 1.0f);
  if (alpha != 1.0f)
    y = g.binary(
        BinaryKind::mul, y,
        g.scalarConstant(cast<RankedTensorType>(y.getType()).getElementType(),
                         alpha));
  g.setOutput(node, 0, y);
  return success();
}

LogicalResult importGemm(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Value> a = g.tensorInput(node, 0), b = g.tensorInput(node, 1);
  if (failed(a) || failed(b))
    return failure();
  if (cast<RankedTensorType>(a->getType()).getRank() != 2 ||
      cast<RankedTensorType>(b->getType()).getRank() != 2)
    return g.fail(node, "A and B must be 2-D");
  Value x = *a, y = *b;
  if (GraphImporter::attrInt(node, "transA", 0))
    x = g.transpose(x, {1, 0});
  if (GraphImporter::attrInt(node, "transB", 0))
    y = g.transpose(y, {1, 0});
  Value r = matmul(g, x, y);
  auto et = cast<RankedTensorType>(r.getType()).getElementType();
  float alpha = GraphImporter::attrFloat(node, "alpha", 1.0f);
  float beta = GraphImporter::attrFloat(node, "beta", 1.0f);

  if (alpha != 1.0f)
    r = g.binary(BinaryKind::mul, r, g.scalarConstant(et, alpha));
  if (g.hasInput(node, 2)) {
    FailureOr<Value> c = g.tensorInput(node, 2);
    if (failed(c))
      return failure();
    Value cv = *c;
    if (beta != 1.0f)
      cv = g.binary(BinaryKind::mul, cv, g.scalarConstant(et, beta));
    if (failed(g.broadcastDims({r, cv})))
      return g.fail(node, "C does not broadcast to the product");
    r = g.binary(BinaryKind::add, r, cv);
  }
  g.setOutput(node, 0, r);
  return success();
}

LogicalResult importSoftmax(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Value> x = g.tensorInput(node, 0);
  if (failed(x))
    return failure();
  auto t = cast<RankedTensorType>(x->getType());
  if (!isa<FloatType>(t.getElementType()))
    return g.fail(node, "needs a float input");
  FailureOr<int64_t> axis =
      normAxis(GraphImporter::attrInt(node, "axis", -1), t.getRank());
  if (failed(axis))
    return g.fail(node, "axis out of range");
  Value r;
  if (node.op_type() == "LogSoftmax")
    return g.fail(node, "LogSoftmax is not supported yet");
  r = SoftmaxOp::create(g.b, g.loc, t, *x, g.b.getI64IntegerAttr(*axis));
  g.recordDims(r, g.dims(*x));
  g.setOutput(node, 0, r);
  return success();
}

LogicalResult importReduce(GraphImporter &g, const onnx::NodeProto &node) {
  StringRef op = node.op_type();
  FailureOr<Value> x = g.tensorInput(node, 0);
  if (failed(x))
    return failure();
  auto t = cast<RankedTensorType>(x->getType());
  ReduceKind kind = llvm::StringSwitch<ReduceKind>(op)
                        .Case("ReduceSum", ReduceKind::sum)
                        .Case("ReduceMean", ReduceKind::mean)
                        .Case("ReduceMax", ReduceKind::max)
                        .Case("ReduceMin", ReduceKind::min)
                        .Case("ReduceProd", ReduceKind::prod);
  // Axes: an input for ReduceSum since 13, for the others since 18.
  bool axesAsInput = op == "ReduceSum" || g.opset >= 18;
  std::optional<SmallVector<int64_t>> axes;
  if (axesAsInput && g.hasInput(node, 1)) {
    FailureOr<SmallVector<int64_t>> c = g.constIntsInput(node, 1);
    if (failed(c))
      return failure();
    axes = *c;
  } else if (!axesAsInput) {
    axes = GraphImporter::attrInts(node, "axes");
  }
  bool keep = GraphImporter::attrInt(node, "keepdims", 1) != 0;
  if (!axes || axes->empty()) {
    if (GraphImporter::attrInt(node, "noop_with_empty_axes", 0)) {
      g.setOutput(node, 0, *x);
      return success();
    }
    axes = SmallVector<int64_t>();
    for (int64_t i = 0; i < t.getRank(); ++i)
      axes->push_back(i);
  }
  for (int64_t &a : *axes) {
    FailureOr<int64_t> n = normAxis(a, t.getRank());
    if (failed(n))
      return g.fail(node, "axis " + Twine(a) + " out of range");
    a = *n;
  }
  llvm::sort(*axes);
  axes->erase(std::unique(axes->begin(), axes->end()), axes->end());
  SmallVector<Value> d = g.dims(*x), out;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    bool reduced = llvm::is_contained(*axes, i);
    if (!reduced)
      out.push_back(d[i]);
    else if (keep)
      out.push_back(g.cIndex(1));
  }
  Value r = ReduceOp::create(g.b, g.loc, g.typeFromDims(out, t.getElementType()),
                             *x, ReduceKindAttr::get(g.b.getContext(), kind),
                             g.b.getDenseI64ArrayAttr(*axes),
                             g.b.getBoolAttr(keep));
  g.recordDims(r, out);
  g.setOutput(node, 0, r);
  return success();
}

LogicalResult importLayerNorm(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Value> x = g.tensorInput(node, 0), s = g.tensorInput(node, 1);
  if (failed(x) || failed(s))
    return failure();
  auto t = cast<RankedTensorType>(x->getType());
  FailureOr<int64_t> axis =
      normAxis(GraphImporter::attrInt(node, "axis", -1), t.getRank());
  if (failed(axis) || *axis != t.getRank() - 1)
    return g.fail(node, "only normalization over the last axis is supported");
  for (int i = 1; i < node.output_size(); ++i)
    if (!node.output(i).empty())
      return g.fail(node, "the Mean/InvStdDev outputs are not supported");
  Value bias;
  if (g.hasInput(node, 2)) {
    FailureOr<Value> bv = g.tensorInput(node, 2);
    if (failed(bv))
      return failure();
    bias = *bv;
  }
  if (cast<RankedTensorType>(s->getType()).getRank() != 1 ||
      (bias && cast<RankedTensorType>(bias.getType()).getRank() != 1))
    return g.fail(node, "scale and bias must be 1-D");
  double eps = GraphImporter::attrFloat(node, "epsilon", 1e-5f);
  Value r = LayerNormOp::create(g.b, g.loc, t, *x, *s, bias,
                                g.b.getF64FloatAttr(eps));
  g.recordDims(r, g.dims(*x));
  g.setOutput(node, 0, r);
  return success();
}

/// SimplifiedLayerNormalization (ORT's RMSNorm in the default domain) and
/// com.microsoft SkipLayerNormalization / SkipSimplifiedLayerNormalization:
/// norm(input + skip (+ bias)) over the last axis, output 3 being the sum.
LogicalResult importFusedNorm(GraphImporter &g, const onnx::NodeProto &node) {
  StringRef op = node.op_type();
  bool skip = op.starts_with("Skip");
  bool rms = op.contains("Simplified");
  FailureOr<Value> x = g.tensorInput(node, 0);
  if (failed(x))
    return failure();
  auto t = cast<RankedTensorType>(x->getType());
  if (!isa<FloatType>(t.getElementType()) || t.getRank() == 0)
    return g.fail(node, "needs a float input of rank >= 1");
  if (!skip) {
    FailureOr<int64_t> axis =
        normAxis(GraphImporter::attrInt(node, "axis", -1), t.getRank());
    if (failed(axis) || *axis != t.getRank() - 1)
      return g.fail(node, "unsupported attribute axis: only the last axis");
  }
  for (int i = 1; i < node.output_size(); ++i)
    if (!node.output(i).empty() && !(skip && i == 3))
      return g.fail(node, "unsupported output #" + Twine(i) +
                              " (mean / inverse std dev)");
  Value sum = *x;

  int scaleIdx = 1, biasIdx = rms ? -1 : 2;
  if (skip) {
    FailureOr<Value> s = g.tensorInput(node, 1);
    if (failed(s))
      return failure();
    if (failed(g.broadcastDims({sum, *s})))
      return g.fail(node, "skip does not broadcast to the input");
    sum = g.binary(BinaryKind::add, sum, *s);
    scaleIdx = 2;
    biasIdx = rms ? -1 : 3;
    int addBias = rms ? 3 : 4;
    if (g.hasInput(node, addBias)) {
      FailureOr<Value> bb = g.tensorInput(node, addBias);
      if (failed(bb))
        return failure();
      sum = g.binary(BinaryKind::add, sum, *bb);
    }
  }
  FailureOr<Value> scale = g.tensorInput(node, scaleIdx);
  if (failed(scale))
    return failure();
  Value bias;
  if (biasIdx >= 0 && g.hasInput(node, biasIdx)) {
    FailureOr<Value> bv = g.tensorInput(node, biasIdx);
    if (failed(bv))
      return failure();
    bias = *bv;
  }
  if (cast<RankedTensorType>(scale->getType()).getRank() != 1 ||
      (bias && cast<RankedTensorType>(bias.getType()).getRank() != 1))
    return g.fail(node, "scale and bias must be 1-D");
  double eps = GraphImporter::attrFloat(node, "epsilon", 1e-5f);
  auto st = cast<RankedTensorType>(sum.getType());
  Value r = rms ? (Value)RmsNormOp::create(g.b, g.loc, st, sum, *scale,
                                           g.b.getF64FloatAttr(eps))
                : (Value)LayerNormOp::create(g.b, g.loc, st, sum, *scale, bias,
                                             g.b.getF64FloatAttr(eps));
  g.recordDims(r, g.dims(sum));
  g.setOutput(node, 0, r);
  if (skip)
    g.setOutput(node, 3, sum);
  return success();
}

} // namespace

void mlir::tfc::onnx_import::registerMathOps(HandlerMap &m) {
  m["SimplifiedLayerNormalization"] = importFusedNorm;
  m["com.microsoft.SkipLayerNormalization"] = importFusedNorm;
  m["com.microsoft.SkipSimplifiedLayerNormalization"] = importFusedNorm;
  m["MatMul"] = importMatMul;
  m["com.microsoft.FusedMatMul"] = importFusedMatMul;
  m["Gemm"] = importGemm;
  m["Softmax"] = importSoftmax;
  m["LogSoftmax"] = importSoftmax;
  for (const char *op :
       {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"})
    m[op] = importReduce;
  m["LayerNormalization"] = importLayerNorm;
}
