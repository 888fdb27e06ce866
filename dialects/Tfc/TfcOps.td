//===- TfcOps.td - the tfc dialect ------------------------*- tablegen -*-===//
//
// Two levels of ops share one dialect:
//  - graph ops, close to ONNX (tfc.matmul, tfc.add, tfc.softmax, ...), which
//    the importer emits; broadcasting follows ONNX/numpy rules;
//  - transformer ops (tfc.attention, tfc.rms_norm, tfc.linear, ...), which
//    the raising passes form from exporters' decomposed subgraphs.
// Every op has a plain lowering to linalg (--tfc-to-linalg) that serves as
// the reference for faster strategies.
//
//===----------------------------------------------------------------------===//

#ifndef TFC_OPS_TD
#define TFC_OPS_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Tfc_Dialect : Dialect {
  let name = "tfc";
  let cppNamespace = "::mlir::tfc";
  let summary = "Transformer graph dialect of the tfc compiler";
  let description = [{
    Tensor-level ops for Transformer inference: ONNX-like graph ops produced
    by the importer and whole-transformer ops produced by raising passes.
    All ops are pure and operate on ranked tensors whose dims may be dynamic.
  }];
  let useDefaultAttributePrinterParser = 1;
}

class Tfc_Op<string mnemonic, list<Trait> traits = []>
    : Op<Tfc_Dialect, mnemonic, !listconcat(traits, [Pure])>;

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Tfc_CmpPredicate : I32EnumAttr<"CmpPredicate", "comparison predicate", [
    I32EnumAttrCase<"eq", 0>, I32EnumAttrCase<"ne", 1>,
    I32EnumAttrCase<"lt", 2>, I32EnumAttrCase<"le", 3>,
    I32EnumAttrCase<"gt", 4>, I32EnumAttrCase<"ge", 5>]> {
  let cppNamespace = "::mlir::tfc";
  let genSpecializedAttr = 0;
}
def Tfc_CmpPredicateAttr : EnumAttr<Tfc_Dialect, Tfc_CmpPredicate, "cmp">;

def Tfc_ReduceKind : I32EnumAttr<"ReduceKind", "reduction kind", [
    I32EnumAttrCase<"sum", 0>, I32EnumAttrCase<"mean", 1>,
    I32EnumAttrCase<"max", 2>, I32EnumAttrCase<"min", 3>,
    I32EnumAttrCase<"prod", 4>]> {
  let cppNamespace = "::mlir::tfc";
  let genSpecializedAttr = 0;
}
def Tfc_ReduceKindAttr : EnumAttr<Tfc_Dialect, Tfc_ReduceKind, "reduce">;

def Tfc_UnaryKind : I32EnumAttr<"UnaryKind", "elementwise unary function", [
    I32EnumAttrCase<"neg", 0>, I32EnumAttrCase<"abs", 1>,
    I32EnumAttrCase<"sqrt", 2>, I32EnumAttrCase<"rsqrt", 3>,
    I32EnumAttrCase<"reciprocal", 4>, I32EnumAttrCase<"exp", 5>,
    I32EnumAttrCase<"log", 6>, I32EnumAttrCase<"erf", 7>,
    I32EnumAttrCase<"tanh", 8>, I32EnumAttrCase<"sigmoid", 9>,
    I32EnumAttrCase<"cos", 10>, I32EnumAttrCase<"sin", 11>,
    I32EnumAttrCase<"not_", 12, "not">, I32EnumAttrCase<"isnan", 13>,
    I32EnumAttrCase<"relu", 14>, I32EnumAttrCase<"floor", 15>,
    I32EnumAttrCase<"ceil", 16>, I32EnumAttrCase<"silu", 17>,
    I32EnumAttrCase<"gelu", 18>, I32EnumAttrCase<"gelu_tanh", 19>]> {
  let cppNamespace = "::mlir::tfc";
  let genSpecializedAttr = 0;
}
def Tfc_UnaryKindAttr : EnumAttr<Tfc_Dialect, Tfc_UnaryKind, "fn">;

def Tfc_BinaryKind : I32EnumAttr<"BinaryKind", "elementwise binary function", [
    I32EnumAttrCase<"add", 0>, I32EnumAttrCase<"sub", 1>,
    I32EnumAttrCase<"mul", 2>, I32EnumAttrCase<"div", 3>,
    I32EnumAttrCase<"pow", 4>, I32EnumAttrCase<"max", 5>,
    I32EnumAttrCase<"min", 6>, I32EnumAttrCase<"and_", 7, "and">,
    I32EnumAttrCase<"or_", 8, "or">, I32EnumAttrCase<"xor_", 9, "xor">,
    I32EnumAttrCase<"mod", 10>]> {
  let cppNamespace = "::mlir::tfc";
  let genSpecializedAttr = 0;
}
def Tfc_BinaryKindAttr : EnumAttr<Tfc_Dialect, Tfc_BinaryKind, "bin">;

def Tfc_RotaryStyle : I32EnumAttr<"RotaryStyle", "rotary pair layout", [
    I32EnumAttrCase<"half", 0>, I32EnumAttrCase<"interleaved", 1>]> {
  let cppNamespace = "::mlir::tfc";
  let genSpecializedAttr = 0;
}
def Tfc_RotaryStyleAttr : EnumAttr<Tfc_Dialect, Tfc_RotaryStyle, "rotary_style">;

//===----------------------------------------------------------------------===//
// Graph ops (ONNX level)
//===----------------------------------------------------------------------===//

def Tfc_UnaryOp : Tfc_Op<"unary"> {
  let summary = "elementwise unary function";
  let description = [{
    `result[i] = fn(input[i])`. Result has the input's shape; its element type
    equals the input's except for `isnan` and `not`, which produce i1.
    `silu(x) = x * sigmoid(x)`, `gelu` is the erf form, `gelu_tanh` the tanh
    approximation.
  }];
  let arguments = (ins AnyRankedTensor:$input, Tfc_UnaryKindAttr:$fn);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$fn $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_BinaryOp : Tfc_Op<"binary"> {
  let summary = "elementwise binary function with ONNX broadcasting";
  let description = [{
    `result = fn(lhs, rhs)` with multidirectional (numpy) broadcasting: the
    operands are right-aligned, a static 1 broadcasts, and two dynamic dims
    are assumed equal. `and`/`or`/`xor` take i1. Operands share an element type.
  }];
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs,
                   Tfc_BinaryKindAttr:$fn);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$fn $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_CmpOp : Tfc_Op<"cmp"> {
  let summary = "elementwise comparison with broadcasting, i1 result";
  let description = [{ `result = lhs <predicate> rhs`, broadcasting as tfc.binary. }];
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs,
                   Tfc_CmpPredicateAttr:$predicate);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$predicate $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_SelectOp : Tfc_Op<"select"> {
  let summary = "elementwise select (ONNX Where) with broadcasting";
  let description = [{
    `result = cond ? lhs : rhs` with all three operands broadcast together.
    `cond` has element type i1.
  }];
  let arguments = (ins AnyRankedTensor:$cond, AnyRankedTensor:$lhs,
                   AnyRankedTensor:$rhs);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$cond `,` $lhs `,` $rhs attr-dict `:` type($cond) `,` type($lhs) `,` type($rhs) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_CastOp : Tfc_Op<"cast"> {
  let summary = "element type conversion";
  let description = [{
    Converts each element to the result's element type with ONNX Cast
    semantics (float->int truncates toward zero, x->i1 is x != 0).
  }];
  let arguments = (ins AnyRankedTensor:$input);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Tfc_MatmulOp : Tfc_Op<"matmul"> {
  let summary = "batched matrix product with broadcast batch dims";
  let description = [{
    `lhs [..., m, k] x rhs [..., k, n] -> [..., m, n]`; both operands have
    rank >= 2 (the importer reshapes ONNX's 1-D cases) and their batch dims
    broadcast. Float element types only.
  }];
  let arguments = (ins AnyRankedTensor:$lhs, AnyRankedTensor:$rhs);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_SoftmaxOp : Tfc_Op<"softmax"> {
  let summary = "softmax along one axis";
  let description = [{
    `exp(x - max(x)) / sum(exp(x - max(x)))` along `axis` (non-negative).
    A row that is entirely -inf gives NaN, as in ONNX.
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_ReduceOp : Tfc_Op<"reduce"> {
  let summary = "reduction over a set of axes";
  let description = [{
    Reduces `input` over `axes` (sorted, unique, non-negative) with `kind`.
    With `keepdims` the reduced dims stay as 1, otherwise they are dropped.
  }];
  let arguments = (ins AnyRankedTensor:$input, Tfc_ReduceKindAttr:$kind,
                   DenseI64ArrayAttr:$axes, BoolAttr:$keepdims);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_TransposeOp : Tfc_Op<"transpose"> {
  let summary = "permutation of dims";
  let description = [{ `result.dim(i) = input.dim(perm[i])`. }];
  let arguments = (ins AnyRankedTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Tfc_ReshapeOp : Tfc_Op<"reshape"> {
  let summary = "row-major reshape to a given shape";
  let description = [{
    Reinterprets the row-major elements of `input` with the result's shape.
    The dynamic dims of the result are given, in order, by `dims` (one index
    operand per `?` in the result type). Element counts must agree.
  }];
  let arguments = (ins AnyRankedTensor:$input, Variadic<Index>:$dims);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input (`[` $dims^ `]`)? attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Tfc_ExpandOp : Tfc_Op<"expand"> {
  let summary = "broadcast to a larger shape (ONNX Expand)";
  let description = [{
    Broadcasts `input` (right-aligned, static-1 dims broadcast) to the result
    shape; dynamic result dims are given by `dims` in order.
  }];
  let arguments = (ins AnyRankedTensor:$input, Variadic<Index>:$dims);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input (`[` $dims^ `]`)? attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_GatherOp : Tfc_Op<"gather"> {
  let summary = "ONNX Gather along one axis";
  let description = [{
    `result[i0..ia-1, j..., ia+1...] = input[i0.., indices[j...], ..]`;
    result shape is input.shape[:axis] + indices.shape + input.shape[axis+1:].
    Negative indices count from the end. Integer indices.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$indices,
                   I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `[` $indices `]` attr-dict `:` type($input) `,` type($indices) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_GatherNdOp : Tfc_Op<"gather_nd"> {
  let summary = "ONNX GatherND with batch_dims = 0";
  let description = [{
    `indices [..., q]` selects slices of `input` by its first q dims; result
    shape is indices.shape[:-1] + input.shape[q:].
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$indices);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `[` $indices `]` attr-dict `:` type($input) `,` type($indices) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_RangeOp : Tfc_Op<"range"> {
  let summary = "1-D arithmetic sequence";
  let description = [{
    `result[i] = start + i * delta` for i in [0, size); `size` (index) is
    computed by the producer as max(ceil((limit - start) / delta), 0).
    start and delta are 0-d tensors of the result's element type.
  }];
  let arguments = (ins AnyRankedTensor:$start, AnyRankedTensor:$delta, Index:$size);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$start `,` $delta `,` $size attr-dict `:` type($start) `,` type($delta) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_CumSumOp : Tfc_Op<"cumsum"> {
  let summary = "cumulative sum along one axis (ONNX CumSum)";
  let description = [{
    `result[.., i, ..] = sum(input[.., k, ..])` over k <= i along `axis`
    (non-negative); `exclusive` drops k == i, `reverse` sums k >= i instead.
    Result has the input's type. Exporters emit it for RoBERTa-style position
    ids (`cumsum(mask) * mask + pad`).
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis,
                   DefaultValuedAttr<BoolAttr, "false">:$exclusive,
                   DefaultValuedAttr<BoolAttr, "false">:$reverse);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_GatherElementsOp : Tfc_Op<"gather_elements"> {
  let summary = "ONNX GatherElements";
  let description = [{
    `result[i0, .., ia, ..] = input[i0, .., indices[i0, .., ia, ..], ..]`
    with the index replacing dim `axis` (non-negative); `indices` has the
    input's rank and the result has the indices' shape. Negative indices
    count from the end; out-of-range ones are clamped (ONNX leaves them
    undefined).
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$indices,
                   I64Attr:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `[` $indices `]` attr-dict `:` type($input) `,` type($indices) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Transformer ops
//===----------------------------------------------------------------------===//

def Tfc_LinearOp : Tfc_Op<"linear"> {
  let summary = "fully connected layer: x W (+ b)";
  let description = [{
    `input [..., k]`, `weight [k, n]` (or `[n, k]` with `transpose_weight`),
    optional `bias [n]`; result `[..., n]`. The weight is normally a constant.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                   Optional<AnyRankedTensor>:$bias,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_weight);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `,` $weight (`bias` $bias^ `:` type($bias))? attr-dict `:` type($input) `,` type($weight) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_EmbeddingOp : Tfc_Op<"embedding"> {
  let summary = "token embedding lookup";
  let description = [{
    `table [vocab, dim]`, integer `ids [...]` -> `[..., dim]`. Out-of-range ids
    are clamped to [0, vocab) (ONNX leaves them undefined).
  }];
  let arguments = (ins AnyRankedTensor:$table, AnyRankedTensor:$ids);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$table `[` $ids `]` attr-dict `:` type($table) `,` type($ids) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_LayerNormOp : Tfc_Op<"layer_norm"> {
  let summary = "layer normalization over the last dim";
  let description = [{
    `(x - mean(x)) / sqrt(var(x) + epsilon) * scale (+ bias)` over the last
    dim; `scale`/`bias` have shape [d]. Variance is the biased one.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$scale,
                   Optional<AnyRankedTensor>:$bias, F64Attr:$epsilon);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `,` $scale (`bias` $bias^ `:` type($bias))? attr-dict `:` type($input) `,` type($scale) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_RmsNormOp : Tfc_Op<"rms_norm"> {
  let summary = "RMS normalization over the last dim";
  let description = [{
    `x / sqrt(mean(x^2) + epsilon) * scale` over the last dim; `scale [d]`.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$scale,
                   F64Attr:$epsilon);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `,` $scale attr-dict `:` type($input) `,` type($scale) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_GatedMlpOp : Tfc_Op<"gated_mlp"> {
  let summary = "gated MLP: act(x Wg) * (x Wu), then x Wd";
  let description = [{
    `input [..., d]`, `w_gate [d, h]`, `w_up [d, h]`, `w_down [h, d_out]`;
    result `[..., d_out] = (act(x Wg) * (x Wu)) Wd`, `act` one of silu, gelu,
    gelu_tanh (a tfc unary kind).
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$w_gate,
                   AnyRankedTensor:$w_up, AnyRankedTensor:$w_down,
                   Tfc_UnaryKindAttr:$activation);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$activation $input `,` $w_gate `,` $w_up `,` $w_down attr-dict `:` type($input) `,` type($w_gate) `,` type($w_up) `,` type($w_down) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_RotaryOp : Tfc_Op<"rotary"> {
  let summary = "rotary position embedding";
  let description = [{
    `input [b, h, s, d]`, `cos`/`sin` broadcastable to `[b, 1, s, d]` (as the
    exporters compute them, duplicated halves). With style `half`:
    `x * cos + rotate_half(x) * sin`, `rotate_half(x) = concat(-x2, x1)`
    where x1, x2 are the two halves of the last dim. `interleaved` pairs
    (2i, 2i+1) instead.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$cos,
                   AnyRankedTensor:$sin, Tfc_RotaryStyleAttr:$style);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$style $input `,` $cos `,` $sin attr-dict `:` type($input) `,` type($cos) `,` type($sin) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_AttentionOp : Tfc_Op<"attention", [AttrSizedOperandSegments]> {
  let summary = "scaled dot-product attention with grouped-query heads";
  let description = [{
    `query [b, hq, s, d]`, `key [b, hkv, t, d]`, `value [b, hkv, t, dv]`,
    hq a multiple of hkv (query head i uses kv head i / (hq / hkv)).
    `scores = scale * q k^T`, then, in order: `mask` (optional, broadcastable
    to [b, hq, s, t]; i1 keeps where true, float is added), `causal` (query
    position i, counted as i + t - s, sees key j <= i), `window` > 0 (also
    requires i - j < window, unless j < `sinks`: the first `sinks` keys
    stay visible, StreamingLLM), `block` > 0 (block-local: i / block ==
    j / block), `layout` (a dense i8 [P, Q] block pattern with
    `layout_block` = lb > 0: requires layout[i / lb][j / lb] != 0;
    P >= ceil(t / lb) and Q >= ceil(t / lb) at run time), softmax over t
    (a fully masked row gives 0, not NaN), times v. Result `[b, hq, s, dv]`.
    The structure attributes are set by tfc-sparsify-attention
    (docs/DESIGN.md "Attention patterns"). `sink_query` (optional, the
    query's shape; only with sinks): a key j < sinks that query i sees only
    as a sink (i - j >= window) is scored with it instead of `query` -- the
    query rotated at the cache position sinks + window - 1 (tfc-sink-query,
    StreamingLLM's positions within the cache).
  }];
  let arguments = (ins AnyRankedTensor:$query, AnyRankedTensor:$key,
                   AnyRankedTensor:$value, Optional<AnyRankedTensor>:$mask,
                   Optional<AnyRankedTensor>:$sink_query,
                   F64Attr:$scale, BoolAttr:$causal,
                   DefaultValuedAttr<I64Attr, "0">:$window,
                   DefaultValuedAttr<I64Attr, "0">:$sinks,
                   DefaultValuedAttr<I64Attr, "0">:$block,
                   OptionalAttr<AnyIntElementsAttr>:$layout,
                   DefaultValuedAttr<I64Attr, "0">:$layout_block);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$query `,` $key `,` $value (`mask` $mask^ `:` type($mask))? (`sink_query` $sink_query^ `:` type($sink_query))? attr-dict `:` type($query) `,` type($key) `,` type($value) `->` type($result)";
  let hasVerifier = 1;
}


include "TfcQuantOps.td"
include "TfcCalibOps.td"

//===----------------------------------------------------------------------===//
// Parallelism ops (--tfc-partition; docs/DESIGN.md "Parallelism")
//===----------------------------------------------------------------------===//
// Communication between the ranks of a partitioned model. Each rank runs its
// own entry function (marked `tfc.part = k`); these ops are the only places
// where ranks meet. They have side effects (they must run, in program order,
// on every rank that takes part), so they are not Pure. f32 only.

class Tfc_CommOp<string mnemonic, list<Trait> traits = []>
    : Op<Tfc_Dialect, mnemonic,
         !listconcat(traits, [MemoryEffects<[MemRead, MemWrite]>])>;

def Tfc_AllReduceOp : Tfc_CommOp<"all_reduce", [SameOperandsAndResultType]> {
  let summary = "elementwise sum of a tensor over all ranks";
  let description = [{
    Every one of the `parts` ranks passes a tensor of the same shape; each
    gets the elementwise sum (Megatron's row-parallel reduction). The order
    of the summation is the communication library's.
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$parts);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Tfc_AllGatherOp : Tfc_CommOp<"all_gather"> {
  let summary = "concatenation of every rank's tensor along an axis";
  let description = [{
    Rank r contributes `input` whose dim `axis` is `sizes[r]` (parts may
    differ, e.g. a vocabulary that does not divide evenly); every rank gets
    the concatenation in rank order, dim `axis` = sum(sizes). Other dims
    must agree across ranks. `rank` is the calling rank (each rank has its
    own function, so it is static).
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$axis,
                   DenseI64ArrayAttr:$sizes, I64Attr:$rank);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_SendOp : Tfc_CommOp<"send"> {
  let summary = "send a tensor to another rank (pipeline stage boundary)";
  let description = [{
    Sends `input` (its shape and data) to rank `peer`; matched by the
    `tfc.recv` with the same `tag` on that rank. Blocks until the receiver
    has taken it or the runtime's timeout expires.
  }];
  let arguments = (ins AnyRankedTensor:$input, I64Attr:$peer, I64Attr:$tag);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Tfc_RecvOp : Tfc_CommOp<"recv"> {
  let summary = "receive a tensor from another rank (pipeline stage boundary)";
  let description = [{
    Receives the tensor that rank `peer` sent with the same `tag`. Dynamic
    dims of the result come from the message; static ones must match it.
  }];
  let arguments = (ins I64Attr:$peer, I64Attr:$tag);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
  let hasVerifier = 1;
}

#endif // TFC_OPS_TD
