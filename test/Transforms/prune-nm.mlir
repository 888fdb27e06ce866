// RUN: tfc-opt %s -tfc-prune="method=nm:2:4" -verify-each | FileCheck %s

// 2:4 along k (the rows of a [k, n] weight), per output column: column 0
// keeps -4 and 3 of (1, -4, 3, 2); column 1 keeps -8 and 7. A transposed
// [n, k] weight groups along each of its rows.
// CHECK-LABEL: func.func @nm
// CHECK-DAG: arith.constant dense<{{\[}}[0.000000e+00, -8.000000e+00], [-4.000000e+00, 0.000000e+00], [3.000000e+00, 7.000000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<4x2xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[0.000000e+00, 5.000000e+00, 0.000000e+00, 6.000000e+00], [9.000000e+00, 0.000000e+00, 0.000000e+00, -9.000000e+00]]> : tensor<2x4xf32>
// CHECK: tfc.linear {{.*}}tfc.sparsity = {m = 4 : i64, method = "nm-magnitude", n = 2 : i64, pattern = "nm", ratio = 5.000000e-01 : f64}
// CHECK: tfc.linear {{.*}}tfc.sparsity = {m = 4 : i64, method = "nm-magnitude", n = 2 : i64, pattern = "nm", ratio = 5.000000e-01 : f64}
func.func @nm(%x: tensor<?x4xf32>) -> tensor<?x2xf32> attributes {tfc.entry} {
  %w1 = arith.constant dense<[[1.0, -8.0], [-4.0, 1.0], [3.0, 7.0], [2.0, 0.5]]> : tensor<4x2xf32>
  %w2 = arith.constant dense<[[1.0, 5.0, -2.0, 6.0], [9.0, 1.0, 2.0, -9.0]]> : tensor<2x4xf32>
  %h = tfc.linear %x, %w1 : tensor<?x4xf32>, tensor<4x2xf32> -> tensor<?x2xf32>
  %y = tfc.linear %x, %w2 {transpose_weight = true} : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32>
  %s = tfc.binary add %h, %y : tensor<?x2xf32>, tensor<?x2xf32> -> tensor<?x2xf32>
  %r = tfc.unary relu %s : tensor<?x2xf32> -> tensor<?x2xf32>
  return %r : tensor<?x2xf32>
}
