// RUN: tfc-opt %s -split-input-file -verify-diagnostics

func.func @bits(%x: tensor<4x8xf32>, %s: tensor<1x8xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{bits must be in [2, 8], got 9}}
  %q = tfc.quantize %x, %s {bits = 9 : i64, unsigned_codes = false, group = 0 : i64, group_axis = 0 : i64} : tensor<4x8xf32>, tensor<1x8xf32> -> tensor<4x8xi8>
  return %q : tensor<4x8xi8>
}

// -----

func.func @scale_dim(%x: tensor<4x8xf32>, %s: tensor<1x3xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{scale dim 1 is 3; expected 1, 8}}
  %q = tfc.quantize %x, %s {bits = 8 : i64, unsigned_codes = false, group = 0 : i64, group_axis = 0 : i64} : tensor<4x8xf32>, tensor<1x3xf32> -> tensor<4x8xi8>
  return %q : tensor<4x8xi8>
}

// -----

func.func @group_dim(%q: tensor<64x8xi8>, %s: tensor<3x8xf32>) -> tensor<64x8xf32> {
  // expected-error @+1 {{scale dim 0 is 3; expected 1, 64, or ceil(64 / 32) = 2}}
  %x = tfc.dequantize %q, %s {bits = 4 : i64, unsigned_codes = true, group = 32 : i64, group_axis = 0 : i64} : tensor<64x8xi8>, tensor<3x8xf32> -> tensor<64x8xf32>
  return %x : tensor<64x8xf32>
}

// -----

func.func @zp_shape(%q: tensor<64x8xi8>, %s: tensor<2x8xf32>, %z: tensor<1x8xi8>) -> tensor<64x8xf32> {
  // expected-error @+1 {{zero_point must have the scale's shape}}
  %x = tfc.dequantize %q, %s zero_point %z : tensor<1x8xi8> {bits = 4 : i64, unsigned_codes = true, group = 32 : i64, group_axis = 0 : i64} : tensor<64x8xi8>, tensor<2x8xf32> -> tensor<64x8xf32>
  return %x : tensor<64x8xf32>
}

// -----

func.func @codes_type(%q: tensor<64x8xi32>, %s: tensor<1x8xf32>) -> tensor<64x8xf32> {
  // expected-error @+1 {{input must be i8 codes}}
  %x = tfc.dequantize %q, %s {bits = 8 : i64, unsigned_codes = false, group = 0 : i64, group_axis = 0 : i64} : tensor<64x8xi32>, tensor<1x8xf32> -> tensor<64x8xf32>
  return %x : tensor<64x8xf32>
}

// -----

func.func @group_axis(%q: tensor<64x8xi8>, %s: tensor<2x8xf32>) -> tensor<64x8xf32> {
  // expected-error @+1 {{group_axis 2 is not a dim of the rank-2 data}}
  %x = tfc.dequantize %q, %s {bits = 8 : i64, unsigned_codes = false, group = 32 : i64, group_axis = 2 : i64} : tensor<64x8xi8>, tensor<2x8xf32> -> tensor<64x8xf32>
  return %x : tensor<64x8xf32>
}

// -----

func.func @dyn_row(%x: tensor<4x8xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{per_row scale and zero_point must be [..., 1]}}
  %q, %s, %z = tfc.dynamic_quantize %x {per_row = true} : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x8xf32>, tensor<4x8xi8>
  return %q : tensor<4x8xi8>
}

// -----

func.func @dyn_tensor(%x: tensor<4x8xf32>) -> tensor<4x8xi8> {
  // expected-error @+1 {{per-tensor scale and zero_point must be rank 0}}
  %q, %s, %z = tfc.dynamic_quantize %x {per_row = false} : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>, tensor<4x1xi8>
  return %q : tensor<4x8xi8>
}

// -----

func.func @qlinear_k(%x: tensor<2x32xf32>, %w: tensor<64x16xi8>, %s: tensor<1x16xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{input features 32 != weight rows 64}}
  %y = tfc.qlinear %x, %w, %s {bits = 8 : i64, unsigned_codes = false, group = 0 : i64, activation = #tfc.qact<row>} : tensor<2x32xf32>, tensor<64x16xi8>, tensor<1x16xf32> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @qlinear_perchannel(%x: tensor<2x64xf32>, %w: tensor<64x16xi8>, %s: tensor<2x16xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{weight scale must be [1, n] without a group (per channel)}}
  %y = tfc.qlinear %x, %w, %s {bits = 8 : i64, unsigned_codes = false, group = 0 : i64, activation = #tfc.qact<row>} : tensor<2x64xf32>, tensor<64x16xi8>, tensor<2x16xf32> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @qlinear_static(%x: tensor<2x64xf32>, %w: tensor<64x16xi8>, %s: tensor<1x16xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{activation 'static' needs act_scale > 0}}
  %y = tfc.qlinear %x, %w, %s {bits = 8 : i64, unsigned_codes = false, group = 0 : i64, activation = #tfc.qact<static>} : tensor<2x64xf32>, tensor<64x16xi8>, tensor<1x16xf32> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @qlinear_actscale(%x: tensor<2x64xf32>, %w: tensor<64x16xi8>, %s: tensor<1x16xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{act_scale / act_zero_point only go with activation 'static'}}
  %y = tfc.qlinear %x, %w, %s {bits = 8 : i64, unsigned_codes = false, group = 0 : i64, activation = #tfc.qact<row>, act_scale = 0.5 : f32} : tensor<2x64xf32>, tensor<64x16xi8>, tensor<1x16xf32> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @qlinear_bias(%x: tensor<2x64xf32>, %w: tensor<64x16xi8>, %s: tensor<1x16xf32>, %b: tensor<8xf32>) -> tensor<2x16xf32> {
  // expected-error @+1 {{bias must be f32 [16]}}
  %y = tfc.qlinear %x, %w, %s bias %b : tensor<8xf32> {bits = 8 : i64, unsigned_codes = false, group = 0 : i64, activation = #tfc.qact<none>} : tensor<2x64xf32>, tensor<64x16xi8>, tensor<1x16xf32> -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// -----

func.func @gated_zps(%x: tensor<2x64xf32>, %g: tensor<64x32xi8>, %gs: tensor<1x32xf32>, %d: tensor<32x64xi8>, %ds: tensor<1x64xf32>, %z: tensor<1x32xi8>) -> tensor<2x64xf32> {
  // expected-error @+1 {{zero_points: none or one per weight (3), got 1}}
  %y = tfc.qgated_mlp silu %x, %g, %gs, %g, %gs, %d, %ds zero_points(%z : tensor<1x32xi8>) {bits = 8 : i64, unsigned_codes = false, group = 0 : i64, activation = #tfc.qact<none>} : tensor<2x64xf32>, tensor<64x32xi8>, tensor<1x32xf32>, tensor<64x32xi8>, tensor<1x32xf32>, tensor<32x64xi8>, tensor<1x64xf32> -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// -----

func.func @gated_hidden(%x: tensor<2x64xf32>, %g: tensor<64x32xi8>, %gs: tensor<1x32xf32>, %d: tensor<16x64xi8>, %ds: tensor<1x64xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{w_down rows must equal the hidden size 32}}
  %y = tfc.qgated_mlp silu %x, %g, %gs, %g, %gs, %d, %ds {bits = 8 : i64, unsigned_codes = false, group = 0 : i64, activation = #tfc.qact<none>} : tensor<2x64xf32>, tensor<64x32xi8>, tensor<1x32xf32>, tensor<64x32xi8>, tensor<1x32xf32>, tensor<16x64xi8>, tensor<1x64xf32> -> tensor<2x64xf32>
  return %y : tensor<2x64xf32>
}

// -----

func.func @emb(%t: tensor<10x64xi8>, %s: tensor<10x3xf32>, %ids: tensor<4xi64>) -> tensor<4x64xf32> {
  // expected-error @+1 {{scale dim 1 is 3; expected 1, 64, or ceil(64 / 32) = 2}}
  %e = tfc.qembedding %t, %s [%ids] {bits = 8 : i64, unsigned_codes = false, group = 32 : i64} : tensor<10x64xi8>, tensor<10x3xf32>, tensor<4xi64> -> tensor<4x64xf32>
  return %e : tensor<4x64xf32>
}
