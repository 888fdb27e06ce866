// RUN: tfc-opt %s -split-input-file --tfc-partition=strategy=pipeline:2 -verify-diagnostics

// No attention at all: no layer boundary to cut at.
// expected-error @+1 {{tfc-partition: pipeline:2 cuts between tfc.attention layers, and the entry has none (run the raising passes first)}}
func.func @tfc_e_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids"}) -> tensor<?x?x8xf32> attributes {tfc.entry} {
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  return %x : tensor<?x?x8xf32>
}

// -----

// More parts than layers.
// expected-error @+1 {{tfc-partition: pipeline:2 needs at least 2 layers, the model has 1}}
func.func @tfc_one_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant dense<1.0> : tensor<f32>
  %big = arith.constant dense<-1.0e+04> : tensor<f32>
  %emb = arith.constant dense<5.0e-01> : tensor<16x8xf32>
  %g = arith.constant dense<1.0> : tensor<8xf32>
  %wq0 = arith.constant dense<1.0e-01> : tensor<8x8xf32>
  %wo0 = arith.constant dense<1.5e-01> : tensor<8x8xf32>
  %head = arith.constant dense<2.5e-01> : tensor<8x16xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x0 = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %mf = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xf32>
  %m4 = tfc.reshape %mf[%b, %n] : tensor<?x?xf32> -> tensor<?x1x1x?xf32>
  %inv = tfc.binary sub %one, %m4 : tensor<f32>, tensor<?x1x1x?xf32> -> tensor<?x1x1x?xf32>
  %m = tfc.binary mul %inv, %big : tensor<?x1x1x?xf32>, tensor<f32> -> tensor<?x1x1x?xf32>
  %h0 = tfc.rms_norm %x0, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %q0 = tfc.linear %h0, %wq0 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %r0 = tfc.reshape %q0[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %t0 = tfc.transpose %r0 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a0 = tfc.attention %t0, %t0, %t0 mask %m : tensor<?x1x1x?xf32> {causal = true, scale = 5.000000e-01 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %u0 = tfc.transpose %a0 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %v0 = tfc.reshape %u0[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %o0 = tfc.linear %v0, %wo0 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %x1 = tfc.binary add %x0, %o0 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %hn = tfc.rms_norm %x1, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %l = tfc.linear %hn, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}

// -----

// An integer tensor computed from layer 0's hidden state and used after
// layer 1's attention: it is live everywhere between the two attentions and
// cannot be sent.
// expected-error @+1 {{tfc-partition: pipeline:2 needs 1 layer boundaries that can be cut, found 0 of 1}}
func.func @tfc_int_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant dense<1.0> : tensor<f32>
  %big = arith.constant dense<-1.0e+04> : tensor<f32>
  %emb = arith.constant dense<5.0e-01> : tensor<16x8xf32>
  %g = arith.constant dense<1.0> : tensor<8xf32>
  %wq0 = arith.constant dense<1.0e-01> : tensor<8x8xf32>
  %wo0 = arith.constant dense<1.5e-01> : tensor<8x8xf32>
  %wq1 = arith.constant dense<2.0e-01> : tensor<8x8xf32>
  %wo1 = arith.constant dense<2.5e-01> : tensor<8x8xf32>
  %head = arith.constant dense<2.5e-01> : tensor<8x16xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x0 = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %mf = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xf32>
  %m4 = tfc.reshape %mf[%b, %n] : tensor<?x?xf32> -> tensor<?x1x1x?xf32>
  %inv = tfc.binary sub %one, %m4 : tensor<f32>, tensor<?x1x1x?xf32> -> tensor<?x1x1x?xf32>
  %m = tfc.binary mul %inv, %big : tensor<?x1x1x?xf32>, tensor<f32> -> tensor<?x1x1x?xf32>
  %h0 = tfc.rms_norm %x0, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %q0 = tfc.linear %h0, %wq0 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %r0 = tfc.reshape %q0[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %t0 = tfc.transpose %r0 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  // expected-note @+1 {{this value of type 'tensor<?x?x8xi32>' crosses the cut between layers 0 and 1; only f32 tensors can be sent}}
  %xi = tfc.cast %h0 : tensor<?x?x8xf32> -> tensor<?x?x8xi32>
  %a0 = tfc.attention %t0, %t0, %t0 mask %m : tensor<?x1x1x?xf32> {causal = true, scale = 5.000000e-01 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %u0 = tfc.transpose %a0 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %v0 = tfc.reshape %u0[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %o0 = tfc.linear %v0, %wo0 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %x1 = tfc.binary add %x0, %o0 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %h1 = tfc.rms_norm %x1, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %q1 = tfc.linear %h1, %wq1 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %r1 = tfc.reshape %q1[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %t1 = tfc.transpose %r1 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a1 = tfc.attention %t1, %t1, %t1 mask %m : tensor<?x1x1x?xf32> {causal = true, scale = 5.000000e-01 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %u1 = tfc.transpose %a1 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %v1 = tfc.reshape %u1[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %o1 = tfc.linear %v1, %wo1 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %x2 = tfc.binary add %x1, %o1 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %xf = tfc.cast %xi : tensor<?x?x8xi32> -> tensor<?x?x8xf32>
  %x3 = tfc.binary add %x2, %xf : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %hn = tfc.rms_norm %x3, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %l = tfc.linear %hn, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}
