// RUN: tfc-opt %s -tfc-prune="method=heads:2" -verify-each | FileCheck %s
// RUN: tfc-opt %s -tfc-prune="method=heads:2 gqa=within" -verify-each | FileCheck %s --check-prefix=WITHIN

// GQA: 4 q heads of size 2 over 2 kv heads (groups {0, 1}, {2, 3}), rotary
// on q and k. L2 scores (squared): q heads 10, 208, 50, 320 (q columns +
// o_proj rows), kv heads 4, 16 (k + v columns); groups 222, 386.
// heads:2 (whole groups) drops kv group 0 with q heads 0, 1; gqa=within
// drops the weaker q head of each group (0 and 2) and keeps both kv heads.
// heads:1 cannot remove a whole group of 2: prune-invalid-heads.mlir.
// CHECK-LABEL: func.func @tfc_gqa_main(
// CHECK-DAG: arith.constant dense<{{\[}}[3.000000e+00, 3.000000e+00, 4.000000e+00, 4.000000e+00]]> : tensor<1x4xf32>
// CHECK-DAG: arith.constant dense<2.000000e+00> : tensor<1x2xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[2.000000e+00, 2.000000e+00, 2.000000e+00, 2.000000e+00], [2.000000e+00, 2.000000e+00, 2.000000e+00, 2.000000e+00], [6.000000e+00, 6.000000e+00, 6.000000e+00, 6.000000e+00], [6.000000e+00, 6.000000e+00, 6.000000e+00, 6.000000e+00]]> : tensor<4x4xf32>
// CHECK: tfc.rotary half {{.*}} -> tensor<?x2x?x2xf32>
// CHECK: tfc.rotary half {{.*}} -> tensor<?x1x?x2xf32>
// CHECK: tfc.attention {{.*}}tfc.pruned = "heads 4 -> 2 (kv 2 -> 1)"} : tensor<?x2x?x2xf32>, tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32> -> tensor<?x2x?x2xf32>
// CHECK: tfc.reshape {{.*}} -> tensor<?x?x4xf32>
// CHECK: tfc.linear {{.*}} : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
// WITHIN-LABEL: func.func @tfc_gqa_main(
// WITHIN-DAG: arith.constant dense<{{\[}}[2.000000e+00, 2.000000e+00, 4.000000e+00, 4.000000e+00]]> : tensor<1x4xf32>
// WITHIN-DAG: arith.constant dense<{{\[}}[1.000000e+00, 1.000000e+00, 2.000000e+00, 2.000000e+00]]> : tensor<1x4xf32>
// WITHIN-DAG: arith.constant dense<{{\[}}[5.000000e+00, 5.000000e+00, 5.000000e+00, 5.000000e+00], [5.000000e+00, 5.000000e+00, 5.000000e+00, 5.000000e+00], [6.000000e+00, 6.000000e+00, 6.000000e+00, 6.000000e+00], [6.000000e+00, 6.000000e+00, 6.000000e+00, 6.000000e+00]]> : tensor<4x4xf32>
// WITHIN: tfc.rotary half {{.*}} -> tensor<?x2x?x2xf32>
// WITHIN: tfc.rotary half {{.*}} -> tensor<?x2x?x2xf32>
// WITHIN: tfc.attention {{.*}}tfc.pruned = "heads 4 -> 2 (kv 2 -> 2)"} : tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x2x?x2xf32>
func.func @tfc_gqa_main(%x: tensor<?x?x1xf32>, %cos: tensor<1x1x?x2xf32>, %sin: tensor<1x1x?x2xf32>) -> tensor<?x?x4xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %wq = arith.constant dense<[[1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0]]> : tensor<1x8xf32>
  %wk = arith.constant dense<[[1.0, 1.0, 2.0, 2.0]]> : tensor<1x4xf32>
  %wo = arith.constant dense<[[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [5.0, 5.0, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0], [2.0, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 2.0], [6.0, 6.0, 6.0, 6.0], [6.0, 6.0, 6.0, 6.0]]> : tensor<8x4xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x1xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x1xf32>
  %q = tfc.linear %x, %wq : tensor<?x?x1xf32>, tensor<1x8xf32> -> tensor<?x?x8xf32>
  %q4 = tfc.reshape %q[%b, %s] : tensor<?x?x8xf32> -> tensor<?x?x4x2xf32>
  %qt = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x2xf32> -> tensor<?x4x?x2xf32>
  %qr = tfc.rotary half %qt, %cos, %sin : tensor<?x4x?x2xf32>, tensor<1x1x?x2xf32>, tensor<1x1x?x2xf32> -> tensor<?x4x?x2xf32>
  %k = tfc.linear %x, %wk : tensor<?x?x1xf32>, tensor<1x4xf32> -> tensor<?x?x4xf32>
  %k4 = tfc.reshape %k[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %kt = tfc.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %kr = tfc.rotary half %kt, %cos, %sin : tensor<?x2x?x2xf32>, tensor<1x1x?x2xf32>, tensor<1x1x?x2xf32> -> tensor<?x2x?x2xf32>
  %v = tfc.linear %x, %wk : tensor<?x?x1xf32>, tensor<1x4xf32> -> tensor<?x?x4xf32>
  %v4 = tfc.reshape %v[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %vt = tfc.transpose %v4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %a = tfc.attention %qr, %kr, %vt {causal = true, scale = 1.0 : f64} : tensor<?x4x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x4x?x2xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x4x?x2xf32> -> tensor<?x?x4x2xf32>
  %m = tfc.reshape %at[%b, %s] : tensor<?x?x4x2xf32> -> tensor<?x?x8xf32>
  %o = tfc.linear %m, %wo : tensor<?x?x8xf32>, tensor<8x4xf32> -> tensor<?x?x4xf32>
  return %o : tensor<?x?x4xf32>
}
