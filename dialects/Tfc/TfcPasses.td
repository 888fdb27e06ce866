//===- TfcPasses.td - tfc passes ----------------------------*- tablegen -*-===//

#ifndef TFC_PASSES_TD
#define TFC_PASSES_TD

include "mlir/Pass/PassBase.td"

def TfcRaiseLinear : Pass<"tfc-raise-linear", "func::FuncOp"> {
  let summary = "Raise matmul (+ bias add) with constant weights to tfc.linear and weight gathers to tfc.embedding";
  let description = [{
    `tfc.matmul(x, W)` with W a 2-D constant [k, n] becomes `tfc.linear`;
    W may also be a [1, 0] `tfc.transpose` of a constant [n, k], kept as
    `transpose_weight = true` (a tied embedding table used as the lm head is
    then not duplicated). A following `tfc.binary add` of a 1-D constant [n]
    (either operand order, no broadcasting of the product) folds in as the
    bias when the linear has no other use. `tfc.gather` on axis 0 of a 2-D
    constant table with integer ids becomes `tfc.embedding`. A linear with a
    constant weight whose every use is a `tensor.extract_slice` of its last
    dim (static offset and size, the whole of the other dims, unit strides),
    as fused `qkv_proj` / `gate_up_proj` exports produce, becomes one
    `tfc.linear` per slice over those weight columns (and bias entries). A
    `tensor.extract_slice` that provably takes its whole source is dropped.
    Anything else (non-constant or batched weights, other gather axes, 2-D
    biases, a fused product with another use) is left alone.
  }];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcRaiseNorms : Pass<"tfc-raise-norms", "func::FuncOp"> {
  let summary = "Raise decomposed RMSNorm / LayerNorm into tfc.rms_norm / tfc.layer_norm";
  let description = [{
    RMSNorm: `x * inv_sqrt(mean(x^2) + eps) * w` where inv_sqrt is rsqrt,
    reciprocal(sqrt), 1 / sqrt, pow(-0.5) or a division by sqrt; x^2 is
    pow(x, 2) or x * x; mean a keepdims reduce mean over the last dim only
    (or a sum divided by the static size); float-to-float casts around x are
    looked through. LayerNorm: `(x - mean(x)) * inv_sqrt(var + eps) * g + b`
    with var = mean((x - mean(x))^2). The core becomes the op with a unit
    scale; a following multiply by a constant [d] (or [1, ..., 1, d]) on
    either side becomes the scale and, for LayerNorm, an add of a constant
    [d] the bias. Requires eps to be a one-element constant, a static last
    dim, and the result type to equal x's. Non-constant weights stay as a
    multiply after the unit-scale op.
  }];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcRaiseActivations : Pass<"tfc-raise-activations", "func::FuncOp"> {
  let summary = "Raise decomposed SiLU / GELU into tfc.unary silu/gelu/gelu_tanh and gated MLPs into tfc.gated_mlp";
  let description = [{
    Products are flattened (any association, constants on either side, x / c
    as x * (1/c), pow(x, n) as n factors): `x * sigmoid(x)` -> silu;
    `0.5 * x * (1 + erf(x / sqrt(2)))` -> gelu; `0.5 * x * (1 + tanh(
    sqrt(2/pi) * (x + 0.044715 x^3)))` -> gelu_tanh. Then
    `linear(act(linear(x, Wg)) * linear(x, Wu), Wd)` with act silu / gelu /
    gelu_tanh, no biases, untransposed weights and single-use intermediates
    (no matmul is duplicated) -> `tfc.gated_mlp`.
  }];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcRaiseRotary : Pass<"tfc-raise-rotary", "func::FuncOp"> {
  let summary = "Raise x*cos + rotate_half(x)*sin into tfc.rotary";
  let description = [{
    Matches `add(mul(x, cos), mul(concat(neg(x2), x1), sin))` in any operand
    order, where x is [b, h, s, d] with a static even d, x1 / x2 are the
    unit-stride `tensor.extract_slice` halves [..., :d/2] / [..., d/2:] of x
    (whole in every other dim, proven symbolically for dynamic dims), and
    cos / sin broadcast to x without growing it, with a unit heads dim.
    Produces style `half`.
  }];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcRaiseAttention : Pass<"tfc-raise-attention", "func::FuncOp"> {
  let summary = "Raise exported scaled-dot-product attention subgraphs into tfc.attention";
  let description = [{
    Matches `matmul(softmax(scale(q k^T) [+ mask | where(mask, s, -inf)]), v)`
    with the softmax on the last axis; the scale applied as scalar
    multiplies / divides on the scores or split between q and k^T (their
    product is the op's scale); k^T spelled as a transpose of the last two
    dims, as any transpose of a [b, s, h, d] key (k is then materialized as a
    transpose), or as the dynamo reshape [b*h, t, d] / transpose / reshape
    chain; GQA key/value heads repeated with unsqueeze/expand/reshape
    ([b, hkv, 1, t, d] -> [b, hkv, g, t, d] -> [b, hkv*g, t, d]) folded back
    to hkv heads; an optional NaN-to-zero guard after the softmax. A float
    mask `where(c, 0, -inf)` becomes the i1 mask c; other float masks stay
    operands. In an i1 mask, AND terms comparing arange positions of keys
    and queries are proven causal (j <= i) or sliding-window (j > i - W)
    when the positions' length is provably both the query and the key
    length, and are moved to `causal` / `window`; the other terms stay the
    mask. Finite-fill float masks are never split (a fully masked row
    averages all keys there). Without a NaN guard, a row whose scores are
    all -inf gives NaN in the source and 0 in the op.
  }];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcKvCache : Pass<"tfc-kv-cache", "ModuleOp"> {
  let summary = "Derive a cached step entry tfc_<name>_step from a full-sequence causal decoder";
  let description = [{
    Runs after the raising passes on the entry `tfc_<name>_main(input_ids
    [b, n], attention_mask [b, n]) -> logits [b, n, V]` and adds a second
    entry (marked `tfc.step_entry`; the constants are shared, so both use
    the same .tfcw offsets):
      tfc_<name>_step(input_ids [b, n], attention_mask [b, T] (T = past + n,
                      the whole sequence's mask), past (tensor<i64>),
                      cache memref<L x 2 x b x hkv x max_len x d>)
                      -> logits [b, n, V]
    The cache holds, for every layer l, the keys (cache[l, 0]) and values
    (cache[l, 1]) after rotary, kv heads only (GQA). It is a function
    argument written in place: `bufferization.to_tensor restrict writable`,
    one `tensor.insert_slice` of the n new rows at [past, past + n) per
    layer and K/V, and a final `bufferization.materialize_in_destination`,
    so one-shot bufferization updates the caller's buffer and allocates no
    cache. Per `tfc.attention` (layer l in program order): the new key /
    value rows go into the cache and the op attends over cache[l, :, :, :,
    0:T]; `causal = true`, `window` = the op's or the `window` option's
    (the smaller; the option also applies to the main entry so the two
    agree). The mask: causal and window terms are split off (the op's own
    proof, or RaiseAttentionMask's analysis of an i1 mask or of
    `select(c, 0, fill)` with fill <= -1e30, whose fully masked rows then
    give 0 instead of an average: only padded query positions); the
    residual, which must be computed from attention_mask and the sequence
    length alone, is recomputed for length T (its ops cloned with n -> T)
    and, if it varies along queries, sliced to rows [past, past + n).
    Every `tfc.range` from 0 step 1 of length n (the positions feeding
    rotary cos/sin or position embeddings) starts at past instead; any
    other use of attention_mask sees its slice [:, past:past + n].
    Refuses, with a diagnostic: no tfc.attention; an attention that is not
    provably causal (an encoder); key/value that are not [b, h, n, d] of
    this step with static h and d equal across layers and between K and V;
    a static sequence length; a residual mask that depends on other values.
    A with-past export (inputs past_key_values.<l>.key/value [b, h, past,
    d], outputs present.<l>.key/value = concat(past, new rows) along dim 2;
    KvCacheImported.cpp) maps onto the same entries instead: in the step the
    past inputs read cache rows [0, past) and each present's concat becomes
    an insert of the new rows at past plus a read of rows [0, T) (attention,
    mask and positions are the export's, which already handle a past); main
    gets empty past tensors and loses the present outputs (the
    full-sequence model). A present that is not such a concat is refused.
    `evict` (sliding-window eviction, a ring-buffer cache): every attention
    must have a window (its own, proven, or the option's); the cache holds
    R = the largest window slots per layer, position p in slot p mod R, so
    the step takes (input_ids [b, n], window_mask [b, R + n] = the mask of
    positions [past - R, past + n), 0 before position 0, past, cache
    [L, 2, b, hkv, R, d]) and a session decodes without end. Per layer the
    op attends over [the ring read oldest first (slots [past mod R, R) then
    [0, past mod R)) ++ the n new rows], a sequence of R + n consecutive
    positions, with causal and window terms as before and the mask recomputed
    from window_mask (n -> R + n, rows [R, R + n)) and-ed with window_mask
    != 0; then the last min(n, R) new rows go into their slots (two inserts
    when they wrap). Refused for with-past exports and with `max-len`.
    `sinks=S` (or the ops' own `sinks`, tfc-sparsify-attention sink:S):
    every attention keeps keys 0..S-1 visible beyond its window; with
    `evict` the cache gets S sink slots in front of the ring ([L, 2, b,
    hkv, S + R, d]; positions < S are also written there, before the
    read), the step reads [sink slots ++ ring ++ new rows] with `sinks` = S
    and a mask that shows sink slot j to query position p only when
    p - j >= window (nearer, position j is seen in the ring); window_mask
    is then [b, S + R + n] (the session sizes it by the slot count), and its
    first S columns are not used (sinks ignore padding). A ring with
    block-local / layout structure, or layers with different sinks, is
    refused.
    After tfc-partition (entries `tfc_<name>_p<k>_main` with `tfc.part = k`)
    every part gets its own step `tfc_<name>_p<k>_step` (same `tfc.part`)
    with a cache of its own layers / kv heads; a step keeps its part's
    communication ops in program order (a stage's recv then receives the
    previous stage's step output [b, n, d]). Refused: several entries
    without `tfc.part`, a part without attention.
    `kv-dtype=f16|int8` (docs/DESIGN.md "KV cache", "Cache dtype"): the new
    rows are written as `tfc.cast` to f16, or as `tfc.dynamic_quantize
    per_row` codes (i8 cache) plus their scales into a second argument
    `cache_scales memref<L x 2 x b x hkv x max_len x 1 x f32>` after
    `cache`; the attention reads `tfc.cast` back to f32 / `tfc.dequantize`
    of the codes and scales it read. The main entry's attentions read K/V
    through the same round trip, so both entries (and perplexity) see the
    values the cache holds. Refused: with-past exports, another dtype.
    `logits=last`: every step output whose dim 1 is the new tokens (the
    logits [b, n, V]) keeps only position n - 1 of each sequence ([b, 1,
    V]; prompts are left-padded, so that is each sequence's last token).
    The slice goes in front of the row-wise chain that ends in the output
    (tfc.linear / tfc.qlinear with a per-row or fixed activation scheme,
    tfc.rms_norm, tfc.layer_norm, each result used once), so a prefill of
    n tokens runs the lm_head on one row per sequence instead of n. The
    full-sequence entry is unchanged.
  }];
  let options = [
    Option<"maxLen", "max-len", "int64_t", "0",
           "Static cache length (0: a dynamic dim, chosen by the runtime session)">,
    Option<"window", "window", "int64_t", "0",
           "Sliding attention window W > 0: a query sees keys i - j < W (both entries)">,
    Option<"evict", "evict", "bool", "false",
           "Ring-buffer cache of the window's size: the oldest positions are evicted">,
    Option<"sinks", "sinks", "int64_t", "0",
           "Sink keys S (StreamingLLM): positions 0..S-1 stay visible past "
           "the window (both entries); with evict, S slots never evicted">,
    Option<"logits", "logits", "std::string", "\"all\"",
           "Step outputs: all (every new position, [b, n, V]) or last (each "
           "sequence's last new position only, [b, 1, V]: the row-wise chain "
           "that ends in them, lm_head and final norm, runs on that row)">,
    Option<"kvDtype", "kv-dtype", "std::string", "\"f32\"",
           "Cache element type: f32, f16 (K/V rounded to half), int8 (per head "
           "and token symmetric codes + an f32 scale, a cache_scales argument); "
           "the main entry's attention reads K/V through the same rounding">
  ];
  let dependentDialects = ["::mlir::tfc::TfcDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect"];
}

def TfcPartition : Pass<"tfc-partition", "ModuleOp"> {
  let summary = "Split the entry into one entry per rank: pipeline stages or tensor shards";
  let description = [{
    `strategy=pipeline:N` or `strategy=tensor:N` (tfc --partition=...). Runs
    after the raising passes and before tfc-kv-cache, on the entry
    `tfc_<name>_main`, which it replaces with N entries
    `tfc_<name>_p<k>_main` (attributes `tfc.entry`, `tfc.part = k`); the
    module gets `tfc.partition = {kind = "pipeline"|"tensor", parts = N}`.
    pipeline:N cuts the graph at layer boundaries (between tfc.attention
    layers) into N stages balanced by estimated FLOPs. Every stage takes all
    of the model's inputs; values that cross a cut go through
    `tfc.send`/`tfc.recv` (values computed from the inputs alone without
    weights, such as masks and rotary tables, are recomputed instead); the
    last stage returns the model's outputs, the others return nothing.
    tensor:N shards (Megatron style) attention by heads (KV heads for GQA)
    and MLPs by columns then rows, with a `tfc.all_reduce` after each
    row-parallel projection; token embeddings by vocabulary rows (lookup of
    the rank's range then all_reduce) and the LM head by vocabulary
    (`tfc.all_gather` of the logits). Every rank's entry has the model's
    signature. Weight shards are constants of their own, so each rank's
    part of the .tfcw file is contiguous.
  }];
  let options = [
    Option<"strategy", "strategy", "std::string", "\"\"",
           "pipeline:N or tensor:N">
  ];
  let dependentDialects = ["::mlir::tfc::TfcDialect",
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect"];
}

def TfcToLinalg : Pass<"tfc-to-linalg", "ModuleOp"> {
  let summary = "Plain lowering of every tfc op to linalg / tensor / arith / math";
  let description = [{
    The reference lowering: each op becomes linalg.generic / named linalg
    ops on tensors with dynamic sizes taken from operands. Faster strategies
    are checked against it. Half-precision (f16 / bf16) ops that sum many
    terms (matmul, linear, gated_mlp, softmax, sum / mean / prod reductions,
    layer / RMS norm, attention) compute in f32 and round once.
  }];
  let options = [
    Option<"nativeHalfMatmul", "native-half-matmul", "bool", "false",
           "keep half-precision tfc.matmul in its type (for a GEMM library "
           "that accumulates in f32, e.g. cuBLAS on --target=cuda)">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::memref::MemRefDialect", "::mlir::func::FuncDialect",
    "::mlir::bufferization::BufferizationDialect"];
}

def TfcQuantize : Pass<"tfc-quantize", "ModuleOp"> {
  let summary = "Quantize weights (and activations) per a recipe: tfc.linear / gated_mlp / embedding / attention -> quantized ops";
  let description = [{
    Runs after raising (and partitioning) and before tfc-kv-cache
    (docs/DESIGN.md "Quantization"). The recipe is a preset (int8-dynamic,
    int8-static, w8, w4, mixed, bf16, fp16) or a JSON file assigning a
    scheme per op class (embedding, qkv, attention, out_proj, mlp, lm_head)
    and per layer by name pattern, with a skip list (lib/Transforms/
    QuantRecipe.h). Linears become tfc.qlinear (weights rounded to nearest on
    the scheme's grid), gated MLPs tfc.qgated_mlp, embeddings
    tfc.qembedding, attention gets per-row int8 q / k / v; bf16 / fp16
    schemes convert the weight constants. Every considered op gets a
    `tfc.quant` string attribute naming its class and scheme. Unknown keys,
    impossible group sizes and schemes an op cannot take are errors naming
    the key / op.
  }];
  let options = [
    Option<"recipeOpt", "recipe", "std::string", "\"int8-dynamic\"",
           "Preset name or path of a JSON recipe">,
    Option<"group", "group", "int64_t", "-1",
           "Group size along k for w8/w4/mixed (32, 64, 128; 0 = per "
           "channel; -1 = the preset's)">,
    Option<"symmetric", "symmetric", "std::string", "\"\"",
           "sym or asym to override the preset (empty: the preset's)">,
    Option<"stats", "stats", "std::string", "\"\"",
           "Calibration statistics file (tfc-calibrate) for static "
           "activation scales and GPTQ">,
    Option<"method", "method", "std::string", "\"\"",
           "Weight rounding: rtn or gptq (empty: the recipe's; gptq needs "
           "Hessians in the stats file)">,
    Option<"actRange", "act-range", "std::string", "\"p99.99\"",
           "Static activation range from the stats: minmax, p99.9, p99.99, "
           "p99.999 (percentiles of |x|) or mse (the clipping that "
           "minimizes the int8 rounding + clipping error); the default "
           "p99.99 was the best on MiniLM STS-B (docs/ACCURACY.md)">,
    Option<"clip", "clip", "std::string", "\"\"",
           "Weight grids: minmax, mse or hmse (a search weighted by the "
           "Hessians' diagonals; needs stats); empty: the recipe's">,
    Option<"actOrder", "act-order", "bool", "false",
           "GPTQ: quantize columns in order of decreasing Hessian diagonal">,
    Option<"damp", "damp", "double", "0.01",
           "GPTQ: damping added to the Hessian diagonal, as a fraction of "
           "its mean">
  ];
  let dependentDialects = ["::mlir::tfc::TfcDialect",
    "::mlir::arith::ArithDialect"];
}

def TfcCpuKernels : Pass<"tfc-cpu-kernels", "ModuleOp"> {
  let summary = "Lower tfc.linear / gated_mlp / attention / layer_norm / rms_norm / embedding to libtfcrt kernel calls (CPU), packing constant weights";
  let description = [{
    Runs before tfc-to-linalg on the CPU target (docs/DESIGN.md "CPU
    kernels"). `tfc.linear` with a constant f32 weight of static shape
    becomes a call of `tfcrt_linear` on a blob packed now (TFC_PACK_F32,
    lib/Runtime/Linear/Pack.h), fusing a following single-use `tfc.unary`
    gelu / gelu_tanh / silu / relu and then a single-use `tfc.binary add` of
    a same-type tensor (a residual) into the kernel's epilogue.
    `tfc.gated_mlp` with constant weights becomes two calls: gate and up
    packed together as one gated blob (the epilogue computes act(gate) *
    up), then the down projection (+ a fused residual add). `tfc.attention`
    with f32 operands becomes `tfcrt_attention_f32` (masks passed as
    broadcastable rank-4 views); q / k / v that are `tfc.transpose`
    [0, 2, 1, 3] of a [b, s, h, d] tensor are passed as permuted strided
    views of it, and a result used only by that transpose is written in the
    [b, s, h, d] layout, so the head transposes cost no copies
    (`fold-transposes=false` keeps them). `tfc.layer_norm` / `tfc.rms_norm`
    with f32 input, scale and bias become `tfcrt_layer_norm_f32` /
    `tfcrt_rms_norm_f32` on the input collapsed to [rows, n]. `tfc.embedding`
    with an f32 table [vocab, d] and signless integer ids of rank 1 or 2
    becomes `tfcrt_embedding_f32` (ids widened to i64, read in place). Operands are read through strided views
    (no copies); results are fresh buffers. Ops it cannot take (non-constant
    or dynamic-shaped weights, other dtypes) keep the reference lowering. An
    elided weight (printed IR) gives an elided blob of the right size. Sets
    the module attribute `tfc.pack_version` when it packed a weight.

    Sparse encodings (docs/DESIGN.md "Sparse encodings and kernels"): the
    zeros of each constant f32 weight (linear, gated_mlp) are counted and
    its N:M pattern along k detected (2:4, 4:8) at compile time, whatever
    made them (tfc-prune, an imported pruned model); a cost model chooses
    TFC_PACK_SPARSE_MASK or TFC_PACK_SPARSE_24 where it predicts them
    faster than dense, and a remark on the op gives the encoding and why
    (every weight chosen sparse, and every weight with 5 % zeros or more
    kept dense). `sparse=off` keeps every weight dense, `sparse=force`
    makes every f32 weight sparse (tests). An unknown value is an error.

    With `gpu=f32|f16|bf16` (the CUDA target, docs/DESIGN.md "The GPU
    target") only `tfc.attention` is lowered, to `tfcrt_gpu_attention_f32` /
    `_f16mma` / `_bf16mma` with the same operands (one fused kernel on the
    device), when its head dims are static and at most 256; the rest keeps
    the linalg lowering.

    With `gpu-rope` as well (tfc --cuda-attention-rope, default with
    --kv-cache): where a KV-cache step's cache argument (a restrict writable
    to_tensor) is only a chain of, per layer, a rotate-half `tfc.rotary` of
    the new keys and the new values inserted at `past` and an attention of
    q's rotary (same cos / sin) over the layer's two slices, ending in its
    materialization into the argument, every attention becomes one
    `tfcrt_gpu_attention_*_rope` call over views of the argument, with q and
    the new keys before their rotary, the new values, cos, sin and `past`:
    the call writes the cache rows itself, the rotaries and the chain
    disappear (no tensor of the cache is left). Any other link keeps every
    layer as it was.

    With `gpu-linear` (the CUDA target with cuBLASLt GEMMs) `tfc.linear` with
    an f32 activation and a static rank-2 f32 / f16 / bf16 weight becomes
    `tfcrt_gpu_linear_f32` / `_f16` / `_bf16`: one GEMM with an f32 result
    whose epilogue adds the bias, then a fused single-use `tfc.unary`
    gelu_tanh / relu (cuBLASLt's activations; erf GELU and SiLU stay
    separate) or else a fused single-use residual `tfc.binary add`. A half
    weight's activation is first rounded to its type (`tfc.cast`, shared by
    the linears that read the same x).

    With `gpu-fuse-norm` as well: a `tfc.rms_norm` with an f32 [d] scale
    whose every reader is such a linear or a `tfc.gated_mlp` becomes part
    of each reader's call, `tfcrt_gpu_linear_ex_*` with `TFCRT_LX_RMS` and
    the norm's scale and epsilon (x read as f32, times the scale as it is
    staged, the product scaled by 1 / rms(x)); a `tfc.gated_mlp` becomes one
    call over the joined gate | up weight with `TFCRT_LX_GLU` (act(gate) *
    up in the epilogue, a half result for a half weight) and a
    `tfcrt_gpu_linear_*` call for down with a following residual add in its
    epilogue; a half linear takes a residual add into its epilogue too (f32
    result).
  }];
  let options = [
    Option<"linear", "linear", "bool", "true",
           "Lower tfc.linear and tfc.gated_mlp">,
    Option<"attention", "attention", "bool", "true",
           "Lower tfc.attention">,
    Option<"gpu", "gpu", "std::string", "\"\"",
           "--target=cuda: lower only tfc.attention, to the fused GPU "
           "kernel tfcrt_gpu_attention_f32 (gpu=f32) or its tensor-core "
           "variants _f16mma / _bf16mma (gpu=f16 / bf16); head dims must be "
           "static and at most 256. Empty: the CPU kernels">,
    Option<"gpuLinear", "gpu-linear", "bool", "false",
           "--target=cuda: lower tfc.linear to tfcrt_gpu_linear_* (one "
           "cuBLASLt GEMM with the bias, activation or residual in its "
           "epilogue, f32 result); only GPU lowerings run">,
    Option<"gpuFuseNorm", "gpu-fuse-norm", "bool", "false",
           "With gpu-linear: a tfc.rms_norm whose readers are all linears / "
           "gated MLPs runs inside their GEMM calls (tfcrt_gpu_linear_ex_*: "
           "x and the norm's scale passed), a tfc.gated_mlp is one call for "
           "gate | up with the GLU "
           "in its epilogue and one for down, and a half linear takes its "
           "residual add into its epilogue">,
    Option<"gpuRope", "gpu-rope", "bool", "false",
           "With gpu: in a KV-cache step whose every layer writes rotated "
           "keys and values into the cache argument and attends over it, "
           "each attention becomes one tfcrt_gpu_attention_*_rope call that "
           "rotates q and k and writes the cache rows itself">,
    Option<"norm", "norm", "bool", "true",
           "Lower tfc.layer_norm and tfc.rms_norm">,
    Option<"embedding", "embedding", "bool", "true",
           "Lower tfc.embedding with an f32 table">,
    Option<"tfcTransposeFold", "fold-transposes", "bool", "true",
           "Read q/k/v given as tfc.transpose [0, 2, 1, 3] of [b, s, h, d] "
           "through permuted strided views, and write a result whose only "
           "use is that transpose in the merged layout (no copies)">,
    Option<"sparse", "sparse", "std::string", "\"auto\"",
           "Sparse weight encodings: auto (the cost model picks per "
           "weight), off (always dense), force (every f32 weight sparse)">
  ];
  let dependentDialects = ["::mlir::func::FuncDialect",
    "::mlir::memref::MemRefDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::bufferization::BufferizationDialect"];
}

def TfcLinalgToKernels : Pass<"tfc-linalg-to-kernels", "ModuleOp"> {
  let summary = "Replace f32 matmuls on memrefs with calls to libtfcrt micro-kernels";
  let description = [{
    After bufferization, `linalg.batch_matmul` / `linalg.matmul` (optionally
    with a transposed or broadcast operand expressed through strides) on f32
    memrefs become calls to `tfcrt_matmul_f32` taking strided 3-D memrefs.
    With `target=cuda` (the GPU pipeline) they become calls to
    `tfcrt_gpu_matmul_{f32,f16,bf16}` (cuBLASLt during a GPU run), for f32,
    f16 and bf16 operands of one type.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"cpu\"",
           "cpu (tfcrt_matmul_f32) or cuda (tfcrt_gpu_matmul_<type>)">,
  ];
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

def TfcPrune : Pass<"tfc-prune", "ModuleOp"> {
  let summary = "Prune linear layers: zeros (magnitude, Wanda, SparseGPT, N:M, masks) or whole heads and MLP channels";
  let description = [{
    docs/DESIGN.md "Pruning". Runs after raising, before partition /
    quantize / kv-cache. Unstructured and N:M methods replace each selected
    weight by a new constant with zeros and set `tfc.sparsity = {pattern,
    n, m, ratio, method}` on the op (a checked hint for the kernel
    lowering); `heads:K` / `ffn:F` remove whole attention heads (GQA-aware)
    or MLP channels and shrink every shape between (q/k/v/o and their
    biases, reshapes, transposes, rotary, the attention's head counts;
    gate/up/down), marking ops `tfc.pruned`. `wanda` (|w| * ||x_j||_2 per
    output) and `sparsegpt` (OBS reconstruction, blocked, damped) read a
    tfc-calibrate stats file (`stats`; sparsegpt needs its Hessians) keyed
    like tfc-quantize's; `score` ranks nm:N:M by wanda / sparsegpt. A
    missing file, op or Hessian is an error naming the op and key.
    `mask=FILE` applies user
    masks keyed by ONNX initializer name. With `detect`, ops whose weights
    already hold >= 25 % zeros get `tfc.sparsity` (method "imported").
    With `export`, writes STEM.prune.json and STEM.masks.npz for
    scripts/export_pruned_onnx.py. Bad options, masks and patterns that do
    not divide are errors naming the option / op / initializer.
  }];
  let options = [
    Option<"method", "method", "std::string", "\"none\"",
           "magnitude, wanda, sparsegpt, nm:N:M, heads:K, ffn:F, mask=FILE "
           "or none">,
    Option<"sparsity", "sparsity", "double", "0.5",
           "Fraction of weights to zero (magnitude, wanda, sparsegpt)">,
    Option<"score", "score", "std::string", "\"\"",
           "nm:N:M ranking: magnitude (default), wanda or sparsegpt; "
           "heads:K / ffn:F: wanda = activation-weighted (with stats)">,
    Option<"stats", "stats", "std::string", "\"\"",
           "tfc-calibrate stats file (wanda; sparsegpt with Hessians)">,
    Option<"damp", "damp", "double", "0.01",
           "sparsegpt: dampening, a fraction of the Hessian's mean diagonal">,
    Option<"block", "block", "int64_t", "128",
           "sparsegpt: rows (inputs) per block of the sweep and mask choice">,
    Option<"scope", "scope", "std::string", "\"layer\"",
           "layer (each weight its own threshold) or global (one)">,
    Option<"steps", "steps", "int64_t", "1",
           "Rounds of increasing sparsity, re-scoring after each">,
    Option<"classes", "classes", "std::string", "\"qkv,out_proj,mlp\"",
           "Op classes to prune (qkv, out_proj, mlp, lm_head)">,
    Option<"layers", "layers", "std::string", "\"\"",
           "Globs over the ONNX node name, comma-separated, any may match "
           "(empty: all)">,
    Option<"norm", "norm", "int64_t", "2",
           "Ln norm of head / channel scores (1 or 2)">,
    Option<"gqa", "gqa", "std::string", "\"groups\"",
           "heads:K with GQA: remove whole kv groups (groups) or q heads "
           "evenly within every group (within)">,
    Option<"detect", "detect", "bool", "false",
           "Mark ops whose weights already carry >= 25 % zeros">,
    Option<"exportStem", "export", "std::string", "\"\"",
           "Write STEM.prune.json + STEM.masks.npz (ONNX export)">
  ];
  let dependentDialects = ["::mlir::tfc::TfcDialect",
    "::mlir::arith::ArithDialect"];
}

def TfcSinkQuery : Pass<"tfc-sink-query", "ModuleOp"> {
  let summary = "Score attention sinks at their cache positions (StreamingLLM)";
  let description = [{
    For every tfc.attention with sinks S > 0 and window W: sets
    `sink_query` to the query rotated at the constant position P = S + W -
    1, the position the query holds in a cache of S sink slots followed by
    W window slots. A key j < S that a query at position p sees only as a
    sink (p - j >= W) is then scored at RoPE distance P - j = S + W - 1 - j
    whatever p is, instead of p - j, which grows past the trained context as
    a stream goes on (docs/ACCURACY.md "Streaming past the trained
    context"). The query must be `tfc.rotary(q, cos, sin)` whose cos / sin
    depend on the positions only through `tfc.range` ops: those ops (and
    everything between them and cos / sin) are cloned with the range
    replaced by range(P, 0, same size); an attention already carrying a
    sink_query is left alone. Run after tfc-kv-cache (both entries). With
    strict=false (tfc's default, --sink-positions=auto) an attention whose
    query is not such a rotary keeps absolute sink positions, with a remark
    saying why; strict (--sink-positions=cache) makes it an error.
  }];
  let options = [
    Option<"strict", "strict", "bool", /*default=*/"true",
           "Fail on an attention with sinks whose query is not a RoPE "
           "tfc.rotary fed by a tfc.range (false: leave it, with a remark)">,
  ];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcSparsifyAttention : Pass<"tfc-sparsify-attention", "ModuleOp"> {
  let summary = "Give every tfc.attention a sparse structure: local, block-local, sink+local or BigBird";
  let description = [{
    docs/DESIGN.md "Attention patterns". Runs after raising and pruning,
    before partition / kv-cache. `pattern` is one of
      local:W                 sliding window (a query sees its last W keys)
      sink:S,local:W          StreamingLLM: the window plus the first S keys
      block-local:B           attention within blocks of B tokens (grouped)
      bigbird:block=B,window=K,global=G,random=R,seed=X
                              a block layout [P, P] (P = ceil(max-len / B),
                              or of the static key length): block row r
                              sees columns |r - c| <= K / 2, the first G
                              block rows / columns are global, and R random
                              columns per row (mt19937_64 seeded by X, drawn
                              among columns <= r for a causal op)
    (`local`, `sink` and `block-local` items may be combined, comma
    separated; `dense` changes nothing; `causal` only does the following).
    A non-causal op whose mask (i1, or select(c, 0, fill <= -1e30)) is
    proven causal by tfc-raise-attention's analysis (as tfc-kv-cache does)
    first becomes causal = true with the residual mask (a padded query row
    that sees no key then gives 0, not the average a finite fill gives).
    The structure is ANDed with the op's own (a window already there keeps
    the smaller). local / sink need a causal op (the window is one-sided):
    on a non-causal op they are an error; block-local and bigbird apply to
    any op. Every changed op gets
    a remark with the fraction of the query-key pairs its previous
    structure kept that it still keeps at a `ref-len` tokens long sequence.
    An unknown kind or key, a missing or non-positive value, sink without
    local, or a duplicate key is an error naming it.
  }];
  let options = [
    Option<"pattern", "pattern", "std::string", "\"\"",
           "local:W, sink:S,local:W, block-local:B, "
           "bigbird:block=B,window=K,global=G,random=R,seed=X or dense">,
    Option<"refLen", "ref-len", "int64_t", "2048",
           "Sequence length at which the kept fraction is reported">,
    Option<"maxLen", "max-len", "int64_t", "8192",
           "bigbird: tokens the layout covers when the key length is dynamic">
  ];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

def TfcInsertObservers : Pass<"tfc-insert-observers", "ModuleOp"> {
  let summary = "Insert tfc.observe before the inputs of every linear / gated MLP (calibration builds only)";
  let description = [{
    For `tfc --observe` (tfc-calibrate): every tensor that feeds a
    `tfc.linear` (once per tensor: q, k and v projections share one) and
    every `tfc.gated_mlp` input gets a `tfc.observe` with a fresh id; a
    gated MLP is first split into its linears (gate, up, act * up, down) so
    that the down projection's input is observed too. The module gets
    `tfc.observers`, the side table: per id the tensor's name, its feature
    dim k and the keys of the ops that read it (lib/Transforms/CalibKeys.h:
    the ONNX node name; a gated MLP's down projection is "<key>#down"),
    which the driver writes to `<stem>.observers.json`. Runs where
    tfc-quantize would (after raising), so the keys match. Refuses nothing;
    ops with a non-f32 input are not observed.
  }];
  let dependentDialects = ["::mlir::tfc::TfcDialect"];
}

#endif // TFC_PASSES_TD
