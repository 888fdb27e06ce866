//===- GemmReference.cpp - the oracle every fast GEMM is checked against ===//

#include "Gemm.h"

namespace tfcrt {
namespace gemm {

void reference(const Problem &p) {
  for (int64_t b = 0; b < p.batch; ++b) {
    const float *a = p.a + b * p.sab;
    const float *bm = p.b + b * p.sbb;
    float *c = p.c + b * p.scb;
    for (int64_t i = 0; i < p.m; ++i) {
      for (int64_t j = 0; j < p.n; ++j) {
        double s = p.bias ? static_cast<double>(p.bias[j * p.sbias]) : 0.0;
        for (int64_t k = 0; k < p.k; ++k)
          s += static_cast<double>(a[i * p.sam + k * p.sak]) *
               static_cast<double>(bm[k * p.sbk + j * p.sbn]);
        c[i * p.scm + j * p.scn] = static_cast<float>(s);
      }
    }
  }
}

} // namespace gemm
} // namespace tfcrt
