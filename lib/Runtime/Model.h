//===- Model.h - the loaded-model object ------------------------*- C++ -*-===//
#ifndef TFC_LIB_RUNTIME_MODEL_H
#define TFC_LIB_RUNTIME_MODEL_H

#include "Internal.h"
#include "Signature.h"
#include "WeightsFile.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace tfcrt::cuda {
struct DeviceModel;
}

/// Per-op-class counters of one model; updated lock-free by the profiler.
struct ProfileCounter {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> nanos{0};
};

/// One profiling site: a kernel call of the compiled code (one line of
/// desc->op_classes).
struct ProfileSite {
  std::string opClass;
  std::string tfcOps;    // space-separated
  std::string onnxNodes; // newline-separated
  size_t classIndex = 0; // into tfc_model::opClasses
};

struct tfc_model {
  const tfc_model_desc *desc = nullptr;
  void *library = nullptr; // dlopen handle, or null for a linked-in model
  std::string libraryPath;
  tfcrt::Signature signature;
  tfcrt::WeightsFile weights;
  std::vector<ProfileSite> sites;            // indexed by the hooks' id
  std::vector<std::string> opClasses;        // distinct, in order of sites
  std::unique_ptr<ProfileCounter[]> profile; // one per site
  uint64_t serial = 0; // unique per load in this process (the tracer's key)
  tfcrt::cuda::DeviceModel *gpu = nullptr; // GPU model: weights, stream, pool
  // TFC_MODEL_FLAG_PARTITIONED: desc->part_signatures parsed, one per part.
  std::vector<tfcrt::Signature> partSignatures;
};

namespace tfcrt {
/// Parses desc->op_classes into model->sites / opClasses and allocates the
/// counters (Profiler.cpp).
void loadProfileSites(tfc_model *model);
/// Adds/removes a model from the registry tfc_profile_reset walks.
void registerModel(tfc_model *model);
void unregisterModel(tfc_model *model);
/// Validates `inputs` against `sig` and calls `entry` (an entry of
/// `model`: the main one or the KV-cache step) with the model's weights;
/// as tfc_model_run otherwise. Does not clear the last error on success.
/// `deviceInputs`: bit i set = input i's data is already device memory of a
/// GPU model (a session's cache): passed as is, not staged. `decodeStep`: a
/// session step of few new tokens (a GPU model's kernels may then be
/// launched with programmatic dependent launch, Cuda.h beginRun).
/// `into` (GPU models; one per output or null): a caller's pinned buffer
/// (cuda::allocPinned) of `bytes` that a dense output of at most that size
/// is downloaded into and handed out as is (not owned by the tensor:
/// tfc_tensor_free leaves it); anything else is copied as usual.
struct OutputBuffer {
  void *data = nullptr;
  size_t bytes = 0;
};
tfc_status runEntry(tfc_model *model, void *entry, const Signature &sig,
                    const tfc_tensor *inputs, size_t numInputs,
                    tfc_tensor *outputs, size_t numOutputs,
                    uint32_t deviceInputs = 0, bool decodeStep = false,
                    const OutputBuffer *into = nullptr);

//===-- partitioned and data-parallel runs (DistRun.cpp) ------------------===//
/// Checks the partition fields at load and parses the part signatures.
tfc_status loadPartitions(tfc_model *model);
/// tfc_model_run of a partitioned model: part tfc_dist_rank() runs.
tfc_status runPartitioned(tfc_model *model, const tfc_tensor *inputs,
                          size_t numInputs, tfc_tensor *outputs,
                          size_t numOutputs);
/// TFC_OK if the job has one rank per part of `model` (any job size for an
/// unpartitioned model) and no earlier communication failed.
tfc_status checkRanks(const tfc_model *model, const char *what);
/// The step entry and step signature this rank runs (part rank's for a
/// partitioned model).
void stepEntryOf(const tfc_model *model, void **entry, const char **signature);
/// True for a pipeline-partitioned model: only the last rank has outputs.
bool isPipeline(const tfc_model *model);
/// Pipeline: gives every rank the last rank's `outputs` (allocated on the
/// others; `numOutputs` is the model's count). TFC_OK elsewhere.
tfc_status shareLastStageOutputs(const tfc_model *model, tfc_tensor *outputs,
                                 size_t numOutputs);
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_MODEL_H
