//===- ModelTest.cpp - the C API on the fake compiled model ---------------===//
//
// fake_model.c is linked into this test (tfc_model_load) and also built as a
// shared library (tfc_model_load_shared); see fake_model.c for what it does.
//
//===----------------------------------------------------------------------===//

#include "tfc/Runtime/tfc_kernels.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern "C" const tfc_model_desc tfc_fake_desc;

#ifndef FAKE_MODEL_DIR
#error "FAKE_MODEL_DIR must name the directory of fake_model.{so,tfcw}"
#endif

namespace {

const std::string kDir = FAKE_MODEL_DIR;
const float kScale = 2.5f;

class ModelTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(tfc_model_load(&tfc_fake_desc,
                             (kDir + "/fake_model.tfcw").c_str(), &model),
              TFC_OK)
        << tfc_last_error();
    std::mt19937 rng(std::random_device{}());
    std::uniform_real_distribution<float> real(-3.f, 3.f);
    batch = 2 + rng() % 6;
    x.resize(batch * 4);
    ids.resize(batch * 4);
    for (int64_t i = 0; i < batch * 4; ++i) {
      x[i] = real(rng) + 0.01f;
      ids[i] = static_cast<int64_t>(rng() % 100) - 50;
    }
    in[0] = tensor(TFC_DTYPE_F32, x.data());
    in[1] = tensor(TFC_DTYPE_I64, ids.data());
  }
  void TearDown() override { tfc_model_free(model); }

  tfc_tensor tensor(tfc_dtype dtype, void *data) {
    tfc_tensor t{};
    t.dtype = dtype;
    t.rank = 2;
    t.shape[0] = batch;
    t.shape[1] = 4;
    t.data = data;
    return t;
  }

  tfc_model *model = nullptr;
  int64_t batch = 0;
  std::vector<float> x;
  std::vector<int64_t> ids;
  tfc_tensor in[2];
};

TEST_F(ModelTest, Info) {
  EXPECT_EQ(tfc_model_num_inputs(model), 2u);
  EXPECT_EQ(tfc_model_num_outputs(model), 3u);
  const char *name;
  tfc_dtype dtype;
  int32_t rank;
  int64_t dims[TFC_MAX_RANK];
  ASSERT_EQ(tfc_model_input_info(model, 1, &name, &dtype, &rank, dims), TFC_OK);
  EXPECT_STREQ(name, "ids");
  EXPECT_EQ(dtype, TFC_DTYPE_I64);
  EXPECT_EQ(rank, 2);
  EXPECT_EQ(dims[0], -1);
  EXPECT_EQ(dims[1], 4);
  ASSERT_EQ(tfc_model_output_info(model, 2, &name, &dtype, &rank, dims),
            TFC_OK);
  EXPECT_STREQ(name, "ids_out");
  EXPECT_EQ(tfc_model_output_info(model, 3, &name, &dtype, &rank, dims),
            TFC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tfc_model_get_desc(model), &tfc_fake_desc);
}

TEST_F(ModelTest, RunProducesOwnedAndCopiedOutputs) {
  tfc_memory_stats before;
  tfc_memory_stats_get(&before);
  tfc_tensor out[3];
  ASSERT_EQ(tfc_model_run(model, in, 2, out, 3), TFC_OK) << tfc_last_error();
  const float *w = nullptr;
  (void)w;
  for (int o = 0; o < 3; ++o) {
    EXPECT_EQ(out[o].rank, 2);
    EXPECT_EQ(out[o].shape[0], batch);
    EXPECT_EQ(out[o].shape[1], 4);
  }
  const float *y = static_cast<const float *>(out[0].data);
  const int64_t *idsOut = static_cast<const int64_t *>(out[2].data);
  for (int64_t i = 0; i < batch * 4; ++i) {
    EXPECT_FLOAT_EQ(y[i], x[i] * kScale + static_cast<float>(ids[i]));
    EXPECT_EQ(idsOut[i], ids[i]);
  }
  // ids_out aliased the input: the runtime must have copied it.
  EXPECT_NE(out[2].data, static_cast<void *>(ids.data()));
  tfc_memory_stats during;
  tfc_memory_stats_get(&during);
  EXPECT_GE(during.current_bytes - before.current_bytes,
            static_cast<uint64_t>(batch * 4 * (4 + 4 + 8)));
  for (tfc_tensor &t : out)
    tfc_tensor_free(&t);
  EXPECT_EQ(out[0].data, nullptr);
  tfc_memory_stats after;
  tfc_memory_stats_get(&after);
  EXPECT_EQ(after.current_bytes, before.current_bytes);
  EXPECT_GE(after.peak_bytes, during.current_bytes);
  tfc_tensor_free(&out[0]); // double free is harmless
}

// The allocator keeps freed buffers for reuse by size: a second identical
// run takes every buffer from the first one's (a decode step then makes no
// system allocation).
TEST_F(ModelTest, SecondRunReusesEveryBuffer) {
  tfc_tensor out[3];
  ASSERT_EQ(tfc_model_run(model, in, 2, out, 3), TFC_OK) << tfc_last_error();
  for (tfc_tensor &t : out)
    tfc_tensor_free(&t);
  tfc_memory_stats before, after;
  tfc_memory_stats_get_sized(&before, sizeof(before));
  ASSERT_EQ(tfc_model_run(model, in, 2, out, 3), TFC_OK) << tfc_last_error();
  for (tfc_tensor &t : out)
    tfc_tensor_free(&t);
  tfc_memory_stats_get_sized(&after, sizeof(after));
  EXPECT_GT(after.num_allocs, before.num_allocs);
  EXPECT_EQ(after.system_allocs, before.system_allocs);
  EXPECT_EQ(after.current_bytes, before.current_bytes);
}

TEST_F(ModelTest, RejectsBadInputs) {
  tfc_tensor out[3];
  tfc_tensor bad[2] = {in[0], in[1]};
  bad[0].dtype = TFC_DTYPE_F64;
  EXPECT_EQ(tfc_model_run(model, bad, 2, out, 3), TFC_ERR_DTYPE);
  EXPECT_NE(std::string(tfc_last_error()).find("'x'"), std::string::npos);
  bad[0] = in[0];
  bad[0].rank = 3;
  EXPECT_EQ(tfc_model_run(model, bad, 2, out, 3), TFC_ERR_SHAPE);
  bad[0] = in[0];
  bad[0].shape[1] = 5;
  EXPECT_EQ(tfc_model_run(model, bad, 2, out, 3), TFC_ERR_SHAPE);
  bad[0] = in[0];
  bad[1].shape[0] = batch + 1; // 'batch' bound to two sizes
  EXPECT_EQ(tfc_model_run(model, bad, 2, out, 3), TFC_ERR_SHAPE);
  EXPECT_NE(std::string(tfc_last_error()).find("'batch'"), std::string::npos)
      << tfc_last_error();
  EXPECT_EQ(tfc_model_run(model, in, 1, out, 3), TFC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tfc_model_run(model, in, 2, out, 2), TFC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tfc_model_run(nullptr, in, 2, out, 3), TFC_ERR_INVALID_ARGUMENT);
}

TEST_F(ModelTest, ZeroBatch) {
  batch = 0;
  in[0] = tensor(TFC_DTYPE_F32, nullptr);
  in[1] = tensor(TFC_DTYPE_I64, nullptr);
  tfc_tensor out[3];
  ASSERT_EQ(tfc_model_run(model, in, 2, out, 3), TFC_OK) << tfc_last_error();
  EXPECT_EQ(out[0].shape[0], 0);
  for (tfc_tensor &t : out)
    tfc_tensor_free(&t);
}

// A model without a KV-cache step entry (flags 0, the descriptor fields
// after op_classes zero) has no sessions; bad arguments are errors.
TEST_F(ModelTest, SessionsNeedAStepEntry) {
  tfc_session *s = reinterpret_cast<tfc_session *>(1);
  EXPECT_EQ(tfc_session_create(model, 1, 16, &s), TFC_ERR_UNSUPPORTED);
  EXPECT_EQ(s, nullptr);
  EXPECT_NE(std::string(tfc_last_error()).find("--kv-cache"),
            std::string::npos);
  EXPECT_EQ(tfc_session_create(nullptr, 1, 16, &s), TFC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tfc_session_create(model, 1, 16, nullptr),
            TFC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tfc_session_create(model, 1, -1, &s), TFC_ERR_INVALID_ARGUMENT);
  int64_t token = 1;
  EXPECT_EQ(tfc_session_decode(nullptr, &token, nullptr),
            TFC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tfc_session_prefill(nullptr, &token, 1, nullptr, nullptr),
            TFC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tfc_session_reset(nullptr), TFC_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(tfc_session_fork(nullptr, &s), TFC_ERR_INVALID_ARGUMENT);
  tfc_session_info info;
  EXPECT_EQ(tfc_session_get_info(nullptr, &info), TFC_ERR_INVALID_ARGUMENT);
  tfc_session_free(nullptr);
}

TEST_F(ModelTest, ProfilePerOpClass) {
  tfc_profile_enable(1);
  tfc_profile_reset();
  tfc_tensor out[3];
  for (int r = 0; r < 3; ++r) {
    ASSERT_EQ(tfc_model_run(model, in, 2, out, 3), TFC_OK);
    for (tfc_tensor &t : out)
      tfc_tensor_free(&t);
  }
  tfc_profile_entry e[4];
  ASSERT_EQ(tfc_profile_get(model, e, 4), 2u);
  EXPECT_STREQ(e[0].op_class, "scale_add");
  EXPECT_STREQ(e[1].op_class, "matmul");
  EXPECT_EQ(e[0].calls, 3u);
  EXPECT_EQ(e[1].calls, 3u);
  EXPECT_GE(e[1].total_ms, 0.0);
  tfc_profile_reset();
  tfc_profile_get(model, e, 4);
  EXPECT_EQ(e[0].calls, 0u);
  tfc_profile_enable(0);
  // Hooks outside a run are ignored (no current model).
  tfcrt_prof_enter(0);
  tfcrt_prof_exit(0);
}

TEST_F(ModelTest, ProfileSites) {
  tfc_profile_enable(1);
  tfc_profile_reset();
  tfc_tensor out[3];
  ASSERT_EQ(tfc_model_run(model, in, 2, out, 3), TFC_OK);
  for (tfc_tensor &t : out)
    tfc_tensor_free(&t);
  tfc_profile_enable(0);
  ASSERT_EQ(tfc_profile_sites_get(model, nullptr, 0), 2u);
  tfc_profile_site s[2];
  ASSERT_EQ(tfc_profile_sites_get(model, s, 2), 2u);
  EXPECT_STREQ(s[0].op_class, "scale_add");
  EXPECT_STREQ(s[0].tfc_ops, "tfc.binary.mul tfc.binary.add");
  EXPECT_STREQ(s[0].onnx_nodes, "Mul_0\nAdd_1");
  EXPECT_EQ(s[0].calls, 1u);
  EXPECT_STREQ(s[1].op_class, "matmul");
  EXPECT_STREQ(s[1].tfc_ops, "");
  EXPECT_STREQ(s[1].onnx_nodes, "");
  // An entry size below the first layout writes nothing.
  EXPECT_EQ(tfc_profile_sites_get_sized(model, s, 2, 8), 0u);
}

TEST_F(ModelTest, ChromeTrace) {
  ASSERT_EQ(tfc_trace_start(0), TFC_OK);
  tfc_tensor out[3];
  for (int r = 0; r < 2; ++r) {
    ASSERT_EQ(tfc_model_run(model, in, 2, out, 3), TFC_OK);
    for (tfc_tensor &t : out)
      tfc_tensor_free(&t);
  }
  tfc_trace_stop();
  // Runs after the stop are not recorded.
  ASSERT_EQ(tfc_model_run(model, in, 2, out, 3), TFC_OK);
  for (tfc_tensor &t : out)
    tfc_tensor_free(&t);
  std::string path = ::testing::TempDir() + "/tfc_trace_test.json";
  ASSERT_EQ(tfc_trace_write(path.c_str()), TFC_OK) << tfc_last_error();
  FILE *f = std::fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string text;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof(buf), f)) > 0;)
    text.append(buf, n);
  std::fclose(f);
  std::remove(path.c_str());
  auto count = [&](const std::string &needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + 1))
      ++n;
    return n;
  };
  EXPECT_EQ(text.rfind("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [", 0),
            0u);
  EXPECT_EQ(count("\"cat\": \"run\", \"name\": \"run fake\""), 2u);
  // Site 0 is named after its first ONNX node; site 1 has only a class.
  EXPECT_EQ(count("\"name\": \"Mul_0 (+1)\""), 2u);
  EXPECT_EQ(count("\"onnx_nodes\": [\"Mul_0\", \"Add_1\"]"), 2u);
  EXPECT_EQ(count("\"cat\": \"kernel\", \"name\": \"matmul\""), 2u);
  EXPECT_GE(count("\"name\": \"runtime allocations\""), 2u);
  EXPECT_EQ(count("\"name\": \"thread_name\""), 1u);
  uint64_t recorded = 0, dropped = 1;
  tfc_trace_counts(&recorded, &dropped);
  EXPECT_GT(recorded, 0u);
  EXPECT_EQ(dropped, 0u);

  // The event bound holds: 3 events, the rest dropped.
  ASSERT_EQ(tfc_trace_start(3), TFC_OK);
  ASSERT_EQ(tfc_model_run(model, in, 2, out, 3), TFC_OK);
  for (tfc_tensor &t : out)
    tfc_tensor_free(&t);
  tfc_trace_stop();
  tfc_trace_counts(&recorded, &dropped);
  EXPECT_EQ(recorded, 3u);
  EXPECT_GT(dropped, 0u);
  EXPECT_EQ(tfc_trace_write("/nonexistent-dir/t.json"), TFC_ERR_IO);
}

TEST_F(ModelTest, SharedLibraryAndConcurrentRuns) {
  tfc_model *shared = nullptr;
  ASSERT_EQ(tfc_model_load_shared((kDir + "/fake_model.so").c_str(),
                                  (kDir + "/fake_model.tfcw").c_str(), &shared),
            TFC_OK)
      << tfc_last_error();
  std::atomic<int> failures{0};
  auto worker = [&](tfc_model *m) {
    for (int r = 0; r < 50; ++r) {
      tfc_tensor out[3];
      if (tfc_model_run(m, in, 2, out, 3) != TFC_OK) {
        ++failures;
        continue;
      }
      const float *y = static_cast<const float *>(out[0].data);
      if (y[0] != x[0] * kScale + static_cast<float>(ids[0]))
        ++failures;
      for (tfc_tensor &t : out)
        tfc_tensor_free(&t);
    }
  };
  std::thread t1(worker, shared), t2(worker, model), t3(worker, model);
  t1.join();
  t2.join();
  t3.join();
  EXPECT_EQ(failures.load(), 0);
  tfc_model_free(shared);

  tfc_model *none = nullptr;
  EXPECT_EQ(tfc_model_load_shared((kDir + "/no_such_model.so").c_str(), nullptr,
                                  &none),
            TFC_ERR_IO);
  EXPECT_NE(std::string(tfc_last_error()).find("no_such_model.so"),
            std::string::npos);
}

TEST(ThreadPool, ParallelForCoversTheRangeOnce) {
  for (int threads : {1, 2, 5}) {
    tfc_set_num_threads(threads);
    EXPECT_EQ(tfc_get_num_threads(), threads);
    for (int64_t n : {int64_t(1), int64_t(7), int64_t(1000)}) {
      std::vector<std::atomic<int>> hits(n);
      tfcrt_parallel_for(
          n,
          [](void *ctx, int64_t b, int64_t e) {
            auto *h = static_cast<std::vector<std::atomic<int>> *>(ctx);
            for (int64_t i = b; i < e; ++i) {
              (*h)[i]++;
              // Nested regions run serially and still cover their range.
              std::atomic<int64_t> inner{0};
              tfcrt_parallel_for(
                  3,
                  [](void *c, int64_t b2, int64_t e2) {
                    *static_cast<std::atomic<int64_t> *>(c) += e2 - b2;
                  },
                  &inner);
              if (inner != 3)
                (*h)[i] += 100;
            }
          },
          &hits);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(hits[i].load(), 1) << "index " << i << " threads " << threads;
    }
  }
  tfc_set_num_threads(0);
  EXPECT_GE(tfc_get_num_threads(), 1);
}

TEST(Allocator, AlignedTrackedAndTolerant) {
  tfc_memory_stats s0, s1;
  tfc_memory_stats_get(&s0);
  void *p = _mlir_memref_to_llvm_alloc(1000);
  void *q = _mlir_memref_to_llvm_aligned_alloc(256, 10);
  void *z = _mlir_memref_to_llvm_alloc(0);
  ASSERT_NE(p, nullptr);
  ASSERT_NE(q, nullptr);
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(q) % 256, 0u);
  tfc_memory_stats_get(&s1);
  EXPECT_EQ(s1.current_bytes - s0.current_bytes, 1010u);
  EXPECT_EQ(s1.num_allocs - s0.num_allocs, 3u);
  _mlir_memref_to_llvm_free(p);
  _mlir_memref_to_llvm_free(q);
  _mlir_memref_to_llvm_free(z);
  int notOurs = 0;
  _mlir_memref_to_llvm_free(&notOurs); // ignored, not a crash
  _mlir_memref_to_llvm_free(nullptr);
  tfc_memory_stats_get(&s1);
  EXPECT_EQ(s1.current_bytes, s0.current_bytes);
  tfc_memory_stats_reset_peak();
  tfc_memory_stats_get(&s1);
  EXPECT_EQ(s1.peak_bytes, s1.current_bytes);
}

TEST(Names, StatusAndDtype) {
  EXPECT_STREQ(tfc_dtype_name(TFC_DTYPE_BF16), "bf16");
  EXPECT_EQ(tfc_dtype_size(TFC_DTYPE_I64), 8u);
  EXPECT_EQ(tfc_dtype_size(TFC_DTYPE_BOOL), 1u);
  EXPECT_STREQ(tfc_status_string(TFC_ERR_CORRUPT), "corrupt file");
}

} // namespace

// The runtime's __truncsfbf2 (Builtins.cpp), which GPU models emulated on
// the host call for f32 -> bf16: round to nearest even on the upper 16 bits,
// infinities kept, NaN quiet.
#if defined(__x86_64__)
extern "C" _Float16 __truncsfbf2(float);
TEST(Builtins, TruncSfBf2RoundsToNearestEven) {
  auto bits = [](float x) {
    _Float16 h = __truncsfbf2(x);
    uint16_t b;
    std::memcpy(&b, &h, 2);
    return b;
  };
  auto fromBits = [](uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  };
  EXPECT_EQ(bits(1.0f), 0x3f80);
  EXPECT_EQ(bits(-2.5f), 0xc020);
  EXPECT_EQ(bits(fromBits(0x3f808000u)), 0x3f80); // tie, even stays
  EXPECT_EQ(bits(fromBits(0x3f818000u)), 0x3f82); // tie, odd rounds up
  EXPECT_EQ(bits(fromBits(0x3f808001u)), 0x3f81); // above the tie
  EXPECT_EQ(bits(fromBits(0x7f7fffffu)), 0x7f80); // max float -> inf
  EXPECT_EQ(bits(INFINITY), 0x7f80);
  EXPECT_EQ(bits(-INFINITY), 0xff80);
  const uint16_t nan = bits(fromBits(0x7f800001u));
  EXPECT_EQ(nan & 0x7f80, 0x7f80);
  EXPECT_NE(nan & 0x7f, 0); // still a NaN, and quiet
  EXPECT_NE(nan & 0x40, 0);
}
#endif
