// RUN: tfc-opt %s -split-input-file -tfc-partition=strategy=tensor:2 -verify-diagnostics
// RUN: not tfc-opt %s -split-input-file -tfc-partition=strategy=tensor:0 2>&1 | FileCheck %s --check-prefix=ZERO
// RUN: not tfc-opt %s -split-input-file -tfc-partition=strategy=foo:2 2>&1 | FileCheck %s --check-prefix=FOO
// ZERO: tfc-partition: strategy must be pipeline:N or tensor:N with N >= 1, got 'tensor:0'
// FOO: tfc-partition: strategy must be pipeline:N or tensor:N with N >= 1, got 'foo:2'

// One head cannot be split over two ranks.
func.func @tfc_one_main(%x: tensor<?x?x2xf32>) -> tensor<?x?x2xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %w = arith.constant dense<1.0> : tensor<2x2xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x2xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x2xf32>
  %q = tfc.linear %x, %w : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
  %q4 = tfc.reshape %q[%b, %s] : tensor<?x?x2xf32> -> tensor<?x?x1x2xf32>
  %qt = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x1x2xf32> -> tensor<?x1x?x2xf32>
  %k = tfc.linear %x, %w : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
  %k4 = tfc.reshape %k[%b, %s] : tensor<?x?x2xf32> -> tensor<?x?x1x2xf32>
  %kt = tfc.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x1x2xf32> -> tensor<?x1x?x2xf32>
  %v = tfc.linear %x, %w : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
  %v4 = tfc.reshape %v[%b, %s] : tensor<?x?x2xf32> -> tensor<?x?x1x2xf32>
  %vt = tfc.transpose %v4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x1x2xf32> -> tensor<?x1x?x2xf32>
  // expected-error @+1 {{'tfc.attention' op cannot be tensor-partitioned: it has 1 query heads, fewer than the 2 parts}}
  %a = tfc.attention %qt, %kt, %vt {causal = true, scale = 1.0 : f64} : tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32> -> tensor<?x1x?x2xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x1x?x2xf32> -> tensor<?x?x1x2xf32>
  %m = tfc.reshape %at[%b, %s] : tensor<?x?x1x2xf32> -> tensor<?x?x2xf32>
  %o = tfc.linear %m, %w : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
  return %o : tensor<?x?x2xf32>
}

// -----

// The query projection is a tfc.matmul, not a tfc.linear: refused rather
// than silently replicated.
func.func @tfc_mm_main(%x: tensor<?x?x4xf32>, %wq: tensor<4x4xf32>) -> tensor<?x?x4xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x4xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x4xf32>
  %q = tfc.matmul %x, %wq : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %q4 = tfc.reshape %q[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %qt = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %k = tfc.linear %x, %w : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %k4 = tfc.reshape %k[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %kt = tfc.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %v = tfc.linear %x, %w : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %v4 = tfc.reshape %v[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %vt = tfc.transpose %v4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  // expected-error @+1 {{'tfc.attention' op cannot be tensor-partitioned: its query is not linear -> reshape [b, s, h, d] -> transpose [b, h, s, d] (-> tfc.rotary), each used once (no single-use tfc.linear)}}
  %a = tfc.attention %qt, %kt, %vt {causal = true, scale = 1.0 : f64} : tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x2x?x2xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x2xf32> -> tensor<?x?x2x2xf32>
  %m = tfc.reshape %at[%b, %s] : tensor<?x?x2x2xf32> -> tensor<?x?x4xf32>
  %o = tfc.linear %m, %w : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  return %o : tensor<?x?x4xf32>
}

// -----

// Self-attention on the raw embeddings (no projections at all), as in
// test/Transforms/kv-cache-invalid.mlir: one transpose feeds q, k and v.
func.func @tfc_raw_main(%x: tensor<?x?x4xf32>) -> tensor<?x2x?x2xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %x, %c0 : tensor<?x?x4xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x4xf32>
  %x4 = tfc.reshape %x[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  // expected-error @+1 {{its query is not linear -> reshape [b, s, h, d] -> transpose [b, h, s, d] (-> tfc.rotary), each used once (no single-use transpose [0, 2, 1, 3])}}
  %a = tfc.attention %q, %q, %q {causal = true, scale = 1.0 : f64} : tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x2x?x2xf32>
  return %a : tensor<?x2x?x2xf32>
}

// -----

// The output of the attention is returned as is: no o_proj to reduce.
func.func @tfc_noproj_main(%x: tensor<?x?x4xf32>) -> tensor<?x2x?x2xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %w = arith.constant dense<1.0> : tensor<4x4xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x4xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x4xf32>
  %q = tfc.linear %x, %w : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %q4 = tfc.reshape %q[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %qt = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %k = tfc.linear %x, %w : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %k4 = tfc.reshape %k[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %kt = tfc.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %v = tfc.linear %x, %w : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %v4 = tfc.reshape %v[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %vt = tfc.transpose %v4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  // expected-error @+1 {{'tfc.attention' op cannot be tensor-partitioned: its result is not used once by a transpose [0, 2, 1, 3]}}
  %a = tfc.attention %qt, %kt, %vt {causal = true, scale = 1.0 : f64} : tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x2x?x2xf32>
  return %a : tensor<?x2x?x2xf32>
}
