// RUN: tfc-opt %s -tfc-prune="method=heads:1" -verify-each | FileCheck %s

// Multi-head attention, 2 heads of 2: head 1 has the larger L2 norm over its
// q / k / v columns and o_proj rows, so heads:1 removes head 0. q keeps
// columns 2, 3 (and bias entries), v (transposed) rows 2, 3, o_proj rows
// 2, 3; every shape between is retyped to 1 head; o_proj's bias stays.
// CHECK-LABEL: func.func @tfc_mha_main(
// CHECK-DAG: %[[WQ:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 3.000000e+00], [6.000000e+00, 7.000000e+00], [1.000000e+01, 1.100000e+01], [1.400000e+01, 1.500000e+01]]> : tensor<4x2xf32>
// CHECK-DAG: %[[BQ:.*]] = arith.constant dense<[2.500000e+00, 3.500000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[WO:.*]] = arith.constant dense<{{\[}}[2.800000e+01, 2.900000e+01, 3.000000e+01, 3.100000e+01], [3.200000e+01, 3.300000e+01, 3.400000e+01, 3.500000e+01]]> : tensor<2x4xf32>
// CHECK-DAG: %[[BO:.*]] = arith.constant dense<[4.500000e+00, 5.500000e+00, 6.500000e+00, 7.500000e+00]> : tensor<4xf32>
// CHECK: %[[Q:.*]] = tfc.linear %arg0, %[[WQ]] bias %[[BQ]] : tensor<2xf32> {tfc.pruned = "heads 2 -> 1 (kv 2 -> 1)"} : tensor<?x?x4xf32>, tensor<4x2xf32> -> tensor<?x?x2xf32>
// CHECK: tfc.reshape %[[Q]][{{.*}}] : tensor<?x?x2xf32> -> tensor<?x?x1x2xf32>
// CHECK: tfc.transpose {{.*}} -> tensor<?x1x?x2xf32>
// CHECK: tfc.linear %arg0, %{{.*}} {tfc.pruned = {{.*}}} : tensor<?x?x4xf32>, tensor<4x2xf32> -> tensor<?x?x2xf32>
// CHECK: tfc.linear %arg0, %[[WO]] {tfc.pruned = {{.*}}, transpose_weight = true} : tensor<?x?x4xf32>, tensor<2x4xf32> -> tensor<?x?x2xf32>
// CHECK: tfc.attention {{.*}} : tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32> -> tensor<?x1x?x2xf32>
// CHECK: tfc.transpose {{.*}} : tensor<?x1x?x2xf32> -> tensor<?x?x1x2xf32>
// CHECK: %[[M:.*]] = tfc.reshape {{.*}} : tensor<?x?x1x2xf32> -> tensor<?x?x2xf32>
// CHECK: tfc.linear %[[M]], %[[WO]] bias %[[BO]] : tensor<4xf32> {tfc.pruned = "heads 2 -> 1 (kv 2 -> 1)"} : tensor<?x?x2xf32>, tensor<2x4xf32> -> tensor<?x?x4xf32>
func.func @tfc_mha_main(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %w = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0], [12.0, 13.0, 14.0, 15.0]]> : tensor<4x4xf32>
  %wo = arith.constant dense<[[20.0, 21.0, 22.0, 23.0], [24.0, 25.0, 26.0, 27.0], [28.0, 29.0, 30.0, 31.0], [32.0, 33.0, 34.0, 35.0]]> : tensor<4x4xf32>
  %bq = arith.constant dense<[0.5, 1.5, 2.5, 3.5]> : tensor<4xf32>
  %bo = arith.constant dense<[4.5, 5.5, 6.5, 7.5]> : tensor<4xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x4xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x4xf32>
  %q = tfc.linear %x, %w bias %bq : tensor<4xf32> : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %q4 = tfc.reshape %q[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %qt = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %k = tfc.linear %x, %w : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %k4 = tfc.reshape %k[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %kt = tfc.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %v = tfc.linear %x, %wo {transpose_weight = true} : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %v4 = tfc.reshape %v[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %vt = tfc.transpose %v4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %a = tfc.attention %qt, %kt, %vt {causal = true, scale = 0.5 : f64} : tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x2x?x2xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x2xf32> -> tensor<?x?x2x2xf32>
  %m = tfc.reshape %at[%b, %s] : tensor<?x?x2x2xf32> -> tensor<?x?x4xf32>
  %o = tfc.linear %m, %wo bias %bo : tensor<4xf32> : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %r = tfc.binary add %o, %x : tensor<?x?x4xf32>, tensor<?x?x4xf32> -> tensor<?x?x4xf32>
  return %r : tensor<?x?x4xf32>
}

