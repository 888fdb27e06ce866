//===- SparsifyAttention.cpp - --tfc-sparsify-attention ------------------===//
//
// docs/DESIGN.md "Attention patterns" (TfcPasses.td has the contract). Sets
// the structure attributes of tfc.attention (window, sinks, block, layout +
// layout_block) from a pattern string. Both lowerings honor them: the
// reference (tfc-to-linalg) masks scores element by element, the CPU kernel
// (tfcrt_attention_f32) classifies key tiles and skips the empty ones, so
// attention time falls with the kept fraction the remark reports.
//
//===----------------------------------------------------------------------===//
#include "KvCache.h"
#include "RaiseAttention.h"
#include "tfc/Dialect/Tfc/TfcDialect.h"
#include "tfc/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"

#include <map>
#include <optional>
#include <random>

namespace mlir::tfc {
#define GEN_PASS_DEF_TFCSPARSIFYATTENTION
#include "tfc/Dialect/Tfc/TfcPasses.h.inc"
} // namespace mlir::tfc

using namespace mlir;
using namespace mlir::tfc;

namespace {

/// A parsed pattern: 0 = not given.
struct Pattern {
  int64_t local = 0, sinks = 0, block = 0;
  bool bigbird = false;
  int64_t bbBlock = 0, bbWindow = 3, bbGlobal = 2, bbRandom = 3;
  uint64_t bbSeed = 0;
  bool dense = false;
  bool causalOnly = false;
};

/// Parses `pattern`; on failure returns the message (naming the bad key).
std::optional<std::string> parsePattern(StringRef text, Pattern &p) {
  auto positive = [](StringRef key, StringRef v, int64_t &out,
                     bool allowZero) -> std::optional<std::string> {
    v = v.trim();
    if (v.empty() || v.getAsInteger(10, out) || out < 0 ||
        (!allowZero && out == 0))
      return "'" + key.str() + "' needs " +
             (allowZero ? "an integer >= 0" : "a positive integer") +
             ", got '" + v.str() + "'";
    return std::nullopt;
  };
  text = text.trim();
  if (text.empty())
    return std::string("no pattern given (pattern=local:W, sink:S,local:W, "
                       "block-local:B or bigbird:block=B,...)");
  if (text == "dense") {
    p.dense = true;
    return std::nullopt;
  }
  if (text == "causal") {
    p.causalOnly = true;
    return std::nullopt;
  }
  if (text.consume_front("bigbird:")) {
    p.bigbird = true;
    llvm::StringSet<> seen;
    SmallVector<StringRef> items;
    text.split(items, ',');
    for (StringRef item : items) {
      auto [key, value] = item.split('=');
      key = key.trim();
      if (!item.contains('='))
        return "bigbird item '" + item.str() + "' is not KEY=VALUE";
      if (!seen.insert(key).second)
        return "bigbird key '" + key.str() + "' given twice";
      std::optional<std::string> err;
      int64_t v = 0;
      if (key == "block")
        err = positive(key, value, p.bbBlock, false);
      else if (key == "window")
        err = positive(key, value, p.bbWindow, true);
      else if (key == "global")
        err = positive(key, value, p.bbGlobal, true);
      else if (key == "random")
        err = positive(key, value, p.bbRandom, true);
      else if (key == "seed") {
        err = positive(key, value, v, true);
        p.bbSeed = static_cast<uint64_t>(v);
      } else
        return "unknown bigbird key '" + key.str() +
               "' (expected block, window, global, random, seed)";
      if (err)
        return "bigbird " + *err;
    }
    if (!p.bbBlock)
      return std::string("bigbird needs 'block' (tokens per block)");
    return std::nullopt;
  }
  llvm::StringSet<> seen;
  SmallVector<StringRef> items;
  text.split(items, ',');
  for (StringRef item : items) {
    auto [key, value] = item.split(':');
    key = key.trim();
    if (!item.contains(':'))
      return "item '" + item.str() +
             "' is not KIND:VALUE (local:W, sink:S, block-local:B, "
             "bigbird:...)";
    if (!seen.insert(key).second)
      return "key '" + key.str() + "' given twice";
    std::optional<std::string> err;
    if (key == "local")
      err = positive(key, value, p.local, false);
    else if (key == "sink")
      err = positive(key, value, p.sinks, false);
    else if (key == "block-local")
      err = positive(key, value, p.block, false);
    else if (key == "bigbird")
      return std::string("bigbird goes alone: "
                         "bigbird:block=B,window=K,global=G,random=R,seed=X");
    else
      return "unknown pattern key '" + key.str() +
             "' (expected local, sink, block-local, bigbird, causal or "
             "dense)";
    if (err)
      return err;
  }
  if (p.sinks && !p.local)
    return std::string("'sink' needs 'local' (sinks are the keys a window "
                       "keeps visible: sink:S,local:W)");
  return std::nullopt;
}

/// BigBird's block layout [n, n] (n blocks), row-major bytes.
std::vector<int8_t> bigbirdLayout(const Pattern &p, int64_t n, bool causal) {
  std::vector<int8_t> l(n * n, 0);
  const int64_t half = p.bbWindow / 2;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < n; ++c)
      if ((p.bbWindow > 0 && std::abs(r - c) <= half) || r < p.bbGlobal ||
          c < p.bbGlobal)
        l[r * n + c] = 1;
  // Random columns: drawn with the raw engine (std distributions differ
  // between standard libraries), among the columns a row does not see yet.
  std::mt19937_64 rng(p.bbSeed);
  for (int64_t r = 0; r < n; ++r) {
    const int64_t limit = causal ? r + 1 : n;
    SmallVector<int64_t> free;
    for (int64_t c = 0; c < limit; ++c)
      if (!l[r * n + c])
        free.push_back(c);
    for (int64_t k = 0; k < p.bbRandom && !free.empty(); ++k) {
      int64_t at = static_cast<int64_t>(rng() % free.size());
      l[r * n + free[at]] = 1;
      free.erase(free.begin() + at);
    }
  }
  return l;
}

/// Structure of one op (tfcrt_attention_f32's semantics, s = t).
struct Structure {
  bool causal = false;
  int64_t window = 0, sinks = 0, block = 0, lb = 0, lrows = 0, lcols = 0;
  const int8_t *layout = nullptr;

  bool visible(int64_t p, int64_t j) const {
    if (causal && j > p)
      return false;
    if (window > 0 && !(p - j < window || j < sinks))
      return false;
    if (block > 0 && p / block != j / block)
      return false;
    if (layout) {
      int64_t r = p / lb, c = j / lb;
      if (r >= lrows || c >= lcols || !layout[r * lcols + c])
        return false;
    }
    return true;
  }
  /// Query-key pairs visible in a sequence of `len` tokens.
  int64_t pairs(int64_t len) const {
    int64_t n = 0;
    for (int64_t p = 0; p < len; ++p)
      for (int64_t j = 0; j < len; ++j)
        n += visible(p, j);
    return n;
  }
};

Structure structureOf(AttentionOp op, std::vector<int8_t> &bytes) {
  Structure s;
  s.causal = op.getCausal();
  s.window = op.getWindow();
  s.sinks = op.getSinks();
  s.block = op.getBlock();
  if (auto l = op.getLayoutAttr()) {
    auto t = cast<ShapedType>(l.getType());
    bytes.clear();
    for (APInt v : l.getValues<APInt>())
      bytes.push_back(static_cast<int8_t>(v.getSExtValue()));
    s.layout = bytes.data();
    s.lb = op.getLayoutBlock();
    s.lrows = t.getDimSize(0);
    s.lcols = t.getDimSize(1);
  }
  return s;
}

struct SparsifyAttentionPass
    : tfc::impl::TfcSparsifyAttentionBase<SparsifyAttentionPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    Pattern pat;
    if (std::optional<std::string> err = parsePattern(pattern, pat)) {
      module.emitError() << "tfc-sparsify-attention: pattern '" << pattern
                         << "': " << *err;
      return signalPassFailure();
    }
    if (refLen <= 0 || maxLen <= 0) {
      module.emitError()
          << "tfc-sparsify-attention: ref-len and max-len must be > 0";
      return signalPassFailure();
    }
    if (pat.dense)
      return;
    SmallVector<AttentionOp> ops;
    module.walk([&](AttentionOp a) { ops.push_back(a); });
    for (AttentionOp op : ops)
      if (failed(apply(op, pat)))
        return signalPassFailure();
  }

  /// A non-causal op whose mask (i1, or select(c, 0, -inf / float min))
  /// provably holds the causal term (tfc-raise-attention's analysis, as
  /// tfc-kv-cache uses it) becomes causal = true with the residual mask, so
  /// the kernel skips the tiles above the diagonal. Only a query row that
  /// sees no key at all (a padded position) changes: 0 instead of the
  /// average that a finite fill gives.
  void proveCausal(AttentionOp op) {
    if (op.getCausal())
      return;
    Value c = kvcache::boolMaskOf(op.getMask());
    if (!c)
      return;
    PatternRewriter rewriter(op.getContext());
    rewriter.setInsertionPoint(op);
    raise::MaskInfo info = raise::analyzeBoolMask(rewriter, op.getLoc(), c,
                                                  op.getQuery(), op.getKey());
    if (!info.causal)
      return;
    op.setCausal(true);
    if (info.window)
      op.setWindow(op.getWindow()
                       ? std::min<int64_t>(op.getWindow(), info.window)
                       : info.window);
    if (info.mask)
      op.getMaskMutable().assign(info.mask);
    else
      op.getMaskMutable().clear();
  }

  LogicalResult apply(AttentionOp op, const Pattern &pat) {
    proveCausal(op);
    if ((pat.local || pat.sinks) && !op.getCausal())
      return op.emitOpError("is not causal: pattern '")
             << pattern
             << "' needs a causal attention (its window is one-sided: a "
                "query sees the W keys up to itself); use block-local or "
                "bigbird for an encoder";
    std::vector<int8_t> beforeBytes, afterBytes;
    Structure before = structureOf(op, beforeBytes);
    Builder b(op.getContext());
    if (pat.local) {
      int64_t w = (int64_t)op.getWindow();
      op.setWindow(w ? std::min<int64_t>(w, pat.local) : pat.local);
      op.setSinks(pat.sinks);
    }
    if (pat.block)
      op.setBlock(op.getBlock() ? std::min<int64_t>(op.getBlock(), pat.block)
                                : pat.block);
    if (pat.bigbird) {
      if (op.getLayoutAttr())
        return op.emitOpError("already has a block layout; bigbird would "
                              "replace it");
      int64_t t = cast<RankedTensorType>(op.getKey().getType()).getDimSize(2);
      int64_t len = ShapedType::isDynamic(t) ? (int64_t)maxLen : t;
      int64_t n = (len + pat.bbBlock - 1) / pat.bbBlock;
      std::vector<int8_t> l = bigbirdLayout(pat, n, op.getCausal());
      auto type = RankedTensorType::get({n, n}, b.getIntegerType(8));
      op.setLayoutAttr(DenseIntElementsAttr::get(type, ArrayRef<int8_t>(l)));
      op.setLayoutBlock(pat.bbBlock);
    }
    // Kept fraction at the reference length (not beyond a static length or
    // the layout's coverage).
    Structure after = structureOf(op, afterBytes);
    int64_t len = refLen;
    int64_t t = cast<RankedTensorType>(op.getKey().getType()).getDimSize(2);
    if (!ShapedType::isDynamic(t))
      len = std::min<int64_t>(len, t);
    if (after.layout)
      len = std::min(len, std::min(after.lrows, after.lcols) * after.lb);
    auto key = std::make_tuple(before.causal, before.window, before.sinks,
                               before.block, (bool)before.layout, len);
    int64_t keptPairs, basePairs;
    if (!before.layout && cache.count(key)) {
      std::tie(keptPairs, basePairs) = cache[key];
    } else {
      keptPairs = after.pairs(len);
      basePairs = before.pairs(len);
      if (!before.layout)
        cache[key] = {keptPairs, basePairs};
    }
    double frac = basePairs ? double(keptPairs) / double(basePairs) : 0.0;
    std::string pct;
    llvm::raw_string_ostream(pct) << llvm::format("%.1f", 100.0 * frac);
    op.emitRemark() << "attention pattern '" << pattern << "' keeps " << pct
                    << "% of the " << (before.causal ? "causal " : "")
                    << "query-key pairs at length " << len << " (" << keptPairs
                    << " of " << basePairs << ")";
    return success();
  }

  std::map<std::tuple<bool, int64_t, int64_t, int64_t, bool, int64_t>,
           std::pair<int64_t, int64_t>>
      cache;
};

} // namespace
