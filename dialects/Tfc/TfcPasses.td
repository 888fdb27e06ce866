//===- TfcPasses.td - tfc passes ----------------------------*- tablegen -*-===//

#ifndef TFC_PASSES_TD
#define TFC_PASSES_TD

include "mlir/Pass/PassBase.td"

def TfcRaiseLinear : Pass<"tfc-raise-linear", "func::FuncOp"> {
  let summary = "Raise matmul (+ bias add) with constant weights to tfc.linear and weight gathers to tfc.embedding";
  let description = [{
    `tfc.matmul(x, W)` with W a 2-D constant, optionally followed by
    `tfc.binary add` of a 1-D constant [n], becomes `tfc.linear`; a
    `transpose` of W feeding the matmul folds into `transpose_weight`.
    `tfc.gather` on axis 0 of a 2-D constant table with integer ids becomes
    `tfc.embedding`. Anything else is left alone.
  }];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcRaiseNorms : Pass<"tfc-raise-norms", "func::FuncOp"> {
  let summary = "Raise decomposed RMSNorm / LayerNorm into tfc.rms_norm / tfc.layer_norm";
  let description = [{
    RMSNorm: `x * rsqrt(mean(x^2, -1) + eps) * w` in the exporters' spellings
    (Pow 2 or x*x; Sqrt + Reciprocal/Div or rsqrt; weight on either side;
    optional casts to f32 and back). LayerNorm: `(x - mean) / sqrt(var + eps)
    * g + b` with var as mean((x-mean)^2). Requires eps and the weight to be
    constants and the reduction over the last dim only.
  }];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcRaiseActivations : Pass<"tfc-raise-activations", "func::FuncOp"> {
  let summary = "Raise decomposed SiLU / GELU into tfc.unary silu/gelu/gelu_tanh and gated MLPs into tfc.gated_mlp";
  let description = [{
    `x * sigmoid(x)` -> silu; `0.5 * x * (1 + erf(x / sqrt(2)))` (any
    association) -> gelu; the tanh approximation -> gelu_tanh. Then
    `linear(act(linear(x, Wg)) * linear(x, Wu), Wd)` without biases ->
    `tfc.gated_mlp`.
  }];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcRaiseRotary : Pass<"tfc-raise-rotary", "func::FuncOp"> {
  let summary = "Raise x*cos + rotate_half(x)*sin into tfc.rotary";
  let description = [{
    Matches `add(mul(x, cos), mul(concat(neg(slice2(x)), slice1(x)), sin))`
    where slice1/slice2 are the two halves of the last dim of x.
  }];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcRaiseAttention : Pass<"tfc-raise-attention", "func::FuncOp"> {
  let summary = "Raise exported scaled-dot-product attention subgraphs into tfc.attention";
  let description = [{
    Matches `matmul(softmax(scale(q k^T) [+ mask | where(mask, s, -inf)]), v)`
    with the scale applied to the scores or split between q and k, k^T
    spelled as a transpose of k, GQA key/value heads repeated with
    unsqueeze/expand/reshape (folded back to hkv heads), and optional
    NaN-to-zero guards after the softmax. The mask stays an operand; a
    later analysis may recognise it as causal/sliding-window.
  }];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcToLinalg : Pass<"tfc-to-linalg", "ModuleOp"> {
  let summary = "Plain lowering of every tfc op to linalg / tensor / arith / math";
  let description = [{
    The reference lowering: each op becomes linalg.generic / named linalg
    ops on tensors with dynamic sizes taken from operands. Faster strategies
    are checked against it.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect"];
}

def TfcLinalgToKernels : Pass<"tfc-linalg-to-kernels", "ModuleOp"> {
  let summary = "Replace f32 matmuls on memrefs with calls to libtfcrt micro-kernels";
  let description = [{
    After bufferization, `linalg.batch_matmul` / `linalg.matmul` (optionally
    with a transposed or broadcast operand expressed through strides) on f32
    memrefs become calls to `tfcrt_matmul_f32` taking strided 3-D memrefs.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect"];
}

def TfcExternalizeWeights : Pass<"tfc-externalize-weights", "ModuleOp"> {
  let summary = "Move large constant globals to the .tfcw weights file";
  let description = [{
    Every `memref.global constant` of at least `min-bytes` bytes is written to
    the weights file at a 64-byte aligned offset; its `memref.get_global`
    uses in the entry function become `memref.view`s of a new leading
    `memref<?xi8>` argument. Records the size and hash of the data section
    as module attributes `tfc.weights_size`, `tfc.weights_hash`.
  }];
  let options = [
    Option<"outputPath", "output", "std::string", "\"\"",
           "Path of the .tfcw file to write (empty: compute layout only)">,
    Option<"minBytes", "min-bytes", "int64_t", "256",
           "Constants smaller than this stay in the object">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
}

#endif // TFC_PASSES_TD
