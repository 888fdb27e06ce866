// RUN: tfc-opt %s -tfc-sparsify-attention="pattern=local:8 ref-len=64" -canonicalize 2>&1 | FileCheck %s
// RUN: tfc-opt %s -tfc-sparsify-attention="pattern=causal ref-len=64" -canonicalize 2>&1 | FileCheck %s --check-prefix=CAUSAL

// A float mask select(causal & padding, 0, float min) (the exports of
// SmolLM2) is not causal = true after raising (a finite fill is never
// split); the pass proves the causal term as tfc-kv-cache does, so the op
// becomes causal with the padding as its residual mask and the kernel skips
// the tiles above the diagonal; then the window applies (1+..+8 + 56 * 8 =
// 484 pairs). `causal` alone does
// only that.
// CHECK: remark: attention pattern 'local:8' keeps 23.3% of the causal query-key pairs at length 64 (484 of 2080)
// CHECK-LABEL: func @prove
// CHECK-SAME: %[[PAD:[^:]*]]: tensor<?x1x1x?xi1>
// CHECK: tfc.attention {{.*}} mask %[[PAD]] : tensor<?x1x1x?xi1> {causal = true, scale = 2.500000e-01 : f64, window = 8 : i64}
// CHECK-NOT: tfc.select
// CAUSAL: remark: attention pattern 'causal' keeps 100.0% of the causal query-key pairs at length 64 (2080 of 2080)
// CAUSAL: tfc.attention {{.*}} mask %{{.*}} : tensor<?x1x1x?xi1> {causal = true, scale = 2.500000e-01 : f64}
func.func @prove(%ids: tensor<?x?xi64>, %xq: tensor<?x?x64xf32>, %xk: tensor<?x?x64xf32>, %pad: tensor<?x1x1x?xi1>) -> tensor<?x4x?x16xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %s = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %q4 = tfc.reshape %xq[%b, %s] : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %q = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %k4 = tfc.reshape %xk[%b, %s] : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %k = tfc.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %n = arith.maxsi %s, %c0 : index
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %fmin = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %fzero = arith.constant dense<0.0> : tensor<f32>
  %r = tfc.range %zero, %one, %n : tensor<i64>, tensor<i64> -> tensor<?xi64>
  %r3 = tfc.reshape %r[%n] : tensor<?xi64> -> tensor<1x1x?xi64>
  %qi = tfc.reshape %r3[%n] : tensor<1x1x?xi64> -> tensor<1x1x?x1xi64>
  %kj = tfc.reshape %r3[%n] : tensor<1x1x?xi64> -> tensor<1x1x1x?xi64>
  %cau = tfc.cmp le %kj, %qi : tensor<1x1x1x?xi64>, tensor<1x1x?x1xi64> -> tensor<1x1x?x?xi1>
  %m = tfc.binary and %cau, %pad : tensor<1x1x?x?xi1>, tensor<?x1x1x?xi1> -> tensor<?x1x?x?xi1>
  %fm = tfc.select %m, %fzero, %fmin : tensor<?x1x?x?xi1>, tensor<f32>, tensor<f32> -> tensor<?x1x?x?xf32>
  %o = tfc.attention %q, %k, %k mask %fm : tensor<?x1x?x?xf32> {scale = 0.25 : f64, causal = false} : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}
