//===- GemmDriver.cpp - blocking, packing, threading and ISA dispatch -----===//
//
// Goto/BLIS-style blocked GEMM around an ISA-specific micro-kernel:
//
//   for jc in N step NC:                       B block kc x nc, shared, packed
//     for pc in K step KC:                     once per (jc, pc) by all threads
//       pack B[pc:pc+kc, jc:jc+nc] -> Bp       [nc/NR][kc][NR]
//       parallel over (M blocks x N slices):
//         pack A[ic:ic+mc, pc:pc+kc] -> Ap     [mc/MR][kc][MR], per thread
//         for ir in mc step MR:                A micro-panel stays in L1
//           for jr in slice step NR:           B panels stream from L2
//             micro(Ap[ir], Bp[jr]) -> C[ic+ir, jc+jr]
//
// The first k block writes C (= acc + bias), later ones accumulate. Packing
// reads any strides (transposed A or B cost nothing extra in the kernel).
// Special cases: few rows (decode-like, M <= 8) skip packing and stream B
// once through an unpacked kernel; a batch whose B is shared (stride 0) and
// whose A and C are contiguous over batch folds into M; many small batch
// items run one item per task.
//
//===----------------------------------------------------------------------===//

#include "../Internal.h"
#include "../Isa.h"
#include "Gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace tfcrt {
namespace gemm {

//===-- ISA detection -----------------------------------------------------===//

bool isaSupported(Isa isa) {
#if defined(__x86_64__)
  switch (isa) {
  case Isa::Generic:
    return true;
  case Isa::Avx2:
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case Isa::Avx512:
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  }
  return false;
#else
  return isa == Isa::Generic;
#endif
}

const char *isaName(Isa isa) {
  switch (isa) {
  case Isa::Generic:
    return "generic";
  case Isa::Avx2:
    return "avx2";
  case Isa::Avx512:
    return "avx512";
  }
  return "?";
}

Isa detectIsa() {
  // One cap for every kernel kind: TFCRT_ISA (Isa.h).
  switch (isa::features().level) {
  case isa::Level::Avx512:
    return Isa::Avx512;
  case isa::Level::Avx2:
    return Isa::Avx2;
  default:
    return Isa::Generic;
  }
}

namespace {

const KernelSet &kernelsFor(Isa isa) {
  switch (isa) {
  case Isa::Avx512:
    return kernelsAvx512();
  case Isa::Avx2:
    return kernelsAvx2();
  default:
    return kernelsGeneric();
  }
}

//===-- buffers -----------------------------------------------------------===//

/// A per-thread, 64-byte aligned scratch buffer that only grows: packing
/// buffers are reused across calls instead of paying page faults each time.
class Scratch {
public:
  ~Scratch() { std::free(ptr); }
  float *get(size_t floats) {
    if (floats > cap) {
      std::free(ptr);
      ptr = nullptr;
      cap = 0;
      void *p = nullptr;
      if (posix_memalign(&p, 64, std::max<size_t>(floats, 16) * sizeof(float)))
        return nullptr;
      ptr = static_cast<float *>(p);
      cap = floats;
    }
    return ptr;
  }

private:
  float *ptr = nullptr;
  size_t cap = 0;
};

thread_local Scratch scratchA, scratchB, scratchMisc;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

//===-- packing -----------------------------------------------------------===//

/// A[0..mc)[0..kc) -> [ceil(mc/MR)][kc][MR], zero-padded rows.
void packA(const float *a, int64_t sam, int64_t sak, int64_t mc, int64_t kc,
           int mr, float *dst) {
  for (int64_t i0 = 0; i0 < mc; i0 += mr) {
    const int rows = static_cast<int>(std::min<int64_t>(mr, mc - i0));
    float *d = dst + i0 * kc;
    if (sak == 1) {
      for (int r = 0; r < rows; ++r) {
        const float *s = a + (i0 + r) * sam;
        for (int64_t k = 0; k < kc; ++k)
          d[k * mr + r] = s[k];
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float *s = a + k * sak + i0 * sam;
        for (int r = 0; r < rows; ++r)
          d[k * mr + r] = s[r * sam];
      }
    }
    if (rows < mr)
      for (int64_t k = 0; k < kc; ++k)
        for (int r = rows; r < mr; ++r)
          d[k * mr + r] = 0.0f;
  }
}

/// Panels [q0, q1) of B[0..kc)[0..nc) -> [panel][kc][NR], zero-padded columns.
void packB(const float *b, int64_t sbk, int64_t sbn, int64_t kc, int64_t nc,
           int nr, int64_t q0, int64_t q1, float *dst) {
  for (int64_t q = q0; q < q1; ++q) {
    const int64_t j0 = q * nr;
    const int cols = static_cast<int>(std::min<int64_t>(nr, nc - j0));
    float *d = dst + q * nr * kc;
    if (sbn == 1 && cols == nr) {
      for (int64_t k = 0; k < kc; ++k)
        std::memcpy(d + k * nr, b + k * sbk + j0, sizeof(float) * nr);
      continue;
    }
    if (sbk == 1 && sbn != 1) {
      for (int c = 0; c < cols; ++c) {
        const float *s = b + (j0 + c) * sbn;
        for (int64_t k = 0; k < kc; ++k)
          d[k * nr + c] = s[k];
      }
    } else {
      for (int64_t k = 0; k < kc; ++k)
        for (int c = 0; c < cols; ++c)
          d[k * nr + c] = b[k * sbk + (j0 + c) * sbn];
    }
    if (cols < nr)
      for (int64_t k = 0; k < kc; ++k)
        for (int c = cols; c < nr; ++c)
          d[k * nr + c] = 0.0f;
  }
}

void packBlockB(const KernelSet &ks, const float *b, int64_t sbk, int64_t sbn,
                int64_t kc, int64_t nc, int64_t q0, int64_t q1, float *dst) {
  if (!ks.packB || !ks.packB(b, sbk, sbn, kc, nc, q0, q1, dst))
    packB(b, sbk, sbn, kc, nc, ks.nr, q0, q1, dst);
}

//===-- the blocked algorithm ---------------------------------------------===//

/// One batch item, on up to `threads` threads. `bias` is contiguous or null.
/// Returns false if a scratch buffer could not be allocated.
bool blocked(const KernelSet &ks, const Problem &p, int64_t bi,
             const float *bias, int threads) {
  const float *A = p.a + bi * p.sab;
  const float *B = p.b + bi * p.sbb;
  float *C = p.c + bi * p.scb;
  const int mr = ks.mr, nr = ks.nr;
  // Even k blocks: no thin last block that would pay a full C round trip.
  const int64_t kBlocks = ceilDiv(p.k, ks.kc);
  const int64_t kcMax = ceilDiv(p.k, kBlocks);
  const int64_t mPanels = ceilDiv(p.m, mr);

  for (int64_t jc = 0; jc < p.n; jc += ks.nc) {
    const int64_t nc = std::min<int64_t>(ks.nc, p.n - jc);
    const int64_t nPanels = ceilDiv(nc, nr);
    for (int64_t pc = 0; pc < p.k; pc += kcMax) {
      const int64_t kc = std::min<int64_t>(kcMax, p.k - pc);
      float *bp = scratchB.get(static_cast<size_t>(nPanels * nr * kc));
      if (!bp)
        return false;
      const float *bBlock = B + pc * p.sbk + jc * p.sbn;

      // Work split: M blocks (a multiple of the thread count when there
      // are enough rows), then N slices if rows alone cannot feed them all.
      int64_t mBlocks = ceilDiv(p.m, ks.mc);
      int64_t nSlices = 1;
      if (threads > 1) {
        mBlocks = std::min(mPanels, ceilDiv(mBlocks, threads) * threads);
        if (mBlocks < threads)
          nSlices = std::min(nPanels, ceilDiv(threads, mBlocks));
      }
      const int64_t tasks = mBlocks * nSlices;

      if (threads > 1 && nPanels > 1) {
        const int64_t parts = std::min<int64_t>(nPanels, threads);
        parallelRun(parts, [&](int64_t t) {
          packBlockB(ks, bBlock, p.sbk, p.sbn, kc, nc, nPanels * t / parts,
                     nPanels * (t + 1) / parts, bp);
        });
      } else {
        packBlockB(ks, bBlock, p.sbk, p.sbn, kc, nc, 0, nPanels, bp);
      }

      bool ok = true;
      auto task = [&](int64_t t) {
        const int64_t mb = t / nSlices, ns = t % nSlices;
        const int64_t i0 = mPanels * mb / mBlocks * mr;
        const int64_t i1 = std::min(p.m, mPanels * (mb + 1) / mBlocks * mr);
        const int64_t q0 = nPanels * ns / nSlices;
        const int64_t q1 = nPanels * (ns + 1) / nSlices;
        if (i0 >= i1 || q0 >= q1)
          return;
        const int64_t mc = i1 - i0;
        float *ap =
            scratchA.get(static_cast<size_t>(ceilDiv(mc, mr) * mr * kc));
        if (!ap) {
          ok = false;
          return;
        }
        const float *aBlock = A + i0 * p.sam + pc * p.sak;
        if (!ks.packA || !ks.packA(aBlock, p.sam, p.sak, mc, kc, ap))
          packA(aBlock, p.sam, p.sak, mc, kc, mr, ap);
        const bool accumulate = pc > 0;
        for (int64_t ir = 0; ir < mc; ir += mr) {
          const int rows = static_cast<int>(std::min<int64_t>(mr, mc - ir));
          const float *apanel = ap + ir * kc;
          float *crow = C + (i0 + ir) * p.scm;
          for (int64_t q = q0; q < q1; ++q) {
            const int64_t j = jc + q * nr;
            const int cols = static_cast<int>(std::min<int64_t>(nr, p.n - j));
            ks.micro(kc, apanel, bp + q * nr * kc, crow + j * p.scn, p.scm,
                     p.scn, rows, cols,
                     accumulate || !bias ? nullptr : bias + j, accumulate);
          }
        }
      };
      if (threads > 1 && tasks > 1)
        parallelRun(tasks, task);
      else
        for (int64_t t = 0; t < tasks; ++t)
          task(t);
      if (!ok)
        return false;
    }
  }
  return true;
}

/// C = bias (or 0) for K == 0.
void fillBias(const Problem &p) {
  for (int64_t b = 0; b < p.batch; ++b)
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j)
        p.c[b * p.scb + i * p.scm + j * p.scn] =
            p.bias ? p.bias[j * p.sbias] : 0.0f;
}

/// Few rows: no packing; tasks over (batch item x column chunk).
bool smallRows(const KernelSet &ks, const Problem &p, int threads) {
  const bool rowMajorB = p.sbn == 1;
  Problem q = p;
  std::vector<float> aCopy;
  if (!rowMajorB && p.sak != 1) {
    // The dot-product kernel wants rows of A contiguous: copy (tiny).
    aCopy.resize(static_cast<size_t>(p.batch * p.m * p.k));
    for (int64_t b = 0; b < p.batch; ++b)
      for (int64_t i = 0; i < p.m; ++i)
        for (int64_t k = 0; k < p.k; ++k)
          aCopy[(b * p.m + i) * p.k + k] =
              p.a[b * p.sab + i * p.sam + k * p.sak];
    q.a = aCopy.data();
    q.sab = p.sab == 0 ? 0 : p.m * p.k;
    q.sam = p.k;
    q.sak = 1;
  }
  const int64_t align = rowMajorB ? ks.smallColumnAlign : 4;
  // One contiguous column range per thread: long runs of each B row are
  // what streams fastest.
  const double work = static_cast<double>(p.batch) * p.m * p.n * p.k;
  int64_t chunks = 1;
  if (threads > 1 && work > 32768)
    chunks = std::min(ceilDiv(threads, p.batch), ceilDiv(p.n, align));
  const int64_t units = ceilDiv(p.n, align);
  SmallKernel fn = rowMajorB ? ks.smallRowMajorB : ks.smallColMajorB;
  bool ok = true;
  auto task = [&](int64_t t) {
    const int64_t bi = t / chunks, ch = t % chunks;
    const int64_t j0 = std::min(p.n, units * ch / chunks * align);
    const int64_t j1 = std::min(p.n, units * (ch + 1) / chunks * align);
    float *scratch = scratchMisc.get(kMaxSmallM * (kSmallChunk + 64));
    if (!scratch)
      ok = false;
    else if (j0 < j1)
      fn(q, bi, j0, j1, scratch);
  };
  const int64_t tasks = p.batch * chunks;
  if (threads > 1 && tasks > 1)
    parallelRun(tasks, task);
  else
    for (int64_t t = 0; t < tasks; ++t)
      task(t);
  return ok;
}

} // namespace

void run(const Problem &in, Isa isa) {
  if (in.batch <= 0 || in.m <= 0 || in.n <= 0)
    return;
  if (in.k <= 0) {
    fillBias(in);
    return;
  }
  Problem p = in;
  // A broadcast B over a batch of contiguous A/C rows is one taller GEMM.
  if (p.batch > 1 && p.sbb == 0 && p.sab == p.m * p.sam &&
      p.scb == p.m * p.scm) {
    p.m *= p.batch;
    p.batch = 1;
  }
  const KernelSet &ks = kernelsFor(isaSupported(isa) ? isa : Isa::Generic);
  const double flops = 2.0 * p.batch * p.m * p.n * p.k;
  const int threads = flops < 2e5 ? 1 : numThreads();

  // Few rows: stream B unpacked. Measured on Zen 4: up to 16 rows this
  // beats packing always; up to 32 when B (> 8 MB) comes from memory.
  const double bBytes = 4.0 * p.k * p.n;
  const int smallLimit =
      ks.smallM == 0 ? 0 : (bBytes > 8e6 ? kMaxSmallM : ks.smallM);
  if (p.m <= smallLimit && (p.sbn == 1 || p.sbk == 1)) {
    if (!smallRows(ks, p, threads))
      reference(in); // no scratch memory: slow but right
    return;
  }

  // Contiguous bias for the micro-kernels.
  const float *bias = p.bias;
  std::vector<float> biasCopy;
  if (bias && p.sbias != 1) {
    biasCopy.resize(static_cast<size_t>(p.n));
    for (int64_t j = 0; j < p.n; ++j)
      biasCopy[j] = p.bias[j * p.sbias];
    bias = biasCopy.data();
  }

  // Many small items: one per task. Otherwise items in turn, each parallel.
  const bool perItem = p.batch > 1 && threads > 1 &&
                       (p.batch >= 2 * threads || flops / p.batch < 4e6);
  bool ok = true;
  if (perItem) {
    parallelRun(p.batch, [&](int64_t bi) {
      if (!blocked(ks, p, bi, bias, 1))
        ok = false;
    });
  } else {
    for (int64_t bi = 0; bi < p.batch && ok; ++bi)
      ok = blocked(ks, p, bi, bias, threads);
  }
  // No scratch memory: still give the right answer, slowly.
  if (!ok)
    reference(in);
}

void run(const Problem &p) { run(p, detectIsa()); }

} // namespace gemm
} // namespace tfcrt
