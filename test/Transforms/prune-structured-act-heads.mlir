// RUN: %tfc_python %S/Inputs/prune/act_stats.py %t.json
// RUN: tfc-opt %s -tfc-prune="method=heads:1 score=wanda stats=%t.json" -verify-each | FileCheck %s --check-prefix=HEADS
// RUN: %tfc_python %S/Inputs/prune/act_stats.py %t.noo.json --no-o-proj
// RUN: not tfc-opt %s -tfc-prune="method=heads:1 score=wanda stats=%t.noo.json" 2>&1 | FileCheck %s --check-prefix=NOKEY

// Activation-weighted heads (score=wanda with stats; the MLP cases are in
// prune-structured-act.mlir).
// Two heads of 2 (prune-structured.mlir's graph, o_proj named): by the
// weights head 1 stays; o_proj's input norms (10, 10, 1, 1) make head 0's
// contribution the larger (100 * (1854 + 2606) against 3486 + 4494), so
// heads:1 keeps head 0: q columns 0, 1, o_proj rows 0, 1.
// HEADS-LABEL: func.func @tfc_mha_main(
// HEADS-DAG: %[[WQ:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00], [4.000000e+00, 5.000000e+00], [8.000000e+00, 9.000000e+00], [1.200000e+01, 1.300000e+01]]> : tensor<4x2xf32>
// HEADS-DAG: %[[WO:.*]] = arith.constant dense<{{\[}}[2.000000e+01, 2.100000e+01, 2.200000e+01, 2.300000e+01], [2.400000e+01, 2.500000e+01, 2.600000e+01, 2.700000e+01]]> : tensor<2x4xf32>
// HEADS: tfc.linear %arg0, %[[WQ]] bias %{{.*}} : tensor<2xf32> {tfc.pruned = "heads 2 -> 1 (kv 2 -> 1)"}
// HEADS: tfc.linear %{{.*}}, %[[WO]] bias %{{.*}} : tensor<4xf32> {tfc.pruned = "heads 2 -> 1 (kv 2 -> 1)"} : tensor<?x?x2xf32>, tensor<2x4xf32> -> tensor<?x?x4xf32>
// NOKEY: tfc-prune: stats '{{.*}}' have no statistics for op 'o_proj' (the 'o_proj' weight, needed for wanda)
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
  %o = tfc.linear %m, %wo bias %bo : tensor<4xf32> : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32> loc("o_proj")
  %r = tfc.binary add %o, %x : tensor<?x?x4xf32>, tensor<?x?x4xf32> -> tensor<?x?x4xf32>
  return %r : tensor<?x?x4xf32>
}
