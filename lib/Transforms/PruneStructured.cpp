//===- PruneStructured.cpp - --tfc-prune heads:K / ffn:F ------------------===//
//
// Removes whole attention heads and MLP channels and shrinks the shapes
// through the graph (docs/DESIGN.md "Pruning"), on the pattern the tensor
// partition matches:
//   linear -> reshape [b, s, h, d] -> transpose [b, h, s, d] (-> rotary)
//     -> tfc.attention -> transpose [b, s, h, dv] -> reshape [b, s, h dv]
//     -> o_proj linear
//   tfc.gated_mlp;  linear -> single-use elementwise ops -> linear.
// Heads are scored by the Ln norm of their q, k, v columns and o_proj rows;
// channels by their gate / up columns and down rows. Activation-weighted
// (StructuredOptions::calib): only what a channel / head adds to the output,
// ||h_j||_2 * |W_down[j, c]| over its down row (o_proj rows for heads,
// ||x_c|| per row of the head), from the calibration statistics of the
// down / o_proj input. The q / k / v weights
// and biases keep the kept heads' columns, o_proj the matching rows; the
// ops between are retyped. The result is an ordinary dense model with fewer
// heads / channels; the KV cache derived afterwards follows.
//
//===----------------------------------------------------------------------===//
#include "OpClass.h"
#include "Prune.h"
#include "RaiseUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <cmath>
#include <numeric>

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::prune;
using raise::def;
using raise::rtt;

namespace {

int64_t dimOf(Value v, int64_t axis) {
  auto t = rtt(v);
  return t.getDimSize(axis < 0 ? t.getRank() + axis : axis);
}

void setDim(Value v, int64_t axis, int64_t size) {
  auto t = rtt(v);
  SmallVector<int64_t> shape(t.getShape());
  shape[axis < 0 ? shape.size() + axis : axis] = size;
  v.setType(t.clone(shape));
}

std::string nameOf(Operation *op) {
  std::string n = onnxNodeName(op->getLoc());
  return n.empty() ? op->getName().getStringRef().str() : n;
}

bool constF32(Value v) { return readF32(v).has_value(); }

/// A linear's output features are the weight's columns ([k, n]) or, with
/// transpose_weight, its rows ([n, k]).
int64_t outAxis(LinearOp l) { return l.getTransposeWeight() ? 0 : 1; }
int64_t inAxis(LinearOp l) { return l.getTransposeWeight() ? 1 : 0; }

bool constLinear(LinearOp l) {
  return l && constF32(l.getWeight()) &&
         (!l.getBias() || constF32(l.getBias()));
}

struct Projection {
  LinearOp linear;
  ReshapeOp reshape;
  TransposeOp transpose;
  RotaryOp rotary;
};

struct AttentionBlock {
  AttentionOp attn;
  Projection q, k, v;
  TransposeOp outTranspose;
  ReshapeOp outReshape;
  LinearOp oProj;
};

bool isPerm0213(TransposeOp t) {
  return t && t.getPerm() == ArrayRef<int64_t>{0, 2, 1, 3};
}

/// Matches a projection chain; `why` says what is missing.
std::optional<Projection> matchProjection(Value v, std::string &why) {
  Projection p;
  if ((p.rotary = def<RotaryOp>(v))) {
    if (!v.hasOneUse())
      return why = "the rotary result has other uses", std::nullopt;
    v = p.rotary.getInput();
  }
  p.transpose = def<TransposeOp>(v);
  if (!isPerm0213(p.transpose) || !v.hasOneUse())
    return why = "no single-use transpose [0, 2, 1, 3]", std::nullopt;
  v = p.transpose.getInput();
  p.reshape = def<ReshapeOp>(v);
  if (!p.reshape || !v.hasOneUse())
    return why = "no single-use reshape", std::nullopt;
  auto in = rtt(p.reshape.getInput()), out = rtt(p.reshape.getResult());
  if (in.getRank() != 3 || out.getRank() != 4 || out.isDynamicDim(2) ||
      out.isDynamicDim(3) || in.isDynamicDim(2) ||
      in.getDimSize(2) != out.getDimSize(2) * out.getDimSize(3))
    return why = "the reshape does not split a static last dim into heads",
           std::nullopt;
  v = p.reshape.getInput();
  p.linear = def<LinearOp>(v);
  if (!p.linear || !v.hasOneUse())
    return why = "no single-use tfc.linear", std::nullopt;
  if (!constLinear(p.linear))
    return why = "the linear's weight or bias is not an f32 constant",
           std::nullopt;
  return p;
}

FailureOr<AttentionBlock> matchAttention(AttentionOp attn) {
  AttentionBlock blk;
  blk.attn = attn;
  std::string why;
  auto fail = [&](const Twine &what) {
    return attn.emitOpError("cannot drop heads (tfc-prune): ") << what;
  };
  const char *names[3] = {"query", "key", "value"};
  Projection *ps[3] = {&blk.q, &blk.k, &blk.v};
  for (int i = 0; i < 3; ++i) {
    std::optional<Projection> p = matchProjection(attn->getOperand(i), why);
    if (!p)
      return fail(Twine("its ") + names[i] +
                  " is not linear -> reshape [b, s, h, d] -> transpose "
                  "(-> rotary), each used once (" +
                  why + ")");
    *ps[i] = *p;
  }
  Value res = attn.getResult();
  blk.outTranspose = res.hasOneUse()
                         ? dyn_cast<TransposeOp>(*res.getUsers().begin())
                         : TransposeOp();
  if (!isPerm0213(blk.outTranspose) ||
      !blk.outTranspose.getResult().hasOneUse())
    return fail("its result is not used once by a transpose [0, 2, 1, 3]");
  blk.outReshape =
      dyn_cast<ReshapeOp>(*blk.outTranspose.getResult().getUsers().begin());
  if (!blk.outReshape || !blk.outReshape.getResult().hasOneUse() ||
      rtt(blk.outReshape.getResult()).getRank() != 3)
    return fail("its heads are not merged by a reshape [b, s, h * dv] used "
                "once");
  blk.oProj =
      dyn_cast<LinearOp>(*blk.outReshape.getResult().getUsers().begin());
  if (!blk.oProj || blk.oProj.getInput() != blk.outReshape.getResult() ||
      !constLinear(blk.oProj))
    return fail("its merged heads do not feed a tfc.linear with constant "
                "f32 weights (o_proj)");
  auto qt = rtt(attn.getQuery()), kt = rtt(attn.getKey());
  if (qt.isDynamicDim(1) || kt.isDynamicDim(1) || qt.isDynamicDim(3) ||
      rtt(attn.getValue()).isDynamicDim(3))
    return fail("its head counts or sizes are not static");
  if (Value mask = attn.getMask()) {
    auto mt = rtt(mask);
    int64_t headAxis = mt.getRank() - 3;
    if (headAxis >= 0 && mt.getDimSize(headAxis) != 1)
      return fail("its mask varies over heads");
  }
  return blk;
}

/// The Ln norm accumulator of a set of weight slices.
struct Norm {
  int p;
  double acc = 0;
  void add(float x) { acc += p == 1 ? std::fabs(x) : double(x) * x; }
  double value() const { return p == 1 ? acc : std::sqrt(acc); }
};

class Shrinker {
public:
  Shrinker(const StructuredOptions &o, Recorder *rec) : o(o), rec(rec) {}

  /// Adds the Ln contributions of `idx` along `axis` of constant `c`
  /// (features of size `width` each: feature f covers [f*width, (f+1)*width)).
  /// `inNorm` (not null): element i along `axis` is weighted by inNorm[i]
  /// (the activation norm of the input feature it multiplies: `axis` is the
  /// weight's input axis then).
  void score(Value c, int64_t axis, int64_t width, std::vector<Norm> &scores,
             const std::vector<double> *inNorm = nullptr) {
    std::vector<float> d = *readF32(c);
    auto t = rtt(c);
    int64_t rows = t.getRank() == 1 ? 1 : t.getDimSize(0);
    int64_t cols = t.getDimSize(t.getRank() - 1);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t col = 0; col < cols; ++col) {
        int64_t i = t.getRank() == 1 || axis == 1 ? col : r;
        int64_t f = i / width;
        if (f < (int64_t)scores.size())
          scores[f].add(
              inNorm ? static_cast<float>(d[r * cols + col] * (*inNorm)[i])
                     : d[r * cols + col]);
      }
  }

  /// ||x_i||_2 of the k input features of `op`'s weight operand (a linear,
  /// or a gated MLP's w_down: operand 3) from the calibration statistics;
  /// nullopt after an error on the op naming its key.
  std::optional<std::vector<double>> inputNorms(Operation *op, unsigned operand,
                                                bool transposed, int64_t k,
                                                int64_t n, StringRef what) {
    Weight w{op,
             operand,
             transposed,
             k,
             n,
             {},
             (Twine("'") + nameOf(op) + "' " + what).str()};
    const double *sq = o.calib->sqNorms(w);
    if (!sq)
      return std::nullopt;
    std::vector<double> r(k);
    for (int64_t i = 0; i < k; ++i)
      r[i] = std::sqrt(std::max(0.0, sq[i]));
    return r;
  }

  std::optional<std::vector<double>> inputNorms(LinearOp l) {
    int64_t k = dimOf(l.getWeight(), inAxis(l));
    int64_t n = dimOf(l.getWeight(), outAxis(l));
    return inputNorms(l, l.getWeightMutable().getOperandNumber(),
                      l.getTransposeWeight(), k, n, "weight");
  }

  /// A new constant keeping `keep` (sorted indices) along `axis` of `c`
  /// (rank 1 or 2); records the mask against the original.
  Value slice(OpBuilder &b, Operation *at, Value c, int64_t axis,
              ArrayRef<int64_t> keep) {
    auto key = std::make_tuple(c.getDefiningOp(), axis,
                               std::vector<int64_t>(keep.begin(), keep.end()));
    if (Value v = cache[key])
      return v;
    Value v = sliceNew(b, at, c, axis, keep);
    cache[key] = v;
    return v;
  }

  Value sliceNew(OpBuilder &b, Operation *at, Value c, int64_t axis,
                 ArrayRef<int64_t> keep) {
    std::vector<float> d = *readF32(c);
    auto t = rtt(c);
    int64_t rank = t.getRank();
    int64_t rows = rank == 1 ? 1 : t.getDimSize(0);
    int64_t cols = t.getDimSize(rank - 1);
    bool alongCols = rank == 1 || axis == 1;
    std::vector<uint8_t> keepMask(d.size(), 0);
    std::vector<float> out;
    int64_t newRows = alongCols ? rows : (int64_t)keep.size();
    int64_t newCols = alongCols ? (int64_t)keep.size() : cols;
    out.reserve(newRows * newCols);
    if (alongCols) {
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t col : keep) {
          out.push_back(d[r * cols + col]);
          keepMask[r * cols + col] = 1;
        }
    } else {
      for (int64_t r : keep)
        for (int64_t col = 0; col < cols; ++col) {
          out.push_back(d[r * cols + col]);
          keepMask[r * cols + col] = 1;
        }
    }
    if (rec)
      rec->record(c, keepMask);
    SmallVector<int64_t> shape(t.getShape());
    shape[rank == 1 ? 0 : axis] = keep.size();
    return makeF32Constant(b, at, t.clone(shape), out, "shrunk", c);
  }

  /// Keeps output features `keep` of a linear (weight and bias).
  void keepOutputs(LinearOp l, ArrayRef<int64_t> keep) {
    OpBuilder b(l);
    l.getWeightMutable().assign(
        slice(b, l, l.getWeight(), outAxis(l), keep));
    if (Value bias = l.getBias())
      l.getBiasMutable().assign(slice(b, l, bias, 0, keep));
    setDim(l.getResult(), -1, keep.size());
  }

  void keepInputs(LinearOp l, ArrayRef<int64_t> keep) {
    OpBuilder b(l);
    l.getWeightMutable().assign(slice(b, l, l.getWeight(), inAxis(l), keep));
  }

  static SmallVector<int64_t> expand(ArrayRef<int64_t> heads, int64_t width) {
    SmallVector<int64_t> idx;
    for (int64_t h : heads)
      for (int64_t j = 0; j < width; ++j)
        idx.push_back(h * width + j);
    return idx;
  }

  /// The `count` lowest-scored of `scores` removed; the kept ones, sorted.
  static SmallVector<int64_t> keepHighest(ArrayRef<double> scores,
                                          int64_t count) {
    SmallVector<int64_t> order(scores.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return scores[a] < scores[b];
    });
    SmallVector<int64_t> keep(order.begin() + count, order.end());
    llvm::sort(keep);
    return keep;
  }

  LogicalResult heads(AttentionBlock &blk) {
    int64_t hq = dimOf(blk.attn.getQuery(), 1);
    int64_t hkv = dimOf(blk.attn.getKey(), 1);
    int64_t d = dimOf(blk.attn.getQuery(), 3);
    int64_t dv = dimOf(blk.attn.getValue(), 3);
    int64_t g = hq / hkv;
    int64_t K = o.headsToRemove;
    std::string name = nameOf(blk.oProj);
    if (K >= hq)
      return blk.attn.emitOpError("tfc-prune: heads:")
             << K << " removes all " << hq << " query heads (o_proj '"
             << name << "')";
    // Per q head: q columns + o_proj rows; per kv head: k and v columns.
    std::vector<Norm> qs(hq, Norm{o.norm}), kvs(hkv, Norm{o.norm});
    if (o.calib) {
      // A head's rows of o_proj weighted by its output's channel norms; a
      // kv group by the sum of its q heads (k / v reach the output only
      // through them).
      std::optional<std::vector<double>> a = inputNorms(blk.oProj);
      if (!a)
        return failure();
      score(blk.oProj.getWeight(), inAxis(blk.oProj), dv, qs, &*a);
    } else {
      score(blk.q.linear.getWeight(), outAxis(blk.q.linear), d, qs);
      score(blk.oProj.getWeight(), inAxis(blk.oProj), dv, qs);
      score(blk.k.linear.getWeight(), outAxis(blk.k.linear), d, kvs);
      score(blk.v.linear.getWeight(), outAxis(blk.v.linear), dv, kvs);
    }
    SmallVector<int64_t> keepQ, keepKv;
    if (g == 1 || !o.withinGroups) {
      if (K % g != 0)
        return blk.attn.emitOpError("tfc-prune: heads:")
               << K << " does not divide into whole kv groups of " << g
               << " query heads (" << hq << " q / " << hkv
               << " kv heads; o_proj '" << name
               << "'): remove a multiple of " << g
               << " or use --prune-gqa=within";
      std::vector<double> group(hkv);
      for (int64_t h = 0; h < hkv; ++h) {
        Norm n{o.norm};
        n.acc = kvs[h].acc;
        for (int64_t j = 0; j < g; ++j)
          n.acc += qs[h * g + j].acc;
        group[h] = n.value();
      }
      keepKv = keepHighest(group, K / g);
      for (int64_t h : keepKv)
        for (int64_t j = 0; j < g; ++j)
          keepQ.push_back(h * g + j);
    } else {
      if (K % hkv != 0 || K / hkv >= g)
        return blk.attn.emitOpError("tfc-prune: heads:")
               << K << " cannot be removed evenly within " << hkv
               << " kv groups of " << g << " query heads (o_proj '" << name
               << "'): remove a multiple of " << hkv << " below " << hkv * g;
      for (int64_t h = 0; h < hkv; ++h) {
        keepKv.push_back(h);
        std::vector<double> s(g);
        for (int64_t j = 0; j < g; ++j)
          s[j] = qs[h * g + j].value();
        for (int64_t j : keepHighest(s, K / hkv))
          keepQ.push_back(h * g + j);
      }
    }
    int64_t nq = keepQ.size(), nkv = keepKv.size();
    auto retypeProjection = [&](Projection &p, ArrayRef<int64_t> heads,
                                int64_t width) {
      keepOutputs(p.linear, expand(heads, width));
      setDim(p.reshape.getResult(), 2, heads.size());
      setDim(p.transpose.getResult(), 1, heads.size());
      if (p.rotary)
        setDim(p.rotary.getResult(), 1, heads.size());
    };
    retypeProjection(blk.q, keepQ, d);
    retypeProjection(blk.k, keepKv, d);
    retypeProjection(blk.v, keepKv, dv);
    setDim(blk.attn.getResult(), 1, nq);
    setDim(blk.outTranspose.getResult(), 2, nq);
    setDim(blk.outReshape.getResult(), 2, nq * dv);
    keepInputs(blk.oProj, expand(keepQ, dv));
    std::string note = ("heads " + Twine(hq) + " -> " + Twine(nq) +
                        " (kv " + Twine(hkv) + " -> " + Twine(nkv) + ")")
                           .str();
    Builder b(blk.attn.getContext());
    for (Operation *op : {blk.attn.getOperation(), blk.oProj.getOperation(),
                          blk.q.linear.getOperation(),
                          blk.k.linear.getOperation(),
                          blk.v.linear.getOperation()})
      op->setAttr("tfc.pruned", b.getStringAttr(note));
    return success();
  }

  int64_t channelsToRemove(int64_t h) const {
    return std::min<int64_t>(h - 1, (int64_t)std::floor(o.fraction * h));
  }

  LogicalResult gated(GatedMlpOp mlp) {
    int64_t h = dimOf(mlp.getWGate(), 1);
    std::vector<Norm> s(h, Norm{o.norm});
    if (o.calib) {
      std::optional<std::vector<double>> a =
          inputNorms(mlp, 3, false, h, dimOf(mlp.getWDown(), 1), "w_down");
      if (!a)
        return failure();
      score(mlp.getWDown(), 0, 1, s, &*a);
    } else {
      score(mlp.getWGate(), 1, 1, s);
      score(mlp.getWUp(), 1, 1, s);
      score(mlp.getWDown(), 0, 1, s);
    }
    std::vector<double> v;
    for (Norm &n : s)
      v.push_back(n.value());
    SmallVector<int64_t> keep = keepHighest(v, channelsToRemove(h));
    OpBuilder b(mlp);
    mlp.getWGateMutable().assign(slice(b, mlp, mlp.getWGate(), 1, keep));
    mlp.getWUpMutable().assign(slice(b, mlp, mlp.getWUp(), 1, keep));
    mlp.getWDownMutable().assign(slice(b, mlp, mlp.getWDown(), 0, keep));
    mlp->setAttr("tfc.pruned",
                 b.getStringAttr(("ffn " + Twine(h) + " -> " +
                                  Twine(keep.size()))
                                     .str()));
    return success();
  }

  LogicalResult dense(LinearOp up, ArrayRef<Operation *> acts, LinearOp down) {
    int64_t h = dimOf(up.getResult(), -1);
    std::vector<Norm> s(h, Norm{o.norm});
    if (o.calib) {
      std::optional<std::vector<double>> a = inputNorms(down);
      if (!a)
        return failure();
      score(down.getWeight(), inAxis(down), 1, s, &*a);
    } else {
      score(up.getWeight(), outAxis(up), 1, s);
      if (up.getBias())
        score(up.getBias(), 0, 1, s);
      score(down.getWeight(), inAxis(down), 1, s);
    }
    std::vector<double> v;
    for (Norm &n : s)
      v.push_back(n.value());
    SmallVector<int64_t> keep = keepHighest(v, channelsToRemove(h));
    keepOutputs(up, keep);
    for (Operation *a : acts)
      setDim(a->getResult(0), -1, keep.size());
    keepInputs(down, keep);
    Builder b(up.getContext());
    auto note =
        b.getStringAttr(("ffn " + Twine(h) + " -> " + Twine(keep.size())).str());
    up->setAttr("tfc.pruned", note);
    down->setAttr("tfc.pruned", note);
    return success();
  }

private:
  const StructuredOptions &o;
  Recorder *rec;
  std::map<std::tuple<Operation *, int64_t, std::vector<int64_t>>, Value>
      cache;
};

/// up linear -> single-use elementwise ops -> down linear.
bool matchDenseMlp(LinearOp down, LinearOp &up,
                   SmallVectorImpl<Operation *> &acts) {
  Value v = down.getInput();
  while (true) {
    Operation *op = v.getDefiningOp();
    if (!op || !v.hasOneUse())
      return false;
    if ((up = dyn_cast<LinearOp>(op))) {
      std::reverse(acts.begin(), acts.end());
      return !acts.empty() && constLinear(up);
    }
    if (auto u = dyn_cast<UnaryOp>(op)) {
      acts.push_back(op);
      v = u.getInput();
      continue;
    }
    auto bin = dyn_cast<BinaryOp>(op);
    if (!bin)
      return false;
    if (raise::isConstant(bin.getRhs()) &&
        rtt(bin.getRhs()).getNumElements() == 1)
      v = bin.getLhs();
    else if (raise::isConstant(bin.getLhs()) &&
             rtt(bin.getLhs()).getNumElements() == 1)
      v = bin.getRhs();
    else
      return false;
    acts.push_back(op);
  }
}

} // namespace

LogicalResult prune::pruneStructured(
    ModuleOp module, const StructuredOptions &o,
    const std::function<bool(Operation *)> &selected, Recorder *recorder) {
  Shrinker s(o, recorder);
  bool ok = true;
  if (o.heads) {
    SmallVector<AttentionOp> attns;
    module.walk([&](AttentionOp a) { attns.push_back(a); });
    if (attns.empty())
      return module.emitError("tfc-prune: heads:K but the model has no "
                              "tfc.attention (raised attention) to prune");
    for (AttentionOp a : attns) {
      FailureOr<AttentionBlock> blk = matchAttention(a);
      if (failed(blk)) {
        ok = false;
        continue;
      }
      // The head structure is one unit: prune it when its o_proj is in scope.
      if (!selected(blk->oProj) && !selected(blk->q.linear))
        continue;
      if (failed(s.heads(*blk)))
        ok = false;
    }
    return success(ok);
  }
  SmallVector<GatedMlpOp> gated;
  module.walk([&](GatedMlpOp m) {
    if (selected(m) && constF32(m.getWGate()) && constF32(m.getWUp()) &&
        constF32(m.getWDown()))
      gated.push_back(m);
  });
  struct Dense {
    LinearOp up, down;
    SmallVector<Operation *> acts;
  };
  SmallVector<Dense> dense;
  module.walk([&](LinearOp down) {
    Dense dm;
    dm.down = down;
    if (!selected(down) || !constLinear(down) ||
        !matchDenseMlp(down, dm.up, dm.acts) || !selected(dm.up))
      return;
    dense.push_back(dm);
  });
  if (gated.empty() && dense.empty())
    return module.emitError("tfc-prune: ffn:F found no MLP in scope "
                            "(tfc.gated_mlp or linear -> activation -> "
                            "linear with constant weights)");
  for (GatedMlpOp m : gated)
    ok &= succeeded(s.gated(m));
  for (Dense &dm : dense)
    ok &= succeeded(s.dense(dm.up, dm.acts, dm.down));
  return success(ok);
}
