// RUN: tfc-opt %s | tfc-opt | FileCheck %s

// CHECK-LABEL: func @ops
func.func @ops(%x: tensor<?x?x64xf32>, %w: tensor<64x32xf32>, %b: tensor<32xf32>,
               %s: tensor<64xf32>, %ids: tensor<?x?xi64>, %t: tensor<100x64xf32>,
               %q: tensor<?x8x?x16xf32>, %k: tensor<?x4x?x16xf32>) -> tensor<?x?x32xf32> {
  // CHECK: tfc.linear %{{.*}}, %{{.*}} bias %{{.*}} : tensor<32xf32>
  %0 = tfc.linear %x, %w bias %b : tensor<32xf32> : tensor<?x?x64xf32>, tensor<64x32xf32> -> tensor<?x?x32xf32>
  // CHECK: tfc.rms_norm
  %1 = tfc.rms_norm %x, %s {epsilon = 1.0e-5 : f64} : tensor<?x?x64xf32>, tensor<64xf32> -> tensor<?x?x64xf32>
  // CHECK: tfc.embedding
  %2 = tfc.embedding %t[%ids] : tensor<100x64xf32>, tensor<?x?xi64> -> tensor<?x?x64xf32>
  // CHECK: tfc.unary silu
  %3 = tfc.unary silu %2 : tensor<?x?x64xf32> -> tensor<?x?x64xf32>
  // CHECK: tfc.attention {{.*}}causal = true
  %4 = tfc.attention %q, %k, %k {scale = 0.25 : f64, causal = true} : tensor<?x8x?x16xf32>, tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32> -> tensor<?x8x?x16xf32>
  return %0 : tensor<?x?x32xf32>
}
