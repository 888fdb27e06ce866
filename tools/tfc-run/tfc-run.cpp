//===- tfc-run.cpp - run, check, benchmark and profile a compiled model ---===//
//
//   tfc-run MODEL.so [--weights W.tfcw] --inputs in.npz [--prefix P]
//           [--reference ref.npz [--atol A] [--rtol R]] [--outputs out.npz]
//           [--bench [--warmup N] [--warmup-ms T] [--iters N]] [--json]
//           [--threads N]
//           [--profile] [--trace out.json] [--cache-mb N [--stats]]
//   tfc-run MODEL.so --inputs prompt.npz --decode N [--max-len M]
//           [--prefill-chunk C] [--bench] [--outputs out.npz]   (Decode.cpp)
//
// Exit status: 0 success, 1 any error or a failed comparison, 2 bad usage.
// See docs/RUNTIME.md.
//
//===----------------------------------------------------------------------===//

#include "Decode.h"
#include "Gemm/Gemm.h"
#include "Isa.h"
#include "Npz.h"
#include "Perplexity.h"
#include "Profile.h"
#include "Signature.h"
#include "WeightsInfo.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <vector>

using namespace tfcrun;

namespace {

const char *kUsage =
    "usage: tfc-run MODEL.so [--weights W.tfcw] [--inputs in.npz] [--prefix "
    "P]\n"
    "               [--reference ref.npz [--atol A] [--rtol R]] [--outputs "
    "out.npz]\n"
    "               [--bench [--warmup N] [--warmup-ms T] [--iters N]] "
    "[--json] [--threads N] "
    "[--profile] [--trace F]\n"
    "  --weights W     weights file (default: MODEL with .so replaced by "
    ".tfcw)\n"
    "  --inputs F      .npz with one array per model input (key: prefix+name)\n"
    "  --prefix P      key prefix for inputs and reference outputs\n"
    "  --reference-prefix P  key prefix for reference outputs (default: "
    "--prefix)\n"
    "  --reference F   .npz with expected outputs; pass iff every element has\n"
    "                  |out-ref| <= atol + rtol*|ref| (default atol 1e-4, "
    "rtol 1e-4)\n"
    "  --outputs F     write the outputs to an .npz (keys: output names)\n"
    "  --runs N        check / write the outputs of the N-th run (default 1)\n"
    "  --bench         time --warmup (3) then --iters (20) runs\n"
    "  --warmup-ms T   with --bench: warm up for at least T ms too (a CPU\n"
    "                  coming out of idle runs slower for a while)\n"
    "  --json          print one JSON object on stdout instead of text\n"
    "  --threads N     runtime threads (default: all cores)\n"
    "  --profile       time per op class and per kernel site with its ONNX\n"
    "                  nodes (model compiled with --profile)\n"
    "  --trace F       write a Chrome trace (Perfetto, chrome://tracing) of\n"
    "                  the timed runs to F: kernels, pool threads, memory\n"
    "                  (with --decode N --bench: the last repetition's decode\n"
    "                  steps)\n"
    "  --cache-mb N    run through a result cache of N MB "
    "(tfc_model_run_cached;\n"
    "                  with --bench the timed runs are hits)\n"
    "  --stats         print the cache's hits, misses and hit rate\n"
    "  --decode N      KV-cache session (model compiled with --kv-cache):\n"
    "                  prefill the inputs, N greedy decode steps, check them\n"
    "                  against the full-sequence entry (atol: the larger of\n"
    "                  1e-4 and 1e-5 of the logits' largest magnitude, unless\n"
    "                  --atol is given); --bench: tokens/s\n"
    "  --max-len M     session cache length (default: the model's)\n"
    "  --prefill-chunk C  prefill C tokens per call\n"
    "  --perplexity F  perplexity over the token ids in text file F (strided\n"
    "                  sliding window: --context C --stride S [--max-chunks "
    "N]\n"
    "                  [--batch B]; docs/ACCURACY.md)\n"
    "  --stream N      with --perplexity and a --kv-cache model: the first N\n"
    "                  tokens (0: all) through one session instead,\n"
    "                  --prefill-chunk C (512) a call, [--max-len M]; the\n"
    "                  perplexity per --bucket B positions (1024) too\n"
    "Under mpirun (scripts/mpirun.sh -np N tfc-run ...; docs/RUNTIME.md):\n"
    "  a partitioned model runs part r on rank r; only rank 0 prints and\n"
    "  writes files; an error on any rank aborts the job (exit 1)\n"
    "  --data-parallel     split the batch (dim 0) over the ranks\n"
    "  --micro-batches M   pipeline models: M micro-batches per run\n";

struct Options {
  std::string model, weights, inputs, prefix, reference, outputs;
  std::optional<std::string> refPrefix; // default: prefix
  double atol = 1e-4, rtol = 1e-4;
  bool atolGiven = false; // --atol on the command line
  bool bench = false, json = false, profile = false;
  std::string trace; // --trace FILE
  int runs = 1; // --runs: the outputs checked / written are the last run's
  int warmup = 3, iters = 20, threads = 0;
  int warmupMs = 0; // --warmup-ms: warm-up runs until this much time passed
  int decode = -1, maxLen = 0, prefillChunk = 0;
  bool dataParallel = false;
  int microBatches = 0; // 0: the runtime's default (TFC_MICRO_BATCHES)
  std::string perplexity; // Perplexity.cpp
  double cacheMb = 0;     // --cache-mb: 0 = no result cache
  bool cacheStats = false; // --stats
  int context = 0, stride = 0, maxChunks = 0, batch = 1;
  int stream = -1, bucket = 0; // --stream N (-1: windows), --bucket B
};

/// Usage error: message, usage text, exit 2.
[[noreturn]] void usageError(const std::string &msg) {
  std::fprintf(stderr, "tfc-run: %s\n%s", msg.c_str(), kUsage);
  std::exit(2);
}

bool parseInt(const char *s, int &out, int minValue) {
  char *end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (!*s || *end || v < minValue || v > 1000000000)
    return false;
  out = static_cast<int>(v);
  return true;
}

bool parseDouble(const char *s, double &out) {
  char *end = nullptr;
  double v = std::strtod(s, &end);
  if (!*s || *end || !(v >= 0))
    return false;
  out = v;
  return true;
}

Options parseArgs(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      if (i + 1 >= argc)
        usageError("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (a == "--weights") {
      o.weights = value();
    } else if (a == "--inputs") {
      o.inputs = value();
    } else if (a == "--prefix") {
      o.prefix = value();
    } else if (a == "--reference-prefix") {
      o.refPrefix = value();
    } else if (a == "--reference") {
      o.reference = value();
    } else if (a == "--outputs") {
      o.outputs = value();
    } else if (a == "--atol" || a == "--rtol") {
      const char *v = value();
      if (!parseDouble(v, a == "--atol" ? o.atol : o.rtol))
        usageError(a + " needs a non-negative number, got '" + v + "'");
      o.atolGiven = o.atolGiven || a == "--atol";
    } else if (a == "--warmup" || a == "--iters" || a == "--threads" ||
               a == "--warmup-ms") {
      const char *v = value();
      int &dst = a == "--warmup"     ? o.warmup
                 : a == "--iters"    ? o.iters
                 : a == "--warmup-ms" ? o.warmupMs
                                     : o.threads;
      if (!parseInt(v, dst, a == "--iters" ? 1 : 0))
        usageError(a + " needs a " +
                   (a == "--iters" ? "positive" : "non-negative") +
                   " integer, got '" + v + "'");
    } else if (a == "--decode" || a == "--max-len" ||
               a == "--prefill-chunk") {
      const char *v = value();
      int &dst = a == "--decode"    ? o.decode
                 : a == "--max-len" ? o.maxLen
                                    : o.prefillChunk;
      if (!parseInt(v, dst, 0))
        usageError(a + " needs a non-negative integer, got '" + v + "'");
    } else if (a == "--perplexity") {
      o.perplexity = value();
    } else if (a == "--context" || a == "--stride" || a == "--max-chunks" ||
               a == "--batch") {
      const char *v = value();
      int &dst = a == "--context"  ? o.context
                 : a == "--stride" ? o.stride
                 : a == "--batch"  ? o.batch
                                   : o.maxChunks;
      if (!parseInt(v, dst, a == "--batch" ? 1 : 0))
        usageError(a + " needs a non-negative integer, got '" + v + "'");
    } else if (a == "--stream" || a == "--bucket") {
      const char *v = value();
      if (!parseInt(v, a == "--stream" ? o.stream : o.bucket,
                    a == "--stream" ? 0 : 1))
        usageError(a + " needs a " +
                   (a == "--stream" ? "non-negative" : "positive") +
                   " integer, got '" + v + "'");
    } else if (a == "--bench") {
      o.bench = true;
    } else if (a == "--runs") {
      const char *v = value();
      if (!parseInt(v, o.runs, 1))
        usageError(a + " needs a positive integer, got '" + v + "'");
    } else if (a == "--data-parallel") {
      o.dataParallel = true;
    } else if (a == "--micro-batches") {
      const char *v = value();
      if (!parseInt(v, o.microBatches, 1))
        usageError(a + " needs a positive integer, got '" + v + "'");
    } else if (a == "--cache-mb") {
      const char *v = value();
      if (!parseDouble(v, o.cacheMb) || o.cacheMb <= 0)
        usageError(a + " needs a positive number, got '" + v + "'");
    } else if (a == "--stats") {
      o.cacheStats = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--profile") {
      o.profile = true;
    } else if (a == "--trace") {
      o.trace = value();
    } else if (!a.empty() && a[0] == '-') {
      usageError("unknown option '" + a + "'");
    } else if (o.model.empty()) {
      o.model = a;
    } else {
      usageError("unexpected argument '" + a + "' (one model at a time)");
    }
  }
  if (o.model.empty())
    usageError("no model given");
  if (!o.trace.empty() && (o.dataParallel || !o.perplexity.empty()))
    usageError("--trace records whole-model runs or decode steps; it does "
               "not combine with --data-parallel or --perplexity");
  if (!o.trace.empty() && o.decode >= 0 && !o.bench)
    usageError("--trace with --decode records the last --bench "
               "repetition's decode steps: add --bench");
  if ((o.stream >= 0 || o.bucket > 0) && o.perplexity.empty())
    usageError("--stream and --bucket go with --perplexity F");
  if (o.stream >= 0 && (o.context || o.stride || o.maxChunks || o.batch > 1))
    usageError("--stream streams one session: --prefill-chunk C, not "
               "--context / --stride / --max-chunks / --batch");
  if (o.cacheStats && o.cacheMb <= 0)
    usageError("--stats reports the result cache: give --cache-mb N");
  if (o.cacheMb > 0 && (o.dataParallel || o.decode >= 0 ||
                        !o.perplexity.empty()))
    usageError("--cache-mb caches whole-model runs; it does not combine with "
               "--data-parallel, --decode or --perplexity");
  return o;
}

bool fileExists(const std::string &path, uint64_t *size = nullptr) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    return false;
  if (size)
    *size = static_cast<uint64_t>(st.st_size);
  return true;
}

/// "[batch, 4]": the dims of input/output i, dynamic ones by symbol.
std::string dimsString(const tfc_model *m, size_t i, bool input) {
  tfcrt::Signature sig;
  std::string error;
  if (!tfcrt::parseSignature(*tfc_model_get_desc(m), sig, error))
    return "?";
  const auto &specs = input ? sig.inputs : sig.outputs;
  if (i >= specs.size())
    return "?";
  std::string s = "[";
  for (int32_t d = 0; d < specs[i].rank; ++d)
    s += (d ? ", " : "") + (specs[i].dims[d] < 0
                                ? specs[i].symbols[d]
                                : std::to_string(specs[i].dims[d]));
  return s + "]";
}

/// Comparison of one output with its reference.
struct Check {
  std::string name, key;
  bool pass = false;
  double maxAbs = 0, maxRel = 0;
  std::string message; // why it failed, or ""
};

Check compare(const std::string &name, const std::string &key,
              const NpyArray &out, const NpyArray &ref, double atol,
              double rtol) {
  Check c;
  c.name = name;
  c.key = key;
  if (out.shape() != ref.shape()) {
    c.message = "shape " + shapeString(out.shape()) +
                " differs from the "
                "reference's " +
                shapeString(ref.shape());
    return c;
  }
  const int64_t n = out.numElements();
  int64_t worst = -1, bad = 0;
  double worstExcess = 0;
  for (int64_t i = 0; i < n; ++i) {
    double a = out.at(i), b = ref.at(i);
    if (std::isnan(a) || std::isnan(b)) {
      if (std::isnan(a) && std::isnan(b))
        continue;
      c.maxAbs = INFINITY;
      ++bad;
      if (worstExcess != INFINITY) {
        worstExcess = INFINITY;
        worst = i;
      }
      continue;
    }
    double diff = a == b ? 0.0 : std::fabs(a - b); // inf == inf is a match
    c.maxAbs = std::max(c.maxAbs, diff);
    if (b != 0)
      c.maxRel = std::max(c.maxRel, diff / std::fabs(b));
    double excess = diff - (atol + rtol * std::fabs(b));
    if (excess > 0 || std::isnan(excess)) {
      ++bad;
      if (worst < 0 || excess > worstExcess) {
        worstExcess = excess;
        worst = i;
      }
    }
  }
  c.pass = bad == 0;
  if (!c.pass) {
    char buf[256];
    std::snprintf(buf, sizeof(buf),
                  "%lld of %lld elements out of tolerance; worst at flat "
                  "index %lld: got %.9g, reference %.9g",
                  (long long)bad, (long long)n, (long long)worst, out.at(worst),
                  ref.at(worst));
    c.message = buf;
  }
  return c;
}

double percentile(std::vector<double> sorted, double q) {
  if (sorted.empty())
    return 0;
  double pos = q * (sorted.size() - 1);
  size_t lo = static_cast<size_t>(pos);
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

double nowMs() {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Everything we report, gathered before printing.
struct Report {
  std::string modelName;
  std::vector<std::string> outputLines;
  std::vector<Check> checks;
  std::vector<double> timesMs; // timed runs
  int warmup = 0;
  int64_t batch = -1;
  std::string batchSymbol;
  uint64_t codeBytes = 0, weightsBytes = 0;
  ProfileData profile;
  int profiledRuns = 0;
  std::vector<WeightsClassRow> weightsByClass; // bytes, precision per class
  std::string weightsInfoError;
};

class Runner {
public:
  explicit Runner(const Options &o) : opt(o) {}
  ~Runner() {
    freeOutputs();
    tfc_cache_free(cache);
    tfc_model_free(model);
  }

  int run();

private:
  /// Error that is not a usage error: message on stderr (and JSON), exit 1.
  int fail(const std::string &msg) {
    std::fprintf(stderr, "tfc-run: %serror: %s\n", rankPrefix().c_str(),
                 msg.c_str());
    if (opt.json)
      std::printf("{\"ok\": false, \"error\": \"%s\"}\n",
                  jsonEscape(msg).c_str());
    return 1;
  }
  void freeOutputs() {
    for (tfc_tensor &t : outputs)
      tfc_tensor_free(&t);
  }
  int loadModel();
  int prepareInputs();
  int runOnce();
  int writeTrace();
  void printText(bool allPass) const;
  void printJson(bool allPass) const;
  void printWeightsByClass() const;

  const Options &opt;
  std::string weightsPath;
  tfc_model *model = nullptr;
  std::map<std::string, NpyArray> inputFile;
  std::vector<tfc_tensor> inputs;
  std::vector<tfc_tensor> outputs;
  Report rep;
  tfc_cache *cache = nullptr; // --cache-mb
};

#ifdef TFC_RUN_LINKED
// tfc-run with the model object linked in (tfc-link-run builds it): the
// descriptor comes from a glue object, and MODEL names the weights file.
extern "C" const tfc_model_desc *const tfc_linked_model_desc;
#endif

int Runner::loadModel() {
#ifdef TFC_RUN_LINKED
  weightsPath = opt.weights.empty() ? opt.model : opt.weights;
  if (!fileExists(weightsPath, &rep.weightsBytes))
    return fail("weights file '" + weightsPath + "' does not exist");
  if (opt.threads > 0)
    tfc_set_num_threads(opt.threads);
  if (tfc_model_load(tfc_linked_model_desc, weightsPath.c_str(), &model) !=
      TFC_OK)
    return fail(tfc_last_error());
  rep.modelName = tfc_linked_model_desc->name ? tfc_linked_model_desc->name : "";
  return 0;
#endif
  if (!fileExists(opt.model))
    return fail("model library '" + opt.model + "' does not exist");
  weightsPath = opt.weights;
  bool defaultWeights = weightsPath.empty();
  if (defaultWeights) {
    const std::string so = ".so";
    weightsPath = opt.model;
    if (weightsPath.size() > so.size() &&
        weightsPath.compare(weightsPath.size() - so.size(), so.size(), so) == 0)
      weightsPath.resize(weightsPath.size() - so.size());
    weightsPath += ".tfcw";
  }
  bool haveWeights = fileExists(weightsPath, &rep.weightsBytes);
  if (!defaultWeights && !haveWeights)
    return fail("weights file '" + weightsPath + "' does not exist");
  if (opt.threads > 0)
    tfc_set_num_threads(opt.threads);
  tfc_status s = tfc_model_load_shared(
      opt.model.c_str(), haveWeights ? weightsPath.c_str() : nullptr, &model);
  if (s != TFC_OK) {
    std::string msg = tfc_last_error();
    if (!haveWeights && s == TFC_ERR_INVALID_ARGUMENT)
      msg += " (no --weights given and the default '" + weightsPath +
             "' does not exist)";
    return fail(msg);
  }
  if (!haveWeights)
    weightsPath.clear();
  fileExists(opt.model, &rep.codeBytes);
  const tfc_model_desc *desc = tfc_model_get_desc(model);
  rep.modelName = desc->name ? desc->name : "";
  return 0;
}

int Runner::prepareInputs() {
  size_t n = tfc_model_num_inputs(model);
  if (n == 0)
    return 0;
  if (opt.inputs.empty())
    usageError("the model has " + std::to_string(n) +
               " input(s); give them with --inputs FILE.npz");
  std::string error;
  if (!readNpz(opt.inputs, inputFile, error))
    return fail(error);
  std::map<std::string, int64_t> symbols;
  for (size_t i = 0; i < n; ++i) {
    const char *name;
    tfc_dtype dtype;
    int32_t rank;
    int64_t dims[TFC_MAX_RANK];
    tfc_model_input_info(model, i, &name, &dtype, &rank, dims);
    std::string key = opt.prefix + name;
    auto it = inputFile.find(key);
    std::string where = "input '" + std::string(name) + "' (key '" + key +
                        "' in '" + opt.inputs + "')";
    if (it == inputFile.end()) {
      std::string keys;
      for (const auto &kv : inputFile)
        keys += (keys.empty() ? "" : ", ") + kv.first;
      return fail("input '" + std::string(name) + "': key '" + key +
                  "' not found in '" + opt.inputs +
                  "' (keys: " + (keys.empty() ? "none" : keys) + ")");
    }
    const NpyArray &a = it->second;
    if (a.dtype() != dtype)
      return fail(where + " has dtype " + tfc_dtype_name(a.dtype()) +
                  ", the model expects " + tfc_dtype_name(dtype));
    if (static_cast<int32_t>(a.shape().size()) != rank)
      return fail(where + " has shape " + shapeString(a.shape()) + " (rank " +
                  std::to_string(a.shape().size()) +
                  "), the model expects rank " + std::to_string(rank) + " " +
                  dimsString(model, i, true));
    for (int32_t d = 0; d < rank; ++d)
      if (dims[d] >= 0 && a.shape()[d] != dims[d])
        return fail(where + " has shape " + shapeString(a.shape()) +
                    ", the model expects " + dimsString(model, i, true));
    tfc_tensor t{};
    t.dtype = a.dtype();
    t.rank = rank;
    for (int32_t d = 0; d < rank; ++d)
      t.shape[d] = a.shape()[d];
    t.data = const_cast<void *>(a.data());
    inputs.push_back(t);
  }
  // A dynamic dim whose symbol mentions "batch" gives samples/s. The info
  // API reports dynamic dims as -1; the symbols are in the signature.
  tfcrt::Signature sig;
  std::string sigError;
  if (tfcrt::parseSignature(*tfc_model_get_desc(model), sig, sigError)) {
    for (size_t i = 0; i < sig.inputs.size() && rep.batch < 0; ++i) {
      for (int32_t d = 0; d < sig.inputs[i].rank && rep.batch < 0; ++d) {
        std::string lower = sig.inputs[i].symbols[d];
        for (char &c : lower)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower.find("batch") != std::string::npos) {
          rep.batch = inputs[i].shape[d];
          rep.batchSymbol = sig.inputs[i].symbols[d];
        }
      }
    }
  }
  return 0;
}

int Runner::runOnce() {
  freeOutputs();
  outputs.assign(tfc_model_num_outputs(model), tfc_tensor{});
  tfc_status s =
      opt.dataParallel
          ? tfc_model_run_data_parallel(model, inputs.data(), inputs.size(),
                                        outputs.data(), outputs.size())
          : tfc_model_run_cached(model, cache, inputs.data(), inputs.size(),
                                 outputs.data(), outputs.size());
  if (s != TFC_OK) {
    outputs.clear();
    return fail(std::string("run failed (") + tfc_status_string(s) +
                "): " + tfc_last_error());
  }
  return 0;
}

/// --trace: stops the trace begun before the timed runs and writes it.
int Runner::writeTrace() {
  if (!writeTraceFile(model, opt.trace,
                      std::to_string(rep.profiledRuns) + " run(s)"))
    return fail(tfc_last_error());
  return 0;
}

int Runner::run() {
  if (int rc = loadModel())
    return rc;
  if (!weightsPath.empty() &&
      !weightsByClass(weightsPath, rep.weightsByClass, rep.weightsInfoError))
    rep.weightsByClass.clear();
  if (!opt.perplexity.empty()) {
    PerplexityOptions p;
    p.tokens = opt.perplexity;
    p.context = opt.context;
    p.stride = opt.stride;
    p.maxChunks = opt.maxChunks;
    p.batch = opt.batch;
    p.json = opt.json;
    p.stream = opt.stream;
    p.chunk = opt.prefillChunk;
    p.maxLen = opt.maxLen;
    p.bucket = opt.bucket;
    return p.stream >= 0 ? runStreamPerplexity(model, p)
                         : runPerplexity(model, p);
  }
  if (int rc = prepareInputs())
    return rc;
  if (opt.cacheMb > 0 &&
      tfc_cache_create(static_cast<uint64_t>(opt.cacheMb * 1024 * 1024),
                       &cache) != TFC_OK)
    return fail(tfc_last_error());
  if (opt.decode >= 0) {
    DecodeOptions d;
    d.steps = opt.decode;
    d.maxLen = opt.maxLen;
    d.chunk = opt.prefillChunk;
    d.atol = opt.atol;
    d.atolScaled = !opt.atolGiven;
    d.rtol = opt.rtol;
    d.bench = opt.bench;
    d.iters = opt.bench ? std::max(1, std::min(opt.iters, 5)) : 0;
    d.outputs = opt.outputs;
    d.profile = opt.profile && opt.bench;
    d.trace = opt.trace;
    d.json = opt.json;
    d.weightsBytes = rep.weightsBytes;
    d.weights = rep.weightsByClass; // also decides the check (Decode.cpp)
    std::vector<std::string> names;
    for (size_t i = 0; i < inputs.size(); ++i) {
      const char *name = nullptr;
      tfc_model_input_info(model, i, &name, nullptr, nullptr, nullptr);
      names.push_back(name ? name : "");
    }
    return runDecode(model, names, inputs, d);
  }
  std::map<std::string, NpyArray> refFile;
  if (!opt.reference.empty()) {
    std::string error;
    if (!readNpz(opt.reference, refFile, error))
      return fail(error);
  }
  tfc_profile_enable(opt.profile ? 1 : 0);
  tfc_profile_reset();
  if (!opt.trace.empty() && !opt.bench)
    tfc_trace_start(0);

  // Runs before the one whose outputs we check (--runs N: e.g. a GPU
  // model's third run of a shape replays a CUDA graph).
  for (int i = 1; i < opt.runs; ++i)
    if (int rc = runOnce())
      return rc;
  // First (or N-th) run: the outputs we check and write.
  double t0 = nowMs();
  if (int rc = runOnce())
    return rc;
  double firstMs = nowMs() - t0;

  std::vector<std::pair<std::string, NpyArray>> outArrays;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const char *name;
    tfc_model_output_info(model, i, &name, nullptr, nullptr, nullptr);
    const tfc_tensor &t = outputs[i];
    NpyArray a;
    std::vector<int64_t> shape(t.shape, t.shape + t.rank);
    if (!a.allocate(t.dtype, shape))
      return fail("out of memory copying output '" + std::string(name) + "'");
    if (a.numBytes())
      std::memcpy(a.data(), t.data, a.numBytes());
    rep.outputLines.push_back("output '" + std::string(name) +
                              "': " + tfc_dtype_name(t.dtype) + " " +
                              shapeString(shape));
    outArrays.emplace_back(name, std::move(a));
  }
  if (!opt.reference.empty()) {
    for (const auto &o : outArrays) {
      std::string key = opt.refPrefix.value_or(opt.prefix) + o.first;
      auto it = refFile.find(key);
      if (it == refFile.end()) {
        Check c;
        c.name = o.first;
        c.key = key;
        c.message = "key '" + key + "' not found in '" + opt.reference + "'";
        rep.checks.push_back(c);
        continue;
      }
      rep.checks.push_back(
          compare(o.first, key, o.second, it->second, opt.atol, opt.rtol));
    }
  }
  if (!opt.outputs.empty()) {
    std::vector<std::pair<std::string, const NpyArray *>> list;
    for (const auto &o : outArrays)
      list.emplace_back(o.first, &o.second);
    std::string error;
    if (!writeNpz(opt.outputs, list, /*compress=*/false, error))
      return fail(error);
  }

  if (opt.bench) {
    // --warmup runs, and more until --warmup-ms have passed.
    const double warmStart = nowMs();
    int warmed = 0;
    while (warmed < opt.warmup ||
           (opt.warmupMs > 0 && nowMs() - warmStart < opt.warmupMs)) {
      if (int rc = runOnce())
        return rc;
      ++warmed;
    }
    rep.warmup = warmed;
    tfc_profile_reset();
    if (!opt.trace.empty())
      tfc_trace_start(0);
    for (int i = 0; i < opt.iters; ++i) {
      double s = nowMs();
      if (int rc = runOnce())
        return rc;
      rep.timesMs.push_back(nowMs() - s);
    }
    rep.profiledRuns = opt.iters;
  } else {
    rep.timesMs.push_back(firstMs);
    // The profile was reset before the first of the --runs runs, so it
    // holds all of them (it divided by 1: --runs 5 reported 5x the time and
    // calls of one run).
    rep.profiledRuns = opt.runs;
  }
  if (opt.profile)
    rep.profile = collectProfile(model, rep.profiledRuns);
  if (!opt.trace.empty())
    if (int rc = writeTrace())
      return rc;
  freeOutputs();

  bool allPass = true;
  for (const Check &c : rep.checks)
    allPass = allPass && c.pass;
  if (opt.json)
    printJson(allPass);
  else
    printText(allPass);
  return allPass ? 0 : 1;
}

double peakRssMb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss / 1024.0; // KiB on Linux
}

/// One line per (op class, precision) of the weights file (--bench).
void Runner::printWeightsByClass() const {
  if (!rep.weightsInfoError.empty())
    std::printf("  weights by op class: %s\n", rep.weightsInfoError.c_str());
  for (const WeightsClassRow &r : rep.weightsByClass)
    std::printf("  weights %-12s %-24s %10.2f MB in %lld tensor(s)\n",
                r.opClass.c_str(), r.precision.c_str(), r.bytes / 1e6,
                (long long)r.tensors);
}

void Runner::printText(bool allPass) const {
  std::printf("model '%s' (%s, code %.2f MB; weights %s, %.2f MB), %d "
              "threads, kernels %s on %s\n",
              rep.modelName.c_str(), opt.model.c_str(), rep.codeBytes / 1e6,
              weightsPath.empty() ? "none" : weightsPath.c_str(),
              rep.weightsBytes / 1e6, tfc_get_num_threads(),
              tfcrt::isa::describe(), tfcrt::isa::cpuName());
  for (const std::string &l : rep.outputLines)
    std::printf("%s\n", l.c_str());
  for (const Check &c : rep.checks) {
    std::printf("check '%s' vs '%s': max abs err %.3g, max rel err %.3g "
                "(atol %g, rtol %g): %s\n",
                c.name.c_str(), c.key.c_str(), c.maxAbs, c.maxRel, opt.atol,
                opt.rtol, c.pass ? "PASS" : "FAIL");
    if (!c.pass)
      std::printf("  %s\n", c.message.c_str());
  }
  if (!rep.checks.empty())
    std::printf("%s\n", allPass ? "PASS" : "FAIL");
  std::vector<double> sorted = rep.timesMs;
  std::sort(sorted.begin(), sorted.end());
  double median = percentile(sorted, 0.5);
  tfc_memory_stats mem;
  tfc_memory_stats_get(&mem);
  if (opt.bench) {
    std::printf("bench: %d runs after %d warm-up\n", opt.iters, rep.warmup);
    std::printf("  latency ms: median %.3f  p10 %.3f  p90 %.3f  min %.3f\n",
                median, percentile(sorted, 0.1), percentile(sorted, 0.9),
                sorted.front());
    std::printf("  throughput: %.2f runs/s", 1000.0 / median);
    if (rep.batch > 0)
      std::printf(", %.1f samples/s (%s = %lld)", rep.batch * 1000.0 / median,
                  rep.batchSymbol.c_str(), (long long)rep.batch);
    std::printf("\n");
    printWeightsByClass();
  } else {
    std::printf("latency: %.3f ms (one run; --bench for statistics)\n", median);
  }
  std::printf("  peak memory: RSS %.1f MB, runtime allocations %.2f MB\n",
              peakRssMb(), mem.peak_bytes / 1e6);
  if (opt.cacheStats) {
    tfc_cache_stats cs{};
    tfc_cache_get_stats(cache, &cs);
    uint64_t lookups = cs.hits + cs.misses;
    std::printf("cache: %llu hits, %llu misses, hit rate %.1f%%; %llu "
                "entries, %.3f of %.3f MB, %llu evictions, %llu too large\n",
                (unsigned long long)cs.hits, (unsigned long long)cs.misses,
                lookups ? 100.0 * cs.hits / lookups : 0.0,
                (unsigned long long)cs.entries, cs.bytes / 1048576.0,
                cs.capacity_bytes / 1048576.0,
                (unsigned long long)cs.evictions,
                (unsigned long long)cs.rejected);
  }
  if (opt.profile)
    printProfileText(rep.profile);
}

void Runner::printJson(bool allPass) const {
  std::vector<double> sorted = rep.timesMs;
  std::sort(sorted.begin(), sorted.end());
  double median = percentile(sorted, 0.5);
  tfc_memory_stats mem;
  tfc_memory_stats_get(&mem);
  std::string j = "{";
  auto field = [&](const std::string &k, const std::string &v) {
    if (j.size() > 1)
      j += ", ";
    j += "\"" + k + "\": " + v;
  };
  auto str = [](const std::string &s) { return "\"" + jsonEscape(s) + "\""; };
  field("ok", allPass ? "true" : "false");
  field("model", str(rep.modelName));
  field("library", str(opt.model));
  field("weights", str(weightsPath));
  field("threads", std::to_string(tfc_get_num_threads()));
  field("gemm_isa", str(tfcrt::gemm::isaName(tfcrt::gemm::detectIsa())));
  field("kernel_isa", str(tfcrt::isa::describe()));
  field("cpu", str(tfcrt::isa::cpuName()));
#ifdef TFC_GIT_COMMIT
  field("commit", str(TFC_GIT_COMMIT));
#endif
  field("bench", opt.bench ? "true" : "false");
  field("warmup", std::to_string(rep.warmup));
  field("iters", std::to_string(rep.timesMs.size()));
  field("median_ms", jsonNumber(median));
  field("p10_ms", jsonNumber(percentile(sorted, 0.1)));
  field("p90_ms", jsonNumber(percentile(sorted, 0.9)));
  field("min_ms", jsonNumber(sorted.front()));
  field("runs_per_s", jsonNumber(1000.0 / median));
  if (rep.batch > 0) {
    field("batch", std::to_string(rep.batch));
    field("samples_per_s", jsonNumber(rep.batch * 1000.0 / median));
  }
  field("peak_rss_mb", jsonNumber(peakRssMb()));
  field("peak_alloc_mb", jsonNumber(mem.peak_bytes / 1e6));
  field("code_bytes", std::to_string(rep.codeBytes));
  field("weights_bytes", std::to_string(rep.weightsBytes));
  {
    std::string w = "[";
    for (size_t i = 0; i < rep.weightsByClass.size(); ++i) {
      const WeightsClassRow &r = rep.weightsByClass[i];
      w += std::string(i ? ", " : "") + "{\"op_class\": " + str(r.opClass) +
           ", \"precision\": " + str(r.precision) +
           ", \"tensors\": " + std::to_string(r.tensors) +
           ", \"bytes\": " + std::to_string(r.bytes) + "}";
    }
    field("weights_by_class", w + "]");
    if (!rep.weightsInfoError.empty())
      field("weights_by_class_error", str(rep.weightsInfoError));
  }
  std::string outs = "[";
  for (size_t i = 0; i < rep.outputLines.size(); ++i)
    outs += (i ? ", " : "") + str(rep.outputLines[i]);
  field("outputs", outs + "]");
  if (!rep.checks.empty()) {
    std::string checks = "[";
    for (size_t i = 0; i < rep.checks.size(); ++i) {
      const Check &c = rep.checks[i];
      checks += std::string(i ? ", " : "") + "{\"name\": " + str(c.name) +
                ", \"key\": " + str(c.key) +
                ", \"pass\": " + (c.pass ? "true" : "false") +
                ", \"max_abs_err\": " + jsonNumber(c.maxAbs) +
                ", \"max_rel_err\": " + jsonNumber(c.maxRel) +
                (c.message.empty() ? "" : ", \"message\": " + str(c.message)) +
                "}";
    }
    field("checks", checks + "]");
    field("pass", allPass ? "true" : "false");
    field("atol", jsonNumber(opt.atol));
    field("rtol", jsonNumber(opt.rtol));
  }
  if (cache) {
    tfc_cache_stats cs{};
    tfc_cache_get_stats(cache, &cs);
    uint64_t lookups = cs.hits + cs.misses;
    field("cache",
          "{\"hits\": " + std::to_string(cs.hits) +
              ", \"misses\": " + std::to_string(cs.misses) +
              ", \"hit_rate\": " +
              jsonNumber(lookups ? double(cs.hits) / lookups : 0.0) +
              ", \"entries\": " + std::to_string(cs.entries) +
              ", \"bytes\": " + std::to_string(cs.bytes) +
              ", \"capacity_bytes\": " + std::to_string(cs.capacity_bytes) +
              ", \"evictions\": " + std::to_string(cs.evictions) + "}");
  }
  if (opt.profile) {
    if (j.size() > 1)
      j += ", ";
    j += profileJson(rep.profile);
  }
  if (!opt.trace.empty())
    field("trace", str(opt.trace));
  j += "}";
  std::printf("%s\n", j.c_str());
}

} // namespace

int main(int argc, char **argv) {
  Options opt = parseArgs(argc, argv);
  // Under mpirun: one process per rank (a single rank otherwise).
  if (tfc_dist_init() != TFC_OK) {
    std::fprintf(stderr, "tfc-run: error: %s\n", tfc_last_error());
    return 1;
  }
  bool multi = tfc_dist_size() > 1;
  if (multi && tfc_dist_rank() != 0) {
    // Only rank 0 reports; errors still reach stderr.
    if (!std::freopen("/dev/null", "w", stdout))
      std::fprintf(stderr, "tfc-run: cannot silence rank %d\n",
                   tfc_dist_rank());
    opt.outputs.clear();
  }
  if (opt.microBatches > 0)
    tfc_set_micro_batches(opt.microBatches);
  int rc;
  {
    Runner runner(opt);
    rc = runner.run();
  }
  std::fflush(stdout);
  std::fflush(stderr);
  if (multi && rc != 0) {
    // The other ranks may wait for this one in a collective: end them all.
    std::fprintf(stderr, "tfc-run: rank %d failed; aborting the %d-rank "
                 "job\n", tfc_dist_rank(), tfc_dist_size());
    tfc_dist_abort(rc);
  }
  tfc_dist_finalize();
  return rc;
}
