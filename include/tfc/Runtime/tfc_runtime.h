/*===- tfc_runtime.h - the C API of libtfcrt ---------------------*- C -*-===*
 *
 * The only header an application needs to run a model compiled by tfc.
 * Nothing here aborts the host: every function that can fail returns a
 * tfc_status and leaves a message for tfc_last_error().
 *
 * ABI of a compiled model (docs/DESIGN.md, "Runtime ABI"):
 *   - the compiled object defines `const tfc_model_desc tfc_<name>_desc`
 *     (and, in a shared library, also `tfc_model_desc_v1`, an alias that
 *     tfc-run and tfc_model_load_shared look up with dlsym);
 *   - desc.entry is the MLIR C-interface function
 *       void entry(void *results, memref_desc *weights, memref_desc *in0, ...)
 *     where `weights` is a rank-1 i8 memref over the data section of the
 *     .tfcw file, each input is a ranked memref descriptor
 *       { void *allocated; void *aligned; int64_t offset;
 *         int64_t sizes[rank]; int64_t strides[rank]; }
 *     and `results` points at the result descriptors laid out one after the
 *     other in the same format (rank from the signature).
 *   - buffers the compiled code allocates come from
 *     _mlir_memref_to_llvm_alloc / _mlir_memref_to_llvm_aligned_alloc /
 *     _mlir_memref_to_llvm_free, which libtfcrt defines (for accounting).
 *===----------------------------------------------------------------------===*/
#ifndef TFC_RUNTIME_H
#define TFC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TFC_ABI_VERSION 1u
#define TFC_MAX_RANK 8

typedef enum tfc_status {
  TFC_OK = 0,
  TFC_ERR_INVALID_ARGUMENT = 1, /* bad argument: null pointer, bad count */
  TFC_ERR_IO = 2,               /* file missing or unreadable */
  TFC_ERR_CORRUPT = 3,          /* weights file / library fails validation */
  TFC_ERR_SHAPE = 4,            /* input rank or static dim mismatch */
  TFC_ERR_DTYPE = 5,            /* input element type mismatch */
  TFC_ERR_OUT_OF_MEMORY = 6,
  TFC_ERR_UNSUPPORTED = 7,      /* e.g. ABI version or device not available */
  TFC_ERR_INTERNAL = 8,
  TFC_ERR_COMM = 9              /* a collective / send / recv between ranks
                                   failed or timed out: the job cannot go on
                                   (call tfc_dist_abort) */
} tfc_status;

typedef enum tfc_dtype {
  TFC_DTYPE_F32 = 0,
  TFC_DTYPE_F16 = 1,
  TFC_DTYPE_BF16 = 2,
  TFC_DTYPE_F64 = 3,
  TFC_DTYPE_I64 = 4,
  TFC_DTYPE_I32 = 5,
  TFC_DTYPE_I8 = 6,
  TFC_DTYPE_U8 = 7,
  TFC_DTYPE_BOOL = 8 /* one byte per element, 0 or 1 */
} tfc_dtype;

/* tfc_model_desc.flags: the model's kernels run on a CUDA GPU through
 * libtfcrt's CUDA-driver launcher (tfc --target=cuda). A runtime built
 * without CUDA, or with no usable device, refuses such a model at load
 * (TFC_ERR_UNSUPPORTED). */
#define TFC_MODEL_FLAG_CUDA 1u
/* tfc_model_desc.flags: the descriptor has the KV-cache fields after
 * op_classes (tfc --kv-cache): a step entry and its signature, used by the
 * tfc_session_* API. Descriptors without this bit may end at op_classes
 * (models compiled before the fields existed), so nothing reads them then. */
#define TFC_MODEL_FLAG_KV_CACHE 2u
/* tfc_model_desc.flags: the model was split over ranks (tfc --partition);
 * the partition fields after kv_window are valid. The KV-cache fields are
 * present (zero) in such a descriptor even without TFC_MODEL_FLAG_KV_CACHE.
 * Descriptors without this bit may end at kv_window. */
#define TFC_MODEL_FLAG_PARTITIONED 4u

/* tfc_model_desc.flags: the descriptor has the requirement fields after
 * the partition fields (required_isa, pack_version); the runtime refuses at
 * load a model this CPU cannot run or whose packed weights have another
 * layout version. Descriptors without this bit may end at the partition
 * fields (the KV-cache and partition fields are then present, zero). */
#define TFC_MODEL_FLAG_REQUIREMENTS 8u

/* tfc_model_desc.flags: the step entry of a GPU model (--target=cuda
 * --kv-cache) reads its scalar inputs (past) only in kernels, never in host
 * code, so a CUDA graph captured at one position replays at any other; the
 * runtime then keys the step's graphs on shapes alone, and a session runs
 * decode steps over the whole cache (attention_mask [b, max_len], zero past
 * the position), which makes every decode step the same shape. */
#define TFC_MODEL_FLAG_STEP_SCALARS_ON_DEVICE 16u

/* tfc_model_desc.flags: the step entry's attention has structure that depends
 * on the query's position beyond causality (a sliding window, blocks, a block
 * layout). Decode steps must then see their true positions ([b, T] masks):
 * a session does not run them over the whole cache even with
 * TFC_MODEL_FLAG_STEP_SCALARS_ON_DEVICE (a query aligned to the last of
 * max_len keys would apply its window there). */
#define TFC_MODEL_FLAG_STEP_POSITIONAL_ATTENTION 32u

/* tfc_model_desc.flags: every kernel of the GPU model begins with
 * griddepcontrol.wait (tfc --cuda-pdl), so the runtime launches them, and
 * its own attention and GEMV kernels, with programmatic stream
 * serialization (Hopper's programmatic dependent launch); TFC_CUDA_PDL=0 in
 * the environment launches them plainly. */
#define TFC_MODEL_FLAG_CUDA_PDL 64u

/* tfc_model_desc.required_isa bits: instruction sets the compiled code
 * itself uses (tfc --cpu; the default x86-64-v3 needs AVX2 + FMA). The
 * runtime's kernels dispatch on their own, so this is only about the
 * model's generated loops. */
#define TFC_ISA_AVX2 1u   /* AVX2 + FMA (x86-64-v3; Zen 3 and later) */
#define TFC_ISA_AVX512 2u /* AVX-512 F/BW/VL/DQ (--cpu=znver4, host on Zen 4) */

/* tfc_model_desc.partition_kind */
#define TFC_PARTITION_PIPELINE 1u /* part k = pipeline stage k */
#define TFC_PARTITION_TENSOR 2u   /* part k = shard k of every layer */

/* Static description of a compiled model; emitted by the compiler. */
typedef struct tfc_model_desc {
  uint32_t abi_version; /* TFC_ABI_VERSION */
  uint32_t num_inputs;
  uint32_t num_outputs;
  uint32_t flags; /* TFC_MODEL_FLAG_* bits, 0 for a CPU model */
  const char *name;
  /* One line per input then per output:
   *   "in <name> <dtype> <rank> <d0> <d1> ...\n"
   *   "out <name> <dtype> <rank> <d0> ...\n"
   * dtype is one of f32 f16 bf16 f64 i64 i32 i8 u8 bool; a dim is a
   * non-negative integer or a symbol name (letters, digits, '_') for a
   * dynamic dim. Names contain no whitespace. */
  const char *signature;
  void *entry; /* see the ABI comment above */
  uint64_t weights_size; /* bytes of the .tfcw data section */
  uint64_t weights_hash; /* tfc_hash64 of the data section */
  /* The profiler's site table, one line per id passed to
   * tfcrt_prof_enter/exit (tfc --profile; "" otherwise). A line is
   * tab-separated fields: the op class the time is charged to, then
   * (optional) the tfc ops the kernel was lowered from, space-separated,
   * then (optional) one field per ONNX node name it came from. Models
   * compiled before sites existed have the op class alone on each line. */
  const char *op_classes;
  /* Only when flags & TFC_MODEL_FLAG_KV_CACHE (docs/DESIGN.md, "KV cache"):
   * step_entry is the C interface of
   *   tfc_<name>_step(weights, input_ids [b, n] i64,
   *                   attention_mask [b, T] i64 (T = past + n),
   *                   past (rank-0 i64), cache [L, 2, b, hkv, max_len, d])
   *     -> logits [b, n, V]
   * which appends n tokens after `past` cached ones: it writes their keys
   * (cache[l, 0]) and values (cache[l, 1]) at [past, past + n) of every
   * layer l in place and attends over [0, T). step_signature describes its
   * inputs and outputs in the format of `signature` (the cache's max_len
   * dim is a symbol unless it was fixed at compile time). kv_max_len is the
   * cache length a session gets by default; kv_window > 0 is the sliding
   * attention window both entries apply. With tfc --kv-evict the step takes
   * window_mask [b, R + n] (the mask of positions [past - R, past + n), 0
   * before position 0) instead of attention_mask, and the cache's max_len
   * dim is the static slot count R of a ring (position p in slot p mod R).
   * With tfc --kv-sinks=S as well, the ring has S sink slots in front (the
   * max_len dim is S + R, window_mask [b, S + R + n]) and the step also
   * takes sink_mask [b, S] i64, the mask of positions 0..S-1. */
  void *step_entry;
  const char *step_signature;
  uint64_t kv_max_len;
  uint64_t kv_window;
  /* Only when flags & TFC_MODEL_FLAG_PARTITIONED (docs/DESIGN.md,
   * "Parallelism"): the model runs as num_parts ranks, rank k calling
   * part_entries[k] (same ABI as `entry`) described by part_signatures[k].
   * Tensor parts all have the model's signature; pipeline stage k takes all
   * the model's inputs and only the last stage has outputs. `entry` is part
   * 0's and `signature` the model's as a whole (its inputs and the last
   * part's outputs). With TFC_MODEL_FLAG_KV_CACHE, part_step_entries[k] /
   * part_step_signatures[k] are part k's step entry (its cache holds only
   * that part's layers / kv heads); both are NULL otherwise. */
  uint32_t partition_kind; /* TFC_PARTITION_* */
  uint32_t num_parts;
  void *const *part_entries;
  const char *const *part_signatures;
  void *const *part_step_entries;
  const char *const *part_step_signatures;
  /* Only when flags & TFC_MODEL_FLAG_REQUIREMENTS: TFC_ISA_* bits the
   * generated code needs, and the layout version of the packed weights it
   * passes to the linear kernels (include/tfc/Support/PackedWeights.h,
   * TFC_PACK_VERSION), 0 if it has none. */
  uint32_t required_isa;
  uint32_t pack_version;
} tfc_model_desc;

/* A dense, row-major tensor. */
typedef struct tfc_tensor {
  tfc_dtype dtype;
  int32_t rank;
  int64_t shape[TFC_MAX_RANK];
  void *data;
} tfc_tensor;

typedef struct tfc_model tfc_model;

/* Message for the last failed call on this thread ("" if none). */
const char *tfc_last_error(void);
const char *tfc_status_string(tfc_status status);
const char *tfc_dtype_name(tfc_dtype dtype);
size_t tfc_dtype_size(tfc_dtype dtype);

/* Load a model compiled as a shared library (dlopen + dlsym of
 * "tfc_model_desc_v1") with its weights file. */
tfc_status tfc_model_load_shared(const char *library_path,
                                 const char *weights_path, tfc_model **out);
/* Load a model whose object is linked into the application. */
tfc_status tfc_model_load(const tfc_model_desc *desc, const char *weights_path,
                          tfc_model **out);
void tfc_model_free(tfc_model *model);

const tfc_model_desc *tfc_model_get_desc(const tfc_model *model);
size_t tfc_model_num_inputs(const tfc_model *model);
size_t tfc_model_num_outputs(const tfc_model *model);
/* Info of input/output i: name, dtype, rank and dims (-1 = dynamic). */
tfc_status tfc_model_input_info(const tfc_model *model, size_t i,
                                const char **name, tfc_dtype *dtype,
                                int32_t *rank, int64_t dims[TFC_MAX_RANK]);
tfc_status tfc_model_output_info(const tfc_model *model, size_t i,
                                 const char **name, tfc_dtype *dtype,
                                 int32_t *rank, int64_t dims[TFC_MAX_RANK]);

/* Run the model. `inputs` are in signature order and are validated (dtype,
 * rank, static dims, consistent symbolic dims). On success each outputs[i] is
 * filled with a runtime-owned buffer; release it with tfc_tensor_free. */
tfc_status tfc_model_run(tfc_model *model, const tfc_tensor *inputs,
                         size_t num_inputs, tfc_tensor *outputs,
                         size_t num_outputs);
void tfc_tensor_free(tfc_tensor *tensor);

/* Data parallelism: `model` (not partitioned) runs on every rank of the
 * job over its slice of the batch (dim 0 of every input, split as evenly as
 * possible; rank r gets the r-th slice); the outputs are gathered along
 * dim 0 in rank order so every rank returns the whole batch. Every input
 * and output must have the batch as dim 0. With one rank, or a batch
 * smaller than the number of ranks (every rank then runs all of it, as a
 * replica), it is tfc_model_run. */
tfc_status tfc_model_run_data_parallel(tfc_model *model,
                                       const tfc_tensor *inputs,
                                       size_t num_inputs, tfc_tensor *outputs,
                                       size_t num_outputs);
/* Pipeline-partitioned models: split the batch (dim 0 of every input) into
 * m micro-batches that flow through the stages one after another, so stage
 * k works on micro-batch i while stage k+1 works on i-1. Ignored (whole
 * batch) when m does not divide the batch. Default 1, or env
 * TFC_MICRO_BATCHES. */
void tfc_set_micro_batches(int m);
int tfc_get_micro_batches(void);

/* Threads used by the runtime's kernels (default: all cores). */
void tfc_set_num_threads(int threads);
int tfc_get_num_threads(void);

/* Memory accounting of buffers allocated by compiled code. Versioned
 * ("Versioned structs" below): fields are only ever appended. */
typedef struct tfc_memory_stats {
  uint64_t current_bytes;
  uint64_t peak_bytes;
  uint64_t num_allocs;
  /* Since version 2: of num_allocs, those the system allocator served (the
   * rest reused a freed buffer of the same size); 0 from older runtimes. */
  uint64_t system_allocs;
} tfc_memory_stats;
void tfc_memory_stats_get(tfc_memory_stats *stats);
void tfc_memory_stats_reset_peak(void);

/* Per-op-class profile (filled when the model was compiled with --profile).
 * Versioned ("Versioned structs" below): fields are only ever appended. */
typedef struct tfc_profile_entry {
  const char *op_class;
  uint64_t calls;
  double total_ms;
} tfc_profile_entry;
void tfc_profile_enable(int enable);
void tfc_profile_reset(void);
/* Copies up to `capacity` entries for `model`, one per op class (the sum of
 * its sites); returns the number there are. */
size_t tfc_profile_get(const tfc_model *model, tfc_profile_entry *entries,
                       size_t capacity);

/* Per-site profile: one entry per kernel call site of the compiled code,
 * with what it was lowered from (tfc_model_desc.op_classes). The strings
 * belong to the model. Versioned like tfc_profile_entry (V1 below). */
typedef struct tfc_profile_site {
  const char *op_class;   /* what tfc_profile_get charges the time to */
  const char *tfc_ops;    /* tfc ops lowered into the kernel, e.g.
                             "tfc.linear tfc.unary.silu"; "" if unknown */
  const char *onnx_nodes; /* ONNX node names, newline-separated; "" if none */
  uint64_t calls;
  double total_ms;
} tfc_profile_site;
/* Entries are entry_size bytes apart (sizeof(tfc_profile_site) through the
 * macro below); returns the number of sites (0 and nothing written when
 * entry_size is below TFC_PROFILE_SITE_V1_SIZE). */
size_t tfc_profile_sites_get_sized(const tfc_model *model,
                                   tfc_profile_site *entries, size_t capacity,
                                   size_t entry_size);
#define TFC_PROFILE_SITE_V1_SIZE 40u
#define tfc_profile_sites_get(model, entries, capacity)                        \
  tfc_profile_sites_get_sized((model), (entries), (capacity),                 \
                              sizeof(tfc_profile_site))

/* Chrome trace (the JSON "traceEvents" format that Perfetto and
 * chrome://tracing open) of the runs of profiled models: one slice per
 * kernel call named after its ONNX nodes, one per tfc_model_run / session
 * step, the thread pool's chunks on one track per worker, and a counter of
 * the runtime's live allocations. tfc_trace_start clears what an earlier
 * trace recorded and records at most `max_events` events (0: a default of
 * 4M); it turns the profiling hooks on for its duration. Call start, stop
 * and write while no model runs. tfc_trace_write writes what was recorded
 * (also after stop) to `path`. docs/RUNTIME.md, "Profiling". */
tfc_status tfc_trace_start(size_t max_events);
void tfc_trace_stop(void);
tfc_status tfc_trace_write(const char *path);
/* Events recorded and events dropped (over max_events or out of memory). */
void tfc_trace_counts(uint64_t *recorded, uint64_t *dropped);

/*===-- Calibration observers (models compiled with tfc --observe) -------===*
 * Such a model calls the observer with every tensor a linear layer reads
 * (id: the entry of <stem>.observers.json naming the tensor and its
 * readers; data: contiguous f32 of `shape`, valid during the call only), on
 * the thread that runs the model, before the layer runs. One observer per
 * process; NULL removes it. Models compiled without --observe never call
 * it. tfc-calibrate (docs/DESIGN.md "Calibration") is the user. */
typedef void (*tfc_observer_fn)(void *user, int64_t id, const float *data,
                                int32_t rank, const int64_t *shape);
void tfc_observer_set(tfc_observer_fn fn, void *user);

/*===-- KV-cache sessions (models compiled with tfc --kv-cache) ----------===*
 * A session decodes `batch` sequences token by token through the model's
 * step entry. It owns the cache (layers x 2 x batch x kv_heads x max_len x
 * head_dim elements of the model's dtype, allocated once at creation), the
 * attention-mask history and the position (tokens so far, the same for
 * every sequence; pad with mask 0 to align prompts of different lengths,
 * HF-style left padding). A step allocates no cache: the compiled code
 * updates the session's buffer in place, and its temporaries reuse the
 * runtime's freed blocks. A session is used by one thread at a time; the
 * model must outlive its sessions. */
typedef struct tfc_session tfc_session;

/* Versioned ("Versioned structs" below): fields are only ever appended;
 * binaries built before `ring` get the 80 bytes up to `steps`. */
typedef struct tfc_session_info {
  int64_t batch;
  int64_t max_len;  /* tokens per sequence the cache holds */
  int64_t position; /* tokens appended so far (per sequence) */
  int64_t layers, kv_heads, head_dim;
  int64_t window;            /* sliding attention window, 0 = none */
  uint64_t cache_bytes;      /* size of the cache buffer */
  uint64_t cache_allocations; /* cache buffers this session allocated: 1 */
  uint64_t steps;            /* prefill/decode calls that succeeded */
  /* 1: the cache is a ring of max_len slots (tfc --kv-evict): position grows
   * without bound and only the last max_len positions (>= window) are kept,
   * which is all a sliding-window model attends to. */
  int64_t ring;
  /* tfc_dtype of the cached K/V (tfc --kv-dtype): TFC_DTYPE_F32, _F16, or
   * _I8 (codes; cache_bytes then includes an f32 scale per head and token).
   * Added after `ring`: 0 (F32) from a runtime that predates it. */
  int64_t cache_dtype;
  /* 1: decode steps (one token, linear cache) run over all max_len cache
   * rows, masked past the position: one shape, so one CUDA graph, for every
   * position (a GPU step with TFC_MODEL_FLAG_STEP_SCALARS_ON_DEVICE and
   * without TFC_MODEL_FLAG_STEP_POSITIONAL_ATTENTION, TFC_SESSION_EXACT_T
   * unset). Added after `cache_dtype`: 0 from a runtime that predates it. */
  int64_t whole_cache_decode;
} tfc_session_info;

/* Creates a session for `batch` sequences of at most `max_len` tokens
 * (0: the model's default, desc->kv_max_len; a ring model, info.ring,
 * ignores it: its slots take any number of tokens). TFC_ERR_UNSUPPORTED if
 * the model has no step entry (compile it with --kv-cache). */
tfc_status tfc_session_create(tfc_model *model, int64_t batch,
                              int64_t max_len, tfc_session **out);
/* Appends n >= 1 tokens to every sequence: `tokens` [batch * n] row-major;
 * `mask` [batch * n] (1 = token, 0 = padding) or NULL for all ones. If
 * `logits` is not NULL it receives the logits [batch, n, vocab] (a model
 * compiled with `tfc --kv-logits=last`: [batch, 1, vocab], each sequence's
 * last position; left-pad prompts), owned by the session and valid until
 * the next call on it (do not free them).
 * TFC_ERR_SHAPE, with nothing changed, if position + n > max_len (never for
 * a ring cache, info.ring). */
tfc_status tfc_session_prefill(tfc_session *session, const int64_t *tokens,
                               int64_t n, const int64_t *mask,
                               tfc_tensor *logits);
/* Appends one token per sequence (`tokens` [batch]); logits [batch, 1,
 * vocab] as for prefill. Same as tfc_session_prefill with n = 1. */
tfc_status tfc_session_decode(tfc_session *session, const int64_t *tokens,
                              tfc_tensor *logits);
/* Forgets every token (position 0); keeps the buffers. */
tfc_status tfc_session_reset(tfc_session *session);
/* A new session continuing from the same tokens: the cache, mask history
 * and position are copied (beams, a shared prompt). */
tfc_status tfc_session_fork(const tfc_session *session, tfc_session **out);
tfc_status tfc_session_get_info(const tfc_session *session,
                                tfc_session_info *info);
void tfc_session_free(tfc_session *session);

/*===-- Multi-rank jobs (docs/RUNTIME.md, "Running on several ranks") ----===*
 * A partitioned model (tfc --partition) runs as one process per part,
 * started by mpirun; tfc_model_run / sessions then run part tfc_dist_rank()
 * and communicate through MPI (NCCL for CUDA models). libtfcrt does not
 * link MPI: tfc_dist_init loads libtfcrt_mpi.so (next to libtfcrt.so, or
 * env TFC_MPI_LIBRARY) only when the process was started by mpirun
 * (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK set); otherwise the job is
 * one rank. Call tfc_dist_init before any run, from the main thread. */
tfc_status tfc_dist_init(void);
/* Rank of this process and ranks in the job (0 and 1 before tfc_dist_init
 * or without mpirun). */
int tfc_dist_rank(void);
int tfc_dist_size(void);
/* Ends the job normally (MPI_Finalize); every rank must call it. */
tfc_status tfc_dist_finalize(void);
/* Ends every rank of the job with exit code `code` (MPI_Abort); for errors
 * a rank cannot recover from (TFC_ERR_COMM). Does not return. In a
 * one-rank job it calls exit(code). */
void tfc_dist_abort(int code);
/* Seconds a collective / send / recv waits for the other ranks before it
 * fails with TFC_ERR_COMM ("no answer ... a rank died or hangs"); default
 * 60, or env TFC_DIST_TIMEOUT. */
void tfc_dist_set_timeout(double seconds);

/*===-- Result cache (docs/RUNTIME.md, "Result cache") --------------------===*
 * An LFU inference-result cache: the outputs of a run, stored under a key
 * made of the model's identity (desc name, signature, flags, weights size
 * and hash, the entry: "main") and every input's dtype, shape and bytes.
 * The key is hashed with SipHash-2-4-128 (random key per cache) to find a
 * bucket, and a hit compares the whole stored key: two inputs that differ
 * in one byte never share a result, whatever their hashes.
 *   - bounded by bytes (key + outputs + bookkeeping of each entry); a result
 *     larger than the whole cache is not stored (stats.rejected);
 *   - eviction: LFU with dynamic aging (LFU-DA): an entry's priority is
 *     L + its hit count, L the priority of the last entry evicted, so keys
 *     that were hot once but no longer are used fall behind new ones and
 *     leave; among equal priorities the least recently used goes first;
 *   - thread-safe: one cache may serve several threads and several models;
 *     a miss is computed outside the lock (two threads missing on one key
 *     both run the model; the second insertion is a no-op).
 * Only the stateless entry is cached. KV-cache sessions (prefill/decode)
 * are NOT: a step's result depends on the session's cache, not only on its
 * arguments. In a multi-rank job (tfc_dist_size() > 1) tfc_model_run_cached
 * runs without the cache (stats.bypassed): a hit on one rank and a miss on
 * another would leave the other ranks waiting in a collective. */
typedef struct tfc_cache tfc_cache;

/* Counters of a cache; versioned (see "Versioned structs" below). */
typedef struct tfc_cache_stats {
  uint64_t hits;
  uint64_t misses;
  uint64_t insertions;
  uint64_t evictions;  /* entries removed to make room */
  uint64_t rejected;   /* results larger than the cache: not stored */
  uint64_t collisions; /* lookups whose hash matched a different key */
  uint64_t bypassed;   /* tfc_model_run_cached calls that ran uncached */
  uint64_t entries;    /* entries held now */
  uint64_t bytes;      /* bytes charged for them */
  uint64_t capacity_bytes;
} tfc_cache_stats;

/* A cache of at most capacity_bytes (> 0). */
tfc_status tfc_cache_create(uint64_t capacity_bytes, tfc_cache **out);
/* Frees the cache and its entries (tensors handed out stay valid). */
void tfc_cache_free(tfc_cache *cache);
/* Drops every entry; keeps the counters. */
void tfc_cache_clear(tfc_cache *cache);
/* Looks the inputs up for `model`: on a hit (*hit = 1) each outputs[i]
 * receives a runtime-owned copy of the stored result (tfc_tensor_free);
 * on a miss (*hit = 0) the outputs are zeroed. Inputs are validated as by
 * tfc_model_run only on a miss, when the model runs. */
tfc_status tfc_cache_lookup(tfc_cache *cache, const tfc_model *model,
                            const tfc_tensor *inputs, size_t num_inputs,
                            tfc_tensor *outputs, size_t num_outputs, int *hit);
/* Stores a copy of `outputs` as the result of `inputs` on `model` (an entry
 * already there for the same key is kept). */
tfc_status tfc_cache_insert(tfc_cache *cache, const tfc_model *model,
                            const tfc_tensor *inputs, size_t num_inputs,
                            const tfc_tensor *outputs, size_t num_outputs);
/* tfc_model_run through `cache` (NULL: tfc_model_run): lookup, and on a
 * miss run and insert. The outputs are runtime-owned either way. */
tfc_status tfc_model_run_cached(tfc_model *model, tfc_cache *cache,
                                const tfc_tensor *inputs, size_t num_inputs,
                                tfc_tensor *outputs, size_t num_outputs);

/*===-- Versioned structs -------------------------------------------------===*
 * The structs the runtime fills (tfc_session_info, tfc_memory_stats,
 * tfc_profile_entry, tfc_cache_stats) only ever grow at their end: a field,
 * once released, keeps its offset. Every getter has a _sized form that takes
 * the size of the struct as the caller's header declares it; the runtime
 * writes min(that size, its own) bytes and zeroes the rest of the caller's
 * struct, so an old binary on a new runtime gets the fields it knows and
 * nothing past its struct's end, and a new binary on an old runtime reads
 * zero in the fields the runtime does not know. The plain names below are
 * macros that pass sizeof of the struct this header declares; the exported
 * plain symbols, which binaries built against older headers call, fill the
 * first released layout (the _V1_SIZE bytes):
 *   tfc_session_info  80 bytes (up to `steps`; `ring` came later)
 *   tfc_memory_stats  24 bytes, tfc_profile_entry 24 bytes (per entry),
 *   tfc_cache_stats   80 bytes.
 * A _sized call with a size below the V1 size is TFC_ERR_INVALID_ARGUMENT
 * (tfc_memory_stats_get_sized then writes nothing; tfc_profile_get_sized
 * returns 0). Define TFC_NO_SIZED_MACROS to call the V1 symbols directly. */
#define TFC_SESSION_INFO_V1_SIZE 80u
#define TFC_MEMORY_STATS_V1_SIZE 24u
#define TFC_PROFILE_ENTRY_V1_SIZE 24u
#define TFC_CACHE_STATS_V1_SIZE 80u

tfc_status tfc_session_get_info_sized(const tfc_session *session,
                                      tfc_session_info *info,
                                      size_t info_size);
void tfc_memory_stats_get_sized(tfc_memory_stats *stats, size_t stats_size);
/* Entries are entry_size bytes apart in `entries`. */
size_t tfc_profile_get_sized(const tfc_model *model,
                             tfc_profile_entry *entries, size_t capacity,
                             size_t entry_size);
tfc_status tfc_cache_get_stats_sized(const tfc_cache *cache,
                                     tfc_cache_stats *stats,
                                     size_t stats_size);
tfc_status tfc_cache_get_stats(const tfc_cache *cache, tfc_cache_stats *stats);

#ifndef TFC_NO_SIZED_MACROS
#define tfc_session_get_info(session, info)                                    \
  tfc_session_get_info_sized((session), (info), sizeof(tfc_session_info))
#define tfc_memory_stats_get(stats)                                            \
  tfc_memory_stats_get_sized((stats), sizeof(tfc_memory_stats))
#define tfc_profile_get(model, entries, capacity)                              \
  tfc_profile_get_sized((model), (entries), (capacity),                       \
                        sizeof(tfc_profile_entry))
#define tfc_cache_get_stats(cache, stats)                                      \
  tfc_cache_get_stats_sized((cache), (stats), sizeof(tfc_cache_stats))
#endif

#ifdef __cplusplus
}
#endif
#endif /* TFC_RUNTIME_H */
