//===- DistRun.cpp - runs of partitioned and data-parallel models ---------===//
//
// tfc_model_run of a partitioned model (docs/DESIGN.md "Parallelism",
// "Runtime"): rank k calls part k's entry; the compiled parts exchange
// activations themselves through the communication kernels (Dist.cpp).
//   tensor:N    every part returns the model's outputs (all-reduced).
//   pipeline:N  only the last stage returns them; they are broadcast from
//               the last rank so that every rank returns the same tensors.
//               With micro-batches, the batch (dim 0) is cut into m chunks
//               that every stage runs in order: stage k works on chunk i
//               while stage k+1 works on chunk i-1.
// tfc_model_run_data_parallel: each rank runs the whole model on its slice
// of the batch; the slices of the outputs are gathered in rank order.
//
//===----------------------------------------------------------------------===//

#include "Dist.h"
#include "Model.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace tfcrt;

namespace {

std::atomic<int> microBatches{0}; // 0: not set, read TFC_MICRO_BATCHES

const char *kindName(uint32_t kind) {
  return kind == TFC_PARTITION_PIPELINE ? "pipeline"
         : kind == TFC_PARTITION_TENSOR ? "tensor"
                                        : "?";
}

bool partitioned(const tfc_model *m) {
  return m->desc->flags & TFC_MODEL_FLAG_PARTITIONED;
}

int64_t elements(const tfc_tensor &t) {
  int64_t n = 1;
  for (int32_t d = 0; d < t.rank; ++d)
    n *= t.shape[d];
  return n;
}

size_t bytesOf(const tfc_tensor &t) {
  return static_cast<size_t>(elements(t)) * tfc_dtype_size(t.dtype);
}

/// A tensor the runtime owns (released by tfc_tensor_free), or nullptr.
void *allocOwned(tfc_tensor &t) {
  size_t bytes = bytesOf(t);
  void *p = trackedAlloc(bytes ? bytes : 1);
  if (p)
    registerOwnedOutput(p, p);
  t.data = p;
  return p;
}

/// Rows [begin, begin + rows) of dim 0 of `t` (a view, no copy).
tfc_tensor rowsOf(const tfc_tensor &t, int64_t begin, int64_t rows) {
  tfc_tensor v = t;
  size_t rowBytes =
      t.shape[0] ? bytesOf(t) / static_cast<size_t>(t.shape[0]) : 0;
  v.shape[0] = rows;
  v.data = static_cast<char *>(t.data) + static_cast<size_t>(begin) * rowBytes;
  return v;
}

/// The common dim 0 of all inputs, or -1 if they do not share one.
int64_t batchOf(const tfc_tensor *inputs, size_t n) {
  int64_t batch = -1;
  for (size_t i = 0; i < n; ++i) {
    if (inputs[i].rank < 1 || (batch >= 0 && inputs[i].shape[0] != batch))
      return -1;
    batch = inputs[i].shape[0];
  }
  return batch;
}

/// Concatenates `parts[c][i]` along dim 0 into outputs[i], freeing parts.
tfc_status concatRows(std::vector<std::vector<tfc_tensor>> &parts,
                      tfc_tensor *outputs, size_t numOutputs) {
  tfc_status st = TFC_OK;
  for (size_t i = 0; i < numOutputs && st == TFC_OK; ++i) {
    tfc_tensor &out = outputs[i];
    out = parts[0][i];
    out.data = nullptr;
    if (out.rank < 1) {
      st = setError(TFC_ERR_SHAPE, "micro-batches: an output has no batch "
                                   "dim to concatenate along");
      break;
    }
    out.shape[0] = 0;
    for (auto &chunk : parts)
      out.shape[0] += chunk[i].shape[0];
    if (!allocOwned(out)) {
      st = setError(TFC_ERR_OUT_OF_MEMORY, "micro-batches: out of memory");
      break;
    }
    char *at = static_cast<char *>(out.data);
    for (auto &chunk : parts) {
      std::memcpy(at, chunk[i].data, bytesOf(chunk[i]));
      at += bytesOf(chunk[i]);
    }
  }
  for (auto &chunk : parts)
    for (tfc_tensor &t : chunk)
      tfc_tensor_free(&t);
  if (st != TFC_OK)
    for (size_t i = 0; i < numOutputs; ++i)
      tfc_tensor_free(&outputs[i]);
  return st;
}

/// After a local run on every rank: the first failing rank's error on all
/// of them, so that no rank waits for a collective the others skip.
tfc_status agree(tfc_status local, const char *what) {
  if (dist::size() == 1)
    return local;
  float flag = local != TFC_OK ? 1.0f + static_cast<float>(dist::rank()) : 0;
  float sum = flag;
  std::string mine = tfc_last_error();
  if (!dist::allReduce(&flag, &sum, 1, what))
    return dist::commStatus();
  if (sum == 0)
    return TFC_OK;
  if (local != TFC_OK)
    return setError(local, format("rank %d: %s", dist::rank(), mine.c_str()));
  return setError(TFC_ERR_COMM,
                  format("rank %d: %s: another rank's run failed (its "
                         "message is on that rank)",
                         dist::rank(), what));
}

} // namespace

bool tfcrt::isPipeline(const tfc_model *m) {
  return partitioned(m) && m->desc->partition_kind == TFC_PARTITION_PIPELINE;
}

tfc_status tfcrt::loadPartitions(tfc_model *m) {
  const tfc_model_desc &d = *m->desc;
  if (!(d.flags & TFC_MODEL_FLAG_PARTITIONED))
    return TFC_OK;
  if ((d.partition_kind != TFC_PARTITION_PIPELINE &&
       d.partition_kind != TFC_PARTITION_TENSOR) ||
      d.num_parts == 0 || !d.part_entries || !d.part_signatures)
    return setError(TFC_ERR_CORRUPT,
                    "partitioned descriptor without a valid kind, part "
                    "count or part entries");
  bool kv = d.flags & TFC_MODEL_FLAG_KV_CACHE;
  for (uint32_t k = 0; k < d.num_parts; ++k) {
    if (!d.part_entries[k] || !d.part_signatures[k] ||
        (kv && (!d.part_step_entries || !d.part_step_entries[k] ||
                !d.part_step_signatures || !d.part_step_signatures[k])))
      return setError(TFC_ERR_CORRUPT,
                      format("partitioned descriptor: part %u has no entry "
                             "or signature",
                             k));
    Signature sig;
    std::string error;
    if (!parseSignatureText(d, d.part_signatures[k], sig, error))
      return setError(TFC_ERR_CORRUPT,
                      format("part %u signature: %s", k, error.c_str()));
    if (sig.inputs.size() > kMaxInputs)
      return setError(TFC_ERR_UNSUPPORTED, "part with too many inputs");
    m->partSignatures.push_back(std::move(sig));
  }
  return TFC_OK;
}

tfc_status tfcrt::checkRanks(const tfc_model *m, const char *what) {
  if (dist::failed())
    return setError(TFC_ERR_COMM,
                    format("%s: an earlier communication failed, the ranks "
                           "are out of step (abort the job): %s",
                           what, dist::error().c_str()));
  if (!partitioned(m))
    return TFC_OK;
  uint32_t parts = m->desc->num_parts;
  int size = dist::size();
  if (static_cast<uint32_t>(size) == parts)
    return TFC_OK;
  return setError(
      TFC_ERR_UNSUPPORTED,
      format("%s: model is partitioned %s:%u but this job has %d rank%s: run "
             "it with mpirun -np %u%s",
             what, kindName(m->desc->partition_kind), parts, size,
             size == 1 ? "" : "s", parts,
             dist::launchedButNotInitialized()
                 ? " (and call tfc_dist_init first)"
                 : ""));
}

void tfcrt::stepEntryOf(const tfc_model *m, void **entry,
                        const char **signature) {
  const tfc_model_desc &d = *m->desc;
  if (partitioned(m) && d.part_step_entries && d.part_step_signatures &&
      static_cast<uint32_t>(dist::rank()) < d.num_parts) {
    *entry = d.part_step_entries[dist::rank()];
    *signature = d.part_step_signatures[dist::rank()];
    return;
  }
  *entry = d.step_entry;
  *signature = d.step_signature;
}

tfc_status tfcrt::shareLastStageOutputs(const tfc_model *m, tfc_tensor *outputs,
                                        size_t numOutputs) {
  if (!isPipeline(m) || dist::size() == 1)
    return TFC_OK;
  int last = dist::size() - 1;
  bool mine = dist::rank() == last;
  const char *what = "broadcast of the last stage's outputs";
  for (size_t i = 0; i < numOutputs; ++i) {
    // Header: dtype, rank, shape.
    int64_t header[2 + TFC_MAX_RANK] = {};
    if (mine) {
      header[0] = outputs[i].dtype;
      header[1] = outputs[i].rank;
      for (int32_t d = 0; d < outputs[i].rank; ++d)
        header[2 + d] = outputs[i].shape[d];
    }
    if (!dist::broadcast(header, sizeof(header), last, what))
      return dist::commStatus();
    if (!mine) {
      tfc_tensor &t = outputs[i];
      t = tfc_tensor{};
      t.dtype = static_cast<tfc_dtype>(header[0]);
      t.rank = static_cast<int32_t>(header[1]);
      for (int32_t d = 0; d < t.rank; ++d)
        t.shape[d] = header[2 + d];
      if (!allocOwned(t))
        return setError(TFC_ERR_OUT_OF_MEMORY,
                        "out of memory receiving the model's outputs");
    }
    if (!dist::broadcast(outputs[i].data,
                         static_cast<int64_t>(bytesOf(outputs[i])), last, what))
      return dist::commStatus();
  }
  return TFC_OK;
}

tfc_status tfcrt::runPartitioned(tfc_model *m, const tfc_tensor *inputs,
                                 size_t numInputs, tfc_tensor *outputs,
                                 size_t numOutputs) {
  if (tfc_status s = checkRanks(m, "tfc_model_run"); s != TFC_OK)
    return s;
  int rank = dist::rank();
  void *entry = m->desc->part_entries[rank];
  const Signature &sig = m->partSignatures[rank];
  size_t partOutputs = sig.outputs.size();
  if (numOutputs != m->signature.outputs.size() || (numOutputs && !outputs))
    return setError(TFC_ERR_INVALID_ARGUMENT,
                    format("model '%s' has %zu outputs, got room for %zu",
                           m->desc->name ? m->desc->name : "?",
                           m->signature.outputs.size(), numOutputs));
  if (partOutputs != 0 && partOutputs != numOutputs)
    return setError(TFC_ERR_CORRUPT, "part signature and model signature "
                                     "disagree on the outputs");
  for (size_t i = 0; i < numOutputs; ++i)
    outputs[i] = tfc_tensor{};

  // GPU models: NCCL is set up by every rank here, before any stage can
  // block in a recv (Dist.h, nccl::prepare).
  if (m->desc->flags & TFC_MODEL_FLAG_CUDA)
    nccl::prepare();
  int m0 = tfc_get_micro_batches();
  int64_t batch = batchOf(inputs, numInputs);
  bool split = isPipeline(m) && m0 > 1 && batch >= m0 && batch % m0 == 0;
  tfc_status st;
  if (!split) {
    st = runEntry(m, entry, sig, inputs, numInputs,
                  partOutputs ? outputs : nullptr, partOutputs);
  } else {
    std::vector<std::vector<tfc_tensor>> chunks(m0);
    std::vector<tfc_tensor> in(numInputs);
    int64_t rows = batch / m0;
    st = TFC_OK;
    for (int c = 0; c < m0 && st == TFC_OK; ++c) {
      for (size_t i = 0; i < numInputs; ++i)
        in[i] = rowsOf(inputs[i], c * rows, rows);
      chunks[c].assign(partOutputs, tfc_tensor{});
      st = runEntry(m, entry, sig, in.data(), numInputs,
                    partOutputs ? chunks[c].data() : nullptr, partOutputs);
    }
    if (st == TFC_OK && partOutputs)
      st = concatRows(chunks, outputs, numOutputs);
    else
      for (auto &chunk : chunks)
        for (tfc_tensor &t : chunk)
          tfc_tensor_free(&t);
  }
  // A communication failure inside the entry makes its results NaN: report
  // that rather than the numbers.
  if (dist::failed()) {
    for (size_t i = 0; i < numOutputs; ++i)
      tfc_tensor_free(&outputs[i]);
    return dist::commStatus();
  }
  if (isPipeline(m)) {
    if ((st = agree(st, "tfc_model_run")) != TFC_OK) {
      for (size_t i = 0; i < numOutputs; ++i)
        tfc_tensor_free(&outputs[i]);
      return st;
    }
    st = shareLastStageOutputs(m, outputs, numOutputs);
    if (st != TFC_OK)
      for (size_t i = 0; i < numOutputs; ++i)
        tfc_tensor_free(&outputs[i]);
  }
  return st;
}

//===-- C API -------------------------------------------------------------===//

TFCRT_EXPORT void tfc_set_micro_batches(int m) { microBatches = m > 0 ? m : 1; }

TFCRT_EXPORT int tfc_get_micro_batches(void) {
  int m = microBatches;
  if (m > 0)
    return m;
  const char *e = std::getenv("TFC_MICRO_BATCHES");
  int v = e ? std::atoi(e) : 1;
  return v > 0 ? v : 1;
}

TFCRT_EXPORT tfc_status tfc_model_run_data_parallel(tfc_model *model,
                                                    const tfc_tensor *inputs,
                                                    size_t num_inputs,
                                                    tfc_tensor *outputs,
                                                    size_t num_outputs) {
  const char *what = "tfc_model_run_data_parallel";
  if (!model || !model->desc)
    return setError(TFC_ERR_INVALID_ARGUMENT, format("%s: NULL model", what));
  if (partitioned(model))
    return setError(TFC_ERR_UNSUPPORTED,
                    format("%s: the model is partitioned (%s:%u); use "
                           "tfc_model_run",
                           what, kindName(model->desc->partition_kind),
                           model->desc->num_parts));
  if (tfc_status s = checkRanks(model, what); s != TFC_OK)
    return s;
  int size = dist::size(), rank = dist::rank();
  if (size == 1)
    return tfc_model_run(model, inputs, num_inputs, outputs, num_outputs);
  if (num_outputs && !outputs)
    return setError(TFC_ERR_INVALID_ARGUMENT, format("%s: NULL outputs", what));
  int64_t batch = num_inputs ? batchOf(inputs, num_inputs) : -1;
  if (batch < 0)
    return setError(
        TFC_ERR_SHAPE,
        format("%s: every input needs the same batch (dim 0)", what));
  if (batch < size) // fewer rows than ranks: every rank is a full replica
    return tfc_model_run(model, inputs, num_inputs, outputs, num_outputs);
  try {
    int64_t base = batch / size, extra = batch % size;
    int64_t rows = base + (rank < extra ? 1 : 0);
    int64_t begin = rank * base + (rank < extra ? rank : extra);
    std::vector<tfc_tensor> in(num_inputs), local(num_outputs);
    for (size_t i = 0; i < num_inputs; ++i)
      in[i] = rowsOf(inputs[i], begin, rows);
    tfc_status st =
        tfc_model_run(model, in.data(), num_inputs, local.data(), num_outputs);
    for (size_t i = 0; i < num_outputs && st == TFC_OK; ++i)
      if (local[i].rank < 1 || local[i].shape[0] != rows)
        st = setError(TFC_ERR_SHAPE,
                      format("%s: output #%zu does not have the batch as dim "
                             "0",
                             what, i));
    auto freeAll = [&] {
      for (size_t i = 0; i < num_outputs; ++i) {
        tfc_tensor_free(&local[i]);
        tfc_tensor_free(&outputs[i]);
      }
    };
    for (size_t i = 0; i < num_outputs; ++i)
      outputs[i] = tfc_tensor{};
    if ((st = agree(st, what)) != TFC_OK) {
      freeAll();
      return st;
    }
    std::vector<int64_t> counts(static_cast<size_t>(size));
    for (size_t i = 0; i < num_outputs; ++i) {
      // Every rank's row count for this output; the other dims agree since
      // every rank ran the same model on inputs of the same trailing dims.
      if (!dist::allGatherCounts(local[i].shape[0], counts.data(), what)) {
        freeAll();
        return dist::commStatus();
      }
      tfc_tensor &out = outputs[i];
      out = local[i];
      out.data = nullptr;
      out.shape[0] = 0;
      for (int64_t c : counts)
        out.shape[0] += c;
      if (!allocOwned(out)) {
        freeAll();
        return setError(TFC_ERR_OUT_OF_MEMORY,
                        format("%s: out of memory", what));
      }
      size_t rowBytes =
          bytesOf(local[i]) / static_cast<size_t>(rows ? rows : 1);
      char *at = static_cast<char *>(out.data);
      for (int r = 0; r < size; ++r) {
        size_t bytes = static_cast<size_t>(counts[r]) * rowBytes;
        if (r == rank)
          std::memcpy(at, local[i].data, bytes);
        if (!dist::broadcast(at, static_cast<int64_t>(bytes), r, what)) {
          freeAll();
          return dist::commStatus();
        }
        at += bytes;
      }
      tfc_tensor_free(&local[i]);
    }
    clearError();
    return TFC_OK;
  } catch (const std::bad_alloc &) {
    return setError(TFC_ERR_OUT_OF_MEMORY, format("%s: out of memory", what));
  }
}
