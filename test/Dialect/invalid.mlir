// RUN: tfc-opt %s -split-input-file -verify-diagnostics

func.func @binary_elem_types(%a: tensor<4xf32>, %b: tensor<4xi64>) -> tensor<4xf32> {
  // expected-error @+1 {{operand element types differ}}
  %0 = tfc.binary add %a, %b : tensor<4xf32>, tensor<4xi64> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @binary_broadcast(%a: tensor<4xf32>, %b: tensor<3xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{operand shapes are not broadcast-compatible}}
  %0 = tfc.binary add %a, %b : tensor<4xf32>, tensor<3xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @matmul_k(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{contraction dims differ: 3 vs 4}}
  %0 = tfc.matmul %a, %b : tensor<2x3xf32>, tensor<4x5xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @transpose_perm(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{perm is not a permutation}}
  %0 = tfc.transpose %a {perm = array<i64: 0, 0>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @reshape_count(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{element counts differ: 6 vs 7}}
  %0 = tfc.reshape %a : tensor<2x3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @reshape_dyn(%a: tensor<?xf32>) -> tensor<?x2xf32> {
  // expected-error @+1 {{expected 1 dynamic dim operands, got 0}}
  %0 = tfc.reshape %a : tensor<?xf32> -> tensor<?x2xf32>
  return %0 : tensor<?x2xf32>
}

// -----

func.func @softmax_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{axis 2 out of range for rank 2}}
  %0 = tfc.softmax %a {axis = 2 : i64} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @attention_gqa(%q: tensor<1x8x4x16xf32>, %k: tensor<1x3x4x16xf32>, %v: tensor<1x3x4x16xf32>) -> tensor<1x8x4x16xf32> {
  // expected-error @+1 {{query heads (8) must be a multiple of key/value heads (3)}}
  %0 = tfc.attention %q, %k, %v {scale = 0.25 : f64, causal = true} : tensor<1x8x4x16xf32>, tensor<1x3x4x16xf32>, tensor<1x3x4x16xf32> -> tensor<1x8x4x16xf32>
  return %0 : tensor<1x8x4x16xf32>
}

// -----

func.func @rms_scale(%x: tensor<2x64xf32>, %w: tensor<32xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{scale size 32 != last dim 64}}
  %0 = tfc.rms_norm %x, %w {epsilon = 1.0e-5 : f64} : tensor<2x64xf32>, tensor<32xf32> -> tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

func.func @unary_int(%x: tensor<4xi64>) -> tensor<4xi64> {
  // expected-error @+1 {{'sqrt' needs a float element type}}
  %0 = tfc.unary sqrt %x : tensor<4xi64> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// -----

func.func @attention_sinks_without_window(%q: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{sinks (4) need a window}}
  %0 = tfc.attention %q, %q, %q {scale = 0.25 : f64, causal = true, sinks = 4} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
  return %0 : tensor<1x2x4x8xf32>
}

// -----

func.func @attention_layout_small(%q: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  // expected-error @+1 {{layout has 2 block rows, the key length 16 needs 4}}
  %0 = tfc.attention %q, %q, %q {scale = 0.25 : f64, causal = true, layout = dense<1> : tensor<2x4xi8>, layout_block = 4} : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

// -----

func.func @attention_layout_type(%q: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  // expected-error @+1 {{layout must be a 2-D i8 block pattern [P, Q]}}
  %0 = tfc.attention %q, %q, %q {scale = 0.25 : f64, causal = true, layout = dense<1> : tensor<16xi8>, layout_block = 4} : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}

// -----

func.func @attention_layout_block(%q: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  // expected-error @+1 {{layout needs layout_block > 0}}
  %0 = tfc.attention %q, %q, %q {scale = 0.25 : f64, causal = true, layout = dense<1> : tensor<4x4xi8>} : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  return %0 : tensor<1x2x16x8xf32>
}
