//===- Model.cpp - load a compiled model and run its entry ----------------===//
//
// The entry ABI (tfc_runtime.h): entry(results*, weights*, in0*, ...), every
// argument a pointer to an MLIR ranked memref descriptor
//   { void *allocated; void *aligned; int64_t offset;
//     int64_t sizes[rank]; int64_t strides[rank]; }
// We build those descriptors as arrays of int64-sized words, which is exactly
// their layout on LP64 targets.
//
//===----------------------------------------------------------------------===//

#include "Model.h"
#include "Isa.h"
#include "tfc/Support/PackedWeights.h"
#include "Cuda/CudaModel.h"

#include <array>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <new>
#include <unordered_set>
#include <utility>

using namespace tfcrt;

namespace {

static_assert(sizeof(void *) == sizeof(int64_t), "LP64 only");

/// Words (8 bytes each) of a rank-r memref descriptor.
size_t descriptorWords(int32_t rank) {
  return 3 + 2 * static_cast<size_t>(rank);
}

/// Whether a rank-r view with `sizes` / `strides` is dense row-major (a
/// size-1 dim's stride does not matter; sizes <= 0 count as 1).
bool denseRowMajor(const int64_t *sizes, const int64_t *strides, int32_t rank) {
  int64_t expect = 1;
  for (int32_t k = rank - 1; k >= 0; --k) {
    if (sizes[k] != 1 && strides[k] != expect)
      return false;
    expect *= sizes[k] > 0 ? sizes[k] : 1;
  }
  return true;
}

/// Fills a descriptor over contiguous row-major data.
void fillDescriptor(int64_t *d, const void *data, int32_t rank,
                    const int64_t *shape) {
  void *ptr = const_cast<void *>(data);
  std::memcpy(&d[0], &ptr, sizeof(ptr));
  std::memcpy(&d[1], &ptr, sizeof(ptr));
  d[2] = 0;
  int64_t stride = 1;
  for (int32_t i = rank - 1; i >= 0; --i) {
    d[3 + i] = shape[i];
    d[3 + rank + i] = stride;
    stride *= shape[i];
  }
}

/// A model whose generated code needs an ISA this CPU lacks, or whose packed
/// weights have another layout version, is refused with the reason: running
/// it would fault (illegal instruction) or misread the weights.
tfc_status checkRequirements(const tfc_model_desc &desc,
                             const std::string &where) {
  if (!(desc.flags & TFC_MODEL_FLAG_REQUIREMENTS))
    return TFC_OK;
  // TFCRT_CPU (not TFCRT_ISA) caps this check, so a Zen 4 can play a Zen 3.
  struct {
    uint32_t bit;
    isa::Level level;
    const char *what;
  } needs[] = {{TFC_ISA_AVX2, isa::Level::Avx2, "AVX2 and FMA"},
               {TFC_ISA_AVX512, isa::Level::Avx512, "AVX-512 (F/BW/VL/DQ)"}};
  for (const auto &n : needs)
    if ((desc.required_isa & n.bit) &&
        static_cast<int>(isa::hardwareLevel()) < static_cast<int>(n.level))
      return setError(
          TFC_ERR_UNSUPPORTED,
          format("%s: the model's code was compiled for a CPU with %s, which "
                 "this CPU lacks (compiled with --cpu=host or a newer --cpu; "
                 "recompile with the default --cpu=x86-64-v3%s)",
                 where.c_str(), n.what,
                 n.bit == TFC_ISA_AVX2 ? " or --cpu=x86-64" : ""));
  if (desc.pack_version != 0 && desc.pack_version != TFC_PACK_VERSION)
    return setError(
        TFC_ERR_UNSUPPORTED,
        format("%s: the model's weights are packed in layout version %u, but "
               "this runtime's kernels read version %u (recompile the model "
               "with a tfc matching this runtime)",
               where.c_str(), desc.pack_version, TFC_PACK_VERSION));
  return TFC_OK;
}

tfc_status finishLoad(tfc_model *m, const tfc_model_desc *desc,
                      const char *weightsPath) {
  std::string where = m->libraryPath.empty() ? "model" : m->libraryPath;
  if (desc->abi_version != TFC_ABI_VERSION)
    return setError(TFC_ERR_UNSUPPORTED,
                    format("%s: ABI version %u, but this runtime implements "
                           "version %u (recompile the model)",
                           where.c_str(), desc->abi_version, TFC_ABI_VERSION));
  if (!desc->entry)
    return setError(
        TFC_ERR_CORRUPT,
        format("%s: descriptor has no entry function", where.c_str()));
  std::string error;
  if (!parseSignature(*desc, m->signature, error))
    return setError(TFC_ERR_CORRUPT, where + ": " + error);
  if (m->signature.inputs.size() > kMaxInputs)
    return setError(TFC_ERR_UNSUPPORTED,
                    format("%s: %zu inputs, the runtime supports at most %zu",
                           where.c_str(), m->signature.inputs.size(),
                           kMaxInputs));
  m->desc = desc;
  if (tfc_status s = checkRequirements(*desc, where); s != TFC_OK)
    return s;
  if (tfc_status s = loadPartitions(m); s != TFC_OK)
    return s;

  if (weightsPath) {
    tfc_status s =
        m->weights.open(weightsPath, /*checkExpected=*/true, desc->weights_size,
                        desc->weights_hash, error);
    if (s != TFC_OK)
      return setError(s, error);
  } else if (desc->weights_size != 0) {
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    format("%s needs a weights file (%llu bytes of weights) "
                           "but no path was given",
                           where.c_str(),
                           (unsigned long long)desc->weights_size));
  }

  loadProfileSites(m);
  if (desc->flags & TFC_MODEL_FLAG_CUDA) {
    tfc_status s = gpuLoadModel(m);
    if (s != TFC_OK)
      return s;
  }
  registerModel(m);
  return TFC_OK;
}

tfc_status infoOf(const std::vector<TensorSpec> &specs, size_t i,
                  const char *what, const char **name, tfc_dtype *dtype,
                  int32_t *rank, int64_t *dims) {
  if (i >= specs.size())
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    format("%s index %zu out of range (model has %zu)", what, i,
                           specs.size()));
  const TensorSpec &s = specs[i];
  if (name)
    *name = s.name.c_str();
  if (dtype)
    *dtype = s.dtype;
  if (rank)
    *rank = s.rank;
  if (dims)
    for (int32_t d = 0; d < s.rank; ++d)
      dims[d] = s.dims[d];
  return TFC_OK;
}

using Desc = void *;
template <size_t> using DescArg = Desc;

/// Calls entry(results, w, in[0], ..., in[N-1]) with N known statically:
/// the C ABI needs every argument spelled out, so one instantiation per count.
template <size_t... I>
void callWith(void *entry, void *results, Desc w, Desc *in,
              std::index_sequence<I...>) {
  using Fn = void (*)(void *, Desc, DescArg<I>...);
  reinterpret_cast<Fn>(entry)(results, w, in[I]...);
}

template <size_t... N> constexpr auto makeCallTable(std::index_sequence<N...>) {
  using Caller = void (*)(void *, void *, Desc, Desc *);
  return std::array<Caller, sizeof...(N)>{
      {[](void *e, void *r, Desc w, Desc *in) {
        callWith(e, r, w, in, std::make_index_sequence<N>());
      }...}};
}

/// Calls the entry with `n` input descriptors (n <= kMaxInputs). MLIR's C
/// interface of a function without results has no results pointer (a
/// pipeline stage other than the last): `results` is null then and the
/// arguments start at the weights.
bool callEntry(void *entry, void *results, Desc w, Desc *in, size_t n) {
  static const auto table =
      makeCallTable(std::make_index_sequence<kMaxInputs + 1>());
  if (n >= table.size())
    return false;
  if (results) {
    table[n](entry, results, w, in);
  } else if (n == 0) {
    reinterpret_cast<void (*)(Desc)>(entry)(w);
  } else {
    // Every argument is a pointer: shift them by one.
    table[n - 1](entry, w, in[0], in + 1);
  }
  return true;
}

/// Checks one input against its spec and binds its symbolic dims.
tfc_status
checkInput(const TensorSpec &spec, size_t index, const tfc_tensor &t,
           std::map<std::string, std::pair<int64_t, std::string>> &bound) {
  const char *name = spec.name.c_str();
  if (t.dtype != spec.dtype)
    return setError(TFC_ERR_DTYPE,
                    format("input '%s' (#%zu): expected dtype %s, got %s", name,
                           index, tfc_dtype_name(spec.dtype),
                           tfc_dtype_name(t.dtype)));
  if (t.rank != spec.rank)
    return setError(TFC_ERR_SHAPE,
                    format("input '%s' (#%zu): expected rank %d, got %d", name,
                           index, spec.rank, t.rank));
  for (int32_t d = 0; d < spec.rank; ++d) {
    int64_t got = t.shape[d];
    if (got < 0)
      return setError(TFC_ERR_SHAPE,
                      format("input '%s' (#%zu): dim %d is negative (%lld)",
                             name, index, d, (long long)got));
    if (spec.dims[d] >= 0) {
      if (got != spec.dims[d])
        return setError(TFC_ERR_SHAPE,
                        format("input '%s' (#%zu): dim %d must be %lld, got "
                               "%lld",
                               name, index, d, (long long)spec.dims[d],
                               (long long)got));
      continue;
    }
    const std::string &sym = spec.symbols[d];
    std::string here = format("input '%s' dim %d", name, d);
    auto it = bound.find(sym);
    if (it == bound.end()) {
      bound.emplace(sym, std::make_pair(got, here));
    } else if (it->second.first != got) {
      return setError(TFC_ERR_SHAPE,
                      format("dynamic dim '%s' is %lld in %s but %lld in %s",
                             sym.c_str(), (long long)it->second.first,
                             it->second.second.c_str(), (long long)got,
                             here.c_str()));
    }
  }
  if (!t.data) {
    int64_t n = 1;
    for (int32_t d = 0; d < t.rank; ++d)
      n *= t.shape[d];
    if (n != 0)
      return setError(TFC_ERR_INVALID_ARGUMENT,
                      format("input '%s' (#%zu) has no data", name, index));
  }
  return TFC_OK;
}

/// Copies a strided buffer into a dense row-major one.
void copyStrided(char *dst, const char *src, size_t elem, int32_t rank,
                 const int64_t *sizes, const int64_t *strides) {
  if (rank == 0) {
    std::memcpy(dst, src, elem);
    return;
  }
  int64_t idx[TFC_MAX_RANK] = {};
  int64_t total = 1;
  for (int32_t d = 0; d < rank; ++d)
    total *= sizes[d];
  int64_t inner = sizes[rank - 1], innerStride = strides[rank - 1];
  for (int64_t done = 0; done < total; done += inner) {
    int64_t off = 0;
    for (int32_t d = 0; d < rank - 1; ++d)
      off += idx[d] * strides[d];
    const char *s = src + off * static_cast<int64_t>(elem);
    if (innerStride == 1) {
      std::memcpy(dst, s, static_cast<size_t>(inner) * elem);
      dst += inner * static_cast<int64_t>(elem);
    } else {
      for (int64_t i = 0; i < inner; ++i, dst += elem)
        std::memcpy(dst, s + i * innerStride * static_cast<int64_t>(elem),
                    elem);
    }
    for (int32_t d = rank - 2; d >= 0; --d) {
      if (++idx[d] < sizes[d])
        break;
      idx[d] = 0;
    }
  }
}

/// Scope guard: sets this thread's profiled model for the run.

} // namespace

TFCRT_EXPORT tfc_status tfc_model_load(const tfc_model_desc *desc,
                                       const char *weights_path,
                                       tfc_model **out) {
  if (!out)
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_model_load: out is NULL");
  *out = nullptr;
  if (!desc)
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_model_load: desc is NULL");
  tfc_model *m = new (std::nothrow) tfc_model();
  if (!m)
    return setError(TFC_ERR_OUT_OF_MEMORY, "tfc_model_load: out of memory");
  tfc_status s;
  try {
    s = finishLoad(m, desc, weights_path);
  } catch (const std::bad_alloc &) {
    s = setError(TFC_ERR_OUT_OF_MEMORY, "tfc_model_load: out of memory");
  }
  if (s != TFC_OK) {
    tfc_model_free(m);
    return s;
  }
  *out = m;
  clearError();
  return TFC_OK;
}

TFCRT_EXPORT tfc_status tfc_model_load_shared(const char *library_path,
                                              const char *weights_path,
                                              tfc_model **out) {
  if (!out)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_model_load_shared: out is NULL");
  *out = nullptr;
  if (!library_path)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_model_load_shared: library path is NULL");
  // dlopen searches the library path for a bare name; a model is a file.
  std::string path = library_path;
  if (path.find('/') == std::string::npos)
    path = "./" + path;
  void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *why = dlerror();
    return setError(TFC_ERR_IO, format("cannot load model library '%s': %s",
                                       library_path, why ? why : "unknown"));
  }
  dlerror();
  void *sym = dlsym(lib, "tfc_model_desc_v1");
  if (!sym) {
    dlclose(lib);
    return setError(TFC_ERR_CORRUPT,
                    format("'%s' is not a tfc model: it does not export "
                           "tfc_model_desc_v1",
                           library_path));
  }
  tfc_model *m = new (std::nothrow) tfc_model();
  if (!m) {
    dlclose(lib);
    return setError(TFC_ERR_OUT_OF_MEMORY,
                    "tfc_model_load_shared: out of memory");
  }
  m->library = lib;
  tfc_status s;
  try {
    m->libraryPath = library_path;
    s = finishLoad(m, static_cast<const tfc_model_desc *>(sym), weights_path);
  } catch (const std::bad_alloc &) {
    s = setError(TFC_ERR_OUT_OF_MEMORY, "tfc_model_load_shared: out of memory");
  }
  if (s != TFC_OK) {
    tfc_model_free(m);
    return s;
  }
  *out = m;
  clearError();
  return TFC_OK;
}

TFCRT_EXPORT void tfc_model_free(tfc_model *model) {
  if (!model)
    return;
  unregisterModel(model);
  gpuFreeModel(model);
  void *lib = model->library;
  delete model;
  if (lib)
    dlclose(lib);
}

TFCRT_EXPORT const tfc_model_desc *tfc_model_get_desc(const tfc_model *model) {
  return model ? model->desc : nullptr;
}

TFCRT_EXPORT size_t tfc_model_num_inputs(const tfc_model *model) {
  return model ? model->signature.inputs.size() : 0;
}

TFCRT_EXPORT size_t tfc_model_num_outputs(const tfc_model *model) {
  return model ? model->signature.outputs.size() : 0;
}

TFCRT_EXPORT tfc_status tfc_model_input_info(const tfc_model *model, size_t i,
                                             const char **name,
                                             tfc_dtype *dtype, int32_t *rank,
                                             int64_t dims[TFC_MAX_RANK]) {
  if (!model)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_model_input_info: NULL model");
  return infoOf(model->signature.inputs, i, "input", name, dtype, rank, dims);
}

TFCRT_EXPORT tfc_status tfc_model_output_info(const tfc_model *model, size_t i,
                                              const char **name,
                                              tfc_dtype *dtype, int32_t *rank,
                                              int64_t dims[TFC_MAX_RANK]) {
  if (!model)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_model_output_info: NULL model");
  return infoOf(model->signature.outputs, i, "output", name, dtype, rank, dims);
}

namespace {

tfc_status runModel(tfc_model *model, void *entry, const Signature &sig,
                    const tfc_tensor *inputs, size_t numInputs,
                    tfc_tensor *outputs, size_t numOutputs,
                    uint32_t deviceInputs = 0, bool decodeStep = false,
                    const OutputBuffer *into = nullptr) {
  if (numInputs != sig.inputs.size() || (numInputs && !inputs))
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    format("model '%s' takes %zu inputs, got %zu",
                           model->desc->name ? model->desc->name : "?",
                           sig.inputs.size(), numInputs));
  if (numOutputs != sig.outputs.size() || (numOutputs && !outputs))
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    format("model '%s' has %zu outputs, got room for %zu",
                           model->desc->name ? model->desc->name : "?",
                           sig.outputs.size(), numOutputs));
  for (size_t i = 0; i < numOutputs; ++i)
    outputs[i] = tfc_tensor{};

  std::map<std::string, std::pair<int64_t, std::string>> bound;
  for (size_t i = 0; i < numInputs; ++i) {
    tfc_status s = checkInput(sig.inputs[i], i, inputs[i], bound);
    if (s != TFC_OK)
      return s;
  }

  // A GPU model reads device copies of the weights and inputs.
  GpuRun gpu(model, decodeStep);
  // Descriptors: weights (rank 1), inputs, then results one after another.
  int64_t weightsDesc[5];
  int64_t weightsSize = static_cast<int64_t>(model->weights.dataSize());
  fillDescriptor(weightsDesc,
                 gpu.active() ? gpu.weights() : model->weights.data(), 1,
                 &weightsSize);
  std::vector<int64_t> inputWords;
  std::vector<size_t> inputAt;
  for (size_t i = 0; i < numInputs; ++i) {
    inputAt.push_back(inputWords.size());
    inputWords.resize(inputWords.size() + descriptorWords(inputs[i].rank));
  }
  Desc inputDescs[kMaxInputs];
  // A step whose host code reads no scalar input (the compiler moved every
  // read of them into kernels): one CUDA graph serves every value.
  const bool scalarsInKey =
      !(entry == model->desc->step_entry &&
        (model->desc->flags & TFC_MODEL_FLAG_STEP_SCALARS_ON_DEVICE));
  for (size_t i = 0; i < numInputs; ++i) {
    const void *data = inputs[i].data;
    bool onDevice = deviceInputs >> i & 1;
    // Scalars that only kernels read are staged to device memory like the
    // other inputs (an L2 hit for each kernel, not a PCIe round trip).
    if (gpu.active() && inputs[i].rank == 0 && !onDevice && scalarsInKey) {
      // Host code may read a scalar input (a step's `past`), kernels too.
      if (!(data = gpu.stageScalar(data, tfc_dtype_size(inputs[i].dtype))))
        return setError(TFC_ERR_OUT_OF_MEMORY,
                        format("input '%s': cannot stage it for the GPU",
                               sig.inputs[i].name.c_str()));
    } else if (gpu.active() && !onDevice) {
      size_t bytes = tfc_dtype_size(inputs[i].dtype);
      for (int32_t d = 0; d < inputs[i].rank; ++d)
        bytes *= static_cast<size_t>(inputs[i].shape[d]);
      if (!(data = gpu.stage(data, bytes)))
        return setError(TFC_ERR_OUT_OF_MEMORY,
                        format("input '%s': cannot stage %zu bytes for the "
                               "GPU",
                               sig.inputs[i].name.c_str(), bytes));
    }
    fillDescriptor(&inputWords[inputAt[i]], data, inputs[i].rank,
                   inputs[i].shape);
    inputDescs[i] = &inputWords[inputAt[i]];
  }
  std::vector<size_t> resultAt;
  size_t resultWords = 0;
  for (const TensorSpec &o : sig.outputs) {
    resultAt.push_back(resultWords);
    resultWords += descriptorWords(o.rank);
  }
  std::vector<int64_t> results(resultWords + 1, 0);

  uint64_t failuresBefore = allocFailures();
  {
    std::string stale; // from a run that ended without runEntry (none yet)
    takeKernelError(stale);
  }
  {
    ProfiledRunScope scope(model);
    bool called = true;
    std::string shapeKey;
    // One CUDA graph per input shape; the graph also bakes in the values
    // host code read (scalar inputs, unless the compiler moved every read of
    // them into kernels) and the addresses of inputs already on the device
    // (a session's cache).
    if (gpu.active())
      for (size_t i = 0; i < numInputs; ++i) {
        shapeKey += format("%d:", (int)inputs[i].dtype);
        for (int32_t d = 0; d < inputs[i].rank; ++d)
          shapeKey += format("%lld,", (long long)inputs[i].shape[d]);
        if (deviceInputs >> i & 1)
          shapeKey += format("@%p", inputs[i].data);
        else if (inputs[i].rank == 0 && scalarsInKey) {
          uint64_t v = 0;
          std::memcpy(&v, inputs[i].data,
                      std::min<size_t>(8, tfc_dtype_size(inputs[i].dtype)));
          shapeKey += format("=%llu", (unsigned long long)v);
        }
        shapeKey += ';';
      }
    gpu.call(shapeKey, [&] {
      called = callEntry(entry, sig.outputs.empty() ? nullptr : results.data(),
                         weightsDesc, inputDescs, numInputs);
    });
    if (!called)
      return setError(TFC_ERR_UNSUPPORTED, "too many inputs");
  }
  bool allocFailed = allocFailures() != failuresBefore;
  // A GPU model's outputs are device buffers: download each one's span into
  // pinned memory, then synchronize once.
  std::vector<const char *> downloaded(numOutputs, nullptr);
  // Outputs downloaded into the caller's buffer (`into`): handed out as is.
  std::vector<bool> inCallers(numOutputs, false);
  if (gpu.active())
    for (size_t i = 0; i < numOutputs; ++i) {
      const TensorSpec &spec = sig.outputs[i];
      const int64_t *d = &results[resultAt[i]];
      char *aligned;
      std::memcpy(&aligned, &d[1], sizeof(void *));
      size_t elem = tfc_dtype_size(spec.dtype);
      int64_t last = 0;
      bool empty = false;
      for (int32_t k = 0; k < spec.rank; ++k) {
        if (d[3 + k] <= 0)
          empty = true;
        else
          last += (d[3 + k] - 1) * d[3 + spec.rank + k];
      }
      if (empty || last < 0)
        continue;
      const char *src = aligned + d[2] * static_cast<int64_t>(elem);
      const size_t bytes = static_cast<size_t>(last + 1) * elem;
      if (into && into[i].data && bytes <= into[i].bytes &&
          denseRowMajor(d + 3, d + 3 + spec.rank, spec.rank)) {
        if (gpu.downloadInto(into[i].data, src, bytes)) {
          downloaded[i] = static_cast<const char *>(into[i].data);
          inCallers[i] = true;
        }
        continue;
      }
      downloaded[i] = static_cast<const char *>(gpu.download(src, bytes));
    }
  std::string gpuError;
  tfc_status gpuStatus = gpu.finish(gpuError);
  std::string kernelMessage;
  tfc_status kernelStatus = takeKernelError(kernelMessage);
  if (gpuStatus == TFC_OK && kernelStatus != TFC_OK) {
    gpuStatus = kernelStatus;
    gpuError = kernelMessage;
  }

  // Take the results over: own what compiled code allocated, copy the rest.
  std::unordered_set<void *> taken;
  tfc_status status = TFC_OK;
  std::string error;
  if (gpuStatus != TFC_OK) { // the results are not valid: release them
    status = gpuStatus;
    error = gpuError;
  }
  for (size_t i = 0; i < numOutputs; ++i) {
    const TensorSpec &spec = sig.outputs[i];
    const int64_t *d = &results[resultAt[i]];
    void *allocated, *aligned;
    std::memcpy(&allocated, &d[0], sizeof(void *));
    std::memcpy(&aligned, &d[1], sizeof(void *));
    const int64_t *sizes = d + 3, *strides = d + 3 + spec.rank;
    size_t elem = tfc_dtype_size(spec.dtype);
    tfc_tensor &t = outputs[i];
    t.dtype = spec.dtype;
    t.rank = spec.rank;
    int64_t count = 1;
    for (int32_t k = spec.rank - 1; k >= 0; --k) {
      t.shape[k] = sizes[k];
      if (sizes[k] < 0 && status == TFC_OK) {
        status = TFC_ERR_INTERNAL;
        error = format("output '%s': compiled code returned dim %d = %lld",
                       spec.name.c_str(), k, (long long)sizes[k]);
      }
      if (spec.dims[k] >= 0 && sizes[k] != spec.dims[k] && status == TFC_OK) {
        status = TFC_ERR_INTERNAL;
        error = format("output '%s': dim %d is %lld, the signature says %lld",
                       spec.name.c_str(), k, (long long)sizes[k],
                       (long long)spec.dims[k]);
      }
      auto it =
          spec.symbols[k].empty() ? bound.end() : bound.find(spec.symbols[k]);
      if (it != bound.end() && it->second.first != sizes[k] &&
          status == TFC_OK) {
        status = TFC_ERR_INTERNAL;
        error = format("output '%s': dim %d ('%s') is %lld but %s is %lld",
                       spec.name.c_str(), k, spec.symbols[k].c_str(),
                       (long long)sizes[k], it->second.second.c_str(),
                       (long long)it->second.first);
      }
      count *= sizes[k] > 0 ? sizes[k] : 0;
    }
    if (status != TFC_OK)
      break;
    const char *src =
        static_cast<char *>(aligned) + d[2] * static_cast<int64_t>(elem);
    if (gpu.active()) // the downloaded copy (GPU buffers are never taken)
      src = downloaded[i];
    if (gpu.active() && inCallers[i]) {
      t.data = const_cast<char *>(src); // the caller's buffer, not owned
      continue;
    }
    if (!gpu.active() && allocated &&
        denseRowMajor(sizes, strides, spec.rank) && !taken.count(allocated) &&
        isTrackedAllocation(allocated)) {
      taken.insert(allocated);
      t.data = const_cast<char *>(src);
      registerOwnedOutput(t.data, allocated);
      continue;
    }
    // Aliases an input, the weights, another output, or is strided: copy.
    size_t bytes = static_cast<size_t>(count) * elem;
    void *copy = trackedAlloc(bytes);
    if (!copy) {
      status = TFC_ERR_OUT_OF_MEMORY;
      error = format("out of memory copying output '%s' (%zu bytes)",
                     spec.name.c_str(), bytes);
      break;
    }
    if (count > 0 && !src) {
      status = TFC_ERR_INTERNAL;
      error = format("output '%s' could not be downloaded from the GPU",
                     spec.name.c_str());
      trackedFree(copy);
      break;
    }
    if (count > 0)
      copyStrided(static_cast<char *>(copy), src, elem, spec.rank, sizes,
                  strides);
    t.data = copy;
    registerOwnedOutput(copy, copy);
  }
  if (status == TFC_OK && allocFailed) {
    status = TFC_ERR_OUT_OF_MEMORY;
    error = "an allocation by the compiled model failed (out of memory); its "
            "results are not valid";
  }
  if (status != TFC_OK) {
    // Release what compiled code allocated for the outputs, once each.
    for (size_t i = 0; i < numOutputs; ++i)
      tfc_tensor_free(&outputs[i]);
    for (size_t i = 0; i < numOutputs; ++i) {
      void *allocated;
      std::memcpy(&allocated, &results[resultAt[i]], sizeof(void *));
      if (allocated && !taken.count(allocated) &&
          isTrackedAllocation(allocated)) {
        taken.insert(allocated);
        trackedFree(allocated);
      }
    }
    return setError(status, error);
  }
  return TFC_OK;
}

} // namespace

tfc_status tfcrt::runEntry(tfc_model *model, void *entry, const Signature &sig,
                           const tfc_tensor *inputs, size_t numInputs,
                           tfc_tensor *outputs, size_t numOutputs,
                           uint32_t deviceInputs, bool decodeStep,
                           const OutputBuffer *into) {
  if (sig.inputs.size() > kMaxInputs)
    return setError(TFC_ERR_UNSUPPORTED, "too many inputs");
  return runModel(model, entry, sig, inputs, numInputs, outputs, numOutputs,
                  deviceInputs, decodeStep, into);
}

TFCRT_EXPORT tfc_status tfc_model_run(tfc_model *model,
                                      const tfc_tensor *inputs,
                                      size_t num_inputs, tfc_tensor *outputs,
                                      size_t num_outputs) {
  if (!model || !model->desc)
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_model_run: NULL model");
  try {
    tfc_status s =
        model->desc->flags & TFC_MODEL_FLAG_PARTITIONED
            ? runPartitioned(model, inputs, num_inputs, outputs, num_outputs)
            : runModel(model, model->desc->entry, model->signature, inputs,
                       num_inputs, outputs, num_outputs);
    if (s == TFC_OK)
      clearError();
    return s;
  } catch (const std::bad_alloc &) {
    return setError(TFC_ERR_OUT_OF_MEMORY, "tfc_model_run: out of memory");
  }
}
