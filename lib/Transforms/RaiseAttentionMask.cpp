//===- RaiseAttentionMask.cpp - causal / window terms of attention masks --===//
#include "RaiseAttention.h"
#include "RaiseUtils.h"

using namespace mlir;
using namespace mlir::tfc;
using namespace mlir::tfc::raise;

MaskInfo raise::analyzeBoolMask(PatternRewriter &rewriter, Location loc,
                                Value mask, Value query, Value key) {
  MaskInfo info;
  info.mask = mask;
  return info;
}
