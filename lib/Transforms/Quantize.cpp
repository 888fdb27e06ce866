//===- Quantize.cpp - --tfc-quantize: weights and activations to integers -===//
//
// Rewrites the transformer ops a recipe selects (QuantRecipe.h) into the
// quantization ops of TfcQuantOps.td:
//   tfc.linear (constant weight)  -> tfc.qlinear (codes, scales, zero points)
//                                    or a bf16 / fp16 weight (mixed precision)
//   tfc.gated_mlp                 -> tfc.qgated_mlp
//   tfc.embedding (constant table)-> tfc.qembedding (groups along the row)
//   tfc.attention                 -> q, k, v through dynamic per-row int8
//                                    quantize + dequantize (8-bit products)
// Op classes: `lm_head` (a linear the entry returns), `qkv` (feeds an
// attention's q / k / v through reshapes, transposes, rotary, slices),
// `out_proj` (consumes an attention's result through reshapes and
// transposes), `mlp` (other linears, gated MLPs), `embedding`, `attention`.
// Every op the pass looked at gets `tfc.quant = "<class>: <scheme>"` (or
// "fp32 (skipped)"), so --emit=tfc shows the choice on every op. Weights are
// rounded to nearest (QuantMath.h) or, with method gptq, by GPTQ (Gptq.h)
// with the Hessians of a stats file (tfc-calibrate --hessians); static
// activation scales are the stats file's clipping threshold (act-range) /
// 127, symmetric int8 (what the S8 kernel takes). A gated MLP with static
// activations is split into its three linears, each with its input's scale.
// Stats are found by op key (CalibKeys.h).
//
//===----------------------------------------------------------------------===//
#include "CalibKeys.h"
#include "Gptq.h"
#include "OpClass.h"
#include "QuantMath.h"
#include "QuantRecipe.h"
#include "tfc/Calibration/Stats.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "tfc/Transforms/Passes.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCQUANTIZE
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::quant;

namespace {

RankedTensorType rtt(Value v) { return cast<RankedTensorType>(v.getType()); }

/// A constant f32 tensor's data (nullopt when not a constant or elided).
struct ConstData {
  ArrayRef<float> values;
  bool elided = false;
  std::string key;
};
std::optional<ConstData> constF32(Value v) {
  auto c = v ? v.getDefiningOp<arith::ConstantOp>() : nullptr;
  if (!c)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(c.getType());
  if (!type || !type.getElementType().isF32() || !type.hasStaticShape())
    return std::nullopt;
  ConstData d;
  if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
    d.key = res.getRawHandle().getKey().str();
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob) {
      d.elided = true;
      return d;
    }
    ArrayRef<char> raw = blob->getData();
    d.values = ArrayRef<float>(reinterpret_cast<const float *>(raw.data()),
                               raw.size() / sizeof(float));
    return d;
  }
  if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue())) {
    if (dense.isSplat())
      return std::nullopt;
    ArrayRef<char> raw = dense.getRawData();
    d.values = ArrayRef<float>(reinterpret_cast<const float *>(raw.data()),
                               raw.size() / sizeof(float));
    d.key = "dense";
    return d;
  }
  return std::nullopt;
}

struct QuantizePass : public mlir::tfc::impl::TfcQuantizeBase<QuantizePass> {
  using TfcQuantizeBase::TfcQuantizeBase;

  Recipe recipe;
  int counter = 0;
  std::string methodName;          // rtn | gptq
  std::shared_ptr<::tfc::calib::StatsFile> statsFile; // shared: passes are cloned
  llvm::DenseMap<Operation *, std::string> keys; // CalibKeys.h
  bool hadError = false;

  /// The stats of the tensor op `key` reads; an error naming the op when
  /// there are none or their k differs.
  const ::tfc::calib::TensorRecord *statsFor(Operation *op, StringRef key,
                                           int64_t k, StringRef why) {
    const ::tfc::calib::TensorRecord *r =
        statsFile ? statsFile->forOp(key.str()) : nullptr;
    if (!r) {
      op->emitError() << "stats '" << stats << "' have no statistics for op '"
                      << key << "' (needed for " << why
                      << "): calibrate the same model";
      hadError = true;
      return nullptr;
    }
    if (r->k != k) {
      op->emitError() << "stats '" << stats << "': op '" << key
                      << "' reads k = " << k << " features but its tensor '"
                      << r->name << "' has k = " << r->k;
      hadError = true;
      return nullptr;
    }
    return r;
  }

  /// The Hessian [k, k] of the tensor op `key` reads (needed for `why`);
  /// null with an error naming the op when the stats have none.
  const double *hessianFor(Operation *op, StringRef key, int64_t k,
                           StringRef why) {
    const ::tfc::calib::TensorRecord *r = statsFor(op, key, k, why);
    const double *h = r ? statsFile->hessian(*r) : nullptr;
    if (r && !h) {
      op->emitError() << "stats '" << stats << "' have no Hessian for op '"
                      << key << "': run tfc-calibrate with --hessians";
      hadError = true;
    }
    return h;
  }

  /// A new constant of `type` with raw `bytes` (a resource blob), in the
  /// entry block of `at`'s function.
  Value constant(OpBuilder &b, Operation *at, RankedTensorType type,
                 ArrayRef<char> bytes, bool elided, StringRef hint) {
    std::string key = ("q" + Twine(counter++) + "_" + hint).str();
    Attribute attr;
    if (elided)
      attr = DenseResourceElementsAttr::get(
          type, DenseResourceElementsHandle::getManagerInterface(
                    b.getContext())
                    .insert(key));
    else
      attr = DenseResourceElementsAttr::get(
          type, key,
          HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, 64));
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&at->getParentOfType<func::FuncOp>().front());
    return arith::ConstantOp::create(b, at->getLoc(), cast<TypedAttr>(attr));
  }

  struct QConsts {
    Value codes, scales, zeros;
  };

  /// Quantizes the [k, n] (or transposed [n, k]) constant `w`.
  FailureOr<QConsts> quantizeWeight(OpBuilder &b, Operation *op, Value w,
                                    bool transposed, const Scheme &s,
                                    StringRef key) {
    std::optional<ConstData> d = constF32(w);
    if (!d)
      return failure();
    auto wt = rtt(w);
    int64_t k = wt.getDimSize(transposed ? 1 : 0);
    int64_t n = wt.getDimSize(transposed ? 0 : 1);
    bool int8Kernel = s.activations == QuantActivation::row ||
                      s.activations == QuantActivation::tensor ||
                      s.activations == QuantActivation::static_;
    Grid grid = int8Kernel ? Grid::Int8Kernel : Grid::WeightOnly;
    int64_t g = s.group > 0 ? s.group : k;
    int64_t groups = (k + g - 1) / g;
    QuantizedWeight q;
    if (!d->elided && methodName == "gptq") {
      const double *h = hessianFor(op, key, k, "GPTQ");
      if (!h)
        return failure();
      GptqOptions go;
      go.damp = damp;
      go.actOrder = actOrder;
      go.clip = recipe.clip;
      std::string error;
      std::optional<QuantizedWeight> g =
          gptq(d->values.data(), k, n, transposed, h, s.bits, s.group,
               s.symmetric, grid, go, error);
      if (!g) {
        op->emitError() << "GPTQ of op '" << key << "': " << error;
        hadError = true;
        return failure();
      }
      q = std::move(*g);
    } else if (!d->elided) {
      // clip hmse: each group's grid weighs its features by the Hessian's
      // diagonal (the calibration stats').
      std::vector<double> diag;
      if (recipe.clip == Clip::HMse) {
        const double *h = hessianFor(op, key, k, "clip \"hmse\"");
        if (!h)
          return failure();
        diag.resize(static_cast<size_t>(k));
        for (int64_t i = 0; i < k; ++i)
          diag[i] = h[i * k + i];
      }
      q = roundToNearest(d->values.data(), k, n, transposed, s.bits, s.group,
                         s.symmetric, grid, recipe.clip,
                         diag.empty() ? nullptr : diag.data());
    }
    Type i8 = b.getIntegerType(8);
    QConsts c;
    c.codes = constant(b, op, RankedTensorType::get({k, n}, i8),
                       ArrayRef<char>(reinterpret_cast<const char *>(
                                          q.codes.data()),
                                      q.codes.size()),
                       d->elided, "codes");
    c.scales = constant(
        b, op, RankedTensorType::get({groups, n}, b.getF32Type()),
        ArrayRef<char>(reinterpret_cast<const char *>(q.scales.data()),
                       q.scales.size() * sizeof(float)),
        d->elided, "scales");
    if (!s.symmetric)
      c.zeros = constant(b, op, RankedTensorType::get({groups, n}, i8),
                         ArrayRef<char>(reinterpret_cast<const char *>(
                                            q.zeros.data()),
                                        q.zeros.size()),
                         d->elided, "zeros");
    return c;
  }

  /// The weight as a bf16 / fp16 constant (mixed precision).
  FailureOr<Value> floatWeight(OpBuilder &b, Operation *op, Value w,
                               const Scheme &s) {
    std::optional<ConstData> d = constF32(w);
    if (!d)
      return failure();
    auto wt = rtt(w);
    bool bf = s.floatType == "bf16";
    Type et = bf ? Type(b.getBF16Type()) : Type(b.getF16Type());
    std::vector<uint16_t> out(d->values.size());
    const llvm::fltSemantics &sem =
        bf ? APFloat::BFloat() : APFloat::IEEEhalf();
    for (size_t i = 0; i < out.size(); ++i) {
      APFloat v(d->values[i]);
      bool lost;
      v.convert(sem, APFloat::rmNearestTiesToEven, &lost);
      out[i] = static_cast<uint16_t>(v.bitcastToAPInt().getZExtValue());
    }
    return constant(b, op, RankedTensorType::get(wt.getShape(), et),
                    ArrayRef<char>(reinterpret_cast<const char *>(out.data()),
                                   out.size() * 2),
                    d->elided, s.floatType);
  }

  IntegerAttr i64(OpBuilder &b, int64_t v) { return b.getI64IntegerAttr(v); }

  /// The scheme's code signedness in the IR: symmetric weights are signed
  /// codes without zero points; asymmetric ones unsigned with zero points.
  static bool unsignedCodes(const Scheme &s) { return !s.symmetric; }

  LogicalResult rewriteLinear(LinearOp op, const Scheme &s, StringRef key) {
    OpBuilder b(op);
    if (s.isFloat()) {
      FailureOr<Value> w = floatWeight(b, op, op.getWeight(), s);
      if (failed(w))
        return success(); // not a constant weight: stays fp32
      op.getWeightMutable().assign(*w);
      return success();
    }
    FloatAttr actScale;
    if (s.activations == QuantActivation::static_) {
      int64_t k = rtt(op.getInput()).getShape().back();
      const ::tfc::calib::TensorRecord *r =
          statsFor(op, key, k, "static activation scales");
      if (!r)
        return success();
      double clip = r->clip.at(actRange);
      // Symmetric int8 (zero point 0): the S8 kernel's static mode.
      actScale = b.getF32FloatAttr(clip > 0 ? clip / 127.0 : 1.0);
    }
    FailureOr<QConsts> c = quantizeWeight(b, op, op.getWeight(),
                                          op.getTransposeWeight(), s, key);
    if (failed(c))
      return success();
    auto q = QLinearOp::create(
        b, op.getLoc(), op.getResult().getType(), op.getInput(), c->codes,
        c->scales, c->zeros, op.getBias(), i64(b, s.bits),
        b.getBoolAttr(unsignedCodes(s)), i64(b, s.group),
        QuantActivationAttr::get(b.getContext(), s.activations), actScale,
        /*act_zero_point=*/IntegerAttr());
    q->setAttr("tfc.quant", op->getAttr("tfc.quant"));
    op.getResult().replaceAllUsesWith(q.getResult());
    op->erase();
    return success();
  }

  LogicalResult rewriteGatedMlp(GatedMlpOp op, const Scheme &s,
                                StringRef key) {
    OpBuilder b(op);
    if (s.isFloat()) {
      FailureOr<Value> g = floatWeight(b, op, op.getWGate(), s);
      FailureOr<Value> u = floatWeight(b, op, op.getWUp(), s);
      FailureOr<Value> d = floatWeight(b, op, op.getWDown(), s);
      if (failed(g) || failed(u) || failed(d))
        return success();
      op.getWGateMutable().assign(*g);
      op.getWUpMutable().assign(*u);
      op.getWDownMutable().assign(*d);
      return success();
    }
    if (s.activations == QuantActivation::static_) {
      // One static scale per linear: the gate and up projections share
      // the input's, the down projection gets its own input's.
      Attribute tag = op->getAttr("tfc.quant");
      calib::GatedMlpParts parts = calib::splitGatedMlp(op);
      op->erase();
      for (LinearOp l : {parts.gate, parts.up, parts.down})
        l->setAttr("tfc.quant", tag);
      if (failed(rewriteLinear(parts.gate, s, key)) ||
          failed(rewriteLinear(parts.up, s, key)))
        return failure();
      return rewriteLinear(parts.down, s, calib::downKey(key.str()));
    }
    FailureOr<QConsts> g = quantizeWeight(b, op, op.getWGate(), false, s, key);
    FailureOr<QConsts> u = quantizeWeight(b, op, op.getWUp(), false, s, key);
    FailureOr<QConsts> d = quantizeWeight(b, op, op.getWDown(), false, s,
                                          calib::downKey(key.str()));
    if (failed(g) || failed(u) || failed(d))
      return success();
    SmallVector<Value> zps;
    if (!s.symmetric)
      zps = {g->zeros, u->zeros, d->zeros};
    auto q = QGatedMlpOp::create(
        b, op.getLoc(), op.getResult().getType(), op.getInput(), g->codes,
        g->scales, u->codes, u->scales, d->codes, d->scales, zps,
        UnaryKindAttr::get(b.getContext(), op.getActivation()), i64(b, s.bits),
        b.getBoolAttr(unsignedCodes(s)), i64(b, s.group),
        QuantActivationAttr::get(b.getContext(), s.activations));
    q->setAttr("tfc.quant", op->getAttr("tfc.quant"));
    op.getResult().replaceAllUsesWith(q.getResult());
    op->erase();
    return success();
  }

  LogicalResult rewriteEmbedding(EmbeddingOp op, const Scheme &s) {
    std::optional<ConstData> d = constF32(op.getTable());
    if (!d)
      return success();
    OpBuilder b(op);
    auto tt = rtt(op.getTable());
    int64_t vocab = tt.getDimSize(0), dim = tt.getDimSize(1);
    // Rows are the quantization unit: transpose view [dim, vocab] so that
    // the groups run along the row (k = dim), one scale per token.
    QuantizedWeight q;
    if (!d->elided)
      q = roundToNearest(d->values.data(), dim, vocab, /*transposed=*/true,
                         s.bits, s.group, s.symmetric, Grid::WeightOnly);
    int64_t g = s.group > 0 ? s.group : dim;
    int64_t groups = (dim + g - 1) / g;
    // q is [dim, vocab] / scales [groups, vocab]: store rows-major tables.
    std::vector<int8_t> codes(static_cast<size_t>(vocab * dim));
    std::vector<float> scales(static_cast<size_t>(vocab * groups));
    std::vector<int8_t> zeros(s.symmetric ? 0 : vocab * groups);
    if (!d->elided) {
      for (int64_t t = 0; t < vocab; ++t) {
        for (int64_t j = 0; j < dim; ++j)
          codes[t * dim + j] = q.codes[j * vocab + t];
        for (int64_t gi = 0; gi < groups; ++gi) {
          scales[t * groups + gi] = q.scales[gi * vocab + t];
          if (!s.symmetric)
            zeros[t * groups + gi] = q.zeros[gi * vocab + t];
        }
      }
    }
    Type i8 = b.getIntegerType(8);
    Value cv = constant(b, op, RankedTensorType::get({vocab, dim}, i8),
                        ArrayRef<char>(reinterpret_cast<char *>(codes.data()),
                                       codes.size()),
                        d->elided, "emb_codes");
    Value sv = constant(
        b, op, RankedTensorType::get({vocab, groups}, b.getF32Type()),
        ArrayRef<char>(reinterpret_cast<char *>(scales.data()),
                       scales.size() * 4),
        d->elided, "emb_scales");
    Value zv;
    if (!s.symmetric)
      zv = constant(b, op, RankedTensorType::get({vocab, groups}, i8),
                    ArrayRef<char>(reinterpret_cast<char *>(zeros.data()),
                                   zeros.size()),
                    d->elided, "emb_zeros");
    auto e = QEmbeddingOp::create(b, op.getLoc(), op.getResult().getType(), cv,
                                  sv, zv, op.getIds(), i64(b, s.bits),
                                  b.getBoolAttr(!s.symmetric), i64(b, s.group));
    e->setAttr("tfc.quant", op->getAttr("tfc.quant"));
    op.getResult().replaceAllUsesWith(e.getResult());
    op->erase();
    return success();
  }

  /// q, k, v of `op` rounded to per-row (per token and head) int8.
  LogicalResult rewriteAttention(AttentionOp op) {
    OpBuilder b(op);
    Type f32 = b.getF32Type(), i8 = b.getIntegerType(8);
    for (unsigned i = 0; i < 3; ++i) {
      Value x = op->getOperand(i);
      auto xt = rtt(x);
      if (!xt.getElementType().isF32())
        return success();
      SmallVector<int64_t> rowShape(xt.getShape());
      rowShape.back() = 1;
      auto dq = DynamicQuantizeOp::create(
          b, op.getLoc(), RankedTensorType::get(xt.getShape(), i8),
          RankedTensorType::get(rowShape, f32),
          RankedTensorType::get(rowShape, i8), x, b.getBoolAttr(true));
      auto back = DequantizeOp::create(
          b, op.getLoc(), xt, dq.getResult(), dq.getScale(), Value(),
          i64(b, 8), b.getBoolAttr(false), i64(b, 0), i64(b, 0));
      op->setOperand(i, back.getResult());
    }
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string error;
    std::optional<bool> sym;
    if (symmetric == "sym")
      sym = true;
    else if (symmetric == "asym")
      sym = false;
    else if (!symmetric.empty()) {
      module.emitError("tfc-quantize: symmetric must be sym, asym or empty");
      return signalPassFailure();
    }
    std::optional<Recipe> r = loadRecipe(recipeOpt, group, sym, error);
    if (!r) {
      module.emitError(error);
      return signalPassFailure();
    }
    recipe = *r;
    if (!clip.empty()) {
      std::optional<Clip> c = clipFromName(clip);
      if (!c) {
        module.emitError("tfc-quantize: clip must be minmax, mse or hmse, "
                         "got '")
            << clip << "'";
        return signalPassFailure();
      }
      recipe.clip = *c;
    }
    if (recipe.needsStats() && stats.empty()) {
      module.emitError("--quantize=")
          << recipe.name
          << " needs calibration statistics (activation scales, or Hessians "
             "for GPTQ or clip hmse): run tfc-calibrate and pass --calib-stats "
             "FILE";
      return signalPassFailure();
    }
    methodName = method.empty() ? recipe.method : std::string(method);
    if (methodName != "rtn" && methodName != "gptq") {
      module.emitError("tfc-quantize: method must be rtn or gptq, got '")
          << methodName << "'";
      return signalPassFailure();
    }
    if (!llvm::is_contained(::tfc::calib::clipMethods(), actRange)) {
      module.emitError("tfc-quantize: act-range must be minmax, p99.9, "
                       "p99.99, p99.999 or mse, got '")
          << actRange << "'";
      return signalPassFailure();
    }
    if (methodName == "gptq" && stats.empty()) {
      module.emitError("--quant-method=gptq needs --calib-stats FILE with "
                       "Hessians (tfc-calibrate --hessians)");
      return signalPassFailure();
    }
    if (!stats.empty()) {
      statsFile = std::make_shared<::tfc::calib::StatsFile>();
      if (!statsFile->load(stats, error)) {
        module.emitError(error);
        return signalPassFailure();
      }
      if (methodName == "gptq" && !statsFile->hasHessians()) {
        module.emitError("stats '")
            << stats
            << "' have no Hessians, which GPTQ needs: run tfc-calibrate "
               "with --hessians";
        return signalPassFailure();
      }
    }
    for (auto &[op, key] : calib::keyedOps(module))
      keys[op] = key;
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      if (isa<LinearOp, GatedMlpOp, EmbeddingOp, AttentionOp>(op))
        ops.push_back(op);
    });
    bool failedAny = false;
    for (Operation *op : ops) {
      OpClass cls = classifyOp(op);
      std::string name = calib::nameOf(op->getLoc());
      std::string key = keys.lookup(op);
      Choice c = recipe.choose(cls, name);
      OpBuilder b(op);
      if (c.skip) {
        op->setAttr("tfc.quant", b.getStringAttr(std::string(className(cls)) +
                                                 ": fp32 (skipped)"));
        continue;
      }
      if (std::optional<std::string> why = cannotTake(cls, c.scheme)) {
        op->emitError() << "recipe '" << recipe.name << "': the "
                        << className(cls) << " op '" << name
                        << "' cannot take " << c.scheme.describe() << ": "
                        << *why;
        failedAny = true;
        continue;
      }
      // The recipe's grid search shows on the weights it chose (linears
      // and gated MLPs; embeddings stay on min / max grids).
      std::string clipNote;
      if (recipe.clip != Clip::MinMax && !c.scheme.isFloat() &&
          isa<LinearOp, GatedMlpOp>(op))
        clipNote = std::string(" clip=") + clipName(recipe.clip);
      op->setAttr("tfc.quant",
                  b.getStringAttr(std::string(className(cls)) + ": " +
                                  c.scheme.describe() + clipNote));
      LogicalResult res = success();
      if (auto l = dyn_cast<LinearOp>(op))
        res = rewriteLinear(l, c.scheme, key);
      else if (auto g = dyn_cast<GatedMlpOp>(op))
        res = rewriteGatedMlp(g, c.scheme, key);
      else if (auto e = dyn_cast<EmbeddingOp>(op))
        res = rewriteEmbedding(e, c.scheme);
      else if (auto a = dyn_cast<AttentionOp>(op))
        res = c.scheme.isFloat() ? success() : rewriteAttention(a);
      if (failed(res))
        failedAny = true;
    }
    if (failedAny || hadError)
      signalPassFailure();
  }
};

} // namespace
