// RUN: %tfc_python %S/Inputs/prune/act_stats.py %t.json
// RUN: tfc-opt %s -split-input-file -tfc-prune="method=ffn:0.5 score=wanda stats=%t.json" -verify-each | FileCheck %s
// With norm=1 (a_j * ||W_down[j, :]||_1: 20, 4, 6, 0.8 gated; 0.8, 10, 2, 3
// dense) the same channels stay.
// RUN: tfc-opt %s -split-input-file -tfc-prune="method=ffn:0.5 score=wanda norm=1 stats=%t.json" -verify-each | FileCheck %s
// RUN: tfc-opt %s -split-input-file -tfc-prune="method=ffn:0.5" -verify-each | FileCheck %s --check-prefix=WEIGHTS
// RUN: not tfc-opt %s -split-input-file -tfc-prune="method=ffn:0.5 score=sparsegpt stats=%t.json" 2>&1 | FileCheck %s --check-prefix=BADSCORE
// RUN: not tfc-opt %s -split-input-file -tfc-prune="method=ffn:0.5 score=wanda" 2>&1 | FileCheck %s --check-prefix=NOSTATS

// Activation-weighted structured scores (score=wanda with stats): a channel
// scores ||h_j||_2 * ||W_down[j, :]||_2, what it adds to the output over the
// calibration rows (Inputs/prune/act_stats.py), not the norm of its weights.
//
// Gated MLP, ||h|| = (10, 1, 1, 0.1): scores 10 * sqrt(2), 1 * sqrt(8),
// 1 * sqrt(18), 0.1 * sqrt(32) -> channels 0 and 2 stay. By the weights alone
// (gate / up column 3 is 8s): squared norms 6, 12, 22, 288 -> 2 and 3 stay.
// CHECK-LABEL: func.func @gated
// CHECK-DAG: %[[D:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 1.000000e+00], [3.000000e+00, 3.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[G:.*]] = arith.constant dense<1.000000e+00> : tensor<2x2xf32>
// CHECK: tfc.gated_mlp silu %arg0, %[[G]], %[[G]], %[[D]] {tfc.pruned = "ffn 4 -> 2"}
// WEIGHTS-LABEL: func.func @gated
// WEIGHTS-DAG: %[[D:.*]] = arith.constant dense<{{\[}}[3.000000e+00, 3.000000e+00], [4.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// WEIGHTS-DAG: %[[G:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 8.000000e+00], [1.000000e+00, 8.000000e+00]]> : tensor<2x2xf32>
// WEIGHTS: tfc.gated_mlp silu %arg0, %[[G]], %[[G]], %[[D]] {tfc.pruned = "ffn 4 -> 2"}
// BADSCORE: error: tfc-prune: score 'sparsegpt' does not go with method 'ffn:0.5': heads:K / ffn:F take score=wanda (activation-weighted, with stats) or magnitude
// NOSTATS: error: tfc-prune: wanda needs calibration statistics
func.func @gated(%x: tensor<?x2xf32>) -> tensor<?x2xf32> attributes {tfc.entry} {
  %w = arith.constant dense<[[1.0, 1.0, 1.0, 8.0], [1.0, 1.0, 1.0, 8.0]]> : tensor<2x4xf32>
  %wd = arith.constant dense<[[1.0, 1.0], [2.0, 2.0], [3.0, 3.0], [4.0, 4.0]]> : tensor<4x2xf32>
  %m = tfc.gated_mlp silu %x, %w, %w, %wd : tensor<?x2xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<4x2xf32> -> tensor<?x2xf32> loc("mlp")
  %r = tfc.binary add %m, %x : tensor<?x2xf32>, tensor<?x2xf32> -> tensor<?x2xf32>
  return %r : tensor<?x2xf32>
}

// -----

// BERT-style MLP, down weight transposed ([n, k]: channel j is column j),
// ||g|| = (0.1, 10, 1, 1): scores 0.8, 10, 2, 3 -> channels 1 and 3 stay
// (the up bias does not count: only the down side reaches the output). By
// the weights: 65, 2, 5, 10 (+ bias 0) -> 0 and 3.
// CHECK-LABEL: func.func @dense
// CHECK-DAG: %[[D:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00]]> : tensor<1x2xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<[2.000000e+00, 4.000000e+00]> : tensor<2xf32>
// CHECK: tfc.linear %arg0, %{{.*}} bias %[[B]] : tensor<2xf32> {tfc.pruned = "ffn 4 -> 2"}
// CHECK: tfc.linear %{{.*}}, %[[D]] {tfc.pruned = "ffn 4 -> 2", transpose_weight = true}
// WEIGHTS-LABEL: func.func @dense
// WEIGHTS-DAG: arith.constant dense<{{\[}}[8.000000e+00, 3.000000e+00]]> : tensor<1x2xf32>
func.func @dense(%x: tensor<?x1xf32>) -> tensor<?x1xf32> attributes {tfc.entry} {
  %u = arith.constant dense<1.0> : tensor<1x4xf32>
  %ub = arith.constant dense<[0.0, 2.0, 0.0, 4.0]> : tensor<4xf32>
  %d = arith.constant dense<[[8.0, 1.0, 2.0, 3.0]]> : tensor<1x4xf32>
  %h = tfc.linear %x, %u bias %ub : tensor<4xf32> : tensor<?x1xf32>, tensor<1x4xf32> -> tensor<?x4xf32> loc("up")
  %a = tfc.unary gelu %h : tensor<?x4xf32> -> tensor<?x4xf32>
  %y = tfc.linear %a, %d {transpose_weight = true} : tensor<?x4xf32>, tensor<1x4xf32> -> tensor<?x1xf32> loc("down")
  %r = tfc.binary add %y, %x : tensor<?x1xf32>, tensor<?x1xf32> -> tensor<?x1xf32>
  return %r : tensor<?x1xf32>
}
