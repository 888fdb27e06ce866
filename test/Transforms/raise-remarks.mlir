// RUN: tfc-opt %s -split-input-file -tfc-raise-activations -tfc-raise-attention -verify-diagnostics | FileCheck %s

// Patterns that stay generic say why (tfc --remarks; docs/IMPORT.md's
// family matrix lists them).

// Gemma 2: attention logits soft-capped, tanh(s / 50) * 50, before the
// mask. tfc.attention has no soft-cap, so the softmax stays.
// CHECK-LABEL: func @softcap_attention
// CHECK-NOT: tfc.attention
// CHECK: tfc.softmax
func.func @softcap_attention(%q: tensor<1x2x5x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x5x8xf32>, %m: tensor<1x1x5x5xf32>) -> tensor<1x2x5x8xf32> {
  %c = arith.constant dense<50.0> : tensor<f32>
  %kt = tfc.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x5x8xf32> -> tensor<1x2x8x5xf32>
  %s = tfc.matmul %q, %kt : tensor<1x2x5x8xf32>, tensor<1x2x8x5xf32> -> tensor<1x2x5x5xf32>
  %d = tfc.binary div %s, %c : tensor<1x2x5x5xf32>, tensor<f32> -> tensor<1x2x5x5xf32>
  %t = tfc.unary tanh %d : tensor<1x2x5x5xf32> -> tensor<1x2x5x5xf32>
  %sc = tfc.binary mul %t, %c : tensor<1x2x5x5xf32>, tensor<f32> -> tensor<1x2x5x5xf32>
  %l = tfc.binary add %sc, %m : tensor<1x2x5x5xf32>, tensor<1x1x5x5xf32> -> tensor<1x2x5x5xf32>
  // expected-remark @+1 {{attention stays generic: logit soft-capping}}
  %p = tfc.softmax %l {axis = 3 : i64} : tensor<1x2x5x5xf32> -> tensor<1x2x5x5xf32>
  %o = tfc.matmul %p, %v : tensor<1x2x5x5xf32>, tensor<1x2x5x8xf32> -> tensor<1x2x5x8xf32>
  return %o : tensor<1x2x5x8xf32>
}

// -----

// Any other op between the scores and the softmax (here an exp) gets the
// general remark.
// CHECK-LABEL: func @odd_logits
// CHECK-NOT: tfc.attention
func.func @odd_logits(%q: tensor<1x2x5x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x5x8xf32>) -> tensor<1x2x5x8xf32> {
  %kt = tfc.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x5x8xf32> -> tensor<1x2x8x5xf32>
  %s = tfc.matmul %q, %kt : tensor<1x2x5x8xf32>, tensor<1x2x8x5xf32> -> tensor<1x2x5x5xf32>
  %e = tfc.unary exp %s : tensor<1x2x5x5xf32> -> tensor<1x2x5x5xf32>
  // expected-remark @+1 {{attention stays generic: the ops between q*k^T and the softmax are not a scale, a mask or a position bias}}
  %p = tfc.softmax %e {axis = 3 : i64} : tensor<1x2x5x5xf32> -> tensor<1x2x5x5xf32>
  %o = tfc.matmul %p, %v : tensor<1x2x5x5xf32>, tensor<1x2x5x8xf32> -> tensor<1x2x5x8xf32>
  return %o : tensor<1x2x5x8xf32>
}

// -----

// A raised attention gets no remark.
// CHECK-LABEL: func @plain_attention
// CHECK: tfc.attention
func.func @plain_attention(%q: tensor<1x2x5x8xf32>, %k: tensor<1x2x5x8xf32>, %v: tensor<1x2x5x8xf32>) -> tensor<1x2x5x8xf32> {
  %kt = tfc.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x2x5x8xf32> -> tensor<1x2x8x5xf32>
  %s = tfc.matmul %q, %kt : tensor<1x2x5x8xf32>, tensor<1x2x8x5xf32> -> tensor<1x2x5x5xf32>
  %p = tfc.softmax %s {axis = 3 : i64} : tensor<1x2x5x5xf32> -> tensor<1x2x5x5xf32>
  %o = tfc.matmul %p, %v : tensor<1x2x5x5xf32>, tensor<1x2x5x8xf32> -> tensor<1x2x5x8xf32>
  return %o : tensor<1x2x5x8xf32>
}

// -----

// LLaMA with MLP biases: tfc.gated_mlp has no bias operands.
// CHECK-LABEL: func @biased_gated_mlp
// CHECK-NOT: tfc.gated_mlp
func.func @biased_gated_mlp(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %wg = arith.constant dense<0.1> : tensor<64x128xf32>
  %wu = arith.constant dense<0.2> : tensor<64x128xf32>
  %wd = arith.constant dense<0.3> : tensor<128x64xf32>
  %b = arith.constant dense<0.3> : tensor<128xf32>
  %0 = tfc.linear %x, %wg bias %b : tensor<128xf32> : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %1 = tfc.unary silu %0 : tensor<?x128xf32> -> tensor<?x128xf32>
  %2 = tfc.linear %x, %wu bias %b : tensor<128xf32> : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %3 = tfc.binary mul %1, %2 : tensor<?x128xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
  // expected-remark @+1 {{gated MLP stays tfc.linear + activation + mul: its projections have biases}}
  %4 = tfc.linear %3, %wd : tensor<?x128xf32>, tensor<128x64xf32> -> tensor<?x64xf32>
  return %4 : tensor<?x64xf32>
}

// -----

// The gate's output also used elsewhere: raising would compute it twice.
// CHECK-LABEL: func @shared_gate
func.func @shared_gate(%x: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x128xf32>) {
  %wg = arith.constant dense<0.1> : tensor<64x128xf32>
  %wu = arith.constant dense<0.2> : tensor<64x128xf32>
  %wd = arith.constant dense<0.3> : tensor<128x64xf32>
  %0 = tfc.linear %x, %wg : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %1 = tfc.unary silu %0 : tensor<?x128xf32> -> tensor<?x128xf32>
  %2 = tfc.linear %x, %wu : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %3 = tfc.binary mul %1, %2 : tensor<?x128xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
  // expected-remark @+1 {{gated MLP stays tfc.linear + activation + mul: an intermediate has other uses}}
  %4 = tfc.linear %3, %wd : tensor<?x128xf32>, tensor<128x64xf32> -> tensor<?x64xf32>
  return %4, %0 : tensor<?x64xf32>, tensor<?x128xf32>
}
