//===- IndexOps.cpp - ONNX CumSum, GatherElements, Einsum -> tfc ----------===//
//
// The ops the wider BERT/LLaMA family exports need beyond the core set:
// CumSum (RoBERTa/XLM-R/MPNet position ids), GatherElements, and the
// two-operand Einsum forms exporters emit for attention products, which
// become transposes, reshapes and one batched tfc.matmul.
//
//===----------------------------------------------------------------------===//
#include "GraphImporter.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::onnx_import;

namespace {

LogicalResult importCumSum(GraphImporter &g, const onnx::NodeProto &node) {
  FailureOr<Value> x = g.tensorInput(node, 0);
  if (failed(x))
    return failure();
  auto t = cast<RankedTensorType>(x->getType());
  if (t.getRank() == 0)
    return g.fail(node, "input must have rank >= 1");
  if (t.getElementType().isInteger(1) ||
      !isa<FloatType, IntegerType>(t.getElementType()))
    return g.fail(node, "unsupported element type (needs float or integer)");
  FailureOr<SmallVector<int64_t>> axisIn = g.constIntsInput(node, 1);
  if (failed(axisIn))
    return failure();
  if (axisIn->size() != 1)
    return g.fail(node, "axis must be a scalar");
  FailureOr<int64_t> axis = normAxis((*axisIn)[0], t.getRank());
  if (failed(axis))
    return g.fail(node, "axis " + Twine((*axisIn)[0]) + " out of range");
  bool excl = GraphImporter::attrInt(node, "exclusive", 0) != 0;
  bool rev = GraphImporter::attrInt(node, "reverse", 0) != 0;
  Value r = CumSumOp::create(g.b, g.loc, t, *x, g.b.getI64IntegerAttr(*axis),
                             g.b.getBoolAttr(excl), g.b.getBoolAttr(rev));
  g.recordDims(r, g.dims(*x));
  g.setOutput(node, 0, r);
  return success();
}

LogicalResult importGatherElements(GraphImporter &g,
                                   const onnx::NodeProto &node) {
  FailureOr<Value> x = g.tensorInput(node, 0), idx = g.tensorInput(node, 1);
  if (failed(x) || failed(idx))
    return failure();
  auto t = cast<RankedTensorType>(x->getType());
  auto it = cast<RankedTensorType>(idx->getType());
  if (!isa<IntegerType>(it.getElementType()))
    return g.fail(node, "indices must be integers");
  if (it.getRank() != t.getRank() || t.getRank() == 0)
    return g.fail(node, "indices must have the data's rank (>= 1)");
  FailureOr<int64_t> axis =
      normAxis(GraphImporter::attrInt(node, "axis", 0), t.getRank());
  if (failed(axis))
    return g.fail(node, "axis out of range");
  SmallVector<Value> d = g.dims(*idx);
  Value r = GatherElementsOp::create(
      g.b, g.loc, g.typeFromDims(d, t.getElementType()), *x, *idx,
      g.b.getI64IntegerAttr(*axis));
  g.recordDims(r, d);
  g.setOutput(node, 0, r);
  return success();
}

// ---- Einsum --------------------------------------------------------------
// Two operands, one letter per dim, no ellipsis and no letter repeated within
// one operand. Letters are sorted into batch (both operands and the output),
// m (lhs and output), n (rhs and output) and k (both operands, summed): the
// operands are transposed to [batch, m, k] / [batch, k, n], flattened to 3-D,
// multiplied, and the product is reshaped and transposed to the output. A
// letter that appears in one operand only and not in the output (a plain sum)
// is refused. With exactly one m, n and k letter the batch dims stay as they
// are (rank-4 attention products remain rank 4).

struct EinsumSpec {
  SmallVector<std::string> inputs;
  std::string output;
};

FailureOr<EinsumSpec> parseEinsum(StringRef eq, std::string &why) {
  std::string s;
  for (char c : eq)
    if (!isspace((unsigned char)c))
      s.push_back(c);
  EinsumSpec spec;
  size_t arrow = s.find("->");
  if (arrow == std::string::npos) {
    why = "implicit output (no '->')";
    return failure();
  }
  spec.output = s.substr(arrow + 2);
  StringRef lhs = StringRef(s).take_front(arrow);
  SmallVector<StringRef> parts;
  lhs.split(parts, ',');
  for (StringRef p : parts)
    spec.inputs.push_back(p.str());
  auto check = [&](StringRef term) {
    for (size_t i = 0; i < term.size(); ++i) {
      if (!isalpha((unsigned char)term[i])) {
        why = "'" + term.str() + "' (only letters; no ellipsis)";
        return false;
      }
      if (term.find(term[i], i + 1) != StringRef::npos) {
        why = "repeated letter in '" + term.str() + "' (a diagonal)";
        return false;
      }
    }
    return true;
  };
  for (const std::string &in : spec.inputs)
    if (!check(in))
      return failure();
  if (!check(spec.output))
    return failure();
  return spec;
}

LogicalResult importEinsum(GraphImporter &g, const onnx::NodeProto &node) {
  const auto *eqAttr = GraphImporter::attr(node, "equation");
  if (!eqAttr)
    return g.fail(node, "missing attribute 'equation'");
  std::string why;
  FailureOr<EinsumSpec> spec = parseEinsum(eqAttr->s(), why);
  if (failed(spec))
    return g.fail(node, "unsupported attribute equation='" + eqAttr->s() +
                            "': " + why);
  if (spec->inputs.size() != 2 || node.input_size() != 2)
    return g.fail(node, "unsupported attribute equation='" + eqAttr->s() +
                            "': only two-operand forms are supported");
  FailureOr<Value> a = g.tensorInput(node, 0), b = g.tensorInput(node, 1);
  if (failed(a) || failed(b))
    return failure();
  auto at = cast<RankedTensorType>(a->getType());
  auto bt = cast<RankedTensorType>(b->getType());
  if (!isa<FloatType>(at.getElementType()) ||
      at.getElementType() != bt.getElementType())
    return g.fail(node, "operands must share a float element type");
  const std::string &sa = spec->inputs[0], &sb = spec->inputs[1],
                    &so = spec->output;
  if ((int64_t)sa.size() != at.getRank() || (int64_t)sb.size() != bt.getRank())
    return g.fail(node, "equation '" + eqAttr->s() +
                            "' does not match the operand ranks");
  std::string batch, m, n, k;
  for (char c : sa) {
    bool inB = sb.find(c) != std::string::npos;
    bool inO = so.find(c) != std::string::npos;
    if (inB && inO)
      batch.push_back(c);
    else if (inB)
      k.push_back(c);
    else if (inO)
      m.push_back(c);
    else
      return g.fail(node, "unsupported attribute equation='" + eqAttr->s() +
                              "': letter '" + Twine(c) +
                              "' is summed within one operand");
  }
  for (char c : sb) {
    if (sa.find(c) != std::string::npos)
      continue;
    if (so.find(c) == std::string::npos)
      return g.fail(node, "unsupported attribute equation='" + eqAttr->s() +
                              "': letter '" + Twine(c) +
                              "' is summed within one operand");
    n.push_back(c);
  }
  for (char c : so)
    if (sa.find(c) == std::string::npos && sb.find(c) == std::string::npos)
      return g.fail(node, "equation '" + eqAttr->s() + "': output letter '" +
                              Twine(c) + "' is in no operand");
  SmallVector<Value> ad = g.dims(*a), bd = g.dims(*b);
  auto dimOf = [&](char c) -> Value {
    size_t i = sa.find(c);
    if (i != std::string::npos)
      return ad[i];
    return bd[sb.find(c)];
  };
  // Operand letters must agree on static sizes (no broadcasting).
  for (char c : batch + k) {
    auto x = g.constIndex(ad[sa.find(c)]), y = g.constIndex(bd[sb.find(c)]);
    if (x && y && *x != *y)
      return g.fail(node, "equation '" + eqAttr->s() + "': dim '" + Twine(c) +
                              "' is " + Twine(*x) + " vs " + Twine(*y));
  }
  auto permTo = [](const std::string &from, const std::string &to) {
    SmallVector<int64_t> p;
    for (char c : to)
      p.push_back(from.find(c));
    return p;
  };
  auto product = [&](const std::string &letters) {
    Value v = g.cIndex(1);
    for (char c : letters)
      v = g.b.createOrFold<arith::MulIOp>(g.loc, v, dimOf(c));
    return v;
  };
  auto isIdentity = [](ArrayRef<int64_t> p) {
    for (auto [i, v] : llvm::enumerate(p))
      if ((int64_t)i != v)
        return false;
    return true;
  };
  SmallVector<int64_t> pa = permTo(sa, batch + m + k);
  SmallVector<int64_t> pb = permTo(sb, batch + k + n);
  Value x = isIdentity(pa) ? *a : g.transpose(*a, pa);
  Value y = isIdentity(pb) ? *b : g.transpose(*b, pb);
  Type et = at.getElementType();
  SmallVector<Value> pd;
  if (m.size() == 1 && n.size() == 1 && k.size() == 1) {
    // One letter each: a batched matmul as it is ([b, h, i, d] x
    // [b, h, d, j] stays rank 4, so attention raising sees it).
    for (char c : batch + m)
      pd.push_back(dimOf(c));
    pd.push_back(dimOf(n[0]));
  } else {
    Value nb = product(batch), nm = product(m), nn = product(n),
          nk = product(k);
    x = g.reshape(x, {nb, nm, nk});
    y = g.reshape(y, {nb, nk, nn});
    pd = {nb, nm, nn};
  }
  Value r = MatmulOp::create(g.b, g.loc, g.typeFromDims(pd, et), x, y);
  g.recordDims(r, pd);
  std::string prodLetters = batch + m + n;
  SmallVector<Value> full;
  for (char c : prodLetters)
    full.push_back(dimOf(c));
  r = g.reshape(r, full);
  SmallVector<int64_t> po = permTo(prodLetters, so);
  if (!isIdentity(po))
    r = g.transpose(r, po);
  g.setOutput(node, 0, r);
  return success();
}

} // namespace

void mlir::tfc::onnx_import::registerIndexOps(HandlerMap &m) {
  m["CumSum"] = importCumSum;
  m["GatherElements"] = importGatherElements;
  m["Einsum"] = importEinsum;
}
