// RUN: tfc-opt %s -split-input-file -tfc-prune="method=ffn:0.5" -verify-each | FileCheck %s
// RUN: tfc-opt %s -split-input-file -tfc-prune="method=ffn:0.5 norm=1" -verify-each | FileCheck %s --check-prefix=L1

// Gated MLP with 4 channels: channel c scores the norm of gate column c, up
// column c and down row c. Channels 1 and 3 are the largest (L2 and L1).
// CHECK-LABEL: func.func @gated
// CHECK-DAG: %[[G:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 4.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[D:.*]] = arith.constant dense<{{\[}}[5.000000e+00, 6.000000e+00], [7.000000e+00, 8.000000e+00]]> : tensor<2x2xf32>
// CHECK: tfc.gated_mlp silu %arg0, %[[G]], %[[G]], %[[D]] {tfc.pruned = "ffn 4 -> 2"} : tensor<?x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
// L1-LABEL: func.func @gated
// L1: tfc.gated_mlp {{.*}} tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32> -> tensor<?x2xf32>
func.func @gated(%x: tensor<?x2xf32>) -> tensor<?x2xf32> attributes {tfc.entry} {
  %w = arith.constant dense<[[1.0, 2.0, 0.5, 4.0], [1.0, 2.0, 0.5, 4.0]]> : tensor<2x4xf32>
  %wd = arith.constant dense<[[1.0, 1.0], [5.0, 6.0], [1.0, 1.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %m = tfc.gated_mlp silu %x, %w, %w, %wd : tensor<?x2xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<4x2xf32> -> tensor<?x2xf32>
  %r = tfc.binary add %m, %x : tensor<?x2xf32>, tensor<?x2xf32> -> tensor<?x2xf32>
  return %r : tensor<?x2xf32>
}

// -----

// BERT-style MLP: up (+bias) -> gelu -> down (transposed weight). The up
// bias counts in the score and is sliced with the columns.
// CHECK-LABEL: func.func @dense
// CHECK-DAG: %[[U:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 4.000000e+00]]> : tensor<1x2xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[2.000000e+01, 4.000000e+01]> : tensor<2xf32>
// CHECK-DAG: %[[D:.*]] = arith.constant dense<{{\[}}[6.000000e+00, 8.000000e+00]]> : tensor<1x2xf32>
// CHECK: %[[H:.*]] = tfc.linear %arg0, %[[U]] bias %[[B]] : tensor<2xf32> {tfc.pruned = "ffn 4 -> 2"} : tensor<?x1xf32>, tensor<1x2xf32> -> tensor<?x2xf32>
// CHECK: %[[A:.*]] = tfc.unary gelu %[[H]] : tensor<?x2xf32> -> tensor<?x2xf32>
// CHECK: %[[S:.*]] = tfc.binary mul %[[A]], %{{.*}} : tensor<?x2xf32>, tensor<f32> -> tensor<?x2xf32>
// CHECK: tfc.linear %[[S]], %[[D]] {tfc.pruned = "ffn 4 -> 2", transpose_weight = true} : tensor<?x2xf32>, tensor<1x2xf32> -> tensor<?x1xf32>
func.func @dense(%x: tensor<?x1xf32>) -> tensor<?x1xf32> attributes {tfc.entry} {
  %u = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %ub = arith.constant dense<[10.0, 20.0, 1.0, 40.0]> : tensor<4xf32>
  %d = arith.constant dense<[[5.0, 6.0, 7.0, 8.0]]> : tensor<1x4xf32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %h = tfc.linear %x, %u bias %ub : tensor<4xf32> : tensor<?x1xf32>, tensor<1x4xf32> -> tensor<?x4xf32>
  %a = tfc.unary gelu %h : tensor<?x4xf32> -> tensor<?x4xf32>
  %s = tfc.binary mul %a, %half : tensor<?x4xf32>, tensor<f32> -> tensor<?x4xf32>
  %y = tfc.linear %s, %d {transpose_weight = true} : tensor<?x4xf32>, tensor<1x4xf32> -> tensor<?x1xf32>
  %r = tfc.binary add %y, %x : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
  return %r : tensor<?x1xf32>
}
