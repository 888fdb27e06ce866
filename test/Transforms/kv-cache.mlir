// RUN: tfc-opt %s -split-input-file -tfc-kv-cache | FileCheck %s
// RUN: tfc-opt %s -split-input-file -tfc-kv-cache="window=3 max-len=64" | FileCheck %s --check-prefix=OPT

// Plain multi-head attention (2 heads of 4), the TorchScript form: the raise
// proved causal; the residual i1 padding mask [b, 1, 1, n] is computed from
// attention_mask; rotary positions are a range from 0 of length n. The step
// entry writes the new K/V rows at [past, past + n) of the in-place cache,
// attends over [0, T), recomputes the padding mask from the full mask (its
// n -> T), starts the positions at past; main is unchanged.
// CHECK-LABEL: func.func @tfc_m_main(
// CHECK-SAME: %[[IDS0:.*]]: tensor<?x?xi64> {{.*}}, %[[MASK0:.*]]: tensor<?x?xi64> {{.*}}) -> {{.*}} attributes {tfc.entry}
// CHECK: tfc.range %{{.*}}, %{{.*}}, %{{.*}} : tensor<i64>, tensor<i64> -> tensor<?xi64>
// CHECK: tfc.attention {{.*}} {causal = true, scale = 5.000000e-01 : f64}
// CHECK-NOT: tfc.attention
// CHECK-LABEL: func.func @tfc_m_step(
// CHECK-SAME: %[[IDS:[a-z0-9]+]]: tensor<?x?xi64> {tfc.dims = ["batch", "seq"], tfc.name = "input_ids"},
// CHECK-SAME: %[[MASK:[a-z0-9]+]]: tensor<?x?xi64> {tfc.dims = ["batch", "total"], tfc.name = "attention_mask"},
// CHECK-SAME: %[[PAST:[a-z0-9]+]]: tensor<i64> {tfc.dims = [], tfc.name = "past"},
// CHECK-SAME: %[[CACHE:[a-z0-9]+]]: memref<1x2x?x2x?x4xf32> {tfc.dims = ["1", "2", "batch", "2", "max_len", "4"], tfc.name = "cache"})
// CHECK-SAME: attributes {llvm.emit_c_interface, tfc.step_entry}
// CHECK-DAG: %[[B:.*]] = tensor.dim %[[IDS]], %c0
// CHECK-DAG: %[[N:.*]] = tensor.dim %[[IDS]], %c1
// CHECK-DAG: %[[P64:.*]] = tensor.extract %[[PAST]][] : tensor<i64>
// CHECK-DAG: %[[P:.*]] = arith.index_cast %[[P64]] : i64 to index
// CHECK-DAG: %[[T:.*]] = tensor.dim %[[MASK]], %c1
// CHECK: %[[C0:.*]] = bufferization.to_tensor %[[CACHE]] restrict writable
// CHECK: %[[V:.*]] = tfc.transpose
// CHECK: %[[POS:.*]] = tfc.range %[[PAST]], %{{.*}}, %{{.*}} : tensor<i64>, tensor<i64> -> tensor<?xi64>
// CHECK: %[[K:.*]] = tfc.rotary half
// CHECK: %[[MB:.*]] = tfc.cast %[[MASK]] : tensor<?x?xi64> -> tensor<?x?xi1>
// CHECK: %[[M:.*]] = tfc.reshape %[[MB]][%{{.*}}, %[[T]]] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
// CHECK: %[[C1:.*]] = tensor.insert_slice %[[K]] into %[[C0]][0, 0, 0, 0, %[[P]], 0] [1, 1, %[[B]], 2, %[[N]], 4]
// CHECK: %[[C2:.*]] = tensor.insert_slice %[[V]] into %[[C1]][0, 1, 0, 0, %[[P]], 0] [1, 1, %[[B]], 2, %[[N]], 4]
// CHECK: %[[KA:.*]] = tensor.extract_slice %[[C2]][0, 0, 0, 0, 0, 0] [1, 1, %[[B]], 2, %[[T]], 4] {{.*}} to tensor<?x2x?x4xf32>
// CHECK: %[[VA:.*]] = tensor.extract_slice %[[C2]][0, 1, 0, 0, 0, 0] [1, 1, %[[B]], 2, %[[T]], 4] {{.*}} to tensor<?x2x?x4xf32>
// CHECK: tfc.attention %[[K]], %[[KA]], %[[VA]] mask %[[M]] : tensor<?x1x1x?xi1> {causal = true, scale = 5.000000e-01 : f64}
// CHECK: bufferization.materialize_in_destination %[[C2]] in restrict writable %[[CACHE]]
// CHECK-NEXT: return

// Options: a static cache length and a sliding window, in both entries.
// OPT-LABEL: func.func @tfc_m_main(
// OPT: tfc.attention {{.*}} {causal = true, scale = 5.000000e-01 : f64, window = 3 : i64}
// OPT-LABEL: func.func @tfc_m_step(
// OPT-SAME: memref<1x2x?x2x64x4xf32> {tfc.dims = ["1", "2", "batch", "2", "64", "4"], tfc.name = "cache"}
// OPT: tfc.attention {{.*}} {causal = true, scale = 5.000000e-01 : f64, window = 3 : i64}
func.func @tfc_m_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x16xf32> {tfc.name = "logits", tfc.dims = ["batch", "seq", "16"]}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %head = arith.constant dense<0.25> : tensor<8x16xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %pos = tfc.range %zero, %one, %n : tensor<i64>, tensor<i64> -> tensor<?xi64>
  %posf = tfc.cast %pos : tensor<?xi64> -> tensor<?xf32>
  %p4 = tfc.reshape %posf[%n] : tensor<?xf32> -> tensor<1x1x?x1xf32>
  %cos = tfc.unary cos %p4 : tensor<1x1x?x1xf32> -> tensor<1x1x?x1xf32>
  %sin = tfc.unary sin %p4 : tensor<1x1x?x1xf32> -> tensor<1x1x?x1xf32>
  %k = tfc.rotary half %q, %cos, %sin : tensor<?x2x?x4xf32>, tensor<1x1x?x1xf32>, tensor<1x1x?x1xf32> -> tensor<?x2x?x4xf32>
  %mb = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xi1>
  %m4 = tfc.reshape %mb[%b, %n] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
  %a = tfc.attention %k, %k, %q mask %m4 : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %h = tfc.reshape %at[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %l = tfc.linear %h, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}

// -----

// Grouped-query attention (4 query heads, 2 kv heads), two layers: the
// cache stores the 2 kv heads, one [K, V] pair per layer in program order.
// CHECK-LABEL: func.func @tfc_g_step(
// CHECK-SAME: memref<2x2x?x2x?x2xf32>
// CHECK: %[[C0:.*]] = bufferization.to_tensor
// CHECK: %[[C1:.*]] = tensor.insert_slice %{{.*}} into %[[C0]][0, 0, 0, 0, %[[P:.*]], 0] [1, 1, %{{.*}}, 2, %{{.*}}, 2]
// CHECK: %[[C2:.*]] = tensor.insert_slice %{{.*}} into %[[C1]][0, 1, 0, 0, %[[P]], 0]
// CHECK: tfc.attention {{.*}} : tensor<?x4x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x4x?x2xf32>
// CHECK: %[[C3:.*]] = tensor.insert_slice %{{.*}} into %[[C2]][1, 0, 0, 0, %[[P]], 0]
// CHECK: %[[C4:.*]] = tensor.insert_slice %{{.*}} into %[[C3]][1, 1, 0, 0, %[[P]], 0]
// CHECK: tensor.extract_slice %[[C4]][1, 0, 0, 0, 0, 0]
// CHECK: tensor.extract_slice %[[C4]][1, 1, 0, 0, 0, 0]
// CHECK: tfc.attention
// CHECK: bufferization.materialize_in_destination %[[C4]]
func.func @tfc_g_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x8xf32> {tfc.name = "hidden", tfc.dims = ["batch", "seq", "8"]}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %wk = arith.constant dense<0.125> : tensor<8x4xf32>
  %wv = arith.constant dense<0.25> : tensor<8x4xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %mb = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xi1>
  %m4 = tfc.reshape %mb[%b, %n] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
  %x0 = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %q0r = tfc.reshape %x0[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x4x2xf32>
  %q0 = tfc.transpose %q0r {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x2xf32> -> tensor<?x4x?x2xf32>
  %k0l = tfc.linear %x0, %wk : tensor<?x?x8xf32>, tensor<8x4xf32> -> tensor<?x?x4xf32>
  %k0r = tfc.reshape %k0l[%b, %n] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %k0 = tfc.transpose %k0r {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %v0l = tfc.linear %x0, %wv : tensor<?x?x8xf32>, tensor<8x4xf32> -> tensor<?x?x4xf32>
  %v0r = tfc.reshape %v0l[%b, %n] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %v0 = tfc.transpose %v0r {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %a0 = tfc.attention %q0, %k0, %v0 mask %m4 : tensor<?x1x1x?xi1> {causal = true, scale = 0.7 : f64} : tensor<?x4x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x4x?x2xf32>
  %a0t = tfc.transpose %a0 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x4x?x2xf32> -> tensor<?x?x4x2xf32>
  %x1 = tfc.reshape %a0t[%b, %n] : tensor<?x?x4x2xf32> -> tensor<?x?x8xf32>
  %q1r = tfc.reshape %x1[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x4x2xf32>
  %q1 = tfc.transpose %q1r {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x2xf32> -> tensor<?x4x?x2xf32>
  %k1l = tfc.linear %x1, %wk : tensor<?x?x8xf32>, tensor<8x4xf32> -> tensor<?x?x4xf32>
  %k1r = tfc.reshape %k1l[%b, %n] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %k1 = tfc.transpose %k1r {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %v1l = tfc.linear %x1, %wv : tensor<?x?x8xf32>, tensor<8x4xf32> -> tensor<?x?x4xf32>
  %v1r = tfc.reshape %v1l[%b, %n] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %v1 = tfc.transpose %v1r {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %a1 = tfc.attention %q1, %k1, %v1 mask %m4 : tensor<?x1x1x?xi1> {causal = true, scale = 0.7 : f64} : tensor<?x4x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x4x?x2xf32>
  %a1t = tfc.transpose %a1 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x4x?x2xf32> -> tensor<?x?x4x2xf32>
  %x2 = tfc.reshape %a1t[%b, %n] : tensor<?x?x4x2xf32> -> tensor<?x?x8xf32>
  return %x2 : tensor<?x?x8xf32>
}

// -----

// The dynamo form: causal = false with a float mask select(c, 0, float
// min) where c ANDs a causal term (key position <= query position), a
// window term (key > query - 4) and the padding. The step's op gets
// causal = true, window = 4 and the padding alone, as i1, recomputed at T.
// CHECK-LABEL: func.func @tfc_d_main(
// CHECK: tfc.attention {{.*}} mask %{{.*}} : tensor<?x1x?x?xf32> {causal = false, scale = 5.000000e-01 : f64}
// CHECK-LABEL: func.func @tfc_d_step(
// CHECK-SAME: %[[MASK:[a-z0-9]+]]: tensor<?x?xi64> {tfc.dims = ["batch", "total"], tfc.name = "attention_mask"}
// CHECK: %[[T:.*]] = tensor.dim %[[MASK]], %c1
// CHECK: %[[MB:.*]] = tfc.cast %[[MASK]] : tensor<?x?xi64> -> tensor<?x?xi1>
// CHECK: %[[M:.*]] = tfc.reshape %[[MB]][%{{.*}}, %[[T]]] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
// CHECK: tfc.attention {{.*}} mask %[[M]] : tensor<?x1x1x?xi1> {causal = true, scale = 5.000000e-01 : f64, window = 4 : i64}
// CHECK-NOT: tfc.select
// CHECK: return
func.func @tfc_d_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x2x?x4xf32> {tfc.name = "out", tfc.dims = ["batch", "2", "seq", "4"]}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %four = arith.constant dense<4> : tensor<i64>
  %fzero = arith.constant dense<0.0> : tensor<f32>
  %fmin = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %pos = tfc.range %zero, %one, %n : tensor<i64>, tensor<i64> -> tensor<?xi64>
  %kp = tfc.reshape %pos[%n] : tensor<?xi64> -> tensor<1x1x1x?xi64>
  %qp = tfc.reshape %pos[%n] : tensor<?xi64> -> tensor<1x1x?x1xi64>
  %causal = tfc.cmp le %kp, %qp : tensor<1x1x1x?xi64>, tensor<1x1x?x1xi64> -> tensor<1x1x?x?xi1>
  %qw = tfc.binary sub %qp, %four : tensor<1x1x?x1xi64>, tensor<i64> -> tensor<1x1x?x1xi64>
  %win = tfc.cmp gt %kp, %qw : tensor<1x1x1x?xi64>, tensor<1x1x?x1xi64> -> tensor<1x1x?x?xi1>
  %cw = tfc.binary and %causal, %win : tensor<1x1x?x?xi1>, tensor<1x1x?x?xi1> -> tensor<1x1x?x?xi1>
  %mb = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xi1>
  %pad = tfc.reshape %mb[%b, %n] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
  %all = tfc.binary and %cw, %pad : tensor<1x1x?x?xi1>, tensor<?x1x1x?xi1> -> tensor<?x1x?x?xi1>
  %fm = tfc.select %all, %fzero, %fmin : tensor<?x1x?x?xi1>, tensor<f32>, tensor<f32> -> tensor<?x1x?x?xf32>
  %a = tfc.attention %q, %q, %q mask %fm : tensor<?x1x?x?xf32> {causal = false, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// A with-past export (Optimum style, one layer): the attention already reads
// concat(past, new) and the graph derives positions and the mask from the
// past length. The step reads the past from the cache (rows [0, past)) and
// writes the new rows in place instead of returning presents; main becomes
// the full-sequence model (empty past, no presents).
// CHECK-LABEL: func.func @tfc_w_main(
// CHECK-SAME: %{{.*}}: tensor<?x?xi64> {{.*}}tfc.name = "input_ids"}, %{{.*}}: tensor<?x?xi64> {{.*}}tfc.name = "attention_mask"}) -> (tensor<?x2x?x4xf32> {tfc.name = "logits"})
// CHECK: %[[E:.*]] = tensor.empty(%{{.*}}) : tensor<?x2x0x4xf32>
// CHECK: %[[P:.*]] = tensor.cast %[[E]] : tensor<?x2x0x4xf32> to tensor<?x2x?x4xf32>
// CHECK: tensor.concat dim(2) %[[P]], %{{.*}}
// CHECK: return %{{.*}} : tensor<?x2x?x4xf32>
// CHECK-LABEL: func.func @tfc_w_step(
// CHECK-SAME: %[[IDS:[a-z0-9]+]]: tensor<?x?xi64> {{.*}}, %[[MASK:[a-z0-9]+]]: tensor<?x?xi64> {{.*}}, %[[PAST:[a-z0-9]+]]: tensor<i64> {tfc.dims = [], tfc.name = "past"}, %[[CACHE:[a-z0-9]+]]: memref<1x2x?x2x?x4xf32> {tfc.dims = ["1", "2", "batch", "2", "max_len", "4"], tfc.name = "cache"})
// CHECK-SAME: -> (tensor<?x2x?x4xf32> {tfc.name = "logits"})
// CHECK: %[[T:.*]] = tensor.dim %[[MASK]], %c1
// CHECK: %[[C0:.*]] = bufferization.to_tensor %[[CACHE]] restrict writable
// CHECK: %[[C1:.*]] = tensor.insert_slice %{{.*}} into %[[C0]][0, 0, 0, 0, %{{.*}}, 0]
// CHECK: %[[K:.*]] = tensor.extract_slice %[[C1]][0, 0, 0, 0, 0, 0] [1, 1, %{{.*}}, 2, %[[T]], 4]
// CHECK: %[[C2:.*]] = tensor.insert_slice %{{.*}} into %[[C1]][0, 1, 0, 0, %{{.*}}, 0]
// CHECK: %[[V:.*]] = tensor.extract_slice %[[C2]][0, 1, 0, 0, 0, 0] [1, 1, %{{.*}}, 2, %[[T]], 4]
// CHECK: tfc.attention %{{.*}}, %[[K]], %[[V]]
// CHECK-NOT: tensor.concat
// CHECK: bufferization.materialize_in_destination %[[C2]] in restrict writable %[[CACHE]]
// CHECK-NEXT: return %{{.*}} : tensor<?x2x?x4xf32>
func.func @tfc_w_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "total"]}, %pk: tensor<?x2x?x4xf32> {tfc.name = "past_key_values.0.key"}, %pv: tensor<?x2x?x4xf32> {tfc.name = "past_key_values.0.value"}) -> (tensor<?x2x?x4xf32> {tfc.name = "logits"}, tensor<?x2x?x4xf32> {tfc.name = "present.0.key"}, tensor<?x2x?x4xf32> {tfc.name = "present.0.value"}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %t = tensor.dim %mask, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %k = tensor.concat dim(2) %pk, %q : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  %v = tensor.concat dim(2) %pv, %q : (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32>
  %mb = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xi1>
  %m4 = tfc.reshape %mb[%b, %t] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
  %a = tfc.attention %q, %k, %v mask %m4 : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a, %k, %v : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>
}
