//===- GemvLaunch.cpp - loads and launches the few-row GEMM kernels -------===//
//
// TFC_ENABLE_CUDA=ON only. The kernels (GemvKernels.cu) are compiled by nvcc
// at build time into a fatbin that CMake embeds as tfcrt_gemv_fatbin; the
// first call loads it into the current context with the driver and resolves
// every instance. A launch is asynchronous and capturable (no allocation,
// no synchronization).
//
//===----------------------------------------------------------------------===//

#include "GemvLaunch.h"
#include "Cuda.h"
#include "CudaDriver.h"
#include "DeviceRun.h"
#include "Gemv.h"
#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>

extern "C" const unsigned char tfcrt_gemv_fatbin[];

namespace tfcrt::cuda {
namespace {

constexpr int kRows[] = {1, 2, 4, 8};

struct GemvModule {
  bool ok = false;
  std::string error;
  CUfunction f[3][4] = {};  // [f32, f16, bf16][1, 2, 4, 8 rows]
  CUfunction sk[3][4] = {}; // the same, split K (clusters)
  CUfunction nw[3] = {};    // tfc_gemv_<type>_m1_nw (narrow, one row)
  CUfunction rms[3] = {};   // tfc_rms_scale_<type>
  CUfunction glu[3] = {};   // tfc_glu_<type>
  int sms = 1;              // the device's multiprocessors
};

const GemvModule &gemvModule(const Driver *d) {
  static std::mutex mutex;
  static GemvModule *mod = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (mod)
    return *mod;
  mod = new GemvModule();
  CUmodule m = nullptr;
  CUresult r =
      d->cuModuleLoadDataEx(&m, tfcrt_gemv_fatbin, 0, nullptr, nullptr);
  if (r != CUDA_SUCCESS) {
    mod->error = format("cannot load the GEMV kernels' fatbin (%s): this "
                        "libtfcrt has them for sm_90 (and PTX for newer)",
                        resultName(d, r));
    return *mod;
  }
  // Every instance, or the first one missing.
  auto get = [&](const std::string &name, CUfunction &f) {
    if (d->cuModuleGetFunction(&f, m, name.c_str()) == CUDA_SUCCESS)
      return true;
    mod->error = "the GEMV fatbin lacks kernel " + name;
    return false;
  };
  const char *types[3] = {"f32", "f16", "bf16"};
  for (int t = 0; t < 3; ++t) {
    for (int i = 0; i < 4; ++i)
      if (!get(format("tfc_gemv_%s_m%d", types[t], kRows[i]), mod->f[t][i]) ||
          !get(format("tfc_gemv_%s_m%d_sk", types[t], kRows[i]), mod->sk[t][i]))
        return *mod;
    if (!get(format("tfc_gemv_%s_m1_nw", types[t]), mod->nw[t]) ||
        !get(format("tfc_rms_scale_%s", types[t]), mod->rms[t]) ||
        !get(format("tfc_glu_%s", types[t]), mod->glu[t]))
      return *mod;
  }
  mod->sms = multiprocessors(d);
  mod->ok = true;
  return *mod;
}

char *base(const Memref3 *m, size_t eb) {
  return m->aligned + m->offset * static_cast<int64_t>(eb);
}

/// TFC_CUDA_GEMV_SPLIT: unset, 0 or 1, never split (the default until a GPU
/// run has measured split K); "auto", the split count is chosen per call;
/// 2..8, that many splits wherever K has the rows.
int splitOverride() {
  static const int v = [] {
    const char *e = std::getenv("TFC_CUDA_GEMV_SPLIT");
    if (!e || !*e)
      return 1;
    if (std::strcmp(e, "auto") == 0)
      return -1;
    const int x = std::atoi(e);
    return x < 1 ? 1 : x > kGemvMaxSplits ? kGemvMaxSplits : x;
  }();
  return v;
}

/// TFC_CUDA_GEMV_BIG_MAXM: the most rows a whole-K call gives the big
/// kernel (default 8, every call, as before split K; 4 sends calls of 5 to 8
/// rows to the small kernel, two blocks an SM: to be measured).
int gemvBigMaxM() {
  static const int v = envInt("TFC_CUDA_GEMV_BIG_MAXM", kGemvMaxM);
  return v;
}

/// TFC_CUDA_GEMV_MAXM: the most rows a call may have to take the GEMV
/// kernels. Default: kGemvMaxM for f32; 1 for f16 / bf16 (decode steps at
/// batch 1, where the kernels with --cuda-pdl beat cuBLASLt by 18 %, while
/// cuBLASLt keeps 2-8 rows, where the 8-row kernel loses: H200 2026-12-06,
/// docs/PERFORMANCE.md). A value set applies to every type.
int gemvMaxRows(GemmType t) {
  static const int v = [] {
    const int x = envInt("TFC_CUDA_GEMV_MAXM", 0);
    return x < 1 || x > kGemvMaxM ? 0 : x;
  }();
  if (v > 0)
    return v;
  return t == GemmType::F32 ? kGemvMaxM : 1;
}

/// TFC_CUDA_GEMV_NARROW: 0, never the narrow kernels; 1 (default), for
/// one-row whole-K calls whose K needs more than one step of the others; 2,
/// for every one-row whole-K call.
int narrowOverride() {
  static const int v = [] {
    const int x = envInt("TFC_CUDA_GEMV_NARROW", 1);
    return x < 0 ? 0 : x > 2 ? 2 : x;
  }();
  return v;
}

/// TFC_CUDA_GEMV_RES_EARLY: 0, the residual is read after the PDL wait;
/// 1 (default), before it when the kernel launched just before is known
/// not to write it (lastLaunchMayWrite) or the caller says so
/// (Epilogue::resEarly); 2, always (an experiment: unchecked).
int resEarlyMode() {
  static const int v = [] {
    const int x = envInt("TFC_CUDA_GEMV_RES_EARLY", 1);
    return x < 0 ? 0 : x > 2 ? 2 : x;
  }();
  return v;
}

/// Set when a split launch was refused (a device or partition without
/// thread block clusters): later calls do not try again.
std::atomic<bool> clustersRefused{false};

int typeIndex(GemmType t) {
  return t == GemmType::F32 ? 0 : t == GemmType::F16 ? 1 : 2;
}

/// TFCRT_ACT_* as the kernels' GemvAct.
int kernelAct(int act) {
  switch (act) {
  case TFCRT_ACT_RELU:
    return kGemvActRelu;
  case TFCRT_ACT_GELU_TANH:
    return kGemvActGeluTanh;
  case TFCRT_ACT_SILU:
    return kGemvActSilu;
  case TFCRT_ACT_GELU:
    return kGemvActGelu;
  default:
    return kGemvActNone;
  }
}

/// Whether the call uses tfcrt_gpu_linear_ex_*'s options (whole K only).
bool exCall(const Epilogue &ep) { return ep.glu || ep.aF32 || ep.rmsEps >= 0; }

/// TFC_CUDA_GEMV_SPLIT_MINK: the fewest rows of K a split may take
/// (default 64: one 16-byte load a thread).
int splitMinRows() {
  static const int v = [] {
    const int x = envInt("TFC_CUDA_GEMV_SPLIT_MINK", 64);
    return x < 1 ? 64 : x;
  }();
  return v;
}

/// The GEMV module (with the driver in `d`), or null with `error` set.
const GemvModule *moduleFor(const Driver *&d, std::string &error) {
  d = driver();
  if (!d) {
    error = "no CUDA driver";
    return nullptr;
  }
  const GemvModule &mod = gemvModule(d);
  if (!mod.ok) {
    error = mod.error;
    return nullptr;
  }
  return &mod;
}

} // namespace

bool gemvEnabled(GemmType t, int64_t rows) {
  // 1: every type (default; the half types at one row, gemvMaxRows),
  // 0: none, f32: f32 only (the default until 2026-12-06).
  static const int mode = [] {
    const char *e = std::getenv("TFC_CUDA_GEMV");
    return e && std::strcmp(e, "f32") == 0 ? -1 : envChoice("TFC_CUDA_GEMV", 1);
  }();
  if (!(mode == 1 || (mode == -1 && t == GemmType::F32)))
    return false;
  return rows >= 1 && rows <= gemvMaxRows(t);
}

bool gemvSuits(GemmType t, const Memref3 *A, const Memref3 *B, const Memref3 *C,
               GemmType out, const Epilogue &ep, std::string *why) {
  auto no = [&](const char *reason) {
    if (why)
      *why = reason;
    return false;
  };
  const int64_t batch = C->sizes[0], M = C->sizes[1], N = C->sizes[2];
  const int64_t K = A->sizes[2];
  const size_t eb = elemBytes(t);
  const int64_t vec = 16 / static_cast<int64_t>(eb);
  if (M < 1 || M > kGemvMaxM)
    return no("more rows than the GEMV kernels take");
  if (N < 1 || K < 1 || batch < 1 || batch > 65535 || N > (1LL << 30) ||
      K > (1LL << 30))
    return no("sizes out of the GEMV kernels' range");
  if (out != GemmType::F32 && out != t)
    return no("an output type other than f32 or the input type");
  if (!epilogueHasAct(ep.act, ep.glu))
    return no("an activation the GEMV kernels lack");
  if (ep.glu && (ep.bias || ep.residual))
    return no("GLU with a bias or a residual");
  if (ep.glu && B->sizes[2] != 2 * N)
    return no("GLU: B's columns are not twice C's");
  if (B->strides[2] != 1 || N % vec != 0 || B->strides[1] % vec != 0 ||
      (B->sizes[0] != 1 && B->strides[0] % vec != 0) ||
      reinterpret_cast<uintptr_t>(base(B, eb)) % 16 != 0)
    return no("B's rows are not 16-byte vectors");
  if (N > 1 && C->strides[2] != 1)
    return no("C's columns are strided");
  if (ep.residual) {
    const Memref3 *R = ep.residual;
    if (N > 1 && R->strides[2] != 1)
      return no("the residual's columns are strided");
  }
  return true;
}

bool gemvNarrow(int64_t M, int64_t K, int splits, int narrow) {
  if (narrow == -2)
    narrow = narrowOverride();
  if (M != 1 || splits != 1 || narrow <= 0)
    return false;
  return narrow == 2 || K > static_cast<int64_t>(kGemvUnroll) *
                                (kGemvThreads / kGemvColThreads);
}

int64_t gemvBlockColumns(GemmType t, bool glu, bool narrow) {
  const int64_t ct = narrow ? kGemvNarrowColThreads : kGemvColThreads;
  return ct * (16 / static_cast<int64_t>(elemBytes(t))) / (glu ? 2 : 1);
}

int gemvSplits(int64_t blocks, int64_t K, int sms, int split) {
  if (split == -2)
    split = splitOverride();
  const int64_t minRows = splitMinRows();
  int S = 1;
  if (split >= 0) { // forced: as many as K's rows allow
    S = split < 1 ? 1 : split > kGemvMaxSplits ? kGemvMaxSplits : split;
    while (S > 1 && K < S)
      --S;
  } else {
    // Double the splits while the blocks are fewer than the SMs and each
    // split keeps at least minRows rows of K.
    while (S < kGemvMaxSplits && blocks * S < sms && K / (2 * S) >= minRows)
      S *= 2;
  }
  // No empty split: ceil(K / S) rows each must leave the last one some.
  while (S > 1 && (K + S - 1) / S * (S - 1) >= K)
    --S;
  return S;
}

bool launchGemv(GemmType t, const Memref3 *A, const Memref3 *B,
                const Memref3 *C, GemmType out, const Epilogue &ep,
                void *stream, std::string &error, int64_t *grid, bool pdl,
                int split, int narrow) {
  const Driver *d = nullptr;
  const GemvModule *m = moduleFor(d, error);
  if (!m)
    return false;
  const GemvModule &mod = *m;
  const int64_t batch = C->sizes[0], M = C->sizes[1], N = C->sizes[2];
  const int64_t K = A->sizes[2];
  const size_t eb = elemBytes(t), ob = elemBytes(out);
  const bool outHalf = out != GemmType::F32;
  const bool ex = exCall(ep);
  GemvArgs g{};
  g.a = base(A, ep.aF32 ? 4 : eb);
  g.b = base(B, eb);
  g.c = base(C, ob);
  g.bias = static_cast<const float *>(ep.bias);
  g.res = ep.residual ? base(ep.residual, ob) : nullptr;
  g.aBatch = A->sizes[0] == 1 ? 0 : A->strides[0];
  g.aRow = A->strides[1];
  g.aCol = A->strides[2];
  g.bBatch = B->sizes[0] == 1 ? 0 : B->strides[0];
  g.bRow = B->strides[1];
  g.cBatch = batch == 1 ? 0 : C->strides[0];
  g.cRow = C->strides[1];
  if (ep.residual) {
    g.rBatch = batch == 1 ? 0 : ep.residual->strides[0];
    g.rRow = ep.residual->strides[1];
  }
  g.m = static_cast<int>(M);
  g.n = static_cast<int>(N);
  g.k = static_cast<int>(K);
  g.act = kernelAct(ep.act);
  g.outHalf = outHalf ? 1 : 0;
  g.pdl = pdl ? 1 : 0;
  g.aF32 = ep.aF32 ? 1 : 0;
  g.rms = ep.rmsEps >= 0 ? 1 : 0;
  g.rmsEps = g.rms ? static_cast<float>(ep.rmsEps) : 0.0f;
  g.rmsScale = g.rms ? ep.rmsScale : nullptr;
  g.glu = ep.glu ? 1 : 0;
  g.gluOff = ep.glu ? N : 0; // B: N gate columns, then the N up columns
  if (pdl && ep.residual && resEarlyMode() > 0)
    g.resEarly = ep.resEarly || resEarlyMode() == 2 ||
                         !lastLaunchMayWrite(
                             g.res, spanBytes(ep.residual->sizes,
                                              ep.residual->strides, 3, ob))
                     ? 1
                     : 0;
  int ri = 0;
  while (kRows[ri] < M)
    ++ri;
  const int ti = typeIndex(t);
  // Output columns a block: a GLU block's column threads read gate and up
  // halves, so it writes half as many.
  const int64_t wideCols = gemvBlockColumns(t, ep.glu, false);
  const int S = ex || clustersRefused.load(std::memory_order_relaxed)
                    ? 1
                    : gemvSplits((N + wideCols - 1) / wideCols * batch, K,
                                 mod.sms, split);
  const bool nw = gemvNarrow(M, K, S, narrow);
  const int64_t cols = gemvBlockColumns(t, ep.glu, nw);
  const int64_t groups = (N + cols - 1) / cols;
  g.splits = S;
  g.kSplit = static_cast<int>((K + S - 1) / S);
  const unsigned gx = static_cast<unsigned>(groups * S);
  // The small kernel for splits and for whole-K calls of more than
  // gemvBigMaxM rows, the big one (more loads in flight, one block an SM)
  // otherwise; only the big ones (and the narrow ones) have
  // tfcrt_gpu_linear_ex_*'s options.
  CUfunction whole = nw                         ? mod.nw[ti]
                     : M > gemvBigMaxM() && !ex ? mod.sk[ti][ri]
                                                : mod.f[ti][ri];
  void *params[] = {&g};
  CUresult r = launchKernel(
      d, S > 1 ? mod.sk[ti][ri] : whole, gx,
      static_cast<unsigned>(batch), 1, kGemvThreads, 1, 1, 0,
      static_cast<CUstream>(stream), params, nullptr, pdl,
      S > 1 ? static_cast<unsigned>(S) : 0);
  unsigned launched = gx;
  if (r != CUDA_SUCCESS && S > 1) {
    // A device or partition that refuses the cluster: the whole-K kernel,
    // now and from now on.
    clustersRefused.store(true, std::memory_order_relaxed);
    const bool nw1 = gemvNarrow(M, K, 1, narrow);
    const int64_t cols1 = gemvBlockColumns(t, ep.glu, nw1);
    launched = static_cast<unsigned>((N + cols1 - 1) / cols1);
    g.splits = 1;
    g.kSplit = static_cast<int>(K);
    whole = nw1 ? mod.nw[ti] : whole;
    r = launchKernel(d, whole, launched,
                     static_cast<unsigned>(batch), 1, kGemvThreads, 1, 1, 0,
                     static_cast<CUstream>(stream), params, nullptr, pdl);
  }
  if (r != CUDA_SUCCESS) {
    error = format("cuLaunchKernel failed (%s; GEMV kernel, grid %u x %lld)",
                   resultName(d, r), launched, (long long)batch);
    return false;
  }
  noteLaunchWrites(g.c, spanBytes(C->sizes, C->strides, 3, ob));
  if (grid)
    *grid = static_cast<int64_t>(launched) * batch;
  return true;
}

bool launchRmsScale(GemmType t, const Memref3 *X, const float *scale, void *xn,
                    double eps, void *stream, std::string &error,
                    int64_t *grid) {
  const Driver *d = nullptr;
  const GemvModule *mod = moduleFor(d, error);
  if (!mod)
    return false;
  RmsScaleArgs a{};
  a.x = reinterpret_cast<const float *>(base(X, 4));
  a.xn = xn;
  a.scale = scale;
  a.xRow = X->strides[1];
  a.xCol = X->strides[2];
  a.m = static_cast<int>(X->sizes[1]);
  a.k = static_cast<int>(X->sizes[2]);
  a.eps = static_cast<float>(eps);
  if (a.m == 0)
    return true;
  void *params[] = {&a};
  CUresult r = launchKernel(
      d, mod->rms[typeIndex(t)], static_cast<unsigned>(a.m), 1, 1, kGemvThreads,
      1, 1, 0, static_cast<CUstream>(stream), params, nullptr, false);
  if (r != CUDA_SUCCESS) {
    error = format("cuLaunchKernel failed (%s; tfc_rms_scale, grid %d)",
                   resultName(d, r), a.m);
    return false;
  }
  if (grid)
    *grid = a.m;
  return true;
}

bool launchGlu(GemmType t, const float *y, const Memref3 *C, GemmType out,
               int act, void *stream, std::string &error, int64_t *grid) {
  const Driver *d = nullptr;
  const GemvModule *mod = moduleFor(d, error);
  if (!mod)
    return false;
  GluArgs a{};
  a.y = y;
  a.out = base(C, elemBytes(out));
  a.oRow = C->strides[1];
  a.oCol = C->strides[2];
  a.m = C->sizes[1];
  a.f = C->sizes[2];
  a.act = kernelAct(act);
  a.outHalf = out != GemmType::F32 ? 1 : 0;
  // A grid-stride loop: enough blocks to fill the GPU a few times over.
  const int64_t total = a.m * a.f;
  const int64_t blocks = std::min<int64_t>(
      (total + kGemvThreads - 1) / kGemvThreads, 16LL * mod->sms);
  void *params[] = {&a};
  if (total == 0)
    return true;
  CUresult r =
      launchKernel(d, mod->glu[typeIndex(t)], static_cast<unsigned>(blocks), 1,
                   1, kGemvThreads, 1, 1, 0, static_cast<CUstream>(stream),
                   params, nullptr, false);
  if (r != CUDA_SUCCESS) {
    error = format("cuLaunchKernel failed (%s; tfc_glu, grid %lld)",
                   resultName(d, r), (long long)blocks);
    return false;
  }
  if (grid)
    *grid = blocks;
  return true;
}

} // namespace tfcrt::cuda
