//===- Versioned.cpp - sized getters of the structs that may grow ---------===//
//
// tfc_runtime.h, "Versioned structs": a struct the runtime fills only grows
// at its end; the _sized getter writes as much of it as the caller's struct
// holds and zeroes the rest of the caller's struct, and the plain exported
// symbol (what binaries built against older headers call) fills the first
// released layout. tfc_session_info's pair is in Session.cpp, the cache's in
// ResultCache.cpp.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

// The plain symbol tfc_profile_get (Profiler.cpp) fills the whole current
// struct, which is still the first layout. Whoever grows it must make its
// plain symbol write only the V1 prefix (e.g. call the _sized form with the
// V1 size), or old binaries get bytes written past their struct.
// tfc_memory_stats grew (system_allocs): its plain symbol writes the V1
// prefix (Allocator.cpp).
static_assert(offsetof(tfc_memory_stats, system_allocs) ==
                  TFC_MEMORY_STATS_V1_SIZE,
              "tfc_memory_stats's first layout ends where system_allocs "
              "starts");
static_assert(sizeof(tfc_profile_entry) == TFC_PROFILE_ENTRY_V1_SIZE,
              "tfc_profile_entry grew: keep tfc_profile_get at V1");
static_assert(offsetof(tfc_session_info, ring) == TFC_SESSION_INFO_V1_SIZE,
              "tfc_session_info's first layout ends where `ring` starts");
static_assert(sizeof(tfc_cache_stats) == TFC_CACHE_STATS_V1_SIZE,
              "tfc_cache_stats grew: keep tfc_cache_get_stats at V1");

TFCRT_EXPORT void tfc_memory_stats_get_sized(tfc_memory_stats *stats,
                                             size_t stats_size) {
  if (!stats || stats_size < TFC_MEMORY_STATS_V1_SIZE)
    return;
  tfc_memory_stats full{};
  tfcrt::memoryStats(&full);
  std::memset(stats, 0, stats_size);
  std::memcpy(stats, &full, std::min(stats_size, sizeof(full)));
}

TFCRT_EXPORT size_t tfc_profile_get_sized(const tfc_model *model,
                                          tfc_profile_entry *entries,
                                          size_t capacity, size_t entry_size) {
  size_t n = (tfc_profile_get)(model, nullptr, 0);
  if (!entries || capacity == 0)
    return n;
  if (entry_size < TFC_PROFILE_ENTRY_V1_SIZE)
    return 0;
  std::vector<tfc_profile_entry> full(std::min(n, capacity));
  (tfc_profile_get)(model, full.data(), full.size());
  char *out = reinterpret_cast<char *>(entries);
  for (size_t i = 0; i < full.size(); ++i) {
    std::memset(out + i * entry_size, 0, entry_size);
    std::memcpy(out + i * entry_size, &full[i],
                std::min(entry_size, sizeof(tfc_profile_entry)));
  }
  return n;
}
