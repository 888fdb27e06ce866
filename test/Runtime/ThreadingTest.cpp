//===- ThreadingTest.cpp - the runtime used from several threads ----------===//
//
// Written for ThreadSanitizer (tfcrt-tsan-tests builds the whole runtime
// with -fsanitize=thread) and run in the plain unit tests too: the thread
// pool entered from several application threads at once, runs of one model
// on several threads with the profiler on, and one KV-cache session per
// thread on a shared model (FakeStepModel.c), with forks.
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
extern "C" const tfc_model_desc tfc_fakestep_desc;

namespace {

struct SumCtx {
  std::vector<std::atomic<int>> *seen;
};

void markRange(void *ctx, int64_t begin, int64_t end) {
  auto *c = static_cast<SumCtx *>(ctx);
  for (int64_t i = begin; i < end; ++i)
    (*c->seen)[static_cast<size_t>(i)].fetch_add(1);
}

TEST(Threading, PoolEnteredFromSeveralThreads) {
  tfc_set_num_threads(3);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int rep = 0; rep < 40; ++rep) {
        int64_t n = 50 + 13 * t + rep;
        std::vector<std::atomic<int>> seen(static_cast<size_t>(n));
        SumCtx ctx{&seen};
        tfcrt_parallel_for(n, markRange, &ctx);
        for (auto &s : seen)
          if (s.load() != 1)
            ++bad;
      }
    });
  }
  for (auto &th : threads)
    th.join();
  EXPECT_EQ(bad.load(), 0);
  tfc_set_num_threads(0);
}

TEST(Threading, OneModelRunOnSeveralThreadsWithTheProfiler) {
  tfc_model *model = nullptr;
  ASSERT_EQ(
      tfc_model_load(&tfc_fake_desc,
                     (std::string(FAKE_MODEL_DIR) + "/fake_model.tfcw").c_str(),
                     &model),
      TFC_OK)
      << tfc_last_error();
  tfc_profile_enable(1);
  // The tracer records from every thread at once (Trace.cpp's per-thread
  // buffers; the first event of a thread registers its buffer).
  ASSERT_EQ(tfc_trace_start(0), TFC_OK);
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(70 + t);
      for (int rep = 0; rep < 30; ++rep) {
        int64_t batch = 1 + rng() % 4;
        std::vector<float> x(batch * 4);
        std::vector<int64_t> ids(batch * 4);
        for (auto &v : x)
          v = static_cast<float>(rng() % 100) / 10.f;
        for (auto &v : ids)
          v = static_cast<int64_t>(rng() % 10);
        tfc_tensor in[2] = {{TFC_DTYPE_F32, 2, {batch, 4}, x.data()},
                            {TFC_DTYPE_I64, 2, {batch, 4}, ids.data()}};
        tfc_tensor out[3];
        if (tfc_model_run(model, in, 2, out, 3) != TFC_OK) {
          ++bad;
          continue;
        }
        const int64_t *back = static_cast<const int64_t *>(out[2].data);
        if (std::memcmp(back, ids.data(), ids.size() * sizeof(int64_t)))
          ++bad;
        for (auto &o : out)
          tfc_tensor_free(&o);
        tfc_memory_stats m;
        tfc_memory_stats_get(&m);
      }
    });
  }
  for (auto &th : threads)
    th.join();
  tfc_profile_enable(0);
  tfc_trace_stop();
  uint64_t recorded = 0, dropped = 1;
  tfc_trace_counts(&recorded, &dropped);
  EXPECT_GE(recorded, 3u * 30u * 3u); // a run and two kernels per run
  EXPECT_EQ(dropped, 0u);
  std::string trace = ::testing::TempDir() + "/tfc_threads_trace.json";
  EXPECT_EQ(tfc_trace_write(trace.c_str()), TFC_OK) << tfc_last_error();
  std::remove(trace.c_str());
  tfc_profile_entry e[2];
  EXPECT_EQ(tfc_profile_get(model, e, 2), 2u);
  EXPECT_EQ(bad.load(), 0);
  tfc_model_free(model);
}

TEST(Threading, OneSessionPerThreadOnASharedModel) {
  tfc_model *model = nullptr;
  ASSERT_EQ(tfc_model_load(&tfc_fakestep_desc, nullptr, &model), TFC_OK)
      << tfc_last_error();
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      tfc_session *s = nullptr;
      if (tfc_session_create(model, 1, 32, &s) != TFC_OK) {
        ++bad;
        return;
      }
      int64_t sum = 0;
      for (int64_t step = 0; step < 20; ++step) {
        int64_t token = t * 100 + step;
        tfc_tensor logits;
        if (tfc_session_decode(s, &token, &logits) != TFC_OK) {
          ++bad;
          break;
        }
        sum += token;
        if (static_cast<const float *>(logits.data)[2] != sum + 2)
          ++bad;
        if (step == 10) { // a fork continues identically
          tfc_session *f = nullptr;
          int64_t next = 1;
          tfc_tensor a, b;
          if (tfc_session_fork(s, &f) != TFC_OK ||
              tfc_session_decode(f, &next, &a) != TFC_OK)
            ++bad;
          float fa = static_cast<const float *>(a.data)[0];
          tfc_session_free(f);
          if (tfc_session_fork(s, &f) != TFC_OK ||
              tfc_session_decode(f, &next, &b) != TFC_OK ||
              static_cast<const float *>(b.data)[0] != fa)
            ++bad;
          tfc_session_free(f);
        }
      }
      tfc_session_info info;
      if (tfc_session_get_info(s, &info) != TFC_OK || info.position != 20)
        ++bad;
      tfc_session_free(s);
    });
  }
  for (auto &th : threads)
    th.join();
  EXPECT_EQ(bad.load(), 0);
  tfc_model_free(model);
}

} // namespace
