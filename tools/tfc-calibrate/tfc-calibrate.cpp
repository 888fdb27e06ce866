//===- tfc-calibrate.cpp - activation statistics by our own runtime -------===//
//
//   tfc-calibrate model.onnx --data FILE [--tokenizer PATH] [--calib-samples N]
//       [--seq-len L] [--mode auto|sentences|windows] [--hessians]
//       [--num-threads T] [--tfc PATH] [--tfc-arg ARG]... -o stats.json
//
// Compiles the fp32 model with observers (`tfc --observe --emit=shared`, the
// driver found next to this tool), runs it through libtfcrt on the
// calibration samples (CalibData.h) with an observer registered
// (tfc_observer_set) that feeds every linear layer's input to the
// calibration library (tfc/Calibration/Stats.h), and writes the stats file
// (JSON + .bin sidecar) that `tfc --quantize=... --calib-stats` reads.
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
#include "llvm/Support/raw_ostream.h"

#include <chrono>

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

int main(int argc, char **argv) {
  InitLLVM y(argc, argv);
  cl::ParseCommandLineOptions(
      argc, argv,
      "tfc-calibrate: activation statistics (and Hessians) of a model's "
      "linear layers, measured by the tfc runtime\n");
  auto t0 = std::chrono::steady_clock::now();
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

  // 1. The observed compile.
  std::string tfc = tfcOpt;
  if (tfc.empty()) {
    std::string self = sys::fs::getMainExecutable(argv[0], (void *)&fail);
    SmallString<256> p(sys::path::parent_path(self));
    sys::path::append(p, "tfc");
    tfc = std::string(p);
  }
  if (!sys::fs::can_execute(tfc))
    return fail("cannot run the tfc driver '" + tfc + "' (give --tfc PATH)");
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
  for (const std::string &a : tfcArgs)
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

  // 5. Write.
  if (!tfc::calib::writeStats(outPath, sys::path::stem(modelPath).str(),
                              static_cast<int64_t>(samples.size()),
                              col.tensors, error))
    return fail(error);
  if (!quiet)
    errs() << format("tfc-calibrate: wrote %s (%zu tensors%s) in %.1f s\n",
                     outPath.c_str(), col.tensors.size(),
                     hessiansOpt ? ", with Hessians" : "", seconds(t0));
  return 0;
}
