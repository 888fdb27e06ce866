//===- TfcQuantOps.td - quantized tensors and ops --------*- tablegen -*-===//
//
// Quantization in the tfc dialect (docs/DESIGN.md "Quantization"), included
// by TfcOps.td. Quantized values are plain signless integer tensors (codes)
// next to f32 scale tensors and optional integer zero-point tensors, with the
// scheme in attributes -- not upstream `!quant.uniform` element types,
// because (1) activation scales computed at run time (per token) are SSA
// values, which a type cannot carry; (2) group-wise scales (one per group of
// 32/64/128 along k and per output column) are a 2-D tensor, which
// `!quant.uniform` (per-tensor or one axis) cannot express; (3) every pass
// and the reference lowering see the scales as ordinary operands.
//
// Codes are stored one per byte (i8) whatever `bits` says (4 or 8, up to 8):
// `unsigned` says whether a byte's bits read as 0..2^bits-1 or as a signed
// two's-complement value; the int4 packing (two codes per byte) happens when
// the CPU lowering packs a weight for its kernel (include/tfc/Support/
// PackedWeights.h), so the IR stays simple to transform and check.
//
// Scale / zero-point shapes ("quant params" of a data tensor D): same rank as
// D, each dim either 1 (shared), D's dim (one per index), or, along
// `group_axis` when `group` > 0, ceil(D's dim / group) (one per group of
// `group` consecutive indices). Per-tensor: all dims 1 (or a rank-0 scale).
// Per output channel of a [k, n] weight: [1, n]. Group-wise along k: [k/g, n].
//
//===----------------------------------------------------------------------===//

#ifndef TFC_QUANT_OPS_TD
#define TFC_QUANT_OPS_TD

def Tfc_QuantActivation : I32EnumAttr<"QuantActivation",
    "how a quantized linear treats its (f32) activations", [
    // weight-only: activations stay f32 (weights dequantized in the kernel)
    I32EnumAttrCase<"none", 0>,
    // weight-only kernel that quantizes activations per block of 32 along k
    // to symmetric int8 (llama.cpp Q8_0 style) for integer dot products
    I32EnumAttrCase<"block32", 1>,
    // int8 x int8: activations per row (token), symmetric, scale max|x|/127
    // computed at run time
    I32EnumAttrCase<"row", 2>,
    // int8 x int8: activations per tensor, asymmetric uint8, scale and zero
    // point computed at run time (ONNX DynamicQuantizeLinear)
    I32EnumAttrCase<"tensor", 3>,
    // int8 x int8: activations per tensor with the calibrated `act_scale` /
    // `act_zero_point` (uint8 when the zero point is not 0)
    I32EnumAttrCase<"static_", 4, "static">]> {
  let cppNamespace = "::mlir::tfc";
  let genSpecializedAttr = 0;
}
def Tfc_QuantActivationAttr
    : EnumAttr<Tfc_Dialect, Tfc_QuantActivation, "qact"> {
  let assemblyFormat = "`<` $value `>`";
}

def Tfc_QuantizeOp : Tfc_Op<"quantize"> {
  let summary = "f32 -> integer codes with given scales and zero points";
  let description = [{
    `q = clamp(round_half_even(x / scale) + zero_point, qmin, qmax)`, with
    [qmin, qmax] = [0, 2^bits - 1] when `unsigned`, else
    [-2^(bits-1), 2^(bits-1) - 1]. `scale` (f32) and the optional
    `zero_point` (i8 storage, code domain, read with the codes' signedness;
    0 when absent) are quant params of x (see
    the file comment: 1, the dim, or groups along `group_axis`). Result: i8
    codes of x's shape.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$scale,
                   Optional<AnyRankedTensor>:$zero_point, I64Attr:$bits,
                   BoolAttr:$unsigned_codes, I64Attr:$group,
                   I64Attr:$group_axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `,` $scale (`zero_point` $zero_point^ `:` type($zero_point))? attr-dict `:` type($input) `,` type($scale) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_DequantizeOp : Tfc_Op<"dequantize"> {
  let summary = "integer codes -> f32";
  let description = [{
    `x = (q - zero_point) * scale`, q read as unsigned or signed `bits`-bit
    codes (i8 storage), scale / zero_point quant params of q as for
    tfc.quantize. Result f32 of q's shape.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$scale,
                   Optional<AnyRankedTensor>:$zero_point, I64Attr:$bits,
                   BoolAttr:$unsigned_codes, I64Attr:$group,
                   I64Attr:$group_axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `,` $scale (`zero_point` $zero_point^ `:` type($zero_point))? attr-dict `:` type($input) `,` type($scale) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_DynamicQuantizeOp : Tfc_Op<"dynamic_quantize"> {
  let summary = "f32 -> int8 codes with scales computed from the data";
  let description = [{
    `per_row` (rows = all but the last dim): for each row, symmetric:
    scale = max|x| / 127 (1 when the row is 0), q = round(x / scale) in
    [-127, 127], zero point 0; results q [x's shape], scale [..., 1] and
    zero_point [..., 1] (zeros). Otherwise per tensor, asymmetric uint8 as
    ONNX DynamicQuantizeLinear: the range [min(x, 0), max(x, 0)] maps to
    [0, 255], scale = range / 255, zero_point = clamp(round(-min / scale)),
    q = clamp(round(x / scale) + zero_point, 0, 255) (i8 storage, unsigned);
    scale and zero_point rank-0.
  }];
  let arguments = (ins AnyRankedTensor:$input, BoolAttr:$per_row);
  let results = (outs AnyRankedTensor:$result, AnyRankedTensor:$scale,
                      AnyRankedTensor:$zero_point);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result) `,` type($scale) `,` type($zero_point)";
  let hasVerifier = 1;
}

def Tfc_QLinearOp : Tfc_Op<"qlinear", [AttrSizedOperandSegments]> {
  let summary = "linear layer with a quantized weight";
  let description = [{
    `y = x W + bias` where W [k, n] = dequantize(weight, scale, zero_point)
    per the scheme: `bits` (4 or 8), `unsigned_codes`, `group` along k
    (0: one scale per output column, scale [1, n]; else scale
    [ceil(k / group), n]), zero_point (i8, same shape as scale) present iff
    the weight is asymmetric. `activation` says what happens to x first:
    `none` (f32), `block32` (quantized per 32 along k to symmetric int8),
    `row` (per row, symmetric int8), `tensor` (per tensor, asymmetric
    uint8, computed at run time), `static` (per tensor with `act_scale` and
    `act_zero_point`, uint8 when the zero point is not 0). The reference
    lowering does exactly that (quantize-dequantize x, dequantize W, f32
    matmul); kernels compute the same products with integer arithmetic.
  }];
  let arguments = (ins AnyRankedTensor:$input, AnyRankedTensor:$weight,
                   AnyRankedTensor:$scale, Optional<AnyRankedTensor>:$zero_point,
                   Optional<AnyRankedTensor>:$bias, I64Attr:$bits,
                   BoolAttr:$unsigned_codes, I64Attr:$group,
                   Tfc_QuantActivationAttr:$activation,
                   OptionalAttr<F32Attr>:$act_scale,
                   OptionalAttr<I64Attr>:$act_zero_point);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$input `,` $weight `,` $scale (`zero_point` $zero_point^ `:` type($zero_point))? (`bias` $bias^ `:` type($bias))? attr-dict `:` type($input) `,` type($weight) `,` type($scale) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_QGatedMlpOp : Tfc_Op<"qgated_mlp"> {
  let summary = "gated MLP with quantized weights";
  let description = [{
    tfc.gated_mlp with w_gate, w_up [d, h] and w_down [h, d_out] given as
    codes + scales (+ zero points, all three or none), one scheme (bits,
    unsigned_codes, group, activation as for tfc.qlinear) for the three:
    `(act(x Wg) * (x Wu)) Wd`.
  }];
  let arguments = (ins AnyRankedTensor:$input,
                   AnyRankedTensor:$w_gate, AnyRankedTensor:$s_gate,
                   AnyRankedTensor:$w_up, AnyRankedTensor:$s_up,
                   AnyRankedTensor:$w_down, AnyRankedTensor:$s_down,
                   Variadic<AnyRankedTensor>:$zero_points,
                   Tfc_UnaryKindAttr:$act, I64Attr:$bits,
                   BoolAttr:$unsigned_codes, I64Attr:$group,
                   Tfc_QuantActivationAttr:$activation);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$act $input `,` $w_gate `,` $s_gate `,` $w_up `,` $s_up `,` $w_down `,` $s_down (`zero_points` `(` $zero_points^ `:` type($zero_points) `)`)? attr-dict `:` type($input) `,` type($w_gate) `,` type($s_gate) `,` type($w_up) `,` type($s_up) `,` type($w_down) `,` type($s_down) `->` type($result)";
  let hasVerifier = 1;
}

def Tfc_QEmbeddingOp : Tfc_Op<"qembedding"> {
  let summary = "embedding lookup in a quantized table";
  let description = [{
    `table` [vocab, dim] codes, `scale` [vocab, 1] or [vocab, ceil(dim /
    group)] (groups along dim), optional `zero_point` of the same shape;
    rows dequantized: result [ids..., dim] f32. Ids are clamped to
    [0, vocab) as in tfc.embedding.
  }];
  let arguments = (ins AnyRankedTensor:$table, AnyRankedTensor:$scale,
                   Optional<AnyRankedTensor>:$zero_point, AnyRankedTensor:$ids,
                   I64Attr:$bits, BoolAttr:$unsigned_codes, I64Attr:$group);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$table `,` $scale (`zero_point` $zero_point^ `:` type($zero_point))? `[` $ids `]` attr-dict `:` type($table) `,` type($scale) `,` type($ids) `->` type($result)";
  let hasVerifier = 1;
}

#endif // TFC_QUANT_OPS_TD
