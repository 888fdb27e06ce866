//===- DistTest.cpp - multi-rank runtime tests (run under mpirun -np 2) ---===//
//
//   tfcrt-dist-test collectives   kernels (all_reduce, uneven all_gather,
//                                 send/recv with dynamic dims), tensor:2 and
//                                 pipeline:2 runs of fake partitioned models
//                                 (with micro-batches), data parallelism
//   tfcrt-dist-test wrong-ranks   a partitioned model in a 1-rank job fails
//                                 with a clear TFC_ERR_UNSUPPORTED
//   tfcrt-dist-test hang|exit     rank 1 stops answering / exits before an
//                                 all_reduce: rank 0 must report
//                                 "no answer ..." within TFC_DIST_TIMEOUT
//                                 (or be ended by mpirun), never hang
// The fake models follow the entry ABI of tfc_runtime.h and call the
// communication kernels of tfc_kernels.h as compiled partitioned code does.
// Prints "PASS" on success; exit status 1 on a failed check.
//
//===----------------------------------------------------------------------===//

#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

int failures = 0;
#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "rank %d: CHECK failed at line %d: %s: ",           \
                   tfc_dist_rank(), __LINE__, #cond);                          \
      std::fprintf(stderr, __VA_ARGS__);                                       \
      std::fprintf(stderr, "\n");                                              \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

struct MemRef2 {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};
struct MemRef1 {
  float *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
};

MemRef2 alloc2(int64_t rows, int64_t cols) {
  float *p = static_cast<float *>(
      _mlir_memref_to_llvm_alloc(static_cast<uint64_t>(rows * cols) * 4));
  return {p, p, 0, {rows, cols}, {cols, 1}};
}
tfcrt_unranked_memref un(void *desc, int64_t rank) { return {rank, desc}; }

//===-- fake partitioned models ------------------------------------------===//
// Every model: in x f32 [b, 4]; out y f32 [b, 4].

// tensor:2, part k: y = all_reduce((k + 1) * x) = 3x.
template <int K> void tensorPart(MemRef2 *y, void *, MemRef2 *x) {
  int64_t b = x->sizes[0];
  MemRef2 t = alloc2(b, 4);
  for (int64_t i = 0; i < b * 4; ++i)
    t.aligned[i] = (K + 1) * x->aligned[x->offset + i];
  *y = alloc2(b, 4);
  tfcrt_unranked_memref in = un(&t, 2), out = un(y, 2);
  _mlir_ciface_tfcrt_all_reduce_f32(&in, &out);
  _mlir_memref_to_llvm_free(t.allocated);
}
// pipeline:2: stage 0 sends 2x to rank 1 and returns nothing; stage 1
// receives it (dims first) and returns it + x = 3x.
void stage0(void *, void *, MemRef2 *x) {
  int64_t b = x->sizes[0];
  MemRef2 t = alloc2(b, 4);
  for (int64_t i = 0; i < b * 4; ++i)
    t.aligned[i] = 2 * x->aligned[x->offset + i];
  tfcrt_unranked_memref in = un(&t, 2);
  _mlir_ciface_tfcrt_send_f32(&in, 1, 7);
  _mlir_memref_to_llvm_free(t.allocated);
}
void stage1(MemRef2 *y, void *, MemRef2 *x) {
  int64_t dims[2] = {-1, -1};
  tfcrt_memref1_i64 d = {dims, dims, 0, {2}, {1}};
  _mlir_ciface_tfcrt_recv_dims(&d, 0, 7);
  MemRef2 r = alloc2(dims[0], dims[1]);
  tfcrt_unranked_memref out = un(&r, 2);
  _mlir_ciface_tfcrt_recv_f32(&out, 0, 7);
  *y = r;
  for (int64_t i = 0; i < x->sizes[0] * 4 && i < dims[0] * dims[1]; ++i)
    y->aligned[i] += x->aligned[x->offset + i];
}
// Unpartitioned: y = 2x (for data parallelism).
void doubler(MemRef2 *y, void *, MemRef2 *x) {
  *y = alloc2(x->sizes[0], 4);
  for (int64_t i = 0; i < x->sizes[0] * 4; ++i)
    y->aligned[i] = 2 * x->aligned[x->offset + i];
}

const char *kSig = "in x f32 2 batch 4\nout y f32 2 batch 4\n";
const char *kStage0Sig = "in x f32 2 batch 4\n";

void *tensorEntries[] = {reinterpret_cast<void *>(&tensorPart<0>),
                         reinterpret_cast<void *>(&tensorPart<1>)};
const char *tensorSigs[] = {kSig, kSig};
void *pipeEntries[] = {reinterpret_cast<void *>(&stage0),
                       reinterpret_cast<void *>(&stage1)};
const char *pipeSigs[] = {kStage0Sig, kSig};

tfc_model_desc makeDesc(const char *name, void *entry) {
  tfc_model_desc d{};
  d.abi_version = TFC_ABI_VERSION;
  d.num_inputs = 1;
  d.num_outputs = 1;
  d.name = name;
  d.signature = kSig;
  d.entry = entry;
  d.op_classes = "";
  return d;
}
tfc_model_desc partitionedDesc(uint32_t kind) {
  bool pipe = kind == TFC_PARTITION_PIPELINE;
  tfc_model_desc d = makeDesc(pipe ? "pipe" : "tensor",
                              pipe ? pipeEntries[0] : tensorEntries[0]);
  d.flags = TFC_MODEL_FLAG_PARTITIONED;
  d.partition_kind = kind;
  d.num_parts = 2;
  d.part_entries = pipe ? pipeEntries : tensorEntries;
  d.part_signatures = pipe ? pipeSigs : tensorSigs;
  return d;
}

/// Runs `model` (or its data-parallel form) on x [b, 4] and checks y = k x.
void checkRun(tfc_model *model, int64_t b, float k, bool dataParallel,
              const char *what) {
  std::vector<float> x(static_cast<size_t>(b * 4));
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = 0.25f * static_cast<float>(i) - 1.0f; // same on every rank
  tfc_tensor in{TFC_DTYPE_F32, 2, {b, 4}, x.data()};
  tfc_tensor out{};
  tfc_status s = dataParallel
                     ? tfc_model_run_data_parallel(model, &in, 1, &out, 1)
                     : tfc_model_run(model, &in, 1, &out, 1);
  CHECK(s == TFC_OK, "%s: %s", what, tfc_last_error());
  if (s != TFC_OK)
    return;
  CHECK(out.rank == 2 && out.shape[0] == b && out.shape[1] == 4,
        "%s: shape [%lld, %lld]", what, (long long)out.shape[0],
        (long long)out.shape[1]);
  const float *y = static_cast<const float *>(out.data);
  for (size_t i = 0; i < x.size(); ++i)
    if (y[i] != k * x[i]) {
      CHECK(false, "%s: y[%zu] = %g, expected %g", what, i, y[i], k * x[i]);
      break;
    }
  tfc_tensor_free(&out);
}

int collectives() {
  int rank = tfc_dist_rank(), size = tfc_dist_size();
  CHECK(size == 2, "run with mpirun -np 2 (size %d)", size);
  if (size != 2)
    return 1;
  // all_reduce: [2, 3] of rank-dependent values.
  {
    float in[6], out[6];
    for (int i = 0; i < 6; ++i)
      in[i] = static_cast<float>(i + 10 * rank);
    MemRef2 a = {in, in, 0, {2, 3}, {3, 1}}, b = {out, out, 0, {2, 3}, {3, 1}};
    tfcrt_unranked_memref ui = un(&a, 2), uo = un(&b, 2);
    _mlir_ciface_tfcrt_all_reduce_f32(&ui, &uo);
    for (int i = 0; i < 6; ++i)
      CHECK(out[i] == 2 * i + 10, "all_reduce out[%d] = %g", i, out[i]);
  }
  // all_gather with uneven counts: rank r gives r + 2 elements.
  {
    float in[3] = {100.f * rank, 100.f * rank + 1, 100.f * rank + 2};
    float out[5] = {};
    MemRef1 a = {in, in, 0, {rank + 2}, {1}}, b = {out, out, 0, {5}, {1}};
    tfcrt_unranked_memref ui = un(&a, 1), uo = un(&b, 1);
    _mlir_ciface_tfcrt_all_gather_f32(&ui, &uo);
    const float expect[5] = {0, 1, 100, 101, 102};
    for (int i = 0; i < 5; ++i)
      CHECK(out[i] == expect[i], "all_gather out[%d] = %g", i, out[i]);
  }
  // send / recv with dims only the sender knows: [3, 5], then [1, 2].
  for (int64_t rows : {3, 1}) {
    int64_t cols = rows == 3 ? 5 : 2;
    if (rank == 0) {
      std::vector<float> v(static_cast<size_t>(rows * cols));
      for (size_t i = 0; i < v.size(); ++i)
        v[i] = static_cast<float>(i) + 0.5f;
      MemRef2 a = {v.data(), v.data(), 0, {rows, cols}, {cols, 1}};
      tfcrt_unranked_memref ui = un(&a, 2);
      _mlir_ciface_tfcrt_send_f32(&ui, 1, 3);
    } else {
      int64_t dims[2] = {-1, -1};
      tfcrt_memref1_i64 d = {dims, dims, 0, {2}, {1}};
      _mlir_ciface_tfcrt_recv_dims(&d, 0, 3);
      CHECK(dims[0] == rows && dims[1] == cols, "recv_dims [%lld, %lld]",
            (long long)dims[0], (long long)dims[1]);
      std::vector<float> v(static_cast<size_t>(dims[0] * dims[1]));
      MemRef2 a = {v.data(), v.data(), 0, {dims[0], dims[1]}, {dims[1], 1}};
      tfcrt_unranked_memref uo = un(&a, 2);
      _mlir_ciface_tfcrt_recv_f32(&uo, 0, 3);
      for (size_t i = 0; i < v.size(); ++i)
        CHECK(v[i] == static_cast<float>(i) + 0.5f, "recv v[%zu] = %g", i,
              v[i]);
    }
  }
  // Partitioned runs: every rank gets y = 3x.
  for (uint32_t kind : {TFC_PARTITION_TENSOR, TFC_PARTITION_PIPELINE}) {
    tfc_model_desc d = partitionedDesc(kind);
    tfc_model *m = nullptr;
    CHECK(tfc_model_load(&d, nullptr, &m) == TFC_OK, "load: %s",
          tfc_last_error());
    if (!m)
      continue;
    checkRun(m, 3, 3.0f, false, d.name);
    if (kind == TFC_PARTITION_PIPELINE) {
      tfc_set_micro_batches(2);
      checkRun(m, 4, 3.0f, false, "pipeline, 2 micro-batches");
      checkRun(m, 3, 3.0f, false, "pipeline, 2 micro-batches, odd batch");
      tfc_set_micro_batches(1);
    }
    tfc_model_free(m);
  }
  // Data parallelism: batch 5 split 3 + 2, gathered on every rank.
  {
    tfc_model_desc d = makeDesc("doubler", reinterpret_cast<void *>(&doubler));
    tfc_model *m = nullptr;
    CHECK(tfc_model_load(&d, nullptr, &m) == TFC_OK, "load: %s",
          tfc_last_error());
    if (m) {
      checkRun(m, 5, 2.0f, true, "data parallel");
      tfc_model_free(m);
    }
  }
  return 0;
}

int wrongRanks() {
  tfc_model_desc d = partitionedDesc(TFC_PARTITION_TENSOR);
  tfc_model *m = nullptr;
  CHECK(tfc_model_load(&d, nullptr, &m) == TFC_OK, "load: %s",
        tfc_last_error());
  if (!m)
    return 1;
  float x[4] = {1, 2, 3, 4};
  tfc_tensor in{TFC_DTYPE_F32, 2, {1, 4}, x};
  tfc_tensor out{};
  tfc_status s = tfc_model_run(m, &in, 1, &out, 1);
  std::string msg = tfc_last_error();
  std::printf("%s\n", msg.c_str());
  CHECK(s == TFC_ERR_UNSUPPORTED, "status %d", (int)s);
  CHECK(msg.find("partitioned tensor:2 but this job has 1 rank") !=
                std::string::npos &&
            msg.find("mpirun -np 2") != std::string::npos,
        "message: %s", msg.c_str());
  tfc_model_free(m);
  return 0;
}

int stopAnswering(bool exitInstead) {
  if (tfc_dist_rank() == 1) {
    if (exitInstead)
      _exit(0); // dies without MPI_Finalize
    sleep(30);  // hangs past rank 0's timeout
    return 0;
  }
  float v[4] = {1, 2, 3, 4};
  MemRef1 a = {v, v, 0, {4}, {1}};
  tfcrt_unranked_memref u = un(&a, 1);
  _mlir_ciface_tfcrt_all_reduce_f32(&u, &u);
  CHECK(std::isnan(v[0]), "a failed all_reduce must leave NaN, got %g", v[0]);
  // The error reaches the application through the next run.
  tfc_model_desc d = partitionedDesc(TFC_PARTITION_TENSOR);
  tfc_model *m = nullptr;
  tfc_model_load(&d, nullptr, &m);
  tfc_tensor in{TFC_DTYPE_F32, 2, {1, 4}, v}, out{};
  tfc_status s = tfc_model_run(m, &in, 1, &out, 1);
  CHECK(s == TFC_ERR_COMM, "status %d", (int)s);
  std::printf("rank 0 got: %s\n", tfc_last_error());
  std::fflush(stdout);
  tfc_model_free(m);
  if (failures == 0)
    std::printf("PASS\n");
  std::fflush(stdout);
  tfc_dist_abort(1); // what an application does after TFC_ERR_COMM
}

} // namespace

int main(int argc, char **argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (tfc_dist_init() != TFC_OK) {
    std::fprintf(stderr, "tfc_dist_init: %s\n", tfc_last_error());
    return 1;
  }
  if (mode == "collectives")
    collectives();
  else if (mode == "wrong-ranks")
    wrongRanks();
  else if (mode == "hang" || mode == "exit")
    stopAnswering(mode == "exit");
  else {
    std::fprintf(stderr, "usage: tfcrt-dist-test "
                         "collectives|wrong-ranks|hang|exit\n");
    return 2;
  }
  std::printf("rank %d: %s\n", tfc_dist_rank(), failures ? "FAIL" : "PASS");
  tfc_dist_finalize();
  return failures ? 1 : 0;
}
