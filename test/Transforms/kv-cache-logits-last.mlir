// RUN: tfc-opt %s -split-input-file -tfc-kv-cache="logits=last" | FileCheck %s
// RUN: tfc-opt %s -split-input-file -tfc-kv-cache | FileCheck %s --check-prefix=ALL
// RUN: not tfc-opt %s -split-input-file -tfc-kv-cache="logits=first" 2>&1 | FileCheck %s --check-prefix=BAD

// logits=last (tfc --kv-logits=last): the step's logits keep each
// sequence's last new position. The slice [0, n - 1, 0] [b, 1, 8] goes in
// front of the row-wise chain rms_norm -> linear (lm_head), so the lm_head
// runs on one row per sequence; the output is cast to [b, 1, 16] and its
// signature dims say "1". The residual %r keeps all n rows for its other
// use (none here but the chain's start: the slice reads it); main is
// unchanged. Without the option the step returns every position (ALL).
// CHECK-LABEL: func.func @tfc_m_main(
// CHECK-SAME: -> (tensor<?x?x16xf32> {tfc.dims = ["batch", "seq", "16"], tfc.name = "logits"})
// CHECK-NOT: tensor.extract_slice
// CHECK: return
// CHECK-LABEL: func.func @tfc_m_step(
// CHECK-SAME: -> (tensor<?x1x16xf32> {tfc.dims = ["batch", "1", "16"], tfc.name = "logits"})
// CHECK: %[[R:.*]] = tfc.binary add
// CHECK: %[[N:.*]] = tensor.dim %[[R]], %[[C1:.*]] :
// CHECK: %[[ONE:.*]] = arith.constant 1 : index
// CHECK: %[[LAST:.*]] = arith.subi %[[N]], %[[ONE]] : index
// CHECK: %[[S:.*]] = tensor.extract_slice %[[R]][0, %[[LAST]], 0] [%{{.*}}, %[[ONE]], 8] [1, 1, 1] : tensor<?x?x8xf32> to tensor<?x?x8xf32>
// CHECK: %[[NORM:.*]] = tfc.rms_norm %[[S]]
// CHECK: %[[L:.*]] = tfc.linear %[[NORM]]
// CHECK: bufferization.materialize_in_destination
// CHECK: %[[OUT:.*]] = tensor.cast %[[L]] : tensor<?x?x16xf32> to tensor<?x1x16xf32>
// CHECK: return %[[OUT]] : tensor<?x1x16xf32>
// ALL-LABEL: func.func @tfc_m_step(
// ALL-SAME: -> (tensor<?x?x16xf32> {tfc.dims = ["batch", "seq", "16"], tfc.name = "logits"})
// ALL-NOT: tensor.cast
// ALL: return
// BAD: error: tfc-kv-cache: logits 'first' is not one of all, last
func.func @tfc_m_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
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
  %r = tfc.binary add %x, %h : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %w = arith.constant dense<1.0> : tensor<8xf32>
  %head = arith.constant dense<0.25> : tensor<8x16xf32>
  %nr = tfc.rms_norm %r, %w {epsilon = 1.0e-05 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %l = tfc.linear %nr, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}

// -----

// The chain stops at an op whose rows depend on other rows: a qlinear that
// quantizes its activations per tensor at run time. Its output is sliced
// (the same logits, no saving); the per-row qlinear before it and its
// norm run on all rows because the per-tensor one needs them.
// CHECK-LABEL: func.func @tfc_t_step(
// CHECK-SAME: -> (tensor<?x1x16xf32> {tfc.dims = ["batch", "1", "16"], tfc.name = "logits"})
// CHECK: %[[Y:.*]] = tfc.qlinear {{.*}}activation = #tfc.qact<tensor>
// CHECK: %[[S:.*]] = tensor.extract_slice %[[Y]][0, %{{.*}}, 0] [%{{.*}}, %{{.*}}, 16]
// CHECK: tensor.cast %[[S]] : tensor<?x?x16xf32> to tensor<?x1x16xf32>
func.func @tfc_t_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
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
  %r = tfc.binary add %x, %h : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %w8 = arith.constant dense<1> : tensor<8x16xi8>
  %s = arith.constant dense<0.25> : tensor<1x16xf32>
  %y = tfc.qlinear %r, %w8, %s {activation = #tfc.qact<tensor>, bits = 8 : i64, group = 0 : i64, unsigned_codes = false} : tensor<?x?x8xf32>, tensor<8x16xi8>, tensor<1x16xf32> -> tensor<?x?x16xf32>
  return %y : tensor<?x?x16xf32>
}

// -----

// A qlinear that quantizes per row is row-wise: the slice goes in front of
// it. A second output whose dim 1 is not the new tokens (a pooled [b, 8])
// is left alone.
// CHECK-LABEL: func.func @tfc_r_step(
// CHECK-SAME: -> (tensor<?x1x16xf32> {tfc.dims = ["batch", "1", "16"], tfc.name = "logits"}, tensor<?x8xf32> {tfc.dims = ["batch", "8"], tfc.name = "pooled"})
// CHECK: %[[S:.*]] = tensor.extract_slice %{{.*}}[0, %{{.*}}, 0] [%{{.*}}, %{{.*}}, 8]
// CHECK: tfc.qlinear %[[S]], {{.*}}activation = #tfc.qact<row>
func.func @tfc_r_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}, tensor<?x8xf32> {tfc.name = "pooled", tfc.dims = ["batch", "8"]}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
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
  %r = tfc.binary add %x, %h : tensor<?x?x8xf32>, tensor<?x?x8xf32> -> tensor<?x?x8xf32>
  %w8 = arith.constant dense<1> : tensor<8x16xi8>
  %s = arith.constant dense<0.25> : tensor<1x16xf32>
  %y = tfc.qlinear %r, %w8, %s {activation = #tfc.qact<row>, bits = 8 : i64, group = 0 : i64, unsigned_codes = false} : tensor<?x?x8xf32>, tensor<8x16xi8>, tensor<1x16xf32> -> tensor<?x?x16xf32>
  %p = tfc.reduce max %r {axes = array<i64: 1>, keepdims = false} : tensor<?x?x8xf32> -> tensor<?x8xf32>
  return %y, %p : tensor<?x?x16xf32>, tensor<?x8xf32>
}
