//===- RaiseAttention.h - mask analysis for tfc-raise-attention -*- C++ -*-===//
#ifndef TFC_LIB_TRANSFORMS_RAISEATTENTION_H
#define TFC_LIB_TRANSFORMS_RAISEATTENTION_H

#include "mlir/IR/PatternMatch.h"

namespace mlir::tfc::raise {

/// What an attention mask turned out to be: the residual mask operand (null
/// when nothing is left) plus the causal / sliding-window terms proven.
struct MaskInfo {
  Value mask;
  bool causal = false;
  int64_t window = 0;
};

/// Splits the i1 attention mask `mask` (broadcast against scores
/// [b, h, s, t] of `query` [b, h, s, d] and `key` [b, hkv, t, d]) into
/// causal / window terms and a residual mask, building the residual with
/// `rewriter` at `loc` when it needs new ops. Returns `mask` unchanged when
/// nothing is proven.
MaskInfo analyzeBoolMask(PatternRewriter &rewriter, Location loc, Value mask,
                         Value query, Value key);

/// The i1 mask `mask` with only its always-true terms and its broadcasts
/// (tfc.expand) dropped: causal and window terms stay, so it is exact for
/// the condition of a finite-fill float mask too. A null Value when nothing
/// is left (always true); `mask` itself when nothing was dropped.
Value dropTrueMaskTerms(PatternRewriter &rewriter, Location loc, Value mask,
                        Value query, Value key);

} // namespace mlir::tfc::raise

#endif
