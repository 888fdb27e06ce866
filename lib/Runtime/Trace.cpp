//===- Trace.cpp - Chrome trace of profiled runs --------------------------===//
//
// tfc_trace_start / tfc_trace_stop / tfc_trace_write (tfc_runtime.h). Each
// thread appends fixed-size events to its own buffer (no lock on the hot
// path; one relaxed atomic decrement bounds the total); the writer turns
// them into the Chrome "traceEvents" JSON: complete ("X") slices for model
// runs, kernel calls (named after the ONNX nodes of their site) and pool
// chunks, one track (tid) per thread, and a counter ("C") of the
// allocator's live bytes. Site names are copied when a model first runs
// under the trace, so a model freed before the write still has them.
//
//===----------------------------------------------------------------------===//

#include "Model.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <unistd.h>
#include <vector>

namespace tfcrt {
namespace trace {
std::atomic<bool> active{false};
} // namespace trace
} // namespace tfcrt

namespace {

enum class Kind : uint8_t { Run, Kernel, Chunk, Memory };

struct Event {
  int64_t startNs;
  int64_t endNs;  // = startNs for a counter sample
  uint64_t model; // serial
  int64_t value;  // task index (chunk), live bytes (memory)
  int32_t site;
  Kind kind;
};

struct ThreadBuffer {
  int worker = -1; // pool worker index, -1 for an application thread
  std::vector<Event> events;
};

struct SiteNames {
  std::string modelName;
  std::vector<ProfileSite> sites;
};

struct TraceState {
  std::mutex mutex; // buffers, models, generation
  std::vector<std::unique_ptr<ThreadBuffer>> buffers;
  std::map<uint64_t, SiteNames> models; // serial -> names
  std::atomic<uint64_t> generation{0}; // bumped by every start
  int64_t originNs = 0;
  std::atomic<int64_t> budget{0};
  std::atomic<uint64_t> recorded{0};
  std::atomic<uint64_t> dropped{0};
};

// Never destroyed: workers may still record while the process exits.
TraceState &state() {
  static auto *s = new TraceState();
  return *s;
}

thread_local ThreadBuffer *threadBuffer = nullptr;
thread_local uint64_t threadGeneration = 0;
thread_local int threadWorker = -1;

void record(const Event &e) {
  TraceState &s = state();
  if (s.budget.fetch_sub(1, std::memory_order_relaxed) <= 0) {
    s.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  try {
    if (!threadBuffer ||
        threadGeneration != s.generation.load(std::memory_order_relaxed)) {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.buffers.push_back(std::make_unique<ThreadBuffer>());
      threadBuffer = s.buffers.back().get();
      threadBuffer->worker = threadWorker;
      threadGeneration = s.generation.load(std::memory_order_relaxed);
    }
    threadBuffer->events.push_back(e);
    s.recorded.fetch_add(1, std::memory_order_relaxed);
  } catch (...) {
    s.dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

void jsonString(std::FILE *f, const std::string &s) {
  std::fputc('"', f);
  for (unsigned char c : s) {
    if (c == '"' || c == '\\')
      std::fprintf(f, "\\%c", c);
    else if (c == '\n')
      std::fputs("\\n", f);
    else if (c < 0x20)
      std::fprintf(f, "\\u%04x", c);
    else
      std::fputc(c, f);
  }
  std::fputc('"', f);
}

/// The slice name of a site: its first ONNX node (and how many more), else
/// its op class.
std::string siteName(const ProfileSite &s) {
  if (s.onnxNodes.empty())
    return s.opClass;
  size_t nl = s.onnxNodes.find('\n');
  if (nl == std::string::npos)
    return s.onnxNodes;
  size_t more = std::count(s.onnxNodes.begin(), s.onnxNodes.end(), '\n');
  return s.onnxNodes.substr(0, nl) + " (+" + std::to_string(more) + ")";
}

} // namespace

namespace tfcrt {
namespace trace {

int64_t nowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void kernel(uint64_t model, int32_t site, int64_t startNs, int64_t endNs) {
  record(Event{startNs, endNs, model, 0, site, Kind::Kernel});
}

void chunk(uint64_t model, int32_t site, int64_t task, int64_t startNs,
           int64_t endNs) {
  record(Event{startNs, endNs, model, task, site, Kind::Chunk});
}

void run(const tfc_model *model, int64_t startNs, int64_t endNs) {
  TraceState &s = state();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.models.count(model->serial)) {
      try {
        SiteNames &n = s.models[model->serial];
        n.modelName = model->desc && model->desc->name ? model->desc->name : "";
        n.sites = model->sites;
      } catch (...) {
        // names missing in the trace: slices fall back to "site N"
      }
    }
  }
  record(Event{startNs, endNs, model->serial, 0, -1, Kind::Run});
}

void memory(uint64_t liveBytes) {
  int64_t t = nowNs();
  record(Event{t, t, 0, static_cast<int64_t>(liveBytes), -1, Kind::Memory});
}

void setWorkerIndex(int index) { threadWorker = index; }

} // namespace trace
} // namespace tfcrt

TFCRT_EXPORT tfc_status tfc_trace_start(size_t max_events) {
  TraceState &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.buffers.clear();
  s.models.clear();
  s.generation.fetch_add(1);
  s.originNs = tfcrt::trace::nowNs();
  s.budget.store(max_events ? static_cast<int64_t>(std::min<size_t>(
                                  max_events, INT64_MAX / 2))
                            : int64_t(4) << 20);
  s.recorded.store(0);
  s.dropped.store(0);
  tfcrt::trace::active.store(true);
  tfcrt::clearError();
  return TFC_OK;
}

TFCRT_EXPORT void tfc_trace_stop(void) { tfcrt::trace::active.store(false); }

TFCRT_EXPORT void tfc_trace_counts(uint64_t *recorded, uint64_t *dropped) {
  if (recorded)
    *recorded = state().recorded.load();
  if (dropped)
    *dropped = state().dropped.load();
}

TFCRT_EXPORT tfc_status tfc_trace_write(const char *path) {
  using namespace tfcrt;
  if (!path)
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_trace_write: NULL path");
  TraceState &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::FILE *f = std::fopen(path, "w");
  if (!f)
    return setError(TFC_ERR_IO,
                    format("cannot write the trace '%s'", path));
  const int pid = static_cast<int>(getpid());
  auto us = [&](int64_t ns) { return (ns - s.originNs) / 1000.0; };
  bool first = true;
  auto begin = [&]() {
    std::fputs(first ? "\n  " : ",\n  ", f);
    first = false;
  };
  std::fputs("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [", f);
  std::string process = "tfc";
  for (const auto &m : s.models)
    if (!m.second.modelName.empty())
      process += " " + m.second.modelName;
  begin();
  std::fprintf(f, "{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": %d, "
                  "\"tid\": 0, \"args\": {\"name\": ", pid);
  jsonString(f, process);
  std::fputs("}}", f);
  // Tracks: application threads first (in order of their first event),
  // then the pool's workers by index.
  std::vector<const ThreadBuffer *> order;
  for (const auto &b : s.buffers)
    order.push_back(b.get());
  std::stable_sort(order.begin(), order.end(),
                   [](const ThreadBuffer *a, const ThreadBuffer *b) {
                     return a->worker < b->worker;
                   });
  std::vector<const Event *> counters;
  int appThreads = 0;
  for (size_t t = 0; t < order.size(); ++t) {
    const ThreadBuffer &b = *order[t];
    int tid = static_cast<int>(t) + 1;
    std::string name = b.worker >= 0 ? "worker " + std::to_string(b.worker)
                                     : "thread " + std::to_string(appThreads++);
    begin();
    std::fprintf(f, "{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": %d, "
                    "\"tid\": %d, \"args\": {\"name\": \"%s\"}}",
                 pid, tid, name.c_str());
    begin();
    std::fprintf(f, "{\"ph\": \"M\", \"name\": \"thread_sort_index\", "
                    "\"pid\": %d, \"tid\": %d, \"args\": {\"sort_index\": %d}}",
                 pid, tid, tid);
    for (const Event &e : b.events) {
      if (e.kind == Kind::Memory) {
        counters.push_back(&e);
        continue;
      }
      auto m = s.models.find(e.model);
      const SiteNames *names = m == s.models.end() ? nullptr : &m->second;
      const ProfileSite *site =
          names && e.site >= 0 &&
                  static_cast<size_t>(e.site) < names->sites.size()
              ? &names->sites[e.site]
              : nullptr;
      std::string name, cat;
      if (e.kind == Kind::Run) {
        name = "run " + (names ? names->modelName : std::string("?"));
        cat = "run";
      } else {
        name = site ? siteName(*site)
                    : e.site >= 0 ? "site " + std::to_string(e.site)
                                  : std::string("(no site)");
        cat = e.kind == Kind::Kernel ? "kernel" : "chunk";
      }
      begin();
      std::fprintf(f, "{\"ph\": \"X\", \"pid\": %d, \"tid\": %d, "
                      "\"ts\": %.3f, \"dur\": %.3f, \"cat\": \"%s\", "
                      "\"name\": ",
                   pid, tid, us(e.startNs), (e.endNs - e.startNs) / 1000.0,
                   cat.c_str());
      jsonString(f, name);
      std::fputs(", \"args\": {", f);
      if (e.kind != Kind::Run)
        std::fprintf(f, "\"site\": %d", e.site);
      if (e.kind == Kind::Chunk)
        std::fprintf(f, ", \"task\": %" PRId64, e.value);
      if (site) {
        std::fputs(", \"op_class\": ", f);
        jsonString(f, site->opClass);
        std::fputs(", \"tfc_ops\": ", f);
        jsonString(f, site->tfcOps);
        std::fputs(", \"onnx_nodes\": [", f);
        size_t at = 0;
        bool firstNode = true;
        while (!site->onnxNodes.empty() && at <= site->onnxNodes.size()) {
          size_t nl = site->onnxNodes.find('\n', at);
          if (nl == std::string::npos)
            nl = site->onnxNodes.size();
          if (!firstNode)
            std::fputs(", ", f);
          firstNode = false;
          jsonString(f, site->onnxNodes.substr(at, nl - at));
          at = nl + 1;
        }
        std::fputs("]", f);
      }
      std::fputs("}}", f);
    }
  }
  std::sort(counters.begin(), counters.end(),
            [](const Event *a, const Event *b) {
              return a->startNs < b->startNs;
            });
  for (const Event *e : counters) {
    begin();
    std::fprintf(f, "{\"ph\": \"C\", \"pid\": %d, \"tid\": 0, \"ts\": %.3f, "
                    "\"name\": \"runtime allocations\", \"args\": "
                    "{\"live_MB\": %.6f}}",
                 pid, us(e->startNs), e->value / 1e6);
  }
  std::fprintf(f, "\n], \"otherData\": {\"recorded\": %" PRIu64
                  ", \"dropped\": %" PRIu64 "}}\n",
               s.recorded.load(), s.dropped.load());
  bool ok = std::ferror(f) == 0;
  ok = std::fclose(f) == 0 && ok;
  if (!ok)
    return setError(TFC_ERR_IO, format("error writing the trace '%s'", path));
  clearError();
  return TFC_OK;
}
