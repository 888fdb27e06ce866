//===- Profiler.cpp - per-site and per-op-class timing of compiled code ---===//
//
// Code compiled with --profile brackets each kernel call with
// tfcrt_prof_enter(id) / tfcrt_prof_exit(id), id being a site: a line of
// desc->op_classes naming the op class, the tfc ops and the ONNX nodes the
// kernel came from. The time is charged to the site of the model this thread
// is running (ProfiledRunScope, set by tfc_model_run), so two models
// profiled in one process do not mix; tfc_profile_get sums the sites of each
// op class. Calls from threads that run no model (e.g. inside a parallel
// region) are ignored. While a trace is recording (Trace.cpp) every closed
// span is also a trace event.
//
// Cost when off: code compiled without --profile has no hooks; with hooks,
// each is one thread-local load and one relaxed atomic load.
//
//===----------------------------------------------------------------------===//

#include "Model.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

namespace {

std::atomic<bool> profilingEnabled{false};
std::atomic<uint64_t> nextSerial{1};

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

bool hooksOn() {
  return profilingEnabled.load(std::memory_order_relaxed) ||
         tfcrt::trace::active.load(std::memory_order_relaxed);
}

std::mutex registryMutex;
std::set<tfc_model *> &registry() {
  static auto *models = new std::set<tfc_model *>();
  return *models;
}

/// Splits `s` at `sep` (empty pieces kept).
std::vector<std::string> split(const std::string &s, char sep) {
  std::vector<std::string> out;
  size_t begin = 0;
  for (;;) {
    size_t end = s.find(sep, begin);
    out.push_back(s.substr(begin, end == std::string::npos ? end : end - begin));
    if (end == std::string::npos)
      return out;
    begin = end + 1;
  }
}

} // namespace

namespace tfcrt {

void loadProfileSites(tfc_model *m) {
  m->serial = nextSerial.fetch_add(1);
  if (m->desc && m->desc->op_classes) {
    for (const std::string &line : split(m->desc->op_classes, '\n')) {
      if (line.empty())
        continue;
      std::vector<std::string> fields = split(line, '\t');
      ProfileSite site;
      site.opClass = fields[0];
      if (fields.size() > 1)
        site.tfcOps = fields[1];
      for (size_t i = 2; i < fields.size(); ++i)
        if (!fields[i].empty())
          site.onnxNodes += (site.onnxNodes.empty() ? "" : "\n") + fields[i];
      auto it = std::find(m->opClasses.begin(), m->opClasses.end(),
                          site.opClass);
      site.classIndex = static_cast<size_t>(it - m->opClasses.begin());
      if (it == m->opClasses.end())
        m->opClasses.push_back(site.opClass);
      m->sites.push_back(std::move(site));
    }
  }
  m->profile.reset(new ProfileCounter[m->sites.size() + 1]);
}

tfc_model *setCurrentProfiledModel(tfc_model *model) {
  tfc_model *previous = threadProfile.model;
  threadProfile.model = model;
  threadProfile.depth = 0;
  return previous;
}

ProfiledRunScope::ProfiledRunScope(tfc_model *m)
    : model(m), previous(setCurrentProfiledModel(m)),
      startNs(trace::active.load(std::memory_order_relaxed) ? trace::nowNs()
                                                            : -1) {}

ProfiledRunScope::~ProfiledRunScope() {
  if (startNs >= 0)
    trace::run(model, startNs, trace::nowNs());
  setCurrentProfiledModel(previous);
}

void currentSite(uint64_t &model, int32_t &site) {
  const ThreadProfile &tp = threadProfile;
  model = tp.model ? tp.model->serial : 0;
  site = tp.model && tp.depth > 0 && tp.depth <= kMaxDepth
             ? static_cast<int32_t>(tp.stack[tp.depth - 1].id)
             : -1;
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
  if (!tp.model || !hooksOn())
    return;
  if (tp.depth < kMaxDepth)
    tp.stack[tp.depth] = OpenSpan{id, tfcrt::trace::nowNs()};
  ++tp.depth;
}

TFCRT_EXPORT void tfcrt_prof_exit(int64_t id) {
  ThreadProfile &tp = threadProfile;
  if (!tp.model || tp.depth <= 0)
    return;
  int64_t end = tfcrt::trace::nowNs();
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
  if (id >= 0 && static_cast<size_t>(id) < m->sites.size()) {
    ProfileCounter &c = m->profile[static_cast<size_t>(id)];
    c.calls.fetch_add(1, std::memory_order_relaxed);
    c.nanos.fetch_add(static_cast<uint64_t>(end - tp.stack[at].startNs),
                      std::memory_order_relaxed);
    if (tfcrt::trace::active.load(std::memory_order_relaxed))
      tfcrt::trace::kernel(m->serial, static_cast<int32_t>(id),
                           tp.stack[at].startNs, end);
  }
  tp.depth = at;
}

TFCRT_EXPORT void tfc_profile_enable(int enable) {
  profilingEnabled.store(enable != 0);
}

TFCRT_EXPORT void tfc_profile_reset(void) {
  std::lock_guard<std::mutex> lock(registryMutex);
  for (tfc_model *m : registry()) {
    for (size_t i = 0; i < m->sites.size(); ++i) {
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
  if (!entries)
    return n;
  std::vector<uint64_t> calls(n, 0), nanos(n, 0);
  for (size_t s = 0; s < model->sites.size(); ++s) {
    size_t c = model->sites[s].classIndex;
    calls[c] += model->profile[s].calls.load();
    nanos[c] += model->profile[s].nanos.load();
  }
  for (size_t i = 0; i < n && i < capacity; ++i) {
    entries[i].op_class = model->opClasses[i].c_str();
    entries[i].calls = calls[i];
    entries[i].total_ms = static_cast<double>(nanos[i]) / 1e6;
  }
  return n;
}

TFCRT_EXPORT size_t tfc_profile_sites_get_sized(const tfc_model *model,
                                                tfc_profile_site *entries,
                                                size_t capacity,
                                                size_t entry_size) {
  static_assert(sizeof(tfc_profile_site) == TFC_PROFILE_SITE_V1_SIZE,
                "tfc_profile_site grew: update TFC_PROFILE_SITE_V1_SIZE's "
                "users and keep the V1 prefix");
  if (!model)
    return 0;
  size_t n = model->sites.size();
  if (!entries || capacity == 0)
    return n;
  if (entry_size < TFC_PROFILE_SITE_V1_SIZE)
    return 0;
  char *out = reinterpret_cast<char *>(entries);
  for (size_t i = 0; i < n && i < capacity; ++i) {
    const ProfileSite &s = model->sites[i];
    tfc_profile_site full{};
    full.op_class = s.opClass.c_str();
    full.tfc_ops = s.tfcOps.c_str();
    full.onnx_nodes = s.onnxNodes.c_str();
    full.calls = model->profile[i].calls.load();
    full.total_ms = static_cast<double>(model->profile[i].nanos.load()) / 1e6;
    std::memset(out + i * entry_size, 0, entry_size);
    std::memcpy(out + i * entry_size, &full,
                std::min(entry_size, sizeof(full)));
  }
  return n;
}
