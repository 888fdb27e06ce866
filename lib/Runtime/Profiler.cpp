//===- Profiler.cpp - per-op-class timing of compiled code ----------------===//
//
// Code compiled with --profile brackets each op with tfcrt_prof_enter(id) /
// tfcrt_prof_exit(id), id being an index into desc->op_classes. The time is
// charged to the model this thread is running (tfc_model_run sets it), so
// two models profiled in one process do not mix. Calls from threads that run
// no model (e.g. inside a parallel region) are ignored.
//
//===----------------------------------------------------------------------===//

#include "Model.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>

namespace {

std::atomic<bool> profilingEnabled{false};

struct OpenSpan {
  int64_t id;
  int64_t startNs;
};
constexpr int kMaxDepth = 64;

struct ThreadProfile {
  tfc_model *model = nullptr;
  int depth = 0;
  OpenSpan stack[kMaxDepth];
};
thread_local ThreadProfile threadProfile;

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::mutex registryMutex;
std::set<tfc_model *> &registry() {
  static auto *models = new std::set<tfc_model *>();
  return *models;
}

} // namespace

namespace tfcrt {

tfc_model *setCurrentProfiledModel(tfc_model *model) {
  tfc_model *previous = threadProfile.model;
  threadProfile.model = model;
  threadProfile.depth = 0;
  return previous;
}

void registerModel(tfc_model *model) {
  std::lock_guard<std::mutex> lock(registryMutex);
  registry().insert(model);
}

void unregisterModel(tfc_model *model) {
  std::lock_guard<std::mutex> lock(registryMutex);
  registry().erase(model);
}

} // namespace tfcrt

TFCRT_EXPORT void tfcrt_prof_enter(int64_t id) {
  ThreadProfile &tp = threadProfile;
  if (!tp.model || !profilingEnabled.load(std::memory_order_relaxed))
    return;
  if (tp.depth < kMaxDepth)
    tp.stack[tp.depth] = OpenSpan{id, nowNs()};
  ++tp.depth;
}

TFCRT_EXPORT void tfcrt_prof_exit(int64_t id) {
  ThreadProfile &tp = threadProfile;
  if (!tp.model || tp.depth <= 0)
    return;
  int64_t end = nowNs();
  // Unbalanced calls are tolerated: close the innermost span with this id.
  int top = std::min(tp.depth, kMaxDepth) - 1;
  int at = top;
  while (at >= 0 && tp.stack[at].id != id)
    --at;
  if (at < 0) {
    if (tp.depth > kMaxDepth)
      --tp.depth; // an overflowed span (not recorded)
    return;
  }
  tfc_model *m = tp.model;
  if (id >= 0 && static_cast<size_t>(id) < m->opClasses.size()) {
    ProfileCounter &c = m->profile[static_cast<size_t>(id)];
    c.calls.fetch_add(1, std::memory_order_relaxed);
    c.nanos.fetch_add(static_cast<uint64_t>(end - tp.stack[at].startNs),
                      std::memory_order_relaxed);
  }
  tp.depth = at;
}

TFCRT_EXPORT void tfc_profile_enable(int enable) {
  profilingEnabled.store(enable != 0);
}

TFCRT_EXPORT void tfc_profile_reset(void) {
  std::lock_guard<std::mutex> lock(registryMutex);
  for (tfc_model *m : registry()) {
    for (size_t i = 0; i < m->opClasses.size(); ++i) {
      m->profile[i].calls.store(0);
      m->profile[i].nanos.store(0);
    }
  }
}

TFCRT_EXPORT size_t(tfc_profile_get)(const tfc_model *model,
                                     tfc_profile_entry *entries,
                                     size_t capacity) {
  if (!model)
    return 0;
  size_t n = model->opClasses.size();
  for (size_t i = 0; i < n && i < capacity && entries; ++i) {
    entries[i].op_class = model->opClasses[i].c_str();
    entries[i].calls = model->profile[i].calls.load();
    entries[i].total_ms =
        static_cast<double>(model->profile[i].nanos.load()) / 1e6;
  }
  return n;
}
