// RUN: %tfc_python %S/Inputs/prune/wanda_stats.py %t.json
// RUN: tfc-opt %s -tfc-prune="method=wanda sparsity=0.5 stats=%t.json classes=mlp,lm_head" -verify-each | FileCheck %s
// RUN: tfc-opt %s -tfc-prune="method=magnitude sparsity=0.5 classes=mlp,lm_head" -verify-each | FileCheck %s --check-prefix=MAG
// RUN: tfc-opt %s -tfc-prune="method=nm:2:4 score=wanda stats=%t.json classes=mlp,lm_head" -verify-each | FileCheck %s --check-prefix=NM
// A stats file without Hessians is enough for Wanda.
// RUN: %tfc_python %S/Inputs/prune/wanda_stats.py %t.nohess.json --no-hessians
// RUN: tfc-opt %s -tfc-prune="method=wanda sparsity=0.5 stats=%t.nohess.json classes=mlp,lm_head" | FileCheck %s

// Wanda: score |W_ij| * ||X_j||_2 compared within each output (a column of
// the [k, n] weight, a row of a transposed one). The calibration rows of x
// (Inputs/prune/wanda_stats.py) give ||x_j|| = (10, 1, 0.5, 0.1).
//   fc  column 0: scores 5, 2, 1.5, 0.4 -> keeps 0.5 and 2 (magnitude
//       would keep -3 and 4); column 1: 10, 0.5, 1.5, 0.025 -> keeps -1, 3.
//   fct output 0: 10, 8, 4, 5 -> keeps 1, 8 (not the largest, 50);
//       output 1: 2.5, 0.125, 2, 3.1 -> keeps 0.25, 31.
//   mlp w_gate / w_up (all equal) keep inputs 0 and 1; w_down reads
//       mlp#down, ||h_j|| = (0.1, 1, 1, 10): row 0 (all 5s) goes everywhere.
// CHECK-LABEL: func.func @m
// CHECK-DAG: arith.constant dense<{{\[}}[0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 2.000000e+00, 0.000000e+00, 4.000000e+00], [2.000000e+00, 0.000000e+00, 4.000000e+00, 0.000000e+00], [5.000000e-01, 6.250000e-01, 7.500000e-01, 8.750000e-01]]> : tensor<4x4xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<4x4xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[1.000000e+00, 8.000000e+00, 0.000000e+00, 0.000000e+00], [2.500000e-01, 0.000000e+00, 0.000000e+00, 3.100000e+01]]> : tensor<2x4xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[5.000000e-01, -1.000000e+00], [2.000000e+00, 0.000000e+00], [0.000000e+00, 3.000000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<4x2xf32>
// CHECK: tfc.linear {{.*}}tfc.sparsity = {m = 4 : i64, method = "wanda", n = 2 : i64, pattern = "nm", ratio = 5.000000e-01 : f64}
// CHECK: tfc.linear {{.*}}tfc.sparsity = {m = 4 : i64, method = "wanda", n = 2 : i64, pattern = "nm", ratio = 5.000000e-01 : f64}
// CHECK: tfc.gated_mlp {{.*}}tfc.sparsity = {m = 4 : i64, method = "wanda", n = 2 : i64, pattern = "nm", ratio = 5.000000e-01 : f64}

// Magnitude on the same weights chooses differently (per weight: the 4
// smallest |w| of fc's 8).
// MAG-DAG: arith.constant dense<{{\[}}[0.000000e+00, 0.000000e+00], [2.000000e+00, 0.000000e+00], [-3.000000e+00, 3.000000e+00], [4.000000e+00, 0.000000e+00]]> : tensor<4x2xf32>
// MAG-DAG: arith.constant dense<{{\[}}[0.000000e+00, 8.000000e+00, 8.000000e+00, 5.000000e+01], [0.000000e+00, 0.000000e+00, 0.000000e+00, 3.100000e+01]]> : tensor<2x4xf32>
// MAG: tfc.linear {{.*}}method = "magnitude"

// 2:4 by the Wanda score: k = 4 is one group, so the same choice.
// NM-DAG: arith.constant dense<{{\[}}[5.000000e-01, -1.000000e+00], [2.000000e+00, 0.000000e+00], [0.000000e+00, 3.000000e+00], [0.000000e+00, 0.000000e+00]]> : tensor<4x2xf32>
// NM-DAG: arith.constant dense<{{\[}}[1.000000e+00, 8.000000e+00, 0.000000e+00, 0.000000e+00], [2.500000e-01, 0.000000e+00, 0.000000e+00, 3.100000e+01]]> : tensor<2x4xf32>
// NM: tfc.linear {{.*}}method = "nm-wanda", n = 2 : i64, pattern = "nm"
// NM: tfc.linear {{.*}}method = "nm-wanda", n = 2 : i64, pattern = "nm"
// NM: tfc.gated_mlp {{.*}}method = "nm-wanda", n = 2 : i64, pattern = "nm"
func.func @m(%x: tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x4xf32>) attributes {tfc.entry} {
  %w = arith.constant dense<[[0.5, -1.0], [2.0, 0.5], [-3.0, 3.0], [4.0, -0.25]]> : tensor<4x2xf32>
  %wt = arith.constant dense<[[1.0, 8.0, 8.0, 50.0], [0.25, 0.125, 4.0, 31.0]]> : tensor<2x4xf32>
  %wg = arith.constant dense<1.0> : tensor<4x4xf32>
  %wu = arith.constant dense<1.0> : tensor<4x4xf32>
  %wd = arith.constant dense<[[5.0, 5.0, 5.0, 5.0], [1.0, 2.0, 3.0, 4.0], [2.0, 1.0, 4.0, 3.0], [0.5, 0.625, 0.75, 0.875]]> : tensor<4x4xf32>
  %y = tfc.linear %x, %w : tensor<?x4xf32>, tensor<4x2xf32> -> tensor<?x2xf32> loc("fc")
  %yt = tfc.linear %x, %wt {transpose_weight = true} : tensor<?x4xf32>, tensor<2x4xf32> -> tensor<?x2xf32> loc("fct")
  %m = tfc.gated_mlp silu %x, %wg, %wu, %wd : tensor<?x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32> loc("mlp")
  return %y, %yt, %m : tensor<?x2xf32>, tensor<?x2xf32>, tensor<?x4xf32>
}
