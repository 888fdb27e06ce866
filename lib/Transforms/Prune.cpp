//===- Prune.cpp - --tfc-prune: weights to zeros, heads and channels away -===//
//
// docs/DESIGN.md "Pruning". Unstructured and N:M methods zero weights of the
// selected tfc.linear / tfc.gated_mlp ops (a new constant per weight; the
// old one may be shared) and set `tfc.sparsity` on the op; structured
// methods (PruneStructured.cpp) shrink shapes. Methods:
//   magnitude      |w| per weight (scope layer) or one threshold over all
//                  selected weights (scope global), in `steps` rounds
//   wanda          |w| * ||x_j||_2 per output (PruneCalib.cpp; stats=FILE)
//   sparsegpt      SparseGPT's OBS reconstruction (PruneCalib.cpp; stats
//                  with Hessians)
//   nm:N:M         keep the N best of every M along k, per column, by
//                  `score` (magnitude, wanda or sparsegpt)
//   mask=FILE      .npz / .safetensors keyed by ONNX initializer name
//   heads:K, ffn:F structured (PruneStructured.cpp); with score=wanda and
//                  stats, activation-weighted (the o_proj / down side)
//   none           only detect imported zeros (`detect`)
// With `detect`, ops whose weights already hold >= 25 % exact zeros get
// `tfc.sparsity` with method "imported". With `export`, STEM.prune.json and
// STEM.masks.npz describe every pruned initializer for
// scripts/export_pruned_onnx.py.
//
//===----------------------------------------------------------------------===//
#include "OpClass.h"
#include "Prune.h"
#include "QuantRecipe.h"

#include "Npz.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "tfc/Transforms/Passes.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCPRUNE
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::prune;
using quant::OpClass;

//===----------------------------------------------------------------------===//
// Shared helpers (Prune.h)
//===----------------------------------------------------------------------===//

std::optional<std::vector<float>> prune::readF32(Value v, bool *elided) {
  if (elided)
    *elided = false;
  auto c = v ? v.getDefiningOp<arith::ConstantOp>() : nullptr;
  if (!c)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(c.getType());
  if (!type || !type.getElementType().isF32() || !type.hasStaticShape())
    return std::nullopt;
  size_t n = type.getNumElements();
  if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob) {
      if (elided)
        *elided = true;
      return std::nullopt;
    }
    ArrayRef<char> raw = blob->getData();
    if (raw.size() != n * sizeof(float))
      return std::nullopt;
    std::vector<float> out(n);
    memcpy(out.data(), raw.data(), raw.size());
    return out;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue())) {
    std::vector<float> out;
    out.reserve(n);
    for (APFloat f : dense.getValues<APFloat>())
      out.push_back(f.convertToFloat());
    return out;
  }
  return std::nullopt;
}

Value prune::makeF32Constant(OpBuilder &b, Operation *at, RankedTensorType type,
                             const std::vector<float> &data, StringRef hint,
                             Value like) {
  static int counter = 0;
  std::string key = (hint + Twine(counter++)).str();
  ArrayRef<char> bytes(reinterpret_cast<const char *>(data.data()),
                       data.size() * sizeof(float));
  auto c = like ? like.getDefiningOp<arith::ConstantOp>() : nullptr;
  Attribute attr;
  if (c && isa<DenseElementsAttr>(c.getValue()))
    attr = DenseElementsAttr::get(type, ArrayRef<float>(data));
  else
    attr = DenseResourceElementsAttr::get(
        type, key, HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64));
  OpBuilder::InsertionGuard g(b);
  b.setInsertionPointToStart(&at->getParentOfType<func::FuncOp>().front());
  return arith::ConstantOp::create(b, at->getLoc(), cast<TypedAttr>(attr));
}

void Recorder::record(Value orig, const std::vector<uint8_t> &keep) {
  Operation *c = orig.getDefiningOp();
  auto it = entries.find(c);
  if (it != entries.end()) {
    for (size_t i = 0; i < keep.size() && i < it->second.keep.size(); ++i)
      it->second.keep[i] &= keep[i];
    return;
  }
  Entry e;
  if (auto name = c->getAttrOfType<StringAttr>("tfc.onnx_name"))
    e.onnxName = name.str();
  auto type = cast<RankedTensorType>(orig.getType());
  e.shape.assign(type.getShape().begin(), type.getShape().end());
  if (std::optional<std::vector<float>> d = readF32(orig))
    e.head.assign(d->begin(), d->begin() + std::min<size_t>(16, d->size()));
  e.keep = keep;
  entries[c] = std::move(e);
  order.push_back(c);
}

bool Recorder::write(const std::string &stem, std::string &error) const {
  llvm::json::Array list;
  std::vector<tfcrun::NpyArray> arrays(order.size());
  std::vector<std::pair<std::string, const tfcrun::NpyArray *>> named;
  for (size_t i = 0; i < order.size(); ++i) {
    const Entry &e = entries.at(order[i]);
    std::string key = "m" + std::to_string(i);
    if (!arrays[i].allocate(TFC_DTYPE_U8, e.shape)) {
      error = "out of memory for mask " + key;
      return false;
    }
    memcpy(arrays[i].data(), e.keep.data(), e.keep.size());
    named.push_back({key, &arrays[i]});
    int64_t kept = std::count(e.keep.begin(), e.keep.end(), 1);
    llvm::json::Array shape, head;
    for (int64_t d : e.shape)
      shape.push_back(d);
    for (float f : e.head)
      head.push_back(static_cast<double>(f));
    list.push_back(llvm::json::Object{
        {"key", key},
        {"onnx_name", e.onnxName},
        {"shape", std::move(shape)},
        {"head", std::move(head)},
        {"kept", kept},
        {"elements", static_cast<int64_t>(e.keep.size())}});
  }
  if (!tfcrun::writeNpz(stem + ".masks.npz", named, /*compress=*/true, error))
    return false;
  std::error_code ec;
  llvm::raw_fd_ostream os(stem + ".prune.json", ec);
  if (ec) {
    error = "cannot write '" + stem + ".prune.json': " + ec.message();
    return false;
  }
  os << llvm::formatv("{0:2}",
                      llvm::json::Value(llvm::json::Object{
                          {"masks", stem + ".masks.npz"},
                          {"weights", std::move(list)}}))
     << "\n";
  return true;
}

namespace {

RankedTensorType rtt(Value v) { return cast<RankedTensorType>(v.getType()); }

//===----------------------------------------------------------------------===//
// Weights of an op and their geometry
//===----------------------------------------------------------------------===//

/// The weight operands of a linear (1) or gated MLP (3).
SmallVector<std::pair<unsigned, bool>> weightOperands(Operation *op) {
  if (auto l = dyn_cast<LinearOp>(op))
    return {{1, l.getTransposeWeight()}};
  return {{1, false}, {2, false}, {3, false}};
}

const char *operandName(Operation *op, unsigned i) {
  if (isa<LinearOp>(op))
    return "weight";
  return i == 1 ? "w_gate" : i == 2 ? "w_up" : "w_down";
}

/// At most `nKeep` nonzeros in every run of `m` along k, per column.
bool satisfiesNm(const Weight &w, int64_t nKeep, int64_t m) {
  if (w.k % m != 0)
    return false;
  for (int64_t nn = 0; nn < w.n; ++nn)
    for (int64_t g = 0; g < w.k; g += m) {
      int64_t nz = 0;
      for (int64_t kk = g; kk < g + m; ++kk)
        nz += w.data[w.index(kk, nn)] != 0.0f;
      if (nz > nKeep)
        return false;
    }
  return true;
}

/// Zeros the `count` lowest-scored elements (ties: lower index first).
void zeroLowest(std::vector<float> &data, const std::vector<float> &score,
                size_t count) {
  count = std::min(count, data.size());
  if (count == 0)
    return;
  std::vector<uint32_t> idx(data.size());
  std::iota(idx.begin(), idx.end(), 0);
  auto less = [&](uint32_t a, uint32_t b) {
    return score[a] < score[b] || (score[a] == score[b] && a < b);
  };
  std::nth_element(idx.begin(), idx.begin() + (count - 1), idx.end(), less);
  for (size_t i = 0; i < count; ++i)
    data[idx[i]] = 0.0f;
}

std::vector<float> magnitudeScores(const std::vector<float> &w) {
  std::vector<float> s(w.size());
  for (size_t i = 0; i < w.size(); ++i)
    s[i] = std::fabs(w[i]);
  return s;
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct PrunePass : public mlir::tfc::impl::TfcPruneBase<PrunePass> {
  using TfcPruneBase::TfcPruneBase;

  std::set<OpClass> classSet;
  Recorder recorder;

  bool selected(Operation *op) {
    if (!isa<LinearOp, GatedMlpOp>(op))
      return false;
    if (!classSet.count(classifyOp(op)))
      return false;
    if (layers.empty())
      return true;
    // A comma-separated list of globs: any may match (tfc-calibrate's
    // sequential mode names the blocks pruned so far).
    const std::string name = onnxNodeName(op->getLoc());
    llvm::SmallVector<llvm::StringRef> globs;
    llvm::StringRef(layers).split(globs, ',', -1, false);
    for (llvm::StringRef g : globs)
      if (quant::globMatch(g.trim(), name))
        return true;
    return false;
  }

  std::string opName(Operation *op) {
    std::string n = onnxNodeName(op->getLoc());
    return n.empty() ? op->getName().getStringRef().str() : n;
  }

  /// Loads the weights of `op`; fails (with a diagnostic) when one is not a
  /// static f32 constant with data.
  LogicalResult loadWeights(Operation *op, SmallVectorImpl<Weight> &out) {
    for (auto [i, transposed] : weightOperands(op)) {
      Value v = op->getOperand(i);
      bool elided = false;
      std::optional<std::vector<float>> d = readF32(v, &elided);
      if (!d)
        return op->emitError("tfc-prune: the ")
               << operandName(op, i) << " of '" << opName(op) << "' is "
               << (elided ? "an elided constant (no data to prune)"
                          : "not a static f32 constant");
      auto t = rtt(v);
      Weight w{op,
               i,
               transposed,
               t.getDimSize(transposed ? 1 : 0),
               t.getDimSize(transposed ? 0 : 1),
               std::move(*d),
               "'" + opName(op) + "' " + operandName(op, i)};
      out.push_back(std::move(w));
    }
    return success();
  }

  /// Replaces the weight operand by a constant of `w.data`, records the mask
  /// against the original constant.
  void store(Weight &w) {
    Value orig = w.value();
    std::vector<uint8_t> keep(w.data.size());
    for (size_t i = 0; i < w.data.size(); ++i)
      keep[i] = w.data[i] != 0.0f;
    recorder.record(orig, keep);
    OpBuilder b(w.op);
    Value c = makeF32Constant(b, w.op, rtt(orig), w.data, "pruned", orig);
    w.op->setOperand(w.operand, c);
  }

  /// Sets tfc.sparsity from the data of `ws` (all weights of one op).
  void annotate(Operation *op, ArrayRef<Weight> ws, StringRef how) {
    size_t zeros = 0, total = 0;
    for (const Weight &w : ws) {
      total += w.data.size();
      zeros += std::count(w.data.begin(), w.data.end(), 0.0f);
    }
    Builder b(op->getContext());
    SmallVector<NamedAttribute> fields;
    int64_t nKeep = 0, m = 0;
    for (auto [n2, m2] : {std::pair<int64_t, int64_t>{2, 4}, {4, 8}})
      if (llvm::all_of(ws, [&](const Weight &w) {
            return satisfiesNm(w, n2, m2);
          })) {
        nKeep = n2, m = m2;
        break;
      }
    fields.push_back(
        b.getNamedAttr("pattern", b.getStringAttr(m ? "nm" : "unstructured")));
    if (m) {
      fields.push_back(b.getNamedAttr("n", b.getI64IntegerAttr(nKeep)));
      fields.push_back(b.getNamedAttr("m", b.getI64IntegerAttr(m)));
    }
    fields.push_back(b.getNamedAttr(
        "ratio", b.getF64FloatAttr(total ? double(zeros) / total : 0.0)));
    fields.push_back(b.getNamedAttr("method", b.getStringAttr(how)));
    op->setAttr("tfc.sparsity", b.getDictionaryAttr(fields));
  }

  LogicalResult parseClasses() {
    SmallVector<StringRef> parts;
    StringRef(classes).split(parts, ',', -1, false);
    for (StringRef p : parts) {
      std::optional<OpClass> c = quant::classFromName(p.trim());
      if (!c || *c == OpClass::Attention)
        return getOperation().emitError("tfc-prune: unknown op class '")
               << p.trim()
               << "' in classes (expected qkv, out_proj, mlp, lm_head, "
                  "embedding)";
      if (*c == OpClass::Embedding)
        return getOperation().emitError(
            "tfc-prune: pruning the embedding table is not supported (only "
            "linear layers and gated MLPs)");
      classSet.insert(*c);
    }
    if (classSet.empty())
      return getOperation().emitError("tfc-prune: no op class selected");
    return success();
  }

  /// One weight by a calibration-aware score (or magnitude N:M).
  LogicalResult scoreAndPrune(Weight &w, Score score, double target,
                              int64_t nKeep, int64_t m, CalibInputs &calib) {
    if (score == Score::SparseGpt) {
      const double *h = calib.hessian(w);
      if (!h)
        return failure();
      return sparseGptWeight(w, h, target, nKeep, m, block, damp);
    }
    std::vector<float> s;
    if (score == Score::Wanda) {
      const double *sq = calib.sqNorms(w);
      if (!sq)
        return failure();
      s = wandaScores(w, sq);
    } else {
      s = magnitudeScores(w.data);
    }
    if (m)
      zeroNm(w, s, nKeep, m);
    else
      zeroLowestPerOutput(w, s, target);
    return success();
  }

  /// magnitude / wanda / sparsegpt / nm over the selected ops.
  LogicalResult pruneScores(ArrayRef<Operation *> ops, int64_t nKeep, int64_t m,
                            Score score, CalibInputs &calib) {
    std::vector<SmallVector<Weight>> all(ops.size());
    for (size_t i = 0; i < ops.size(); ++i)
      if (failed(loadWeights(ops[i], all[i])))
        return failure();
    if (m) {
      for (auto &ws : all)
        for (Weight &w : ws)
          if (w.k % m != 0)
            return w.op->emitError("tfc-prune: nm:")
                   << nKeep << ":" << m << ": k = " << w.k << " of " << w.what
                   << " is not a multiple of " << m;
      for (auto &ws : all)
        for (Weight &w : ws)
          if (failed(scoreAndPrune(w, score, 0.0, nKeep, m, calib)))
            return failure();
    } else {
      int64_t k = std::max<int64_t>(1, steps);
      if (score != Score::Magnitude) {
        for (auto &ws : all)
          for (Weight &w : ws)
            if (failed(scoreAndPrune(w, score, sparsity, 0, 0, calib)))
              return failure();
        k = 0;
      }
      for (int64_t step = 1; step <= k; ++step) {
        double target = sparsity * double(step) / double(k);
        if (scope == "global") {
          // One threshold: the `target` quantile of every score.
          size_t total = 0;
          for (auto &ws : all)
            for (Weight &w : ws)
              total += w.data.size();
          std::vector<float> scores;
          scores.reserve(total);
          for (auto &ws : all)
            for (Weight &w : ws)
              for (float f : w.data)
                scores.push_back(std::fabs(f));
          size_t count = static_cast<size_t>(std::floor(target * total));
          if (count == 0)
            continue;
          std::nth_element(scores.begin(), scores.begin() + (count - 1),
                           scores.end());
          float t = scores[count - 1];
          // Strictly below t, then ties in program order up to count.
          size_t below = 0;
          for (float f : scores)
            below += f < t;
          size_t ties = count - below;
          for (auto &ws : all)
            for (Weight &w : ws)
              for (float &f : w.data) {
                float a = std::fabs(f);
                if (a < t)
                  f = 0.0f;
                else if (a == t && ties) {
                  f = 0.0f;
                  --ties;
                }
              }
        } else {
          for (auto &ws : all)
            for (Weight &w : ws)
              zeroLowest(w.data, magnitudeScores(w.data),
                         static_cast<size_t>(
                             std::floor(target * w.data.size())));
        }
      }
    }
    std::string how = score == Score::Wanda       ? "wanda"
                      : score == Score::SparseGpt ? "sparsegpt"
                                                  : "magnitude";
    if (m)
      how = "nm-" + how;
    for (size_t i = 0; i < ops.size(); ++i) {
      for (Weight &w : all[i])
        store(w);
      annotate(ops[i], all[i], how);
    }
    return success();
  }

  LogicalResult pruneMask(ArrayRef<Operation *> ops, StringRef path) {
    std::map<std::string, MaskEntry> masks;
    std::string error;
    if (!readMaskFile(path.str(), masks, error))
      return getOperation().emitError("tfc-prune: ") << error;
    for (Operation *op : ops) {
      SmallVector<Weight> ws;
      if (failed(loadWeights(op, ws)))
        return failure();
      for (Weight &w : ws) {
        auto c = w.value().getDefiningOp<arith::ConstantOp>();
        auto name = c->getAttrOfType<StringAttr>("tfc.onnx_name");
        if (!name)
          return op->emitError("tfc-prune: the ")
                 << w.what
                 << " has no ONNX initializer name (not an initializer of "
                    "the model), so no mask can name it";
        auto it = masks.find(name.str());
        if (it == masks.end())
          return op->emitError("tfc-prune: mask file '")
                 << path << "' has no entry for initializer '" << name.str()
                 << "' (the " << w.what << ")";
        auto shape = rtt(w.value()).getShape();
        if (ArrayRef<int64_t>(it->second.shape) != shape) {
          std::string have, want;
          for (int64_t d : it->second.shape)
            have += (have.empty() ? "" : "x") + std::to_string(d);
          for (int64_t d : shape)
            want += (want.empty() ? "" : "x") + std::to_string(d);
          return op->emitError("tfc-prune: mask '")
                 << name.str() << "' in '" << path << "' has shape [" << have
                 << "], the initializer has [" << want << "]";
        }
        it->second.used = true;
        for (size_t i = 0; i < w.data.size(); ++i)
          if (!it->second.keep[i])
            w.data[i] = 0.0f;
      }
      for (Weight &w : ws)
        store(w);
      annotate(op, ws, "mask");
    }
    for (auto &[name, e] : masks)
      if (!e.used)
        return getOperation().emitError("tfc-prune: mask '")
               << name << "' in '" << path
               << "' names no weight in the pruning scope";
    return success();
  }

  /// Imported zeros: >= 25 % exact zeros over an op's weights.
  void detectZeros(ModuleOp module) {
    module.walk([&](Operation *op) {
      if (!isa<LinearOp, GatedMlpOp>(op) || op->hasAttr("tfc.sparsity"))
        return;
      SmallVector<Weight> ws;
      for (auto [i, transposed] : weightOperands(op)) {
        std::optional<std::vector<float>> d = readF32(op->getOperand(i));
        if (!d)
          return;
        auto t = rtt(op->getOperand(i));
        ws.push_back(Weight{op, i, transposed,
                            t.getDimSize(transposed ? 1 : 0),
                            t.getDimSize(transposed ? 0 : 1), std::move(*d),
                            ""});
      }
      size_t zeros = 0, total = 0;
      for (const Weight &w : ws) {
        total += w.data.size();
        zeros += std::count(w.data.begin(), w.data.end(), 0.0f);
      }
      if (total && zeros * 4 >= total)
        annotate(op, ws, "imported");
    });
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(parseClasses()))
      return signalPassFailure();
    StringRef m(method);
    bool structured = m.starts_with("heads:") || m.starts_with("ffn:");
    bool needsSparsity = m == "magnitude" || m == "wanda" || m == "sparsegpt";
    if (needsSparsity && (!(sparsity > 0.0) || !(sparsity < 1.0))) {
      module.emitError("tfc-prune: sparsity must be in (0, 1), got ")
          << sparsity;
      return signalPassFailure();
    }
    if (steps < 1) {
      module.emitError("tfc-prune: steps must be >= 1, got ") << steps;
      return signalPassFailure();
    }
    if (scope != "layer" && scope != "global") {
      module.emitError("tfc-prune: scope must be layer or global, got '")
          << scope << "'";
      return signalPassFailure();
    }
    if (norm != 1 && norm != 2) {
      module.emitError("tfc-prune: norm must be 1 or 2, got ") << norm;
      return signalPassFailure();
    }
    if (gqa != "groups" && gqa != "within") {
      module.emitError("tfc-prune: gqa must be groups or within, got '")
          << gqa << "'";
      return signalPassFailure();
    }
    // The score: the method's own, or `score` for nm:N:M.
    Score sc = Score::Magnitude;
    StringRef scoreName = score.empty() ? StringRef("magnitude") : score;
    if (m == "wanda" || m == "sparsegpt") {
      if (!score.empty() && score != m) {
        module.emitError("tfc-prune: score '")
            << score << "' does not go with method '" << m
            << "' (score chooses the N:M ranking: nm:N:M score=" << score
            << ")";
        return signalPassFailure();
      }
      scoreName = m;
    } else if (structured && !score.empty() && score != "wanda" &&
               score != "magnitude") {
      module.emitError("tfc-prune: score '")
          << score << "' does not go with method '" << m
          << "': heads:K / ffn:F take score=wanda (activation-weighted, "
             "with stats) or magnitude";
      return signalPassFailure();
    } else if (!score.empty() && !m.starts_with("nm:") && !structured) {
      module.emitError("tfc-prune: score '")
          << score << "' goes with nm:N:M, heads:K or ffn:F (method is '" << m
          << "')";
      return signalPassFailure();
    }
    if (scoreName == "wanda")
      sc = Score::Wanda;
    else if (scoreName == "sparsegpt")
      sc = Score::SparseGpt;
    else if (scoreName != "magnitude") {
      module.emitError("tfc-prune: score must be magnitude, wanda or "
                       "sparsegpt, got '")
          << score << "'";
      return signalPassFailure();
    }
    if (sc != Score::Magnitude && (scope != "layer" || steps != 1)) {
      module.emitError("tfc-prune: ")
          << scoreName
          << " prunes once per output row: scope=global and steps > 1 go "
             "with magnitude only (block-by-block statistics through the "
             "already-pruned blocks: tfc-calibrate --sequential-prune)";
      return signalPassFailure();
    }
    if (sc == Score::SparseGpt && !exportStem.empty()) {
      module.emitError(
          "tfc-prune: export with sparsegpt is not supported: the export "
          "writes masks, and SparseGPT also changes the kept weights");
      return signalPassFailure();
    }
    if (!(damp > 0) || block < 1) {
      module.emitError("tfc-prune: damp must be > 0 and block >= 1");
      return signalPassFailure();
    }
    CalibInputs calib;
    if (sc != Score::Magnitude &&
        failed(calib.load(module, stats, scoreName, sc == Score::SparseGpt)))
      return signalPassFailure();
    if (sc == Score::Magnitude && !stats.empty() && m != "none" && !m.empty()) {
      module.emitError("tfc-prune: stats go with wanda or sparsegpt (method '")
          << m << "', score magnitude)";
      return signalPassFailure();
    }
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (selected(op))
        ops.push_back(op);
    });
    LogicalResult res = success();
    if (m == "none" || m.empty()) {
      // detection only
    } else if (m == "magnitude" || m == "wanda" || m == "sparsegpt") {
      res = pruneScores(ops, 0, 0, sc, calib);
    } else if (m.starts_with("nm:")) {
      int64_t n2 = 0, m2 = 0;
      auto [a, bstr] = m.drop_front(3).split(':');
      if (a.getAsInteger(10, n2) || bstr.getAsInteger(10, m2) || n2 <= 0 ||
          m2 <= 0 || n2 >= m2 || m2 > 64) {
        module.emitError("tfc-prune: method '")
            << m << "': expected nm:N:M with 0 < N < M <= 64";
        return signalPassFailure();
      }
      if (sc == Score::SparseGpt && block % m2 != 0) {
        module.emitError("tfc-prune: block = ")
            << static_cast<int64_t>(block)
            << " is not a multiple of M = " << m2;
        return signalPassFailure();
      }
      res = pruneScores(ops, n2, m2, sc, calib);
    } else if (m.starts_with("mask=")) {
      res = pruneMask(ops, m.drop_front(5));
    } else if (structured) {
      StructuredOptions so;
      so.heads = m.starts_with("heads:");
      so.norm = norm;
      so.withinGroups = gqa == "within";
      if (sc == Score::Wanda)
        so.calib = &calib;
      StringRef arg = m.drop_front(so.heads ? 6 : 4);
      if (so.heads ? (arg.getAsInteger(10, so.headsToRemove) ||
                      so.headsToRemove <= 0)
                   : (arg.getAsDouble(so.fraction) || !(so.fraction > 0) ||
                      !(so.fraction < 1))) {
        module.emitError("tfc-prune: method '")
            << m
            << (so.heads ? "': expected heads:K with K > 0 query heads to "
                           "remove per attention"
                         : "': expected ffn:F with F in (0, 1), the fraction "
                           "of MLP channels to remove");
        return signalPassFailure();
      }
      res = pruneStructured(
          module, so, [&](Operation *op) { return selected(op); },
          exportStem.empty() ? nullptr : &recorder);
    } else {
      module.emitError("tfc-prune: unknown method '")
          << m
          << "' (expected magnitude, wanda, sparsegpt, nm:N:M, heads:K, "
             "ffn:F, mask=FILE or none)";
      return signalPassFailure();
    }
    if (failed(res))
      return signalPassFailure();
    // Constants no op uses any more.
    SmallVector<Operation *> dead;
    module.walk([&](arith::ConstantOp c) {
      if (c->use_empty())
        dead.push_back(c);
    });
    for (Operation *c : dead)
      c->erase();
    if (detect)
      detectZeros(module);
    if (!exportStem.empty()) {
      std::string error;
      if (!recorder.write(exportStem, error)) {
        module.emitError("tfc-prune: ") << error;
        return signalPassFailure();
      }
    }
  }
};

} // namespace
