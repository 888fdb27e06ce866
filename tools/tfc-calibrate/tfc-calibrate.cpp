//===- tfc-calibrate.cpp - activation statistics by our own runtime -------===//
//
//   tfc-calibrate model.onnx --data FILE [--tokenizer PATH] [--calib-samples N]
//       [--seq-len L] [--mode auto|sentences|windows] [--hessians]
//       [--num-threads T] [--tfc PATH] [--tfc-arg ARG]...
//       [--sequential-prune "ARGS" [--sequential-group G]] -o stats.json
//
// Compiles the fp32 model with observers (`tfc --observe --emit=shared`, the
// driver found next to this tool), runs it through libtfcrt on the
// calibration samples (CalibData.h) with an observer registered
// (tfc_observer_set) that feeds every linear layer's input to the
// calibration library (tfc/Calibration/Stats.h), and writes the stats file
// (JSON + .bin sidecar) that `tfc --quantize=... --calib-stats` reads.
//
// --sequential-prune "--prune=wanda --sparsity=0.5" (any calibration-aware
// pruning flags of tfc) collects the statistics the papers' sequential mode
// prunes with: block by block (transformer layers, from the op keys' layer
// index), each block's inputs measured through the blocks before it already
// pruned. Step 0 is the dense model; step i compiles with ARGS, the stats of
// step i - 1 and --prune-layers naming the first i blocks, and observes
// again. A block's inputs depend only on the blocks before it, so the last
// step's file holds every block's sequential statistics, and `tfc ARGS
// --calib-stats` with it prunes the whole model sequentially. G blocks per
// step (default 1) trade fidelity for fewer compiles and runs.
//
// Why shell out to tfc instead of linking the compiler: the observed model
// is then compiled by exactly the driver and options users compile with
// (same import, raising and op keys), and this tool stays a runtime
// application (libtfcrt + tokenizer + the calibration library).
//
//===----------------------------------------------------------------------===//
#include "CalibData.h"

#include "tfc/Calibration/Stats.h"
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <map>

using namespace llvm;
using namespace tfccalib;
using tfc::calib::TensorStats;

static cl::opt<std::string> modelPath(cl::Positional, cl::desc("<model.onnx>"),
                                      cl::Required);
static cl::opt<std::string> outPath("o", cl::desc("Stats file to write"),
                                    cl::value_desc("stats.json"),
                                    cl::Required);
static cl::opt<std::string> dataPath(
    "data", cl::Required, cl::value_desc("FILE"),
    cl::desc("Calibration data: an STS-B style .csv/.tsv (sentences), a text "
             "file (token windows), or an .npz of inputs"));
static cl::opt<std::string> tokenizerPath(
    "tokenizer", cl::value_desc("PATH"),
    cl::desc("The model's tokenizer (HF folder, tokenizer.json, .gguf, "
             ".model, llama2.c .bin) for text data"));
static cl::opt<int64_t> samplesOpt("calib-samples", cl::init(128),
                                   cl::desc("Samples (model calls) to run"));
static cl::opt<int64_t> seqLenOpt(
    "seq-len", cl::init(0),
    cl::desc("Tokens per sample: window length, or the cut of a sentence "
             "(default 512 / 128)"));
static cl::opt<std::string> modeOpt(
    "mode", cl::init("auto"),
    cl::desc("auto (.csv/.tsv: sentences, else windows), sentences, windows"));
static cl::opt<bool> hessiansOpt(
    "hessians", cl::init(false),
    cl::desc("Also accumulate H = sum x^T x per observed tensor (GPTQ, "
             "SparseGPT): k*k doubles each"));
static cl::opt<int> threadsOpt("num-threads", cl::init(0),
                               cl::desc("Runtime threads (0: default)"));
static cl::opt<std::string> tfcOpt(
    "tfc", cl::desc("The tfc driver (default: next to this tool)"),
    cl::value_desc("PATH"));
static cl::list<std::string> tfcArgs(
    "tfc-arg", cl::desc("Extra argument for the observed compile (repeat)"));
static cl::opt<std::string> sequentialOpt(
    "sequential-prune", cl::value_desc("\"ARGS\""),
    cl::desc("Collect sequential pruning statistics: the tfc pruning flags "
             "(space-separated, e.g. \"--prune=wanda --sparsity=0.5\"); "
             "block by block through the already-pruned blocks"));
static cl::opt<int>
    sequentialGroupOpt("sequential-group", cl::init(1),
                       cl::desc("Blocks per step of --sequential-prune"));
static cl::opt<bool> keepWork("keep-work", cl::init(false),
                              cl::desc("Keep the observed model's folder"));
static cl::opt<bool> quiet("quiet", cl::init(false),
                           cl::desc("No progress lines"));

namespace {

int fail(const Twine &msg) {
  errs() << "tfc-calibrate: error: " << msg << "\n";
  return 1;
}

struct Collector {
  std::vector<TensorStats> tensors;
  std::string error; // first problem seen in the callback
  int64_t calls = 0;
};

/// x^T x through the runtime's multi-threaded GEMM: A = x^T as a strided
/// view of x ([1, k, rows], strides [.., 1, k]), B = x.
void gramRuntime(const float *x, int64_t rows, int64_t k, float *out) {
  float *px = const_cast<float *>(x);
  tfcrt_memref3_f32 a{px, px, 0, {1, k, rows}, {k * rows, 1, k}};
  tfcrt_memref3_f32 b{px, px, 0, {1, rows, k}, {rows * k, k, 1}};
  tfcrt_memref3_f32 c{out, out, 0, {1, k, k}, {k * k, k, 1}};
  _mlir_ciface_tfcrt_matmul_f32(&a, &b, &c);
}

void observe(void *user, int64_t id, const float *data, int32_t rank,
             const int64_t *shape) {
  auto *c = static_cast<Collector *>(user);
  ++c->calls;
  if (!c->error.empty())
    return;
  if (id < 0 || id >= static_cast<int64_t>(c->tensors.size()) || rank < 1) {
    c->error = "observer id " + std::to_string(id) +
               " is not in the side table";
    return;
  }
  TensorStats &t = c->tensors[id];
  if (shape[rank - 1] != t.k) {
    c->error = "tensor '" + t.name + "' has " +
               std::to_string(shape[rank - 1]) + " features, the table says " +
               std::to_string(t.k);
    return;
  }
  int64_t rows = 1;
  for (int32_t i = 0; i + 1 < rank; ++i)
    rows *= shape[i];
  t.add(data, rows, gramRuntime);
}

double seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

} // namespace

/// One calibration: the observed compile (tfc with `extra` arguments), the
/// runs, the stats file `out` (none when empty). The side table's ops per
/// tensor go to `opsOut`, the statistics to `statsOut`, when given.
static int collect(const std::string &tfc, ArrayRef<std::string> extra,
                   const DataOptions &data, const std::string &out,
                   std::vector<std::vector<std::string>> *opsOut,
                   std::vector<TensorStats> *statsOut = nullptr) {
  auto t0 = std::chrono::steady_clock::now();
  // 1. The observed compile.
  SmallString<256> work;
  if (std::error_code ec = sys::fs::createUniqueDirectory("tfc-calib", work))
    return fail("cannot create a work folder: " + ec.message());
  std::string stem = (work + "/model").str();
  auto cleanup = [&]() {
    if (!keepWork)
      sys::fs::remove_directories(work);
  };
  SmallVector<StringRef> args = {tfc, modelPath, "--observe",
                                 "--emit=shared", "-o", stem};
  for (const std::string &a : extra)
    args.push_back(a);
  if (!quiet)
    errs() << "tfc-calibrate: compiling " << modelPath
           << " with observers (" << tfc << ")\n";
  std::string msg;
  int rc = sys::ExecuteAndWait(tfc, args, std::nullopt, {}, 0, 0, &msg);
  if (rc != 0) {
    cleanup();
    return fail("the observed compile failed (tfc exit " + Twine(rc) + ")" +
                (msg.empty() ? "" : ": " + msg));
  }

  // 2. The side table.
  Collector col;
  {
    auto buf = MemoryBuffer::getFile(stem + ".observers.json");
    if (!buf) {
      cleanup();
      return fail("cannot read " + stem + ".observers.json");
    }
    Expected<json::Value> v = json::parse((*buf)->getBuffer());
    const json::Array *ts =
        v && v->getAsObject() ? v->getAsObject()->getArray("tensors")
                              : nullptr;
    if (!ts) {
      if (!v)
        consumeError(v.takeError());
      cleanup();
      return fail("malformed " + stem + ".observers.json");
    }
    for (const json::Value &e : *ts) {
      const json::Object *o = e.getAsObject();
      std::vector<std::string> ops;
      if (const json::Array *a = o->getArray("ops"))
        for (const json::Value &s : *a)
          ops.push_back(s.getAsString().value_or("").str());
      if (opsOut)
        opsOut->push_back(ops);
      col.tensors.emplace_back(o->getString("name").value_or("").str(), ops,
                               o->getInteger("k").value_or(0), hessiansOpt);
    }
  }

  // 3. The model and the data.
  if (threadsOpt > 0)
    tfc_set_num_threads(threadsOpt);
  tfc_model *model = nullptr;
  if (tfc_model_load_shared((stem + ".so").c_str(),
                            (stem + ".tfcw").c_str(),
                            &model) != TFC_OK) {
    std::string e = tfc_last_error();
    cleanup();
    return fail("loading the observed model: " + e);
  }
  std::vector<std::string> inputNames;
  for (size_t i = 0; i < tfc_model_num_inputs(model); ++i) {
    const char *name;
    tfc_dtype dt;
    int32_t r;
    int64_t dims[TFC_MAX_RANK];
    tfc_model_input_info(model, i, &name, &dt, &r, dims);
    inputNames.push_back(name);
  }
  std::vector<Sample> samples;
  std::string describe, error;
  if (!loadSamples(data, inputNames, samples, describe, error)) {
    tfc_model_free(model);
    cleanup();
    return fail(error);
  }
  if (!quiet)
    errs() << "tfc-calibrate: " << col.tensors.size()
           << " observed tensors; running " << describe << "\n";

  // 4. Run.
  tfc_observer_set(observe, &col);
  size_t numOut = tfc_model_num_outputs(model);
  auto tRun = std::chrono::steady_clock::now(), tLine = tRun;
  size_t every = std::max<size_t>(1, samples.size() / 20);
  for (size_t s = 0; s < samples.size(); ++s) {
    std::vector<tfc_tensor> in;
    for (size_t i = 0; i < inputNames.size(); ++i) {
      const char *name;
      tfc_dtype dt;
      int32_t r;
      int64_t dims[TFC_MAX_RANK];
      tfc_model_input_info(model, i, &name, &dt, &r, dims);
      Tensor &t = samples[s][inputNames[i]];
      if (dt == TFC_DTYPE_I32) {
        // Convert in place (the i64 vector has room for the i32 values).
        auto *p = reinterpret_cast<int32_t *>(t.data.data());
        for (size_t e = 0; e < t.data.size(); ++e)
          p[e] = static_cast<int32_t>(t.data[e]);
      } else if (dt != TFC_DTYPE_I64) {
        error = std::string("input '") + name + "' is " + tfc_dtype_name(dt) +
                ", not an integer";
        break;
      }
      tfc_tensor x{};
      x.dtype = dt;
      x.rank = static_cast<int32_t>(t.shape.size());
      for (size_t d = 0; d < t.shape.size(); ++d)
        x.shape[d] = t.shape[d];
      x.data = t.data.data();
      in.push_back(x);
    }
    if (!error.empty())
      break;
    std::vector<tfc_tensor> out(numOut);
    if (tfc_model_run(model, in.data(), in.size(), out.data(), numOut) !=
        TFC_OK) {
      error = std::string("run ") + std::to_string(s) + ": " + tfc_last_error();
      break;
    }
    for (tfc_tensor &o : out)
      tfc_tensor_free(&o);
    samples[s].clear(); // free as we go
    if (!col.error.empty()) {
      error = col.error;
      break;
    }
    // A line per 5% of the samples, at most one per second (and the last).
    bool last = s + 1 == samples.size();
    if (!quiet && (last || ((s + 1) % every == 0 &&
                            seconds(tLine) >= 1.0))) {
      double t = seconds(tRun);
      errs() << format("tfc-calibrate: %zu/%zu samples, %.1f s", s + 1,
                       samples.size(), t);
      if (!last)
        errs() << format(", ~%.0f s left",
                         t / double(s + 1) * double(samples.size() - s - 1));
      errs() << "\n";
      tLine = std::chrono::steady_clock::now();
    }
  }
  tfc_observer_set(nullptr, nullptr);
  tfc_model_free(model);
  cleanup();
  if (!error.empty())
    return fail(error);
  for (const TensorStats &t : col.tensors)
    if (t.rows == 0)
      return fail("tensor '" + t.name + "' was never observed");

  // 5. Write (out empty: the caller keeps the statistics in memory).
  if (!out.empty()) {
    if (!tfc::calib::writeStats(out, sys::path::stem(modelPath).str(),
                                static_cast<int64_t>(samples.size()),
                                col.tensors, error))
      return fail(error);
    if (!quiet)
      errs() << format("tfc-calibrate: wrote %s (%zu tensors%s) in %.1f s\n",
                       out.c_str(), col.tensors.size(),
                       hessiansOpt ? ", with Hessians" : "", seconds(t0));
  }
  if (statsOut)
    *statsOut = std::move(col.tensors);
  return 0;
}

/// The block (transformer layer) of an op key: the text "/layers.N/" (or
/// layer, h, block, blocks with '.' or '_') in it, and N; -1 without one.
static int64_t blockOf(StringRef key, std::string &glob) {
  static const Regex re("[/._](layers?|h|blocks?)[._]([0-9]+)[/._]");
  SmallVector<StringRef, 3> m;
  if (!re.match(key, &m))
    return -1;
  glob = ("*" + m[0] + "*").str();
  int64_t n = -1;
  m[2].getAsInteger(10, n);
  return n;
}

static int sequential(const std::string &tfc, const DataOptions &data) {
  SmallVector<StringRef> words;
  StringRef(sequentialOpt).split(words, ' ', -1, false);
  std::vector<std::string> pruneArgs(tfcArgs.begin(), tfcArgs.end());
  for (StringRef w : words)
    pruneArgs.push_back(w.str());
  for (const std::string &a : pruneArgs)
    if (StringRef(a).starts_with("--calib-stats") ||
        StringRef(a).starts_with("--prune-layers"))
      return fail("--sequential-prune sets " + a.substr(0, a.find('=')) +
                  " itself at each step: leave it out of the arguments");
  if (sequentialGroupOpt < 1)
    return fail("--sequential-group must be at least 1");
  SmallString<256> work;
  if (std::error_code ec = sys::fs::createUniqueDirectory("tfc-seq", work))
    return fail("cannot create a work folder: " + ec.message());
  // Step 0: the dense model, and the blocks from its side table.
  std::vector<std::vector<std::string>> ops;
  std::vector<TensorStats> merged;
  if (!quiet)
    errs() << "tfc-calibrate: sequential step 0 (dense model)\n";
  if (int rc = collect(tfc, tfcArgs, data, "", &ops, &merged))
    return rc;
  std::map<int64_t, std::string> blocks; // index -> glob
  std::vector<int64_t> blockOfTensor;    // per tensor, -1: none
  for (const std::vector<std::string> &o : ops) {
    int64_t tb = -1;
    for (const std::string &key : o) {
      std::string glob;
      int64_t b = blockOf(key, glob);
      if (b >= 0) {
        blocks.emplace(b, glob);
        tb = b;
      }
    }
    blockOfTensor.push_back(tb);
  }
  if (blocks.empty())
    return fail("--sequential-prune: no op key names a layer (\"layers.N\", "
                "\"layer.N\", \"h.N\" or \"blocks.N\"), so there is no "
                "block order to follow");
  std::vector<int64_t> order;
  std::vector<std::string> globs;
  for (auto &b : blocks) {
    order.push_back(b.first);
    globs.push_back(b.second);
  }
  const size_t group = static_cast<size_t>(sequentialGroupOpt);
  const size_t steps = (globs.size() + group - 1) / group;
  // The step whose statistics a tensor keeps: its block's group (the
  // block's sublayers observed with the blocks before it pruned and itself
  // dense, as the papers do); tensors outside every block: the last step.
  std::vector<size_t> stepOfTensor;
  for (int64_t b : blockOfTensor) {
    size_t at = steps - 1;
    if (b >= 0)
      at = static_cast<size_t>(std::find(order.begin(), order.end(), b) -
                               order.begin()) /
           group;
    stepOfTensor.push_back(at);
  }
  if (!quiet)
    errs() << "tfc-calibrate: sequential: " << globs.size() << " blocks ("
           << globs.front() << " .. " << globs.back() << "), " << steps - 1
           << " steps after the dense one\n";
  auto cleanup = [&] {
    if (!keepWork)
      sys::fs::remove_directories(work);
  };
  std::string error;
  for (size_t i = 1; i < steps; ++i) {
    // The statistics so far: each tensor from its own step.
    const std::string prev = (work + "/merged" + Twine(i - 1) + ".json").str();
    if (!tfc::calib::writeStats(prev, sys::path::stem(modelPath).str(),
                                samplesOpt, merged, error)) {
      cleanup();
      return fail(error);
    }
    std::string layers;
    for (size_t b = 0; b < i * group && b < globs.size(); ++b)
      layers += (layers.empty() ? "" : ",") + globs[b];
    std::vector<std::string> args = pruneArgs;
    args.push_back("--calib-stats=" + prev);
    args.push_back("--prune-layers=" + layers);
    if (!quiet)
      errs() << "tfc-calibrate: sequential step " << i << "/" << steps - 1
             << ": blocks " << globs.front() << " .. "
             << globs[std::min(globs.size(), i * group) - 1] << " pruned\n";
    std::vector<TensorStats> step;
    if (int rc = collect(tfc, args, data, "", nullptr, &step)) {
      cleanup();
      return rc;
    }
    if (step.size() != merged.size()) {
      cleanup();
      return fail("sequential step " + Twine(i) + " observed " +
                  Twine(step.size()) + " tensors, the dense model " +
                  Twine(merged.size()));
    }
    for (size_t t = 0; t < step.size(); ++t) {
      if (step[t].name != merged[t].name || step[t].k != merged[t].k) {
        cleanup();
        return fail("sequential step " + Twine(i) + ": tensor " + Twine(t) +
                    " is '" + step[t].name + "', the dense model's '" +
                    merged[t].name + "'");
      }
      if (stepOfTensor[t] == i)
        merged[t] = std::move(step[t]);
    }
  }
  cleanup();
  if (!tfc::calib::writeStats(outPath, sys::path::stem(modelPath).str(),
                              samplesOpt, merged, error))
    return fail(error);
  if (!quiet)
    errs() << "tfc-calibrate: wrote " << outPath
           << " (sequential statistics: prune with the same arguments and "
              "--calib-stats "
           << outPath << ")\n";
  return 0;
}

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(
      argc, argv,
      "tfc-calibrate: activation statistics (and Hessians) of a model's "
      "linear layers, measured by the tfc runtime\n");
  DataOptions data;
  data.path = dataPath;
  data.tokenizer = tokenizerPath;
  data.samples = samplesOpt;
  data.seqLen = seqLenOpt;
  if (modeOpt == "sentences")
    data.mode = Mode::Sentences;
  else if (modeOpt == "windows")
    data.mode = Mode::Windows;
  else if (modeOpt != "auto")
    return fail("--mode=" + modeOpt + ": expected auto, sentences or windows");
  if (samplesOpt <= 0)
    return fail("--calib-samples must be positive");

  if (!StringRef(dataPath).ends_with(".npz") && tokenizerPath.empty())
    return fail("text data needs --tokenizer (the model's own: a Hugging "
                "Face folder, tokenizer.json, .gguf, SentencePiece .model or "
                "llama2.c .bin)");
  if (!sys::fs::exists(dataPath))
    return fail("cannot read the data '" + dataPath + "'");

  std::string tfc = tfcOpt;
  if (tfc.empty()) {
    std::string self = sys::fs::getMainExecutable(argv[0], (void *)&fail);
    SmallString<256> p(sys::path::parent_path(self));
    sys::path::append(p, "tfc");
    tfc = std::string(p);
  }
  if (!sys::fs::can_execute(tfc))
    return fail("cannot run the tfc driver '" + tfc + "' (give --tfc PATH)");
  if (!sequentialOpt.empty())
    return sequential(tfc, data);
  return collect(tfc, tfcArgs, data, outPath, nullptr);
}
