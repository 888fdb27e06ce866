// RUN: tfc-opt %s -split-input-file -tfc-kv-cache | FileCheck %s

// After tfc-partition=tensor:2 (hand-written: 2 heads of 4 split one per
// part, the o projection row-parallel with an all_reduce): each entry
// tfc_<name>_p<k>_main gets its own step tfc_<name>_p<k>_step with the same
// tfc.part, a cache of the part's kv heads (1) and the all_reduce kept.
// CHECK-LABEL: func.func @tfc_t_p0_main(
// CHECK-SAME: attributes {tfc.entry, tfc.part = 0 : i64}
// CHECK-LABEL: func.func @tfc_t_p0_step(
// CHECK-SAME: %{{.*}}: tensor<?x?xi64> {tfc.dims = ["batch", "seq"], tfc.name = "input_ids"},
// CHECK-SAME: %{{.*}}: tensor<?x?xi64> {tfc.dims = ["batch", "total"], tfc.name = "attention_mask"},
// CHECK-SAME: %{{.*}}: tensor<i64> {tfc.dims = [], tfc.name = "past"},
// CHECK-SAME: %{{.*}}: memref<1x2x?x1x?x4xf32> {tfc.dims = ["1", "2", "batch", "1", "max_len", "4"], tfc.name = "cache"})
// CHECK-SAME: -> (tensor<?x?x16xf32>
// CHECK-SAME: attributes {llvm.emit_c_interface, tfc.part = 0 : i64, tfc.step_entry}
// CHECK: tensor.insert_slice
// CHECK: tfc.attention {{.*}} {causal = true
// CHECK: tfc.all_reduce %{{.*}} {parts = 2 : i64} : tensor<?x?x8xf32>
// CHECK: bufferization.materialize_in_destination
// CHECK-LABEL: func.func @tfc_t_p1_main(
// CHECK-SAME: attributes {tfc.entry, tfc.part = 1 : i64}
// CHECK-LABEL: func.func @tfc_t_p1_step(
// CHECK-SAME: memref<1x2x?x1x?x4xf32>
// CHECK-SAME: attributes {llvm.emit_c_interface, tfc.part = 1 : i64, tfc.step_entry}
// CHECK: tfc.attention {{.*}} {causal = true
// CHECK: tfc.all_reduce %{{.*}} {parts = 2 : i64} : tensor<?x?x8xf32>
func.func @tfc_t_p0_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}) attributes {tfc.entry, tfc.part = 0 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %wq = arith.constant dense<0.125> : tensor<8x4xf32>
  %wo = arith.constant dense<0.25> : tensor<4x8xf32>
  %head = arith.constant dense<0.25> : tensor<8x16xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %ql = tfc.linear %x, %wq : tensor<?x?x8xf32>, tensor<8x4xf32> -> tensor<?x?x4xf32>
  %q4 = tfc.reshape %ql[%b, %n] : tensor<?x?x4xf32> -> tensor<?x?x1x4xf32>
  %q = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x1x4xf32> -> tensor<?x1x?x4xf32>
  %mb = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xi1>
  %m4 = tfc.reshape %mb[%b, %n] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
  %a = tfc.attention %q, %q, %q mask %m4 : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32> -> tensor<?x1x?x4xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x1x?x4xf32> -> tensor<?x?x1x4xf32>
  %h = tfc.reshape %at[%b, %n] : tensor<?x?x1x4xf32> -> tensor<?x?x4xf32>
  %o = tfc.linear %h, %wo : tensor<?x?x4xf32>, tensor<4x8xf32> -> tensor<?x?x8xf32>
  %s = tfc.all_reduce %o {parts = 2 : i64} : tensor<?x?x8xf32>
  %l = tfc.linear %s, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}
func.func @tfc_t_p1_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}) attributes {tfc.entry, tfc.part = 1 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %wq = arith.constant dense<0.375> : tensor<8x4xf32>
  %wo = arith.constant dense<0.75> : tensor<4x8xf32>
  %head = arith.constant dense<0.25> : tensor<8x16xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %ql = tfc.linear %x, %wq : tensor<?x?x8xf32>, tensor<8x4xf32> -> tensor<?x?x4xf32>
  %q4 = tfc.reshape %ql[%b, %n] : tensor<?x?x4xf32> -> tensor<?x?x1x4xf32>
  %q = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x1x4xf32> -> tensor<?x1x?x4xf32>
  %mb = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xi1>
  %m4 = tfc.reshape %mb[%b, %n] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
  %a = tfc.attention %q, %q, %q mask %m4 : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32> -> tensor<?x1x?x4xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x1x?x4xf32> -> tensor<?x?x1x4xf32>
  %h = tfc.reshape %at[%b, %n] : tensor<?x?x1x4xf32> -> tensor<?x?x4xf32>
  %o = tfc.linear %h, %wo : tensor<?x?x4xf32>, tensor<4x8xf32> -> tensor<?x?x8xf32>
  %s = tfc.all_reduce %o {parts = 2 : i64} : tensor<?x?x8xf32>
  %l = tfc.linear %s, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}

// -----

// After tfc-partition=pipeline:3 (hand-written, one layer a stage): every
// stage takes all the model's inputs; stage 0 embeds and sends its hidden
// state, stage 1 receives and sends, stage 2 receives and returns the
// logits. Each step keeps its stage's recv / send in order around its one
// cached attention (at run time a step's recv gets the previous stage's
// step output [b, n_new, d]); stages 0 and 1 return nothing.
// CHECK-LABEL: func.func @tfc_p_p0_step(
// CHECK-SAME: memref<1x2x?x2x?x4xf32>
// CHECK-SAME: ) attributes {llvm.emit_c_interface, tfc.part = 0 : i64, tfc.step_entry}
// CHECK-NOT: tfc.recv
// CHECK: tfc.embedding
// CHECK: tfc.attention
// CHECK: %[[H0:.*]] = tfc.reshape
// CHECK-NEXT: tfc.send %[[H0]] {peer = 1 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
// CHECK: bufferization.materialize_in_destination
// CHECK-NEXT: return{{$}}
// CHECK-LABEL: func.func @tfc_p_p1_step(
// CHECK-SAME: %[[IDS:[a-z0-9]+]]: tensor<?x?xi64> {tfc.dims = ["batch", "seq"], tfc.name = "input_ids"},
// CHECK-SAME: memref<1x2x?x2x?x4xf32>
// CHECK-SAME: ) attributes {llvm.emit_c_interface, tfc.part = 1 : i64, tfc.step_entry}
// CHECK: %[[X1:.*]] = tfc.recv {peer = 0 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
// CHECK-NOT: tfc.embedding
// CHECK: tfc.reshape %[[X1]]
// CHECK: tfc.attention
// CHECK: tfc.send %{{.*}} {peer = 2 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
// CHECK-NEXT: bufferization.materialize_in_destination
// CHECK-NEXT: return{{$}}
// CHECK-LABEL: func.func @tfc_p_p2_step(
// CHECK-SAME: -> (tensor<?x?x16xf32> {tfc.dims = ["batch", "seq", "16"], tfc.name = "logits"}) attributes {llvm.emit_c_interface, tfc.part = 2 : i64, tfc.step_entry}
// CHECK: tfc.recv {peer = 1 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
// CHECK: tfc.attention
// CHECK-NOT: tfc.send
// CHECK: return %{{.*}} : tensor<?x?x16xf32>
func.func @tfc_p_p0_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) attributes {tfc.entry, tfc.part = 0 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %mb = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xi1>
  %m4 = tfc.reshape %mb[%b, %n] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
  %a = tfc.attention %q, %q, %q mask %m4 : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %h = tfc.reshape %at[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  tfc.send %h {peer = 1 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
  return
}
func.func @tfc_p_p1_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) attributes {tfc.entry, tfc.part = 1 : i64} {
  %x = tfc.recv {peer = 0 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %mb = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xi1>
  %m4 = tfc.reshape %mb[%b, %n] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
  %a = tfc.attention %q, %q, %q mask %m4 : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %h = tfc.reshape %at[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %y = tfc.binary add %x, %h : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  tfc.send %y {peer = 2 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
  return
}
func.func @tfc_p_p2_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}) attributes {tfc.entry, tfc.part = 2 : i64} {
  %x = tfc.recv {peer = 1 : i64, tag = 0 : i64} : tensor<?x?x8xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %head = arith.constant dense<0.25> : tensor<8x16xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %mb = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xi1>
  %m4 = tfc.reshape %mb[%b, %n] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
  %a = tfc.attention %q, %q, %q mask %m4 : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %h = tfc.reshape %at[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %l = tfc.linear %h, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}
