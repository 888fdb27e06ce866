// RUN: tfc-opt %s -split-input-file -tfc-to-linalg | FileCheck %s

// Broadcasting: a static 1 becomes a constant index in the indexing map.
// CHECK-DAG: #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[BC:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func @add_bcast
// CHECK: %[[D:.*]] = tensor.dim %arg0, %c0
// CHECK: tensor.empty(%[[D]])
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[BC]], #[[ID]]]
// CHECK: arith.addf
func.func @add_bcast(%a: tensor<?x8xf32>, %b: tensor<1x8xf32>) -> tensor<?x8xf32> {
  %0 = tfc.binary add %a, %b : tensor<?x8xf32>, tensor<1x8xf32> -> tensor<?x8xf32>
  return %0 : tensor<?x8xf32>
}

// -----

// A matmul with a 2-D weight folds the batch dims into M.
// CHECK-LABEL: func @matmul_weight
// CHECK: tensor.collapse_shape %arg0 {{\[}}[0, 1], [2]]
// CHECK: linalg.matmul
// CHECK: tensor.expand_shape
func.func @matmul_weight(%a: tensor<?x?x64xf32>, %w: tensor<64x32xf32>) -> tensor<?x?x32xf32> {
  %0 = tfc.matmul %a, %w : tensor<?x?x64xf32>, tensor<64x32xf32> -> tensor<?x?x32xf32>
  return %0 : tensor<?x?x32xf32>
}

// -----

// CHECK-LABEL: func @softmax
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
func.func @softmax(%a: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %0 = tfc.softmax %a {axis = 1 : i64} : tensor<?x16xf32> -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

// CHECK-LABEL: func @rms
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: math.rsqrt
func.func @rms(%x: tensor<?x64xf32>, %w: tensor<64xf32>) -> tensor<?x64xf32> {
  %0 = tfc.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

// Attention: GQA heads repeated, causal mask from the loop indices, a
// softmax that gives 0 for fully masked rows.
// CHECK-LABEL: func @attention
// CHECK: arith.divui
// CHECK: linalg.batch_matmul
// CHECK: linalg.index 2
// CHECK: arith.cmpi sle
// CHECK: arith.select
// CHECK: linalg.batch_matmul
func.func @attention(%q: tensor<1x8x?x16xf32>, %k: tensor<1x4x?x16xf32>, %v: tensor<1x4x?x16xf32>) -> tensor<1x8x?x16xf32> {
  %0 = tfc.attention %q, %k, %v {scale = 0.25 : f64, causal = true} : tensor<1x8x?x16xf32>, tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32> -> tensor<1x8x?x16xf32>
  return %0 : tensor<1x8x?x16xf32>
}
