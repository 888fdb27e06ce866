//===- Gemm.cpp - matmuls of GPU models through cuBLASLt ------------------===//
//
// tfc-gpu-gemm (lib/Conversion/GpuPipeline.cpp) turns linalg.matmul /
// batch_matmul of a GPU model into calls of tfcrt_gpu_matmul_<type>(A, B,
// C) on rank-3 strided views (GpuGemm.cpp routes them here during a run).
// C[b] = A[b] x B[b], row-major in memref terms; cuBLASLt is column-major,
// so we compute C^T = B^T x A^T: a row-major matrix is its transpose in
// column-major order with the same leading dimension, and a column-major
// (transposed) view becomes op T.
//
// libcublasLt.so.<major> is dlopen'ed at the first GEMM (no link-time
// dependency; TFC_CUBLASLT_LIBRARY overrides the name). Per shape, layout,
// type and alignment the descriptors and the heuristic's first algorithm are
// built once and cached (the first run of a shape is eager, so a captured
// graph never queries the heuristic); the workspace is the model's
// (DeviceRun.cpp). f32 uses CUBLAS_COMPUTE_32F (TF32 only with
// TFC_CUDA_TF32=1); f16 / bf16 accumulate in f32. f32 calls of at most
// kGemvMaxM rows and f16 / bf16 calls of one row go to our GEMV kernels
// instead when they suit them (GemvLaunch.h; TFC_CUDA_GEMV=0: none).
// linearEx (tfcrt_gpu_linear_ex_*: an RMS norm folded into the GEMM, the
// gated MLP's GLU in its epilogue) is one GEMV launch where those take the
// call, else cuBLASLt between tfc_rms_scale and tfc_glu (GemvKernels.cu).
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"
#include "CudaDriver.h"
#include "DeviceRun.h"
#include "Gemv.h"
#include "GemvLaunch.h"
#include "GpuGemm.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <cstdlib>
#include <cstring>
#include <cublasLt.h>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <array>

namespace tfcrt::cuda {
namespace {

#define TFC_CUBLASLT_FUNCTIONS(X)                                              \
  X(cublasLtCreate)                                                            \
  X(cublasLtMatmulDescCreate)                                                  \
  X(cublasLtMatmulDescSetAttribute)                                            \
  X(cublasLtMatrixLayoutCreate)                                                \
  X(cublasLtMatrixLayoutSetAttribute)                                          \
  X(cublasLtMatmulPreferenceCreate)                                            \
  X(cublasLtMatmulPreferenceSetAttribute)                                      \
  X(cublasLtMatmulPreferenceDestroy)                                           \
  X(cublasLtMatmulAlgoGetHeuristic)                                            \
  X(cublasLtMatmul)

struct Lt {
#define TFC_LT_DECLARE(fn) decltype(&::fn) fn = nullptr;
  TFC_CUBLASLT_FUNCTIONS(TFC_LT_DECLARE)
#undef TFC_LT_DECLARE
  cublasLtHandle_t handle = nullptr;
  bool ok = false;
  std::string error;
};

Lt &lt() {
  static Lt *s = [] {
    auto *l = new Lt();
    const char *name = std::getenv("TFC_CUBLASLT_LIBRARY");
    std::string lib = name && *name
                          ? std::string(name)
                          : format("libcublasLt.so.%d", CUBLAS_VER_MAJOR);
    void *h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
    std::string why = h ? "" : dlerror();
    // The toolkit's folders, when the loader's path does not have them.
    for (const char *dir : {"/usr/local/cuda/lib64/",
                            "/usr/local/cuda/targets/x86_64-linux/lib/"})
      if (!h && !(name && *name))
        h = dlopen((dir + lib).c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      l->error = format("cannot load cuBLASLt (%s; set TFC_CUBLASLT_LIBRARY): "
                        "%s",
                        lib.c_str(), why.c_str());
      return l;
    }
#define TFC_LT_RESOLVE(fn)                                                     \
  l->fn = reinterpret_cast<decltype(l->fn)>(dlsym(h, #fn));                    \
  if (!l->fn) {                                                                \
    l->error = "cuBLASLt lacks " #fn;                                          \
    return l;                                                                  \
  }
    TFC_CUBLASLT_FUNCTIONS(TFC_LT_RESOLVE)
#undef TFC_LT_RESOLVE
    cublasStatus_t st = l->cublasLtCreate(&l->handle);
    if (st != CUBLAS_STATUS_SUCCESS) {
      l->error = format("cublasLtCreate failed (status %d)", (int)st);
      return l;
    }
    l->ok = true;
    return l;
  }();
  return *s;
}

/// One operand as cuBLASLt sees it: a column-major rows x cols matrix with
/// leading dimension ld, used as op(trans).
struct Operand {
  uint64_t rows = 0, cols = 0;
  int64_t ld = 0, batchStride = 0;
  bool trans = false;
};

/// The column-major description of X^T for a row-major-indexed R x C view
/// X with strides (sr, sc): X^T is C x R. Fails when neither stride is 1.
bool transposedView(int64_t R, int64_t C, int64_t sr, int64_t sc,
                    Operand &o) {
  // A unit dim's stride is free: pick the one that makes a valid layout.
  if (C == 1)
    sc = 1;
  if (sc == 1 && (R == 1 || sr >= C)) {
    o.rows = C;
    o.cols = R;
    o.ld = R == 1 ? (C > 0 ? C : 1) : sr;
    o.trans = false;
    return true;
  }
  if (R == 1)
    sr = 1;
  if (sr == 1 && (C == 1 || sc >= R)) {
    o.rows = R; // stored column-major R x C = X itself: X^T is op T
    o.cols = C;
    o.ld = C == 1 ? (R > 0 ? R : 1) : sc;
    o.trans = true;
    return true;
  }
  return false;
}

struct Plan {
  cublasLtMatmulDesc_t desc = nullptr;
  /// c: the result D; r: the residual C added with beta 1 (or c).
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr, r = nullptr;
  cublasLtMatmulAlgo_t algo;
  bool ok = false;
};

/// Everything a plan depends on: types, shape, layouts, alignments, epilogue.
using Key = std::array<int64_t, 19>;

struct Cache {
  std::mutex mutex;
  std::map<Key, Plan> plans;
};
Cache &cache() {
  static Cache *c = new Cache();
  return *c;
}

int alignmentOf(const void *p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  int al = 256;
  while (al > 1 && (a % al))
    al /= 2;
  return al;
}

bool ltCheck(cublasStatus_t st, const char *what) {
  if (st == CUBLAS_STATUS_SUCCESS)
    return true;
  recordError(format("%s failed (cuBLAS status %d)", what, (int)st));
  return false;
}

cudaDataType_t dataType(GemmType t) {
  switch (t) {
  case GemmType::F16:
    return CUDA_R_16F;
  case GemmType::BF16:
    return CUDA_R_16BF;
  default:
    return CUDA_R_32F;
  }
}

} // namespace

void gemm(GemmType type, const Memref3 *A, const Memref3 *B,
          const Memref3 *C) {
  gemm(type, A, B, C, type, Epilogue());
}

void gemm(GemmType type, const Memref3 *A, const Memref3 *B, const Memref3 *C,
          GemmType outType, const Epilogue &ep) {
  if (replaying())
    return;
  if (hasError())
    return;
  Lt &l = lt();
  if (!l.ok) {
    recordError(l.error);
    return;
  }
  CUstream stream = runStream();
  const int64_t batch = C->sizes[0], M = C->sizes[1], N = C->sizes[2];
  const int64_t K = A->sizes[2];
  // GLU: B holds the gate and the up columns, C one output per pair.
  if (A->sizes[1] != M || B->sizes[1] != K ||
      B->sizes[2] != (ep.glu ? 2 * N : N) ||
      (A->sizes[0] != batch && A->sizes[0] != 1) ||
      (B->sizes[0] != batch && B->sizes[0] != 1)) {
    recordError(format("tfcrt_gpu_matmul: shapes [%lld,%lld,%lld] x "
                       "[%lld,%lld,%lld] -> [%lld,%lld,%lld] disagree",
                       (long long)A->sizes[0], (long long)A->sizes[1],
                       (long long)A->sizes[2], (long long)B->sizes[0],
                       (long long)B->sizes[1], (long long)B->sizes[2],
                       (long long)batch, (long long)M, (long long)N));
    return;
  }
  const Memref3 *Rm = ep.residual;
  if (Rm && (Rm->sizes[0] != batch || Rm->sizes[1] != M ||
             Rm->sizes[2] != N || ep.act != TFCRT_ACT_NONE)) {
    recordError("tfcrt_gpu_linear: the residual's shape differs from the "
                "result's, or an activation precedes it");
    return;
  }
  const bool exOptions =
      ep.glu || ep.rmsEps >= 0 || (ep.aF32 && type != GemmType::F32);
  const bool epilogue = ep.bias || ep.act != TFCRT_ACT_NONE || Rm || exOptions;
  if (batch == 0 || M == 0 || N == 0)
    return;
  size_t eb = elemBytes(type), ob = elemBytes(outType);
  char *pa = A->aligned + A->offset * eb, *pb = B->aligned + B->offset * eb,
       *pc = C->aligned + C->offset * ob;
  char *pr = Rm ? Rm->aligned + Rm->offset * ob : pc;
  const Driver *d = driver();
  if (!d)
    return;
  if (K == 0) { // C = 0: C is a buffer of ours, row-major
    if (epilogue) {
      recordError("tfcrt_gpu_linear: k = 0");
      return;
    }
    if (C->strides[2] == 1 && C->strides[1] == N &&
        (batch == 1 || C->strides[0] == M * N)) {
      check(d->cuMemsetD8Async(reinterpret_cast<CUdeviceptr>(pc), 0,
                               batch * M * N * ob, stream),
            "cuMemsetD8Async", "(matmul with k = 0)");
      return;
    }
    recordError("tfcrt_gpu_matmul: k = 0 into a strided result");
    return;
  }
  // A few rows (decode steps): the GEMV kernels read B once with every load
  // in flight (f32 up to 8 rows, the half types at one row: GemvLaunch.h).
  if (gemvEnabled(type, M) &&
      gemvSuits(type, A, B, C, outType, ep)) {
    std::string error;
    int64_t grid = 0;
    if (!launchGemv(type, A, B, C, outType, ep, stream, error, &grid,
                    pdlLaunches())) {
      recordError("tfcrt_gpu_matmul: " + error);
      return;
    }
    count(Work::Gemm, M * N, batch);
    return;
  }
  if (exOptions) { // linearEx does these around cuBLASLt
    recordError("tfcrt_gpu_matmul: an RMS / GLU epilogue or an f32 A of a "
                "half GEMM, which only the GEMV kernels have");
    return;
  }
  // D = C^T (N x M) = P x Q with P = B^T (N x K), Q = A^T (K x M).
  Operand P, Q, D, R;
  bool okP = transposedView(K, N, B->strides[1], B->strides[2], P);
  bool okQ = transposedView(M, K, A->strides[1], A->strides[2], Q);
  bool okD = transposedView(M, N, C->strides[1], C->strides[2], D) &&
             !D.trans;
  if (Rm)
    okD = okD &&
          transposedView(M, N, Rm->strides[1], Rm->strides[2], R) && !R.trans;
  if (!okP || !okQ || !okD) {
    recordError(format("tfcrt_gpu_matmul: a view cuBLASLt cannot read "
                       "(strides A [%lld,%lld], B [%lld,%lld], C [%lld,%lld])",
                       (long long)A->strides[1], (long long)A->strides[2],
                       (long long)B->strides[1], (long long)B->strides[2],
                       (long long)C->strides[1], (long long)C->strides[2]));
    return;
  }
  P.batchStride = B->sizes[0] == 1 ? 0 : B->strides[0];
  Q.batchStride = A->sizes[0] == 1 ? 0 : A->strides[0];
  D.batchStride = batch == 1 ? 0 : C->strides[0];
  if (Rm)
    R.batchStride = batch == 1 ? 0 : Rm->strides[0];
  cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
  if (ep.act == TFCRT_ACT_RELU)
    epi = ep.bias ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_RELU;
  else if (ep.act == TFCRT_ACT_GELU_TANH) // cuBLASLt's GELU is the tanh form
    epi = ep.bias ? CUBLASLT_EPILOGUE_GELU_BIAS : CUBLASLT_EPILOGUE_GELU;
  else if (ep.act != TFCRT_ACT_NONE) {
    recordError(format("tfcrt_gpu_linear: activation %d is not one the GEMM "
                       "epilogue has",
                       ep.act));
    return;
  } else if (ep.bias)
    epi = CUBLASLT_EPILOGUE_BIAS;
  static const bool tf32 = envSwitch("TFC_CUDA_TF32", false);
  Key key{(int)type,
          (int)outType,
          batch,
          M,
          N,
          K,
          P.ld,
          Q.ld,
          D.ld,
          P.trans * 2 + Q.trans,
          P.batchStride,
          Q.batchStride,
          D.batchStride,
          alignmentOf(pa) * 1000 + alignmentOf(pb),
          alignmentOf(pc) * 2 + (tf32 ? 1 : 0),
          (int)epi,
          Rm ? R.ld : 0, // a residual's ld is >= 1
          Rm ? R.batchStride : 0,
          Rm ? alignmentOf(pr) : 0};
  Plan *plan = nullptr;
  // Held through the enqueue: the bias pointer is set on the shared plan.
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  {
    auto it = c.plans.find(key);
    if (it != c.plans.end()) {
      plan = &it->second;
    } else {
      Plan p;
      cudaDataType_t dt = dataType(type), odt = dataType(outType);
      cublasComputeType_t ct =
          type == GemmType::F32 && tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32
                                        : CUBLAS_COMPUTE_32F;
      bool ok =
          ltCheck(l.cublasLtMatmulDescCreate(&p.desc, ct, CUDA_R_32F),
                  "cublasLtMatmulDescCreate");
      cublasOperation_t ta = P.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
      cublasOperation_t tb = Q.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
      ok = ok && ltCheck(l.cublasLtMatmulDescSetAttribute(
                             p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta,
                             sizeof(ta)),
                         "cublasLtMatmulDescSetAttribute(TRANSA)");
      ok = ok && ltCheck(l.cublasLtMatmulDescSetAttribute(
                             p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb,
                             sizeof(tb)),
                         "cublasLtMatmulDescSetAttribute(TRANSB)");
      if (epi != CUBLASLT_EPILOGUE_DEFAULT) {
        cudaDataType_t bt = CUDA_R_32F;
        ok = ok &&
             ltCheck(l.cublasLtMatmulDescSetAttribute(
                         p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi,
                         sizeof(epi)),
                     "cublasLtMatmulDescSetAttribute(EPILOGUE)") &&
             ltCheck(l.cublasLtMatmulDescSetAttribute(
                         p.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt,
                         sizeof(bt)),
                     "cublasLtMatmulDescSetAttribute(BIAS_DATA_TYPE)");
      }
      auto layout = [&](cublasLtMatrixLayout_t *lay, const Operand &o,
                        cudaDataType_t t) {
        int32_t count = static_cast<int32_t>(batch);
        int64_t stride = o.batchStride;
        return ltCheck(l.cublasLtMatrixLayoutCreate(lay, t, o.rows, o.cols,
                                                    o.ld),
                       "cublasLtMatrixLayoutCreate") &&
               ltCheck(l.cublasLtMatrixLayoutSetAttribute(
                           *lay, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                           sizeof(count)),
                       "cublasLtMatrixLayoutSetAttribute(BATCH_COUNT)") &&
               ltCheck(l.cublasLtMatrixLayoutSetAttribute(
                           *lay, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                           &stride, sizeof(stride)),
                       "cublasLtMatrixLayoutSetAttribute(BATCH_OFFSET)");
      };
      ok = ok && layout(&p.a, P, dt) && layout(&p.b, Q, dt) &&
           layout(&p.c, D, odt);
      if (Rm)
        ok = ok && layout(&p.r, R, odt);
      else
        p.r = p.c;
      uint64_t wsBytes = 0;
      gemmWorkspace(wsBytes);
      cublasLtMatmulPreference_t pref = nullptr;
      ok = ok && ltCheck(l.cublasLtMatmulPreferenceCreate(&pref),
                         "cublasLtMatmulPreferenceCreate");
      uint32_t alA = alignmentOf(pb), alB = alignmentOf(pa),
               alC = alignmentOf(pr), alD = alignmentOf(pc);
      ok = ok &&
           ltCheck(l.cublasLtMatmulPreferenceSetAttribute(
                       pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                       &wsBytes, sizeof(wsBytes)),
                   "cublasLtMatmulPreferenceSetAttribute") &&
           ltCheck(l.cublasLtMatmulPreferenceSetAttribute(
                       pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &alA,
                       sizeof(alA)),
                   "cublasLtMatmulPreferenceSetAttribute") &&
           ltCheck(l.cublasLtMatmulPreferenceSetAttribute(
                       pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &alB,
                       sizeof(alB)),
                   "cublasLtMatmulPreferenceSetAttribute") &&
           ltCheck(l.cublasLtMatmulPreferenceSetAttribute(
                       pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &alC,
                       sizeof(alC)),
                   "cublasLtMatmulPreferenceSetAttribute") &&
           ltCheck(l.cublasLtMatmulPreferenceSetAttribute(
                       pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &alD,
                       sizeof(alD)),
                   "cublasLtMatmulPreferenceSetAttribute");
      cublasLtMatmulHeuristicResult_t result;
      int found = 0;
      ok = ok && ltCheck(l.cublasLtMatmulAlgoGetHeuristic(
                             l.handle, p.desc, p.a, p.b, p.r, p.c, pref, 1,
                             &result, &found),
                         "cublasLtMatmulAlgoGetHeuristic");
      if (pref)
        l.cublasLtMatmulPreferenceDestroy(pref);
      if (ok && found == 0) {
        recordError(format("cuBLASLt has no algorithm for %lld x [%lld x "
                           "%lld] x [%lld x %lld]",
                           (long long)batch, (long long)M, (long long)K,
                           (long long)K, (long long)N));
        ok = false;
      }
      if (!ok)
        return; // the incomplete plan is not cached (nor its descriptors)
      p.algo = result.algo;
      p.ok = true;
      plan = &c.plans.emplace(key, p).first->second;
    }
  }
  if (ep.bias && !ltCheck(l.cublasLtMatmulDescSetAttribute(
                              plan->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                              &ep.bias, sizeof(ep.bias)),
                          "cublasLtMatmulDescSetAttribute(BIAS_POINTER)"))
    return;
  uint64_t wsBytes = 0;
  CUdeviceptr ws = gemmWorkspace(wsBytes);
  float alpha = 1.0f, beta = Rm ? 1.0f : 0.0f;
  ltCheck(l.cublasLtMatmul(l.handle, plan->desc, &alpha, pb, plan->a, pa,
                           plan->b, &beta, pr, plan->r, pc, plan->c,
                           &plan->algo, reinterpret_cast<void *>(ws), wsBytes,
                           reinterpret_cast<cudaStream_t>(stream)),
          "cublasLtMatmul");
  forgetLaunchWrites();
  count(Work::Gemm, M * N, batch); // after: TFC_CUDA_KTIME times the GEMM
}

void linearEx(GemmType type, const Memref3 *A, const Memref3 *B,
              const Memref3 *C, GemmType outType, const Epilogue &ep,
              const Memref3 *tmp) {
  if (replaying() || hasError())
    return;
  const int64_t M = C->sizes[1], N = B->sizes[2], K = A->sizes[2];
  if (C->sizes[0] == 0 || M == 0 || C->sizes[2] == 0)
    return;
  // A decode step: one GEMV launch does the norm, the product and the GLU.
  if (gemvEnabled(type, M) && gemvSuits(type, A, B, C, outType, ep)) {
    gemm(type, A, B, C, outType, ep);
    return;
  }
  // Many rows: cuBLASLt between our two small kernels, through tmp
  // ([xn: M x K of type][y: M x N f32]). Only the model's single-batch
  // linear layers come here (the entry's shapes).
  const Driver *d = driver();
  if (!d)
    return;
  CUstream stream = runStream();
  char *scratch = reinterpret_cast<char *>(tmp->aligned) + tmp->offset * 4;
  const uint64_t cap =
      static_cast<uint64_t>(tmp->sizes[0] * tmp->sizes[1] * tmp->sizes[2]) * 4;
  std::string error;
  int64_t grid = 0;
  Memref3 xn{};
  const Memref3 *a = A;
  uint64_t used = 0;
  if (ep.rmsEps >= 0) {
    // xn = x's rows times s_r, rounded to the GEMM's type: the unfused
    // norm's output, so the product is cuBLASLt's as before.
    if (!launchRmsScale(type, A, ep.rmsScale, scratch, ep.rmsEps, stream, error,
                        &grid)) {
      recordError("tfcrt_gpu_linear_ex: " + error);
      return;
    }
    countLaunch(grid, kGemvThreads, "(after tfc_rms_scale)");
    xn.allocated = xn.aligned = scratch;
    xn.sizes[0] = 1, xn.sizes[1] = M, xn.sizes[2] = K;
    xn.strides[0] = M * K, xn.strides[1] = K, xn.strides[2] = 1;
    a = &xn;
    used = static_cast<uint64_t>(M * K) * elemBytes(type);
  }
  Epilogue plain;
  if (!ep.glu) {
    plain.bias = ep.bias;
    plain.act = ep.act;
    plain.residual = ep.residual;
    gemm(type, a, B, C, outType, plain);
    return;
  }
  // y = a x B in f32 after xn: 16-byte aligned where tmp has the room (it
  // has M (K + N) floats: an f32 xn leaves none when M K is not a multiple
  // of 4), else 4.
  const uint64_t yBytes = static_cast<uint64_t>(M * N) * 4;
  uint64_t off = (used + 15) / 16 * 16;
  if (off + yBytes > cap)
    off = (used + 3) / 4 * 4;
  Memref3 y{};
  y.allocated = y.aligned = scratch + off;
  y.sizes[0] = 1, y.sizes[1] = M, y.sizes[2] = N;
  y.strides[0] = M * N, y.strides[1] = N, y.strides[2] = 1;
  gemm(type, a, B, &y, GemmType::F32, plain);
  if (hasError())
    return;
  if (!launchGlu(type, reinterpret_cast<const float *>(y.aligned), C, outType,
                 ep.act, stream, error, &grid)) {
    recordError("tfcrt_gpu_linear_ex: " + error);
    return;
  }
  countLaunch(grid, kGemvThreads, "(after tfc_glu)");
}

} // namespace tfcrt::cuda
