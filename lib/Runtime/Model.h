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

/// Per-op-class counters of one model; updated lock-free by the profiler.
struct ProfileCounter {
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> nanos{0};
};

struct tfc_model {
  const tfc_model_desc *desc = nullptr;
  void *library = nullptr; // dlopen handle, or null for a linked-in model
  std::string libraryPath;
  tfcrt::Signature signature;
  tfcrt::WeightsFile weights;
  std::vector<std::string> opClasses;
  std::unique_ptr<ProfileCounter[]> profile; // one per op class
  void *gpuWeights = nullptr; // GPU model: managed copy of the weights
};

namespace tfcrt {
/// Adds/removes a model from the registry tfc_profile_reset walks.
void registerModel(tfc_model *model);
void unregisterModel(tfc_model *model);
/// Validates `inputs` against `sig` and calls `entry` (an entry of
/// `model`: the main one or the KV-cache step) with the model's weights;
/// as tfc_model_run otherwise. Does not clear the last error on success.
tfc_status runEntry(tfc_model *model, void *entry, const Signature &sig,
                    const tfc_tensor *inputs, size_t numInputs,
                    tfc_tensor *outputs, size_t numOutputs);
} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_MODEL_H
