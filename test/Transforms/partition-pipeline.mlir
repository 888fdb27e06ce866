// RUN: tfc-opt %s -split-input-file --tfc-partition=strategy=pipeline:2 --verify-each | FileCheck %s --check-prefix=P2
// RUN: tfc-opt %s -split-input-file --tfc-partition=strategy=pipeline:3 --verify-each | FileCheck %s --check-prefix=P3

// A 3-layer decoder (rms_norm, q projection, attention with an additive
// padding mask computed from attention_mask, o projection, residual add),
// then the final norm and LM head. Layers cost the same, so pipeline:2 puts
// the embedding and layers 0-1 in stage 0 and layer 2 with the head in
// stage 1 (the head is cheaper than a layer). The residual stream is the one
// value sent; the mask and the dims are recomputed in stage 1; each stage
// keeps only its own layers' weights (dense<k.0e-01> / dense<k.5e-01> are
// layer k-1's q / o projections).
// P2: module attributes {tfc.partition = {kind = "pipeline", parts = 2 : i64}}
// P2-LABEL: func.func @tfc_x_p0_main(
// P2-SAME: %{{.*}}: tensor<?x?xi64> {tfc.dims = ["batch", "seq"], tfc.name = "input_ids"}, %{{.*}}: tensor<?x?xi64> {tfc.dims = ["batch", "seq"], tfc.name = "attention_mask"})
// P2-SAME: attributes {tfc.entry, tfc.part = 0 : i64, tfc.stage_layers = array<i64: 0, 2>} {
// P2-NOT: tfc.recv
// P2-NOT: dense<3.000000e-01>
// P2: tfc.embedding
// P2: tfc.attention
// P2: tfc.attention
// P2-NOT: tfc.attention
// P2: %[[X2:.*]] = tfc.binary add
// P2-NEXT: tfc.send %[[X2]] {peer = 1 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
// P2-NEXT: return{{$}}
// P2-LABEL: func.func @tfc_x_p1_main(
// P2-SAME: %[[IDS:[a-z0-9]+]]: tensor<?x?xi64> {tfc.dims = ["batch", "seq"], tfc.name = "input_ids"}, %[[MASK:[a-z0-9]+]]: tensor<?x?xi64> {tfc.dims = ["batch", "seq"], tfc.name = "attention_mask"})
// P2-SAME: -> (tensor<?x?x16xf32> {tfc.dims = ["batch", "seq", "16"], tfc.name = "logits"})
// P2-SAME: attributes {tfc.entry, tfc.part = 1 : i64, tfc.stage_layers = array<i64: 2, 3>} {
// P2-NEXT: %[[X:.*]] = tfc.recv {peer = 0 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
// P2-NOT: dense<1.000000e-01>
// P2-NOT: dense<2.500000e-01> : tensor<8x8xf32>
// P2: %[[B:.*]] = tensor.dim %[[IDS]], %c0
// P2: %[[N:.*]] = tensor.dim %[[IDS]], %c1
// P2-NEXT: %[[MF:.*]] = tfc.cast %[[MASK]] : tensor<?x?xi64> -> tensor<?x?xf32>
// P2-NEXT: %[[M4:.*]] = tfc.reshape %[[MF]][%[[B]], %[[N]]]
// P2-NEXT: %[[INV:.*]] = tfc.binary sub %{{.*}}, %[[M4]]
// P2-NEXT: %[[M:.*]] = tfc.binary mul %[[INV]]
// P2-NEXT: tfc.rms_norm %[[X]]
// P2-NOT: tfc.embedding
// P2: tfc.attention {{.*}} mask %[[M]]
// P2-NOT: tfc.attention
// P2: tfc.binary add %[[X]]
// P2: %[[L:.*]] = tfc.linear {{.*}} : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
// P2-NEXT: return %[[L]] : tensor<?x?x16xf32>

// pipeline:3: one layer a stage; the middle stage receives from 0 and
// sends to 2.
// P3-LABEL: func.func @tfc_x_p0_main(
// P3-SAME: tfc.stage_layers = array<i64: 0, 1>
// P3: tfc.send %{{.*}} {peer = 1 : i64, tag = 0 : i64}
// P3-NEXT: return{{$}}
// P3-LABEL: func.func @tfc_x_p1_main(
// P3-SAME: ) attributes {tfc.entry, tfc.part = 1 : i64, tfc.stage_layers = array<i64: 1, 2>}
// P3-NEXT: tfc.recv {peer = 0 : i64, tag = 0 : i64}
// P3: tfc.attention
// P3-NOT: tfc.attention
// P3: tfc.send %{{.*}} {peer = 2 : i64, tag = 0 : i64}
// P3-NEXT: return{{$}}
// P3-LABEL: func.func @tfc_x_p2_main(
// P3-SAME: -> (tensor<?x?x16xf32>
// P3-SAME: tfc.stage_layers = array<i64: 2, 3>
// P3-NEXT: tfc.recv {peer = 1 : i64, tag = 0 : i64}
// P3: return %{{.*}} : tensor<?x?x16xf32>
func.func @tfc_x_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}) attributes {tfc.entry} {
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
  %wq2 = arith.constant dense<3.0e-01> : tensor<8x8xf32>
  %wo2 = arith.constant dense<3.5e-01> : tensor<8x8xf32>
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
  %h1 = tfc.rms_norm %x1, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %q1 = tfc.linear %h1, %wq1 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %r1 = tfc.reshape %q1[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %t1 = tfc.transpose %r1 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a1 = tfc.attention %t1, %t1, %t1 mask %m : tensor<?x1x1x?xf32> {causal = true, scale = 5.000000e-01 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %u1 = tfc.transpose %a1 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %v1 = tfc.reshape %u1[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %o1 = tfc.linear %v1, %wo1 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %x2 = tfc.binary add %x1, %o1 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %h2 = tfc.rms_norm %x2, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %q2 = tfc.linear %h2, %wq2 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %r2 = tfc.reshape %q2[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %t2 = tfc.transpose %r2 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a2 = tfc.attention %t2, %t2, %t2 mask %m : tensor<?x1x1x?xf32> {causal = true, scale = 5.000000e-01 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %u2 = tfc.transpose %a2 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %v2 = tfc.reshape %u2[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %o2 = tfc.linear %v2, %wo2 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %x3 = tfc.binary add %x2, %o2 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %hn = tfc.rms_norm %x3, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %l = tfc.linear %hn, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}

// -----

// A skip connection from the embedding to the final norm: the embedding
// output crosses every cut, so each stage forwards it (tag 0, defined first)
// beside the residual stream (tag 1).
// P3-LABEL: func.func @tfc_skip_p0_main(
// P3: %[[E:.*]] = tfc.embedding
// P3: %[[X1:.*]] = tfc.binary add %[[E]]
// P3-NEXT: tfc.send %[[E]] {peer = 1 : i64, tag = 0 : i64}
// P3-NEXT: tfc.send %[[X1]] {peer = 1 : i64, tag = 1 : i64}
// P3-LABEL: func.func @tfc_skip_p1_main(
// P3-NEXT: %[[E1:.*]] = tfc.recv {peer = 0 : i64, tag = 0 : i64}
// P3-NEXT: %[[X1R:.*]] = tfc.recv {peer = 0 : i64, tag = 1 : i64}
// P3: tfc.rms_norm %[[X1R]]
// P3: %[[X2:.*]] = tfc.binary add %[[X1R]]
// P3-NEXT: tfc.send %[[E1]] {peer = 2 : i64, tag = 0 : i64}
// P3-NEXT: tfc.send %[[X2]] {peer = 2 : i64, tag = 1 : i64}
// P3-LABEL: func.func @tfc_skip_p2_main(
// P3-NEXT: %[[E2:.*]] = tfc.recv {peer = 1 : i64, tag = 0 : i64}
// P3-NEXT: %[[X2R:.*]] = tfc.recv {peer = 1 : i64, tag = 1 : i64}
// P3: %[[X3:.*]] = tfc.binary add %[[X2R]]
// P3-NEXT: tfc.binary add %[[X3]], %[[E2]]
func.func @tfc_skip_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}) attributes {tfc.entry} {
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
  %wq2 = arith.constant dense<3.0e-01> : tensor<8x8xf32>
  %wo2 = arith.constant dense<3.5e-01> : tensor<8x8xf32>
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
  %h1 = tfc.rms_norm %x1, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %q1 = tfc.linear %h1, %wq1 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %r1 = tfc.reshape %q1[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %t1 = tfc.transpose %r1 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a1 = tfc.attention %t1, %t1, %t1 mask %m : tensor<?x1x1x?xf32> {causal = true, scale = 5.000000e-01 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %u1 = tfc.transpose %a1 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %v1 = tfc.reshape %u1[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %o1 = tfc.linear %v1, %wo1 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %x2 = tfc.binary add %x1, %o1 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %h2 = tfc.rms_norm %x2, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %q2 = tfc.linear %h2, %wq2 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %r2 = tfc.reshape %q2[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %t2 = tfc.transpose %r2 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a2 = tfc.attention %t2, %t2, %t2 mask %m : tensor<?x1x1x?xf32> {causal = true, scale = 5.000000e-01 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %u2 = tfc.transpose %a2 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %v2 = tfc.reshape %u2[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %o2 = tfc.linear %v2, %wo2 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %x3 = tfc.binary add %x2, %o2 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %s = tfc.binary add %x3, %x0 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %hn = tfc.rms_norm %s, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %l = tfc.linear %hn, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}

// -----

// Balance: layer 0 has a wide gated MLP (8 -> 512 -> 8), more than the
// other two layers and the head together, so pipeline:2 cuts right after it
// (the uniform model above cuts after layer 1).
// P2-LABEL: func.func @tfc_heavy0_p0_main(
// P2-SAME: tfc.stage_layers = array<i64: 0, 1>
// P2: tfc.gated_mlp
// P2: tfc.send
// P2-LABEL: func.func @tfc_heavy0_p1_main(
// P2-SAME: tfc.stage_layers = array<i64: 1, 3>
// P2-NOT: tfc.gated_mlp
// P2: return
func.func @tfc_heavy0_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}) attributes {tfc.entry} {
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
  %wq2 = arith.constant dense<3.0e-01> : tensor<8x8xf32>
  %wo2 = arith.constant dense<3.5e-01> : tensor<8x8xf32>
  %wm = arith.constant dense<1.0e-02> : tensor<8x512xf32>
  %wmT = arith.constant dense<1.0e-02> : tensor<512x8xf32>
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
  %y0 = tfc.binary add %x0, %o0 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %f0 = tfc.gated_mlp silu %y0, %wm, %wm, %wmT : tensor<?x?x8xf32>, tensor<8x512xf32>, tensor<8x512xf32>, tensor<512x8xf32> -> tensor<?x?x8xf32>
  %x1 = tfc.binary add %y0, %f0 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %h1 = tfc.rms_norm %x1, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %q1 = tfc.linear %h1, %wq1 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %r1 = tfc.reshape %q1[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %t1 = tfc.transpose %r1 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a1 = tfc.attention %t1, %t1, %t1 mask %m : tensor<?x1x1x?xf32> {causal = true, scale = 5.000000e-01 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %u1 = tfc.transpose %a1 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %v1 = tfc.reshape %u1[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %o1 = tfc.linear %v1, %wo1 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %x2 = tfc.binary add %x1, %o1 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %h2 = tfc.rms_norm %x2, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %q2 = tfc.linear %h2, %wq2 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %r2 = tfc.reshape %q2[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %t2 = tfc.transpose %r2 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a2 = tfc.attention %t2, %t2, %t2 mask %m : tensor<?x1x1x?xf32> {causal = true, scale = 5.000000e-01 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %u2 = tfc.transpose %a2 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %v2 = tfc.reshape %u2[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %o2 = tfc.linear %v2, %wo2 : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  %x3 = tfc.binary add %x2, %o2 : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %hn = tfc.rms_norm %x3, %g {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %l = tfc.linear %hn, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}
