//===- tfc.cpp - the tfc compiler driver ----------------------------------===//
//
//   tfc model.onnx -o out/model [--emit=onnx|tfc|linalg|llvm|obj|shared]
//       [--name NAME] [--cpu host|x86-64|znver4|...] [--no-raise]
//       [--no-kernels] [--kv-cache[=MAX_LEN] [--kv-window=W] [--kv-evict]
//       [--kv-dtype=f32|f16|int8] [--kv-sinks=S] [--kv-logits=all|last]]
//       [--attention=PATTERN]
//       [--prune=METHOD --sparsity=S [--prune-score=S] [--calib-stats F]
//        ... [--export-onnx OUT.onnx [--export-shrink]]]
//       [--quantize=RECIPE [--quant-method=rtn|gptq] [--calib-stats FILE]]
//       [--observe]   (calibration build: writes out/model.observers.json)
//       [--sparse=auto|off|force] [--remarks]
//
// Writes out/model.o (or .so), out/model.h and out/model.tfcw; textual
// emits write out/model.<level>.mlir / .ll, or stdout with `-o -`.
//
//===----------------------------------------------------------------------===//
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Support/Timing.h"
#include "tfc/Conversion/Pipelines.h"
#include "tfc/Importer/OnnxImporter.h"
#include "tfc/Target/Emit.h"
#include "tfc/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "tfc/Runtime/tfc_runtime.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace mlir;
using namespace llvm;

static cl::opt<std::string> inputPath(cl::Positional, cl::desc("<model.onnx>"),
                                      cl::Optional);
static cl::opt<bool> listOnnxOps(
    "list-onnx-ops",
    cl::desc("Print the ONNX op types the importer handles, one a line "
             "(other domains as <domain>.<op>), and exit"),
    cl::init(false));
static cl::opt<std::string> outputPath("o", cl::desc("Output path stem (out/model) or - for stdout"),
                                       cl::value_desc("path"), cl::init(""));
static cl::opt<std::string> emitKind(
    "emit", cl::desc("What to emit: onnx, tfc, linalg, llvm, obj, shared"),
    cl::init("obj"));
static cl::opt<std::string> modelNameOpt("name", cl::desc("Model name (C identifier)"),
                                         cl::init(""));
static cl::opt<std::string> cpuOpt(
    "cpu",
    cl::desc("CPU the generated loops are compiled for: x86-64-v3 (default: "
             "AVX2 + FMA, runs on Zen 3 and Zen 4), host (this machine's "
             "full ISA, e.g. AVX-512 on Zen 4: the model then refuses to load "
             "on a CPU without it), or an LLVM CPU name (znver3, znver4, "
             "x86-64). The runtime kernels (GEMM, attention) pick their ISA "
             "at run time whatever this says"),
    cl::init("x86-64-v3"));
static cl::opt<std::string> targetOpt("target", cl::desc("Target: cpu, or cuda (NVVM kernels + host code; docs/DESIGN.md \"GPU\")"),
                                      cl::init("cpu"));
static cl::opt<std::string> cudaChip("cuda-chip", cl::desc("GPU chip for --target=cuda"),
                                    cl::init("sm_90"));
static cl::opt<std::string> cudaFormat(
    "cuda-format",
    cl::desc("Kernel binary for --target=cuda: bin (cubin, needs ptxas), isa "
             "(PTX, JIT-compiled by the driver) or fatbin"),
    cl::init("bin"));
static cl::opt<std::string> cudaPath(
    "cuda-path",
    cl::desc("CUDA toolkit for --target=cuda (libdevice, ptxas); default: "
             "$CUDA_ROOT, $CUDA_HOME, $CUDA_PATH or /usr/local/cuda"),
    cl::init(""));
static cl::opt<bool> cudaGemm(
    "cuda-gemm",
    cl::desc("With --target=cuda: matmuls as cuBLASLt calls (default); "
             "--cuda-gemm=false keeps them as plain GPU loops (the reference "
             "mapping)"),
    cl::init(true));
static cl::opt<std::string> cudaAttention(
    "cuda-attention",
    cl::desc("With --target=cuda: true or auto (default) = each attention "
             "with static head dims up to 256 as one fused kernel "
             "(flash-style, online softmax; f32 register tiles, or f16 / "
             "bf16 tensor cores with --precision=fp16 / bf16), false = the "
             "linalg lowering (batched cuBLASLt GEMMs + a fused softmax "
             "kernel, the reference)"),
    cl::init("auto"));
static cl::opt<bool> cudaLinear(
    "cuda-linear",
    cl::desc("With --target=cuda and cuBLASLt GEMMs: each linear layer as "
             "one GEMM with an f32 result whose epilogue adds the bias (and "
             "a tanh-GELU / ReLU or a residual add) (default); false = a GEMM "
             "then elementwise kernels (the reference)"),
    cl::init(true));
static cl::opt<bool> cudaFuseNorm(
    "cuda-fuse-norm",
    cl::desc("With --target=cuda and --cuda-linear: an RMS norm computed "
             "inside the GEMM calls of the linear layers / gated MLPs that "
             "read it, a gated MLP's SiLU x up in its gate | up GEMM's "
             "epilogue and a residual add in its GEMM's (default: fewer "
             "launches a decode step); false: the norm and the GLU as "
             "kernels of their own"),
    cl::init(true));
static cl::opt<bool> joinLinearsOpt(
    "join-linears",
    cl::desc("The projections that read one activation and are split into "
             "heads (an attention's q / k / v) as one linear over their "
             "weights side by side (default; CPU with the kernels, CUDA with "
             "the cuBLASLt GEMMs); false: one linear each"),
    cl::init(true));
static cl::opt<bool> cudaRowReduce(
    "cuda-row-reduce",
    cl::desc("With --target=cuda: reductions over the last axis (softmax, "
             "norms, reduce) as one thread block per row with a block "
             "reduction (default); --cuda-row-reduce=false keeps one thread "
             "per row (the reference mapping)"),
    cl::init(true));
static cl::opt<bool> cudaRowFuse(
    "cuda-row-fuse",
    cl::desc("With --target=cuda: runs of row ops over the same rows (a "
             "norm's sums and elementwise steps, a softmax's max, exp, sum "
             "and div, with the adds and roundings around them) as one "
             "kernel, a warp (or block) per row (default); --cuda-row-fuse=false: "
             "one kernel per op"),
    cl::init(true));
static cl::opt<int> cudaRowWarps(
    "cuda-row-warps",
    cl::desc("With --target=cuda and --cuda-row-fuse: one warp per row of a "
             "fused run of row ops, this many rows per block; 0: a block of "
             "32 threads per row (default; measured as fast on the H200)"),
    cl::init(0));
static cl::opt<int> cudaRowBlock(
    "cuda-row-block",
    cl::desc("With --target=cuda: threads of the block that takes a row of a "
             "row reduction or fused run of row ops (32 to 1024, a multiple "
             "of 32; default 32, a warp, measured best on MiniLM's 4,096 "
             "rows), except in grids of at most --cuda-row-few-rows rows "
             "(--cuda-row-block-few); given alone, it is the size of every "
             "such block"),
    cl::init(32));
static cl::opt<int> cudaRowBlockFew(
    "cuda-row-block-few",
    cl::desc("With --target=cuda: threads of the block that takes a row in "
             "a grid of at most --cuda-row-few-rows rows (default 256: a "
             "decode step's few rows on one warp each leave most SMs idle; "
             "0: --cuda-row-block everywhere). Chosen at run time where "
             "the row count is dynamic"),
    cl::init(256));
static cl::opt<int> cudaRowFewRows(
    "cuda-row-few-rows",
    cl::desc("With --target=cuda: the most rows a grid of row ops has to "
             "take --cuda-row-block-few threads a row (default 1024)"),
    cl::init(1024));
static cl::opt<int> cudaRowUnroll(
    "cuda-row-unroll",
    cl::desc("With --target=cuda and --cuda-row-fuse: row elements each "
             "thread of a fused run of row ops loads together (default 4; "
             "1: one load in flight per thread)"),
    cl::init(4));
static cl::opt<int> cudaRowVector(
    "cuda-row-vector",
    cl::desc("With --target=cuda and --cuda-row-fuse: consecutive row "
             "elements each thread of a fused run of row ops takes as one "
             "vector load / store where the buffers are aligned at run time "
             "(2, 4 or 8; default 1, one element at a time, until measured "
             "on a GPU)"),
    cl::init(1));
static cl::opt<int> cudaRowRegisters(
    "cuda-row-registers",
    cl::desc("With --target=cuda, --cuda-row-fuse and --cuda-row-remat: a "
             "fused run of row ops whose rows have a static length of at "
             "most N elements a thread keeps the row's values in registers "
             "(read from memory once, not once per pass; default 16, "
             "measured on an H100: MiniLM's fp16 layer norms 11.4 -> 7.4 "
             "us; 0 = off; at most 64)"),
    cl::init(16));
static cl::opt<bool> cudaRowRemat(
    "cuda-row-remat",
    cl::desc("With --target=cuda and --cuda-row-fuse: a fused run's "
             "elementwise intermediates (a softmax's exponentials, a norm's "
             "centred values) recomputed where later ops read them instead "
             "of stored to memory (default on)"),
    cl::init(true));
static cl::opt<bool> cudaMergeKernels(
    "cuda-merge-kernels",
    cl::desc("With --target=cuda: consecutive elementwise kernels that touch "
             "no common memory (a layer's rotaries of q and k and the copy of "
             "v into the KV cache) as one launch (default); false: one launch "
             "each"),
    cl::init(true));
static cl::opt<bool> cudaPdl(
    "cuda-pdl",
    cl::desc("With --target=cuda: every kernel begins with griddepcontrol "
             "wait + launch_dependents, and the model asks the runtime to "
             "launch kernels with programmatic dependent launch, so that each "
             "launch's blocks wait on the GPU while the previous kernel runs "
             "(Hopper). The runtime does so in a session's decode steps "
             "(TFC_CUDA_PDL=0: never, =1: every run). Default on (SmolLM2 "
             "bf16 decode 15 % faster with the GEMV kernels, prefill the "
             "same); false: plain kernels"),
    cl::init(true));
static cl::opt<bool> cudaAttnHalfOut(
    "cuda-attention-half-out",
    cl::desc("With --target=cuda and --precision=fp16 / bf16: an attention "
             "whose result is only rounded to half for the output projection "
             "writes the half result itself (one launch fewer per layer, the "
             "same bits; default); false: an f32 result and a rounding "
             "kernel"),
    cl::init(true));
static cl::opt<bool> cudaAttnRope(
    "cuda-attention-rope",
    cl::desc("With --target=cuda and --kv-cache: the step's rotary of q and "
             "k and its writes of the new K / V rows into the cache run "
             "inside the attention call (tfcrt_gpu_attention_*_rope: one "
             "launch fewer per layer; default); false: a kernel of their own"),
    cl::init(true));
static cl::opt<int> cudaPerThread(
    "cuda-per-thread",
    cl::desc("With --target=cuda: consecutive innermost iterations each GPU "
             "thread runs in elementwise kernels (default 4; 1: one thread "
             "per element, the plain mapping)"),
    cl::init(4));
static cl::opt<bool> cudaVectorRows(
    "cuda-vector-rows",
    cl::desc("With --target=cuda and --cuda-per-thread > 1: a thread's "
             "consecutive elements of a contiguous, aligned row load and "
             "store as one vector (default); false: one scalar access each"),
    cl::init(true));
static cl::opt<int64_t> cudaPerThreadMin(
    "cuda-per-thread-min", cl::Hidden,
    cl::desc("With --target=cuda: loops need this many iterations (at run "
             "time) for --cuda-per-thread to apply (default 2^20; 0 in "
             "tests, so that small models take the V-per-thread path)"),
    cl::init(int64_t(1) << 20));
static cl::opt<bool> cudaEmulate(
    "cuda-emulate-on-host", cl::Hidden,
    cl::desc("With --target=cuda: run the GPU-mapped loops on the CPU "
             "instead of emitting kernels (checks the mapping without a GPU)"),
    cl::init(false));
static cl::opt<bool> noRaise("no-raise", cl::desc("Skip the raising passes"),
                             cl::init(false));
static cl::opt<bool> noKernels("no-kernels",
                               cl::desc("Lower matmuls as plain loops instead of libtfcrt kernels"),
                               cl::init(false));
static cl::opt<std::string> sparseOpt(
    "sparse", cl::init("auto"), cl::value_desc("auto|off|force"),
    cl::desc("Sparse weight encodings on the CPU: auto (a cost model picks "
             "per weight from its zeros; remarks say which and why), off, "
             "force (every f32 weight sparse)"));
static cl::opt<int> optLevel("O", cl::desc("LLVM optimization level (0-3)"),
                             cl::init(3), cl::Prefix);
static cl::opt<bool> profileOpt("profile",
                                cl::desc("Insert per-op-class timing hooks (tfc-run --profile reports them)"),
                                cl::init(false));
static cl::opt<bool> remarksOpt(
    "remarks",
    cl::desc("Print remarks (quantized patterns not raised at import, ops "
             "kept on the reference path, the sparse or dense encoding of "
             "each weight and why) to stderr"),
    cl::init(false));
static cl::opt<bool> timing("time", cl::desc("Print compile-time phases"),
                            cl::init(false));
static cl::opt<std::string> kvCacheOpt(
    "kv-cache", cl::ValueOptional, cl::value_desc("MAX_LEN"),
    cl::desc("Also emit the cached step entry tfc_<name>_step for "
             "tfc_session_* (--tfc-kv-cache); MAX_LEN is the sessions' "
             "default cache length (default 512)"));
static cl::opt<bool> kvStaticLen(
    "kv-static-len", cl::init(false),
    cl::desc("With --kv-cache: fix the cache length at MAX_LEN in the code "
             "(sessions must use it) instead of choosing it per session"));
static cl::opt<int64_t> kvWindowOpt(
    "kv-window", cl::init(0), cl::value_desc("W"),
    cl::desc("With --kv-cache: sliding attention window W (a query sees the "
             "last W positions) in both entries"));
static cl::opt<bool> kvEvict(
    "kv-evict", cl::init(false),
    cl::desc("With --kv-cache: sliding-window eviction, a ring cache of W "
             "slots (--kv-window=W or the model's own window): sessions "
             "decode without end in bounded memory"));
static cl::opt<int64_t> kvSinksOpt(
    "kv-sinks", cl::init(0), cl::value_desc("S"),
    cl::desc("With --kv-cache and a window: the first S positions stay "
             "visible (StreamingLLM sinks) in both entries; with --kv-evict "
             "the ring keeps S sink slots that are never evicted, and a RoPE "
             "model's sinks are scored at their cache slots' positions "
             "(StreamingLLM), so it streams past its trained context "
             "(--sink-positions; docs/ACCURACY.md \"Streaming past the "
             "trained context\")"));
static cl::opt<std::string> attentionOpt(
    "attention", cl::init(""), cl::value_desc("PATTERN"),
    cl::desc("Sparse attention (--tfc-sparsify-attention): local:W, "
             "sink:S,local:W, block-local:B or "
             "bigbird:block=B,window=K,global=G,random=R,seed=X; --remarks "
             "prints the kept fraction per attention"));
static cl::opt<std::string> kvDtypeOpt(
    "kv-dtype", cl::init("f32"), cl::value_desc("f32|f16|int8"),
    cl::desc("With --kv-cache: the cache's element type: f16, or int8 codes "
             "per head and token with an f32 scale; the full-sequence entry "
             "reads K/V through the same rounding (docs/DESIGN.md)"));
static cl::opt<std::string> sinkPositionsOpt(
    "sink-positions", cl::init("auto"), cl::value_desc("auto|cache|absolute"),
    cl::desc("Attention sinks (--kv-sinks, --attention=sink:S,local:W): "
             "cache (StreamingLLM: a sink key seen only as a sink is scored "
             "as if at its cache slot, the query rotated at position S + W - "
             "1, so a RoPE model streams past its trained context; "
             "tfc-sink-query; CPU kernels for f32, f16 and int8 K/V, the GPU "
             "through the reference lowering), absolute (a sink key keeps its "
             "position: its distance to the query grows past the trained "
             "context), or auto (the default: cache in a ring cache that "
             "streams, --kv-cache --kv-evict, where the query is a RoPE rotary "
             "of the positions, else absolute, with a remark where the query "
             "is not; within a trained context the two differ by ~0.1 % in "
             "perplexity, docs/ACCURACY.md)"));
static cl::opt<std::string> kvLogitsOpt(
    "kv-logits", cl::init("all"), cl::value_desc("all|last"),
    cl::desc("With --kv-cache: which logits the step (tfc_session_prefill / "
             "decode) returns: all new positions [b, n, V], or each "
             "sequence's last one [b, 1, V], the lm_head then running on one "
             "row per sequence (a prompt's prefill; left-pad prompts)"));

static cl::opt<std::string> partitionOpt(
    "partition", cl::value_desc("pipeline:N|tensor:N"),
    cl::desc("Split the model over N ranks (--tfc-partition): pipeline "
             "stages or tensor shards; run it under mpirun (docs/RUNTIME.md)"));

// Quantization and mixed precision (--tfc-quantize; docs/DESIGN.md
// "Quantization").
static cl::opt<std::string> quantizeOpt(
    "quantize", cl::value_desc("RECIPE"),
    cl::desc("Quantize per a recipe: int8-dynamic, int8-static, w8, w4, "
             "mixed, bf16, fp16, or a .json recipe file"));
static cl::opt<int> quantGroupOpt(
    "quant-group", cl::init(-1), cl::value_desc("32|64|128"),
    cl::desc("Group size along k for w8/w4/mixed (0: per output channel)"));
static cl::opt<bool> quantSymOpt("quant-sym", cl::init(false),
                                 cl::desc("Symmetric weights (w8/w4/mixed)"));
static cl::opt<bool> quantAsymOpt(
    "quant-asym", cl::init(false),
    cl::desc("Asymmetric weights with zero points (w8/w4/mixed)"));
static cl::opt<std::string> calibStatsOpt(
    "calib-stats", cl::value_desc("FILE"),
    cl::desc("Calibration statistics from tfc-calibrate (int8-static, GPTQ, "
             "--prune=wanda / sparsegpt)"));
static cl::opt<std::string> quantMethodOpt(
    "quant-method", cl::value_desc("rtn|gptq"),
    cl::desc("Weight rounding: rtn (round to nearest, the default) or gptq "
             "(needs --calib-stats with Hessians: tfc-calibrate --hessians)"));
static cl::opt<std::string> calibRangeOpt(
    "calib-range", cl::value_desc("minmax|p99.9|p99.99|p99.999|mse"),
    cl::desc("Range of the calibrated (int8-static) activation scales: "
             "min/max, a percentile of |x|, or the MSE-optimal clipping "
             "(default p99.99: the best on MiniLM STS-B)"));
static cl::opt<std::string> quantClipOpt(
    "quant-clip", cl::value_desc("minmax|mse|hmse"),
    cl::desc("How each weight group's grid is chosen: its min / max (the "
             "default), the shrunk grid with the least rounding error (mse), "
             "or with the least error weighted by the Hessian's diagonal "
             "(hmse: needs --calib-stats with Hessians; with GPTQ, the best "
             "at 4 bits: docs/ACCURACY.md)"));
static cl::opt<bool> gptqActOrderOpt(
    "gptq-act-order", cl::init(false),
    cl::desc("GPTQ: quantize columns in order of decreasing Hessian diagonal"));
static cl::opt<bool> observeOpt(
    "observe", cl::init(false),
    cl::desc("Calibration build (tfc-calibrate): observe every linear layer's "
             "input (tfc-insert-observers) and write <stem>.observers.json"));
static cl::opt<std::string> precisionOpt(
    "precision", cl::value_desc("fp32|bf16|fp16"), cl::init("fp32"),
    cl::desc("Linear layers' weights and products in bf16 / fp16 with fp32 "
             "accumulation (norms, softmax, residual adds stay fp32); the "
             "same as --quantize=bf16 / fp16"));

// Pruning (--tfc-prune; docs/DESIGN.md "Pruning").
static cl::opt<std::string> pruneOpt(
    "prune", cl::value_desc("METHOD"),
    cl::desc("Prune linear layers: magnitude, wanda, sparsegpt, nm:2:4, "
             "nm:4:8, heads:K, ffn:F or mask=FILE (.npz / .safetensors by "
             "initializer name); wanda / sparsegpt need --calib-stats"));
static cl::opt<double> sparsityOpt(
    "sparsity", cl::init(0.5), cl::value_desc("S"),
    cl::desc("With --prune=magnitude / wanda / sparsegpt: fraction of "
             "weights to zero"));
static cl::opt<std::string> pruneScoreOpt(
    "prune-score", cl::init(""), cl::value_desc("magnitude|wanda|sparsegpt"),
    cl::desc("With --prune=nm:N:M: how weights are ranked (wanda / sparsegpt "
             "need --calib-stats; sparsegpt with Hessians); with "
             "--prune=heads:K / ffn:F, wanda scores each head / channel by "
             "what it adds to the output on the calibration data"));
static cl::opt<double> pruneDampOpt(
    "prune-damp", cl::init(0.01), cl::value_desc("D"),
    cl::desc("SparseGPT dampening (fraction of the Hessian's mean diagonal)"));
static cl::opt<std::string> pruneScopeOpt(
    "prune-scope", cl::init("layer"), cl::value_desc("layer|global"),
    cl::desc("Per-weight threshold (layer) or one over all (global)"));
static cl::opt<int64_t> pruneStepsOpt(
    "prune-steps", cl::init(1), cl::value_desc("K"),
    cl::desc("Iterative pruning: K rounds of increasing sparsity"));
static cl::opt<std::string> pruneClassesOpt(
    "prune-classes", cl::init("qkv,out_proj,mlp"),
    cl::value_desc("qkv,out_proj,mlp,lm_head"),
    cl::desc("Op classes --prune touches"));
static cl::opt<std::string> pruneLayersOpt(
    "prune-layers", cl::init(""), cl::value_desc("GLOB[,GLOB...]"),
    cl::desc("Only ops whose ONNX node name matches one of the globs"));
static cl::opt<int64_t> pruneNormOpt(
    "norm", cl::init(2), cl::value_desc("1|2"),
    cl::desc("Ln norm scoring heads / channels (--prune=heads:K / ffn:F)"));
static cl::opt<std::string> pruneGqaOpt(
    "prune-gqa", cl::init("groups"), cl::value_desc("groups|within"),
    cl::desc("heads:K on GQA: remove whole kv groups or q heads evenly "
             "within every group"));
static cl::opt<std::string> exportOnnxOpt(
    "export-onnx", cl::value_desc("OUT.onnx"),
    cl::desc("With --prune: write the pruned model as ONNX (plus "
             "OUT.masks.npz and OUT.prune.json)"));
static cl::opt<bool> exportShrinkOpt(
    "export-shrink", cl::init(false),
    cl::desc("With --export-onnx: also remove the FFN channels and attention "
             "heads the export carries as zeros from its weights and shape "
             "constants (scripts/shrink_onnx_ffn.py, shrink_onnx_heads.py; "
             "ONNX Runtime then runs the smaller shapes)"));
static cl::opt<bool> noDetectSparsity(
    "no-detect-sparsity", cl::init(false),
    cl::desc("Do not mark layers whose weights already hold many zeros"));

static std::string sanitize(StringRef s) {
  std::string out;
  for (char c : s)
    out.push_back(isalnum((unsigned char)c) ? c : '_');
  if (out.empty() || isdigit((unsigned char)out[0]))
    out = "m_" + out;
  return out;
}

static int fail(const Twine &msg) {
  errs() << "tfc: error: " << msg << "\n";
  return 1;
}

static void printModule(ModuleOp m, raw_ostream &os) {
  OpPrintingFlags flags;
  flags.elideLargeElementsAttrs(16);
  flags.elideLargeResourceString(64);
  m.print(os, flags);
}

/// The side table of tfc.observe ids (tfc-insert-observers' module
/// attribute `tfc.observers`) as JSON for tfc-calibrate.
static LogicalResult writeObserverTable(ModuleOp module, StringRef path,
                                        StringRef name, std::string &error) {
  auto table = module->getAttrOfType<ArrayAttr>("tfc.observers");
  if (!table) {
    error = "the observer pass left no tfc.observers table";
    return failure();
  }
  json::Array tensors;
  for (Attribute a : table) {
    auto d = cast<DictionaryAttr>(a);
    json::Array ops;
    for (Attribute o : d.getAs<ArrayAttr>("ops"))
      ops.push_back(cast<StringAttr>(o).str());
    tensors.push_back(json::Object{
        {"id", d.getAs<IntegerAttr>("id").getInt()},
        {"name", d.getAs<StringAttr>("name").str()},
        {"k", d.getAs<IntegerAttr>("k").getInt()},
        {"ops", std::move(ops)}});
  }
  std::error_code ec;
  raw_fd_ostream os(path, ec);
  if (ec) {
    error = ("cannot write '" + path + "': " + ec.message()).str();
    return failure();
  }
  os << formatv("{0:2}", json::Value(json::Object{
                             {"format", "tfc-observers"},
                             {"version", 1},
                             {"model", name.str()},
                             {"tensors", std::move(tensors)}}))
     << "\n";
  return success();
}

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  registerAllPasses();
  tfc::registerTfcPasses();
  tfc::registerTfcPipelines();
  tfc::registerTfcGpuPasses();
  // --mlir-timing, --mlir-pass-statistics, --mlir-print-ir-after=... for
  // every pipeline tfc runs (applied in runPipeline).
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  registerMLIRContextCLOptions(); // --mlir-disable-threading, ...
  registerAsmPrinterCLOptions();  // --mlir-elide-resource-strings-if-larger
  cl::ParseCommandLineOptions(argc, argv, "tfc: ahead-of-time compiler for Transformer ONNX models\n");
  if (listOnnxOps) {
    for (const std::string &op : tfc::onnxImporterOpTypes())
      outs() << op << "\n";
    return 0;
  }
  if (inputPath.empty())
    return fail("no input model (usage: tfc <model.onnx> [options])");

  static const char *kinds[] = {"onnx", "tfc", "linalg", "llvm", "obj", "shared"};
  if (!llvm::is_contained(kinds, StringRef(emitKind)))
    return fail("unknown --emit=" + emitKind +
                " (expected onnx, tfc, linalg, llvm, obj or shared)");
  if (targetOpt != "cpu" && targetOpt != "cuda")
    return fail("unknown --target=" + targetOpt + " (expected cpu or cuda)");
  bool cuda = targetOpt == "cuda";
  if (cuda && profileOpt)
    return fail("--profile is not supported with --target=cuda yet");
  if (cuda && cudaFormat != "bin" && cudaFormat != "isa" && cudaFormat != "fatbin")
    return fail("unknown --cuda-format=" + cudaFormat + " (expected bin, isa or fatbin)");
  bool textual = emitKind == "onnx" || emitKind == "tfc" ||
                 emitKind == "linalg" || emitKind == "llvm";
  if (outputPath.empty() && !textual)
    return fail("-o is required for --emit=" + emitKind);
  std::string stem = outputPath;
  std::string name = modelNameOpt.empty()
                         ? sanitize(stem.empty() || stem == "-"
                                        ? sys::path::stem(inputPath).str()
                                        : sys::path::filename(stem).str())
                         : sanitize(modelNameOpt);
  if (!stem.empty() && stem != "-") {
    StringRef dir = sys::path::parent_path(stem);
    if (!dir.empty())
      if (std::error_code ec = sys::fs::create_directories(dir))
        return fail("cannot create '" + dir + "': " + ec.message());
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registry.insert<tfc::TfcDialect>();
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  context.disableMultithreading();
  // Remarks go to stderr with --remarks; errors keep their own path.
  ScopedDiagnosticHandler remarkHandler(&context, [](Diagnostic &d) {
    if (d.getSeverity() != DiagnosticSeverity::Remark)
      return failure();
    if (remarksOpt)
      errs() << d.getLocation() << ": remark: " << d.str() << "\n";
    return success();
  });

  auto t0 = std::chrono::steady_clock::now();
  auto phase = [&](const char *what) {
    if (!timing)
      return;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    errs() << "tfc: " << what << " done at " << format("%.2f", s) << " s\n";
  };

  tfc::OnnxImportOptions io;
  io.modelName = name;
  std::string error;
  OwningOpRef<ModuleOp> module =
      tfc::importOnnxModel(&context, inputPath, io, error);
  if (!module)
    return fail(error);
  phase("import");

  auto writeText = [&](StringRef ext, llvm::function_ref<void(raw_ostream &)> fn) {
    if (stem.empty() || stem == "-") {
      fn(outs());
      return 0;
    }
    std::string path = stem + ext.str();
    std::error_code ec;
    raw_fd_ostream os(path, ec);
    if (ec)
      return fail("cannot write '" + path + "': " + ec.message());
    fn(os);
    return 0;
  };
  if (emitKind == "onnx")
    return writeText(".onnx.mlir", [&](raw_ostream &os) { printModule(*module, os); });

  func::FuncOp entry = tfc::findEntry(*module);
  entry->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));
  std::string entryName = entry.getSymName().str();
  FailureOr<std::string> signature = tfc::collectSignature(entry);
  if (failed(signature))
    return 1;

  bool kvCache = kvCacheOpt.getNumOccurrences() > 0;
  int64_t kvMaxLen = 512;
  if (kvCache && !kvCacheOpt.empty() &&
      (StringRef(kvCacheOpt).getAsInteger(10, kvMaxLen) || kvMaxLen <= 0))
    return fail("--kv-cache=" + kvCacheOpt +
                ": expected a positive maximum length");
  if (kvWindowOpt < 0 ||
      ((kvWindowOpt || kvStaticLen || kvEvict) && !kvCache))
    return fail("--kv-window / --kv-static-len / --kv-evict need --kv-cache "
                "(window >= 0)");
  if (kvDtypeOpt != "f32" && kvDtypeOpt != "f16" && kvDtypeOpt != "int8")
    return fail("--kv-dtype=" + kvDtypeOpt + ": expected f32, f16 or int8");
  if (kvDtypeOpt.getNumOccurrences() && !kvCache)
    return fail("--kv-dtype needs --kv-cache");
  if (sinkPositionsOpt != "absolute" && sinkPositionsOpt != "cache" &&
      sinkPositionsOpt != "auto")
    return fail("--sink-positions=" + sinkPositionsOpt +
                ": expected auto, cache or absolute");
  if (kvLogitsOpt != "all" && kvLogitsOpt != "last")
    return fail("--kv-logits=" + kvLogitsOpt + ": expected all or last");
  if (kvLogitsOpt.getNumOccurrences() && !kvCache)
    return fail("--kv-logits needs --kv-cache");
  if (kvSinksOpt < 0 || (kvSinksOpt && !kvCache))
    return fail("--kv-sinks needs --kv-cache (sinks >= 0)");
  if (kvEvict && kvStaticLen)
    return fail("--kv-evict sizes the cache by the window: no --kv-static-len");

  tfc::PipelineOptions po;
  po.partition = partitionOpt;
  if (quantSymOpt && quantAsymOpt)
    return fail("--quant-sym and --quant-asym exclude each other");
  if (precisionOpt != "fp32" && precisionOpt != "bf16" &&
      precisionOpt != "fp16")
    return fail("--precision=" + precisionOpt +
                ": expected fp32, bf16 or fp16");
  if (precisionOpt != "fp32" && !quantizeOpt.empty())
    return fail("--precision=" + precisionOpt + " and --quantize=" +
                quantizeOpt +
                " both choose the linear layers' format: use a JSON recipe "
                "to mix them");
  po.quantize = precisionOpt != "fp32" ? std::string(precisionOpt)
                                       : std::string(quantizeOpt);
  // Pruning methods that read calibration statistics.
  std::string pruneScore = pruneScoreOpt;
  if (pruneScore.empty() && (pruneOpt == "wanda" || pruneOpt == "sparsegpt"))
    pruneScore = pruneOpt;
  bool pruneNeedsStats = pruneScore == "wanda" || pruneScore == "sparsegpt";
  if (po.quantize.empty() &&
      (quantGroupOpt != -1 || quantSymOpt || quantAsymOpt))
    return fail("--quant-group / --quant-sym / --quant-asym go with "
                "--quantize");
  if (po.quantize.empty() && !calibStatsOpt.empty() && !pruneNeedsStats)
    return fail("--calib-stats goes with --quantize or --prune=wanda / "
                "sparsegpt (or --prune-score=wanda / sparsegpt)");
  if (!pruneScoreOpt.empty() && pruneOpt.empty())
    return fail("--prune-score goes with --prune=nm:N:M, heads:K or ffn:F");
  if (po.quantize.empty() && (!quantMethodOpt.empty() ||
                              !calibRangeOpt.empty() || gptqActOrderOpt ||
                              !quantClipOpt.empty()))
    return fail("--quant-method / --calib-range / --gptq-act-order / "
                "--quant-clip go with --quantize");
  if (!quantClipOpt.empty() && quantClipOpt != "minmax" &&
      quantClipOpt != "mse" && quantClipOpt != "hmse")
    return fail("--quant-clip=" + quantClipOpt +
                ": expected minmax, mse or hmse");
  if (!quantMethodOpt.empty() && quantMethodOpt != "rtn" &&
      quantMethodOpt != "gptq")
    return fail("--quant-method=" + quantMethodOpt + ": expected rtn or gptq");
  if (observeOpt && (!po.quantize.empty() || !po.partition.empty() ||
                     kvCache || cuda))
    return fail("--observe (a calibration build of the fp32 model) does not "
                "go with --quantize / --precision / --partition / "
                "--kv-cache / --target=cuda");
  po.observe = observeOpt;
  po.quantMethod = quantMethodOpt;
  po.calibRange = calibRangeOpt;
  po.gptqActOrder = gptqActOrderOpt;
  po.quantClip = quantClipOpt;
  po.quantGroup = quantGroupOpt;
  po.quantSym = quantSymOpt ? "sym" : quantAsymOpt ? "asym" : "";
  po.calibStats = po.quantize.empty() ? "" : std::string(calibStatsOpt);
  std::string exportStem;
  if (exportShrinkOpt && exportOnnxOpt.empty())
    return fail("--export-shrink goes with --export-onnx");
  if (!exportOnnxOpt.empty()) {
    if (pruneOpt.empty())
      return fail("--export-onnx goes with --prune");
    exportStem = exportOnnxOpt;
    if (StringRef(exportStem).ends_with(".onnx"))
      exportStem.resize(exportStem.size() - 5);
  }
  if (!pruneOpt.empty() || !noDetectSparsity) {
    std::string m = pruneOpt.empty() ? "none" : std::string(pruneOpt);
    po.prune = "method=" + m + " sparsity=" + std::to_string(sparsityOpt) +
               " scope=" + pruneScopeOpt +
               " steps=" + std::to_string(pruneStepsOpt) +
               " classes=" + pruneClassesOpt +
               (pruneLayersOpt.empty() ? "" : " layers=" + pruneLayersOpt) +
               " norm=" + std::to_string(pruneNormOpt) + " gqa=" + pruneGqaOpt +
               (pruneScoreOpt.empty() ? "" : " score=" + pruneScoreOpt) +
               (pruneNeedsStats && !calibStatsOpt.empty()
                    ? " stats=" + calibStatsOpt
                    : "") +
               (pruneNeedsStats ? " damp=" + std::to_string(pruneDampOpt)
                                : "") +
               (noDetectSparsity ? "" : " detect=true") +
               (exportStem.empty() ? "" : " export=" + exportStem);
  }
  po.kvCache = kvCache;
  po.kvMaxLen = kvStaticLen ? kvMaxLen : 0;
  po.kvWindow = kvWindowOpt;
  po.kvEvict = kvEvict;
  po.kvSinks = kvSinksOpt;
  po.attention = attentionOpt;
  po.kvDtype = kvDtypeOpt;
  po.kvLogits = kvLogitsOpt;
  po.sinkQuery = sinkPositionsOpt == "cache" ||
                 (sinkPositionsOpt == "auto" && kvCache && kvEvict);
  po.sinkQueryStrict = sinkPositionsOpt == "cache";
  po.raise = !noRaise;
  po.kernels = !noKernels;
  po.cpuKernels = !noKernels && targetOpt == "cpu" && !cudaEmulate;
  po.profile = profileOpt;
  po.nativeHalfMatmul = cuda && cudaGemm;
  po.gpuLinear = cuda && cudaGemm && cudaLinear && !noKernels;
  po.joinLinears =
      joinLinearsOpt && !noKernels && (po.cpuKernels || (cuda && cudaGemm));
  po.gpuFuseNorm = po.gpuLinear && cudaFuseNorm;
  if (cudaAttention != "auto" && cudaAttention != "true" &&
      cudaAttention != "false")
    return fail("--cuda-attention=" + cudaAttention +
                ": expected true, false or auto");
  const bool fusedAttention = cudaAttention != "false";
  if (cuda && fusedAttention && !noKernels)
    po.gpuAttention = precisionOpt == "fp32" ? "f32"
                      : precisionOpt == "fp16" ? "f16"
                                               : "bf16";
  po.gpuAttentionHalfOut = cudaAttnHalfOut && po.nativeHalfMatmul &&
                           (po.gpuAttention == "f16" || po.gpuAttention == "bf16");
  po.gpuRope = cudaAttnRope && !po.gpuAttention.empty() && kvCache;
  if (sparseOpt != "auto" && sparseOpt != "off" && sparseOpt != "force")
    return fail("--sparse=" + sparseOpt + " is not auto, off or force");
  po.sparse = sparseOpt;
  std::string weightsPath =
      (stem.empty() || stem == "-" || textual) ? "" : stem + ".tfcw";
  po.weightsPath = weightsPath;

  auto runPipeline = [&](const std::string &text) -> LogicalResult {
    PassManager pm(&context);
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    // --mlir-timing: one report per pipeline (frontend + linalg, then the
    // target lowering), printed when it finishes.
    DefaultTimingManager tm;
    applyDefaultTimingManagerCLOptions(tm);
    TimingScope scope = tm.getRootScope();
    pm.enableTiming(scope);
    if (failed(parsePassPipeline(text, pm, errs())))
      return failure();
    return pm.run(*module);
  };
  // --export-onnx: the pass wrote STEM.prune.json / .masks.npz; the script
  // rewrites the original ONNX with them.
  auto exportOnnx = [&]() -> int {
    if (exportStem.empty())
      return 0;
    const char *pyEnv = getenv("TFC_PYTHON");
    std::string py = pyEnv ? pyEnv : TFC_DEFAULT_PYTHON;
    ErrorOr<std::string> pyPath = sys::findProgramByName(py);
    if (!pyPath)
      return fail("--export-onnx: cannot find Python '" + py +
                  "' (set TFC_PYTHON; it needs onnx and numpy)");
    std::string script = TFC_SCRIPTS_DIR "/export_pruned_onnx.py";
    std::string json = exportStem + ".prune.json";
    SmallVector<StringRef> args = {*pyPath, script, inputPath, json, "-o",
                                   exportOnnxOpt};
    std::string msg;
    int rc = sys::ExecuteAndWait(*pyPath, args, std::nullopt, {}, 0, 0, &msg);
    if (rc != 0)
      return fail("--export-onnx: " + script + " failed" +
                  (msg.empty() ? "" : ": " + msg));
    if (!exportShrinkOpt)
      return 0;
    // In place: OUT.onnx and its masks, sliced the same way; FFN channels,
    // then heads (they touch different weights).
    StringRef outStem = StringRef(exportOnnxOpt);
    outStem.consume_back(".onnx");
    std::string masks = (outStem + ".masks.npz").str();
    for (const char *name : {"shrink_onnx_ffn.py", "shrink_onnx_heads.py"}) {
      std::string shrink = std::string(TFC_SCRIPTS_DIR "/") + name;
      SmallVector<StringRef> sargs = {*pyPath, shrink,        exportOnnxOpt,
                                      "-o",    exportOnnxOpt, "--masks",
                                      masks};
      rc = sys::ExecuteAndWait(*pyPath, sargs, std::nullopt, {}, 0, 0, &msg);
      if (rc != 0)
        return fail("--export-shrink: " + shrink + " failed" +
                    (msg.empty() ? "" : ": " + msg));
    }
    return 0;
  };
  if (emitKind == "tfc") {
    if (failed(runPipeline(tfc::frontendPipeline(po))))
      return fail("the tfc passes failed");
    if (int rc = exportOnnx())
      return rc;
    return writeText(".tfc.mlir", [&](raw_ostream &os) { printModule(*module, os); });
  }
  if (failed(runPipeline(tfc::toLinalgPipeline(po))))
    return fail("lowering to linalg failed");
  phase("lowering to linalg");
  if (int rc = exportOnnx())
    return rc;
  if (observeOpt && !stem.empty() && stem != "-") {
    if (failed(writeObserverTable(*module, stem + ".observers.json", name,
                                  error)))
      return fail(error);
  }
  if (emitKind == "linalg")
    return writeText(".linalg.mlir", [&](raw_ostream &os) { printModule(*module, os); });
  std::string stepName, stepSignature;
  if (kvCache) {
    // tfc-kv-cache rewrites a with-past export's main into the plain
    // full-sequence signature.
    signature = tfc::collectSignature(tfc::findEntry(*module));
    if (failed(signature))
      return 1;
  }
  // tfc --partition: one entry (and step entry) per part; the descriptor
  // lists them all, and its signature is the model's as a whole: part 0's
  // inputs and the last part's outputs.
  auto [partitionKind, numParts] = tfc::partitionOf(*module);
  std::vector<tfc::ModelDescInfo::Part> parts;
  if (numParts > 0) {
    SmallVector<func::FuncOp> entries = tfc::findEntries(*module);
    SmallVector<func::FuncOp> steps = tfc::findStepEntries(*module);
    if (entries.size() != numParts ||
        (kvCache && steps.size() != numParts))
      return fail("the partitioned module does not have one entry" +
                  std::string(kvCache ? " and one step entry" : "") +
                  " per part (tfc.part 0.." + std::to_string(numParts - 1) +
                  ")");
    for (unsigned k = 0; k < numParts; ++k) {
      tfc::ModelDescInfo::Part p;
      entries[k]->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));
      p.entrySymbol = "_mlir_ciface_" + entries[k].getSymName().str();
      FailureOr<std::string> sig = tfc::collectSignature(entries[k]);
      if (failed(sig))
        return 1;
      p.signature = *sig;
      if (kvCache) {
        steps[k]->setAttr("llvm.emit_c_interface", UnitAttr::get(&context));
        p.stepEntrySymbol = "_mlir_ciface_" + steps[k].getSymName().str();
        FailureOr<std::string> ssig = tfc::collectSignature(steps[k]);
        if (failed(ssig))
          return 1;
        p.stepSignature = *ssig;
      }
      parts.push_back(std::move(p));
    }
    std::string whole;
    for (StringRef l : llvm::split(StringRef(parts.front().signature), '\n'))
      if (l.starts_with("in "))
        whole += l.str() + "\n";
    for (StringRef l : llvm::split(StringRef(parts.back().signature), '\n'))
      if (l.starts_with("out "))
        whole += l.str() + "\n";
    signature = whole;
    entryName = entries.front().getSymName().str();
  }
  if (func::FuncOp step = tfc::findStepEntry(*module)) {
    stepName = step.getSymName().str();
    FailureOr<std::string> sig = tfc::collectSignature(step);
    if (failed(sig))
      return 1;
    stepSignature = *sig;
  }
  if (cuda) {
    tfc::GpuPipelineOptions go;
    go.chip = cudaChip;
    go.format = cudaFormat;
    go.emulateOnHost = cudaEmulate;
    go.gemm = cudaGemm;
    if (cudaRowBlock < 32 || cudaRowBlock > 1024 || cudaRowBlock % 32 != 0)
      return fail("--cuda-row-block=" + std::to_string(cudaRowBlock) +
                  ": expected a multiple of 32 from 32 to 1024");
    go.rowReduceBlock = cudaRowBlock;
    if (!cudaRowReduce)
      go.rowReduceBlock = 0;
    if (cudaRowBlockFew != 0 &&
        (cudaRowBlockFew < 32 || cudaRowBlockFew > 1024 ||
         cudaRowBlockFew % 32 != 0))
      return fail("--cuda-row-block-few=" + std::to_string(cudaRowBlockFew) +
                  ": expected 0 or a multiple of 32 from 32 to 1024");
    if (cudaRowFewRows < 0)
      return fail("--cuda-row-few-rows=" + std::to_string(cudaRowFewRows) +
                  ": expected 0 or more");
    // --cuda-row-block alone keeps one block size for every grid.
    const bool fewAsked = cudaRowBlockFew.getNumOccurrences() > 0 ||
                          cudaRowFewRows.getNumOccurrences() > 0;
    go.rowFewBlock = cudaRowBlockFew;
    go.rowFewRows = cudaRowBlockFew == 0 ||
                            (cudaRowBlock.getNumOccurrences() > 0 && !fewAsked)
                        ? 0
                        : static_cast<int64_t>(cudaRowFewRows);
    go.rowFuse = cudaRowFuse;
    go.mergeKernels = cudaMergeKernels;
    go.pdl = cudaPdl && !cudaEmulate;
    if (cudaRowWarps < 0 || cudaRowWarps > 32)
      return fail("--cuda-row-warps=" + std::to_string(cudaRowWarps) +
                  ": expected 0 to 32");
    go.rowWarps = cudaRowWarps;
    go.rowRemat = cudaRowRemat;
    if (cudaRowUnroll < 1 || cudaRowUnroll > 16)
      return fail("--cuda-row-unroll=" + std::to_string(cudaRowUnroll) +
                  ": expected 1 to 16");
    go.rowUnroll = cudaRowUnroll;
    if (cudaRowVector != 1 && cudaRowVector != 2 && cudaRowVector != 4 &&
        cudaRowVector != 8)
      return fail("--cuda-row-vector=" + std::to_string(cudaRowVector) +
                  ": expected 1, 2, 4 or 8");
    go.rowVector = cudaRowVector;
    if (cudaRowRegisters < 0 || cudaRowRegisters > 64)
      return fail("--cuda-row-registers=" + std::to_string(cudaRowRegisters) +
                  ": expected 0 to 64");
    go.rowRegisters = cudaRowRegisters;
    if (cudaPerThread < 1 || cudaPerThread > 64)
      return fail("--cuda-per-thread=" + std::to_string(cudaPerThread) +
                  ": expected 1 to 64");
    go.perThread = cudaPerThread;
    if (cudaPerThreadMin < 0)
      return fail("--cuda-per-thread-min must be >= 0");
    go.perThreadMin = cudaPerThreadMin;
    go.vectorRows = cudaVectorRows;
    if (!cudaEmulate && failed(tfc::findCudaToolkit(cudaPath, go.toolkitPath, error)))
      return fail(error);
    DialectRegistry gpuTranslation;
    tfc::registerGpuTranslations(gpuTranslation);
    context.appendDialectRegistry(gpuTranslation);
    if (failed(runPipeline(tfc::gpuLoweringPipeline(po, go))))
      return fail("lowering to NVVM kernels + host LLVM failed");
  } else if (failed(runPipeline(tfc::cpuLoweringPipeline(po)))) {
    return fail("lowering to LLVM failed");
  }
  phase("lowering to the LLVM dialect");

  tfc::ModelDescInfo info;
  info.name = name;
  info.signature = *signature;
  info.entrySymbol = "_mlir_ciface_" + entryName;
  if (auto a = (*module)->getAttrOfType<IntegerAttr>("tfc.weights_size"))
    info.weightsSize = a.getInt();
  if (auto a = (*module)->getAttrOfType<IntegerAttr>("tfc.weights_hash"))
    info.weightsHash = (uint64_t)a.getInt();
  info.exportGenericAlias = emitKind == "shared";
  if (!stepName.empty()) {
    info.stepEntrySymbol = "_mlir_ciface_" + stepName;
    info.stepSignature = stepSignature;
    info.kvMaxLen = kvMaxLen;
    info.kvWindow = kvWindowOpt;
  }
  if (cuda && !cudaEmulate)
    info.flags |= TFC_MODEL_FLAG_CUDA;
  if (cuda && cudaPdl && !cudaEmulate)
    info.flags |= TFC_MODEL_FLAG_CUDA_PDL;
  // The GPU step's host code reads no scalar input (tfc-gpu-device-memory
  // moved every read of `past` into the kernels): one CUDA graph serves
  // every position.
  if (Operation *step = stepName.empty()
                            ? nullptr
                            : SymbolTable::lookupSymbolIn(*module, stepName))
  {
    if (cuda && step->hasAttr("tfc.scalars_on_device"))
      info.flags |= TFC_MODEL_FLAG_STEP_SCALARS_ON_DEVICE;
    // Windows / blocks / layouts need each decode step's true positions.
    if (step->hasAttr("tfc.positional_attention"))
      info.flags |= TFC_MODEL_FLAG_STEP_POSITIONAL_ATTENTION;
  }
  info.partitionKind = partitionKind;
  info.parts = parts;
  if (auto classes = (*module)->getAttrOfType<ArrayAttr>("tfc.op_classes"))
    for (Attribute a : classes)
      info.opClasses += cast<StringAttr>(a).str() + "\n";
  tfc::ObjectOptions oo;
  oo.cpu = cpuOpt;
  oo.optLevel = optLevel;
  if (!cuda || cudaEmulate) {
    FailureOr<uint32_t> isa = tfc::requiredIsaOf(oo, error);
    if (failed(isa))
      return fail(error);
    info.requiredIsa = *isa;
  }
  if (auto v = (*module)->getAttrOfType<IntegerAttr>("tfc.pack_version"))
    info.packVersion = static_cast<uint32_t>(v.getInt());
  if (failed(tfc::addModelDesc(*module, info)))
    return fail("cannot emit the model descriptor");

  if (emitKind == "llvm") {
    std::string ir;
    if (failed(tfc::emitObject(*module, oo, "", &ir, error)))
      return fail(error);
    return writeText(".ll", [&](raw_ostream &os) { os << ir; });
  }
  std::string obj = stem + ".o";
  if (failed(tfc::emitObject(*module, oo, obj, nullptr, error)))
    return fail(error);
  phase("object emission");
  if (failed(tfc::writeHeader(info, stem + ".h", error)))
    return fail(error);
  if (emitKind == "shared") {
    const char *ccEnv = getenv("TFC_CC");
    std::string cc = ccEnv ? ccEnv : "cc";
    ErrorOr<std::string> ccPath = sys::findProgramByName(cc);
    if (!ccPath)
      return fail("cannot find the linker driver '" + cc +
                  "' (set TFC_CC) to build the shared library");
    std::string so = stem + ".so";
    SmallVector<StringRef> args = {*ccPath, "-shared", "-o", so, obj, "-lm"};
    std::string msg;
    int rc = sys::ExecuteAndWait(*ccPath, args, std::nullopt, {}, 0, 0, &msg);
    if (rc != 0)
      return fail("linking '" + so + "' failed" + (msg.empty() ? "" : ": " + msg));
    phase("shared library");
  }
  return 0;
}
