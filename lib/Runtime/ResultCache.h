//===- ResultCache.h - the inference-result cache (tfc_cache_*) -*- C++ -*-===//
//
// Not installed. The C API is in tfc_runtime.h ("Result cache"); this header
// gives the runtime's unit tests the hash and the test hooks.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_LIB_RUNTIME_RESULTCACHE_H
#define TFC_LIB_RUNTIME_RESULTCACHE_H

#include "Internal.h"

#include <cstddef>
#include <cstdint>

namespace tfcrt {

struct Hash128 {
  uint64_t lo = 0, hi = 0;
  bool operator==(const Hash128 &o) const { return lo == o.lo && hi == o.hi; }
};

/// SipHash-2-4 with 128-bit output (Aumasson & Bernstein), key (k0, k1) as
/// the little-endian halves of the 16-byte key. Keyed with a random key per
/// cache, so that inputs chosen to collide cannot be precomputed.
Hash128 sipHash128(const void *data, size_t size, uint64_t k0, uint64_t k1);

/// Test hook: keep only the low `bits` bits (0..64) of the cache's key hash
/// (and zero the high half), so that different keys collide on purpose.
/// 128 restores the full hash.
void setCacheHashBitsForTesting(tfc_cache *cache, int bits);

} // namespace tfcrt

#endif // TFC_LIB_RUNTIME_RESULTCACHE_H
