// RUN: tfc-opt %s -split-input-file -tfc-raise-attention | FileCheck %s

// MPNet: a relative position bias [1, h, s, t] added to the scaled scores,
// then the padding mask [b, 1, 1, t]: one float mask, bias + mask.
// CHECK-LABEL: func @bias_then_mask
// CHECK-SAME: (%[[Q:.*]]: tensor<?x4x?x8xf32>, %[[K:.*]]: tensor<?x4x?x8xf32>, %[[V:.*]]: tensor<?x4x?x8xf32>, %[[B:.*]]: tensor<1x4x?x?xf32>, %[[M:.*]]: tensor<?x1x1x?xf32>)
// CHECK: %[[BM:.*]] = tfc.binary add %[[B]], %[[M]] : tensor<1x4x?x?xf32>, tensor<?x1x1x?xf32> -> tensor<?x4x?x?xf32>
// CHECK: %[[A:.*]] = tfc.attention %[[Q]], %[[K]], %[[V]] mask %[[BM]] : tensor<?x4x?x?xf32> {causal = false, scale = 0.35355{{.*}} : f64}
// CHECK-NOT: tfc.softmax
// CHECK: return %[[A]]
func.func @bias_then_mask(%q: tensor<?x4x?x8xf32>, %k: tensor<?x4x?x8xf32>, %v: tensor<?x4x?x8xf32>, %bias: tensor<1x4x?x?xf32>, %m: tensor<?x1x1x?xf32>) -> tensor<?x4x?x8xf32> {
  %c = arith.constant dense<2.82842708> : tensor<f32>
  %kt = tfc.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x8xf32> -> tensor<?x4x8x?xf32>
  %s = tfc.matmul %q, %kt : tensor<?x4x?x8xf32>, tensor<?x4x8x?xf32> -> tensor<?x4x?x?xf32>
  %ss = tfc.binary div %s, %c : tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %sb = tfc.binary add %ss, %bias : tensor<?x4x?x?xf32>, tensor<1x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %l = tfc.binary add %sb, %m : tensor<?x4x?x?xf32>, tensor<?x1x1x?xf32> -> tensor<?x4x?x?xf32>
  %p = tfc.softmax %l {axis = 3 : i64} : tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %o = tfc.matmul %p, %v : tensor<?x4x?x?xf32>, tensor<?x4x?x8xf32> -> tensor<?x4x?x8xf32>
  return %o : tensor<?x4x?x8xf32>
}

// -----

// Left alone: the biased scores have another use.
// CHECK-LABEL: func @bias_other_use
// CHECK-NOT: tfc.attention
// CHECK: tfc.softmax
func.func @bias_other_use(%q: tensor<?x4x?x8xf32>, %k: tensor<?x4x?x8xf32>, %v: tensor<?x4x?x8xf32>, %bias: tensor<1x4x?x?xf32>, %m: tensor<?x1x1x?xf32>) -> (tensor<?x4x?x8xf32>, tensor<?x4x?x?xf32>) {
  %kt = tfc.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x8xf32> -> tensor<?x4x8x?xf32>
  %s = tfc.matmul %q, %kt : tensor<?x4x?x8xf32>, tensor<?x4x8x?xf32> -> tensor<?x4x?x?xf32>
  %sb = tfc.binary add %s, %bias : tensor<?x4x?x?xf32>, tensor<1x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %l = tfc.binary add %sb, %m : tensor<?x4x?x?xf32>, tensor<?x1x1x?xf32> -> tensor<?x4x?x?xf32>
  %p = tfc.softmax %l {axis = 3 : i64} : tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %o = tfc.matmul %p, %v : tensor<?x4x?x?xf32>, tensor<?x4x?x8xf32> -> tensor<?x4x?x8xf32>
  return %o, %sb : tensor<?x4x?x8xf32>, tensor<?x4x?x?xf32>
}
