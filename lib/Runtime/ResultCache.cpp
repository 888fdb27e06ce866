//===- ResultCache.cpp - the inference-result cache (tfc_cache_*) ---------===//
//
// An LFU cache of model outputs with dynamic aging (LFU-DA, Arlitt et al.):
// each entry has priority L + hits, where L is the priority of the last
// entry evicted. A key that was hit often long ago keeps its old priority
// while L climbs with every eviction, so it eventually falls below the new
// keys and leaves; plain LFU would keep it forever. Ties go to the least
// recently used entry. The entries sit in a hash map (SipHash-2-4-128 of
// the key bytes, keyed per cache) of buckets that keep the whole key, and
// in one ordered set by (priority, last use) for eviction: a lookup and an
// insertion are O(log n) under one mutex; key building, hashing and copying
// results happen outside it.
//
//===----------------------------------------------------------------------===//

#include "ResultCache.h"
#include "Model.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <random>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

using namespace tfcrt;

//===-- SipHash-2-4-128 ---------------------------------------------------===//

namespace {

inline uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

struct SipState {
  uint64_t v0, v1, v2, v3;
  void round() {
    v0 += v1;
    v1 = rotl(v1, 13);
    v1 ^= v0;
    v0 = rotl(v0, 32);
    v2 += v3;
    v3 = rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = rotl(v1, 17);
    v1 ^= v2;
    v2 = rotl(v2, 32);
  }
  void compress(uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

inline uint64_t load64le(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

} // namespace

Hash128 tfcrt::sipHash128(const void *data, size_t size, uint64_t k0,
                          uint64_t k1) {
  const unsigned char *p = static_cast<const unsigned char *>(data);
  SipState s{0x736f6d6570736575ULL ^ k0, 0x646f72616e646f6dULL ^ k1,
             0x6c7967656e657261ULL ^ k0, 0x7465646279746573ULL ^ k1};
  s.v1 ^= 0xee; // the 128-bit variant
  size_t full = size & ~size_t(7);
  for (size_t i = 0; i < full; i += 8)
    s.compress(load64le(p + i));
  uint64_t last = static_cast<uint64_t>(size) << 56;
  for (size_t i = 0; i < (size & 7); ++i)
    last |= static_cast<uint64_t>(p[full + i]) << (8 * i);
  s.compress(last);
  s.v2 ^= 0xee;
  for (int i = 0; i < 4; ++i)
    s.round();
  Hash128 h;
  h.lo = s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
  s.v1 ^= 0xdd;
  for (int i = 0; i < 4; ++i)
    s.round();
  h.hi = s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
  return h;
}

//===-- the cache ---------------------------------------------------------===//

namespace {

/// Bookkeeping charged per entry and per output on top of their bytes, so
/// that many tiny entries cannot exceed the bound through overhead.
constexpr uint64_t kEntryOverhead = 128;
constexpr uint64_t kTensorOverhead = 96;

struct StoredTensor {
  tfc_dtype dtype = TFC_DTYPE_F32;
  int32_t rank = 0;
  int64_t shape[TFC_MAX_RANK] = {};
  std::vector<unsigned char> data;
};
using Value = std::vector<StoredTensor>;

struct Entry {
  std::vector<unsigned char> key;
  Hash128 hash;
  std::shared_ptr<const Value> value;
  uint64_t bytes = 0;    // charged against the capacity
  uint64_t hits = 0;     // 1 at insertion, +1 per hit
  uint64_t priority = 0; // L + hits at the last touch
  uint64_t lastUse = 0;  // tick of the last touch (LRU tie-break)
};

struct EvictionOrder {
  bool operator()(const Entry *a, const Entry *b) const {
    return std::tie(a->priority, a->lastUse, a) <
           std::tie(b->priority, b->lastUse, b);
  }
};

struct HashOfHash {
  size_t operator()(const Hash128 &h) const {
    return static_cast<size_t>(h.lo ^ (h.hi * 0x9e3779b97f4a7c15ULL));
  }
};

/// Appends the bytes of a value (host byte order: keys never leave the
/// process).
template <typename T> void put(std::vector<unsigned char> &k, const T &v) {
  const unsigned char *p = reinterpret_cast<const unsigned char *>(&v);
  k.insert(k.end(), p, p + sizeof(T));
}

void putString(std::vector<unsigned char> &k, const char *s) {
  uint64_t n = s ? std::strlen(s) : 0;
  put(k, n);
  if (n)
    k.insert(k.end(), s, s + n);
}

/// Bytes of a dense tensor, or false if its dtype, rank or dims are bad.
bool tensorBytes(const tfc_tensor &t, uint64_t &bytes) {
  size_t elem = tfc_dtype_size(t.dtype);
  if (elem == 0 || t.rank < 0 || t.rank > TFC_MAX_RANK)
    return false;
  unsigned __int128 n = elem;
  for (int32_t d = 0; d < t.rank; ++d) {
    if (t.shape[d] < 0)
      return false;
    n *= static_cast<uint64_t>(t.shape[d]);
    if (n > (uint64_t(1) << 48))
      return false;
  }
  bytes = static_cast<uint64_t>(n);
  return true;
}

tfc_status checkTensors(const char *what, const char *kind,
                        const tfc_tensor *ts, size_t n, size_t expected,
                        const tfc_model *model) {
  const char *name = model->desc->name ? model->desc->name : "?";
  if (n != expected || (n && !ts))
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    format("%s: model '%s' has %zu %ss, got %zu", what, name,
                           expected, kind, n));
  for (size_t i = 0; i < n; ++i) {
    uint64_t bytes;
    if (!tensorBytes(ts[i], bytes))
      return setError(
          TFC_ERR_INVALID_ARGUMENT,
          format("%s: %s #%zu has a bad dtype, rank or shape", what, kind, i));
    if (bytes && !ts[i].data)
      return setError(TFC_ERR_INVALID_ARGUMENT,
                      format("%s: %s #%zu has no data", what, kind, i));
  }
  return TFC_OK;
}

/// The key: the model's identity, then every input's dtype, shape and bytes.
/// Lengths are written before variable parts, so two different keys never
/// serialize to the same bytes.
void buildKey(const tfc_model *model, const tfc_tensor *inputs, size_t n,
              std::vector<unsigned char> &key) {
  const tfc_model_desc *d = model->desc;
  uint64_t total = 64;
  for (size_t i = 0; i < n; ++i) {
    uint64_t bytes = 0;
    tensorBytes(inputs[i], bytes);
    total += 16 + 8 * TFC_MAX_RANK + bytes;
  }
  key.clear();
  key.reserve(total);
  static const char kMagic[8] = {'t', 'f', 'c', 'k', 'e', 'y', '0', '1'};
  key.insert(key.end(), kMagic, kMagic + sizeof(kMagic));
  putString(key, d->name);
  putString(key, d->signature);
  putString(key, "main"); // the entry; sessions' steps are never cached
  put(key, d->flags);
  put(key, d->weights_size);
  put(key, d->weights_hash);
  put(key, static_cast<uint64_t>(n));
  for (size_t i = 0; i < n; ++i) {
    const tfc_tensor &t = inputs[i];
    uint64_t bytes = 0;
    tensorBytes(t, bytes);
    put(key, static_cast<int32_t>(t.dtype));
    put(key, t.rank);
    for (int32_t r = 0; r < t.rank; ++r)
      put(key, t.shape[r]);
    put(key, bytes);
    const unsigned char *p = static_cast<const unsigned char *>(t.data);
    if (bytes)
      key.insert(key.end(), p, p + bytes);
  }
}

} // namespace

struct tfc_cache {
  std::mutex mutex;
  uint64_t capacity = 0;
  uint64_t age = 0;  // L: priority of the last evicted entry
  uint64_t tick = 0; // advances on every touch
  uint64_t k0 = 0, k1 = 0;
  int hashBits = 128;
  std::unordered_map<Hash128, std::vector<std::unique_ptr<Entry>>, HashOfHash>
      buckets;
  std::set<Entry *, EvictionOrder> order;
  tfc_cache_stats stats{};

  Hash128 hashOf(const std::vector<unsigned char> &key) const {
    Hash128 h = sipHash128(key.data(), key.size(), k0, k1);
    if (hashBits < 128) {
      int low = std::min(hashBits, 64), high = std::max(hashBits - 64, 0);
      h.lo &= low == 64 ? ~uint64_t(0) : (uint64_t(1) << low) - 1;
      h.hi &= high == 0 ? 0 : (uint64_t(1) << high) - 1;
    }
    return h;
  }

  /// The entry with this key, or null; counts a collision when the hash
  /// matched other keys. Caller holds the mutex.
  Entry *find(const Hash128 &h, const std::vector<unsigned char> &key) {
    auto it = buckets.find(h);
    if (it == buckets.end())
      return nullptr;
    Entry *found = nullptr;
    for (const auto &e : it->second)
      if (e->key.size() == key.size() &&
          std::memcmp(e->key.data(), key.data(), key.size()) == 0)
        found = e.get();
    if (!found || it->second.size() > 1)
      ++stats.collisions;
    return found;
  }

  void touch(Entry *e) {
    order.erase(e);
    ++e->hits;
    e->priority = age + e->hits;
    e->lastUse = ++tick;
    order.insert(e);
  }

  void evictOne() {
    Entry *victim = *order.begin();
    order.erase(order.begin());
    age = victim->priority;
    stats.bytes -= victim->bytes;
    --stats.entries;
    ++stats.evictions;
    auto it = buckets.find(victim->hash);
    auto &bucket = it->second;
    bucket.erase(std::find_if(bucket.begin(), bucket.end(), [&](const auto &e) {
      return e.get() == victim;
    }));
    if (bucket.empty())
      buckets.erase(it);
  }

  void clear() {
    order.clear();
    buckets.clear();
    stats.entries = 0;
    stats.bytes = 0;
  }
};

void tfcrt::setCacheHashBitsForTesting(tfc_cache *cache, int bits) {
  std::lock_guard<std::mutex> lock(cache->mutex);
  cache->hashBits = std::max(0, std::min(bits, 128));
}

TFCRT_EXPORT tfc_status tfc_cache_create(uint64_t capacity_bytes,
                                         tfc_cache **out) {
  if (!out)
    return setError(TFC_ERR_INVALID_ARGUMENT, "tfc_cache_create: out is NULL");
  *out = nullptr;
  if (capacity_bytes == 0)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_cache_create: capacity must be > 0 bytes");
  tfc_cache *c = new (std::nothrow) tfc_cache();
  if (!c)
    return setError(TFC_ERR_OUT_OF_MEMORY, "tfc_cache_create: out of memory");
  c->capacity = capacity_bytes;
  c->stats.capacity_bytes = capacity_bytes;
  try {
    std::random_device rd;
    c->k0 = (uint64_t(rd()) << 32) ^ rd();
    c->k1 = (uint64_t(rd()) << 32) ^ rd();
  } catch (...) {
    // No entropy source: a fixed key still hashes well; only resistance to
    // chosen collisions (which cost speed, never correctness) is lost.
    c->k0 = 0x0123456789abcdefULL;
    c->k1 = reinterpret_cast<uintptr_t>(c);
  }
  *out = c;
  clearError();
  return TFC_OK;
}

TFCRT_EXPORT void tfc_cache_free(tfc_cache *cache) { delete cache; }

TFCRT_EXPORT void tfc_cache_clear(tfc_cache *cache) {
  if (!cache)
    return;
  std::lock_guard<std::mutex> lock(cache->mutex);
  cache->clear();
}

namespace {

tfc_status lookup(tfc_cache *cache, const tfc_model *model,
                  const tfc_tensor *inputs, size_t numInputs,
                  tfc_tensor *outputs, size_t numOutputs, int *hit,
                  std::vector<unsigned char> &key, Hash128 &hash) {
  const char *what = "tfc_cache_lookup";
  if (!cache || !model || !model->desc || !hit)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    format("%s: NULL cache, model or hit", what));
  *hit = 0;
  if (tfc_status s = checkTensors(what, "input", inputs, numInputs,
                                  model->signature.inputs.size(), model);
      s != TFC_OK)
    return s;
  if (numOutputs != model->signature.outputs.size() || (numOutputs && !outputs))
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    format("%s: model has %zu outputs, got room for %zu", what,
                           model->signature.outputs.size(), numOutputs));
  for (size_t i = 0; i < numOutputs; ++i)
    outputs[i] = tfc_tensor{};
  buildKey(model, inputs, numInputs, key);
  hash = cache->hashOf(key);
  std::shared_ptr<const Value> value;
  {
    std::lock_guard<std::mutex> lock(cache->mutex);
    Entry *e = cache->find(hash, key);
    if (!e) {
      ++cache->stats.misses;
      return TFC_OK;
    }
    cache->touch(e);
    ++cache->stats.hits;
    value = e->value;
  }
  // Copies outside the lock; the entry may be evicted meanwhile, the value
  // lives on through `value`.
  for (size_t i = 0; i < numOutputs; ++i) {
    const StoredTensor &st = (*value)[i];
    void *copy = trackedAlloc(st.data.size());
    if (!copy) {
      for (size_t j = 0; j < i; ++j)
        tfc_tensor_free(&outputs[j]);
      return setError(TFC_ERR_OUT_OF_MEMORY,
                      format("%s: out of memory copying a cached output "
                             "(%zu bytes)",
                             what, st.data.size()));
    }
    if (!st.data.empty())
      std::memcpy(copy, st.data.data(), st.data.size());
    registerOwnedOutput(copy, copy);
    tfc_tensor &t = outputs[i];
    t.dtype = st.dtype;
    t.rank = st.rank;
    std::copy(st.shape, st.shape + TFC_MAX_RANK, t.shape);
    t.data = copy;
  }
  *hit = 1;
  return TFC_OK;
}

tfc_status insert(tfc_cache *cache, const tfc_model *model,
                  const tfc_tensor *outputs, size_t numOutputs,
                  std::vector<unsigned char> &&key, const Hash128 &hash) {
  const char *what = "tfc_cache_insert";
  if (tfc_status s = checkTensors(what, "output", outputs, numOutputs,
                                  model->signature.outputs.size(), model);
      s != TFC_OK)
    return s;
  uint64_t charge = kEntryOverhead + key.size();
  for (size_t i = 0; i < numOutputs; ++i) {
    uint64_t bytes = 0;
    tensorBytes(outputs[i], bytes);
    charge += kTensorOverhead + bytes;
  }
  if (charge > cache->capacity) {
    std::lock_guard<std::mutex> lock(cache->mutex);
    ++cache->stats.rejected;
    return TFC_OK;
  }
  auto value = std::make_shared<Value>(numOutputs);
  for (size_t i = 0; i < numOutputs; ++i) {
    const tfc_tensor &t = outputs[i];
    StoredTensor &st = (*value)[i];
    uint64_t bytes = 0;
    tensorBytes(t, bytes);
    st.dtype = t.dtype;
    st.rank = t.rank;
    std::copy(t.shape, t.shape + t.rank, st.shape);
    const unsigned char *p = static_cast<const unsigned char *>(t.data);
    if (bytes)
      st.data.assign(p, p + bytes);
  }
  auto entry = std::make_unique<Entry>();
  entry->key = std::move(key);
  entry->hash = hash;
  entry->value = std::move(value);
  entry->bytes = charge;
  std::lock_guard<std::mutex> lock(cache->mutex);
  auto it = cache->buckets.find(hash);
  if (it != cache->buckets.end())
    for (const auto &e : it->second)
      if (e->key == entry->key)
        return TFC_OK; // another thread stored it first
  while (cache->stats.bytes + charge > cache->capacity)
    cache->evictOne();
  Entry *e = entry.get();
  e->hits = 1;
  e->priority = cache->age + 1;
  e->lastUse = ++cache->tick;
  cache->buckets[hash].push_back(std::move(entry));
  cache->order.insert(e);
  cache->stats.bytes += charge;
  ++cache->stats.entries;
  ++cache->stats.insertions;
  return TFC_OK;
}

template <typename F> tfc_status guarded(const char *what, F &&f) {
  try {
    return f();
  } catch (const std::bad_alloc &) {
    return setError(TFC_ERR_OUT_OF_MEMORY,
                    std::string(what) + ": out of memory");
  }
}

} // namespace

TFCRT_EXPORT tfc_status tfc_cache_lookup(tfc_cache *cache,
                                         const tfc_model *model,
                                         const tfc_tensor *inputs,
                                         size_t num_inputs, tfc_tensor *outputs,
                                         size_t num_outputs, int *hit) {
  return guarded("tfc_cache_lookup", [&] {
    std::vector<unsigned char> key;
    Hash128 hash;
    tfc_status s = lookup(cache, model, inputs, num_inputs, outputs,
                          num_outputs, hit, key, hash);
    if (s == TFC_OK)
      clearError();
    return s;
  });
}

TFCRT_EXPORT tfc_status tfc_cache_insert(
    tfc_cache *cache, const tfc_model *model, const tfc_tensor *inputs,
    size_t num_inputs, const tfc_tensor *outputs, size_t num_outputs) {
  if (!cache || !model || !model->desc)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_cache_insert: NULL cache or model");
  return guarded("tfc_cache_insert", [&] {
    if (tfc_status s =
            checkTensors("tfc_cache_insert", "input", inputs, num_inputs,
                         model->signature.inputs.size(), model);
        s != TFC_OK)
      return s;
    std::vector<unsigned char> key;
    buildKey(model, inputs, num_inputs, key);
    Hash128 hash = cache->hashOf(key);
    tfc_status s =
        insert(cache, model, outputs, num_outputs, std::move(key), hash);
    if (s == TFC_OK)
      clearError();
    return s;
  });
}

TFCRT_EXPORT tfc_status tfc_model_run_cached(tfc_model *model, tfc_cache *cache,
                                             const tfc_tensor *inputs,
                                             size_t num_inputs,
                                             tfc_tensor *outputs,
                                             size_t num_outputs) {
  if (!cache)
    return tfc_model_run(model, inputs, num_inputs, outputs, num_outputs);
  if (!model || !model->desc)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_model_run_cached: NULL model");
  if (tfc_dist_size() > 1) {
    {
      std::lock_guard<std::mutex> lock(cache->mutex);
      ++cache->stats.bypassed;
    }
    return tfc_model_run(model, inputs, num_inputs, outputs, num_outputs);
  }
  return guarded("tfc_model_run_cached", [&] {
    std::vector<unsigned char> key;
    Hash128 hash;
    int hit = 0;
    tfc_status s = lookup(cache, model, inputs, num_inputs, outputs,
                          num_outputs, &hit, key, hash);
    if (s != TFC_OK || hit) {
      if (s == TFC_OK)
        clearError();
      return s;
    }
    s = tfc_model_run(model, inputs, num_inputs, outputs, num_outputs);
    if (s != TFC_OK)
      return s;
    // The outputs are valid whatever happens to the insertion.
    try {
      insert(cache, model, outputs, num_outputs, std::move(key), hash);
    } catch (const std::bad_alloc &) {
    }
    clearError();
    return TFC_OK;
  });
}

TFCRT_EXPORT tfc_status tfc_cache_get_stats_sized(const tfc_cache *cache,
                                                  tfc_cache_stats *stats,
                                                  size_t stats_size) {
  if (!cache || !stats)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    "tfc_cache_get_stats: NULL cache or stats");
  if (stats_size < TFC_CACHE_STATS_V1_SIZE)
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    format("tfc_cache_get_stats: struct size %zu is below "
                           "the first layout's %u bytes",
                           stats_size, TFC_CACHE_STATS_V1_SIZE));
  tfc_cache_stats full;
  {
    auto &c = const_cast<tfc_cache &>(*cache);
    std::lock_guard<std::mutex> lock(c.mutex);
    full = c.stats;
  }
  std::memset(stats, 0, stats_size);
  std::memcpy(stats, &full, std::min(stats_size, sizeof(full)));
  return TFC_OK;
}

TFCRT_EXPORT tfc_status(tfc_cache_get_stats)(const tfc_cache *cache,
                                             tfc_cache_stats *stats) {
  return tfc_cache_get_stats_sized(cache, stats, TFC_CACHE_STATS_V1_SIZE);
}
