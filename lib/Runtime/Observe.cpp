//===- Observe.cpp - calibration observers --------------------------------===//
//
// A model compiled with `tfc --observe` calls tfcrt_observe(id, x) with a
// contiguous copy of every tensor a linear layer reads (tfc.observe,
// docs/DESIGN.md "Calibration"). The application (tfc-calibrate) registers
// one process-wide observer with tfc_observer_set; without one the call
// returns at once. Normal models never call this.
//
//===----------------------------------------------------------------------===//
#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <vector>

namespace {
struct Observer {
  tfc_observer_fn fn;
  void *user;
};
std::atomic<const Observer *> current{nullptr};
// Observers once registered stay allocated until exit (a few bytes per call
// of tfc_observer_set), so a model running on another thread never reads a
// freed one. A deque keeps their addresses stable and owns them, so nothing
// leaks at exit (LeakSanitizer reported the earlier `new` here).
std::mutex registerMutex;
std::deque<Observer> &registered() {
  static std::deque<Observer> all;
  return all;
}
} // namespace

TFCRT_EXPORT void tfc_observer_set(tfc_observer_fn fn, void *user) {
  if (!fn) {
    current.store(nullptr);
    return;
  }
  std::lock_guard<std::mutex> lock(registerMutex);
  registered().push_back(Observer{fn, user});
  current.store(&registered().back());
}

TFCRT_EXPORT void _mlir_ciface_tfcrt_observe(int64_t id,
                                             tfcrt_unranked_memref *x) {
  const Observer *o = current.load();
  if (!o || !x || !x->descriptor || x->rank < 0 || x->rank > TFC_MAX_RANK)
    return;
  const int64_t *d = static_cast<const int64_t *>(x->descriptor);
  const float *aligned;
  std::memcpy(&aligned, &d[1], sizeof(aligned));
  int32_t rank = static_cast<int32_t>(x->rank);
  int64_t sizes[TFC_MAX_RANK];
  int64_t count = 1, expect = 1;
  bool contiguous = true;
  for (int32_t i = rank - 1; i >= 0; --i) {
    sizes[i] = d[3 + i];
    if (sizes[i] != 1 && d[3 + rank + i] != expect)
      contiguous = false;
    expect *= sizes[i];
    count *= sizes[i];
  }
  const float *data = aligned + d[2];
  if (contiguous) {
    o->fn(o->user, id, data, rank, sizes);
    return;
  }
  // The lowering copies into a fresh buffer, so this is only a safety net.
  std::vector<float> copy(static_cast<size_t>(count));
  for (int64_t flat = 0; flat < count; ++flat) {
    int64_t rest = flat, off = 0;
    for (int32_t i = rank - 1; i >= 0; --i) {
      off += (rest % sizes[i]) * d[3 + rank + i];
      rest /= sizes[i];
    }
    copy[flat] = data[off];
  }
  o->fn(o->user, id, copy.data(), rank, sizes);
}
