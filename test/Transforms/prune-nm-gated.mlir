// RUN: tfc-opt %s -tfc-prune="method=nm:4:8" -verify-each | FileCheck %s
// RUN: tfc-opt %s -tfc-prune="method=nm:2:4" -verify-each | FileCheck %s --check-prefix=NM24

// A gated MLP: every weight N:M along its own k (d for gate/up, h for
// down); all weights equal, so ties keep the first N of each run.
// CHECK: tfc.gated_mlp silu {{.*}}tfc.sparsity = {m = 8 : i64, method = "nm-magnitude", n = 4 : i64, pattern = "nm", ratio = 5.000000e-01 : f64}
// 2:4 data also satisfies 4:8; the attribute names the tighter pattern.
// NM24: tfc.gated_mlp silu {{.*}}tfc.sparsity = {m = 4 : i64, method = "nm-magnitude", n = 2 : i64, pattern = "nm", ratio = 5.000000e-01 : f64}
func.func @gated(%x: tensor<?x8xf32>) -> tensor<?x8xf32> attributes {tfc.entry} {
  %w = arith.constant dense<1.0> : tensor<8x8xf32>
  %m = tfc.gated_mlp silu %x, %w, %w, %w : tensor<?x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
  %r = tfc.binary add %m, %x : tensor<?x8xf32>, tensor<?x8xf32> -> tensor<?x8xf32>
  %y = tfc.linear %r, %w : tensor<?x8xf32>, tensor<8x8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}
