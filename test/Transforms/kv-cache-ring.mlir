// RUN: tfc-opt %s -split-input-file -tfc-kv-cache="evict=true" | FileCheck %s
// RUN: tfc-opt %s -split-input-file -tfc-kv-cache="window=2 evict=true" | FileCheck %s --check-prefix=OPT
// RUN: tfc-opt %s -split-input-file -tfc-kv-cache="evict=true" -tfc-to-linalg -canonicalize -cse -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -canonicalize -cse | FileCheck %s --check-prefix=BUF
// RUN: tfc-opt %s -split-input-file -tfc-kv-cache="evict=true" -tfc-cpu-kernels -tfc-to-linalg -canonicalize -cse -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -canonicalize -cse | FileCheck %s --check-prefix=KERN

// Ring eviction (evict), on the model of kv-cache.mlir's first case: plain
// multi-head attention, causal, an i1 padding mask [b, 1, 1, n] from
// attention_mask, rotary positions 0..n, and a window of 3 (the op's). The
// cache holds R = 3 slots per layer (position p in slot p mod 3) and the
// step takes window_mask [b, 3 + n], the mask of positions [past - 3,
// past + n). The attention reads the ring oldest first (slots
// [past mod 3, 3) then [0, past mod 3)) followed by the new rows, i.e.
// 3 + n consecutive positions, so causal = true, window = 3 hold as they
// are; the padding mask is recomputed from window_mask (n -> 3 + n) and
// and-ed with its validity (window_mask != 0: empty slots before position
// 0). Then the last min(n, 3) new rows go to their slots: [skip,
// skip + first) to slot (past + skip) mod 3 and the rest, if they wrap, to
// slot 0 -- after the read, so a chunk's queries still see the rows it
// evicts. Rotary positions still start at past (unbounded). The option
// window = 2 shrinks the ring and the windows of both entries.
// CHECK-LABEL: func.func @tfc_m_main(
// CHECK: tfc.attention {{.*}} {causal = true, scale = 5.000000e-01 : f64, window = 3 : i64}
// CHECK-LABEL: func.func @tfc_m_step(
// CHECK-SAME: %[[IDS:[a-z0-9]+]]: tensor<?x?xi64> {tfc.dims = ["batch", "seq"], tfc.name = "input_ids"},
// CHECK-SAME: %[[WM:[a-z0-9]+]]: tensor<?x?xi64> {tfc.dims = ["batch", "window_total"], tfc.name = "window_mask"},
// CHECK-SAME: %[[PAST:[a-z0-9]+]]: tensor<i64> {tfc.dims = [], tfc.name = "past"},
// CHECK-SAME: %[[CACHE:[a-z0-9]+]]: memref<1x2x?x2x3x4xf32> {tfc.dims = ["1", "2", "batch", "2", "3", "4"], tfc.name = "cache"})
// CHECK-SAME: attributes {llvm.emit_c_interface, tfc.positional_attention, tfc.step_entry}
// CHECK-DAG: %[[B:.*]] = tensor.dim %[[IDS]], %c0
// CHECK-DAG: %[[N:.*]] = tensor.dim %[[IDS]], %c1
// CHECK-DAG: %[[P64:.*]] = tensor.extract %[[PAST]][] : tensor<i64>
// CHECK-DAG: %[[P:.*]] = arith.index_cast %[[P64]] : i64 to index
// CHECK-DAG: %[[R:.*]] = arith.constant 3 : index
// CHECK-DAG: %[[K:.*]] = tensor.dim %[[WM]], %c1
// CHECK: %[[OLD:.*]] = arith.remui %[[P]], %[[R]] : index
// CHECK: %[[HEAD:.*]] = arith.subi %[[R]], %[[OLD]] : index
// CHECK: %[[KEEP:.*]] = arith.minui %[[N]], %[[R]] : index
// CHECK: %[[SKIP:.*]] = arith.subi %[[N]], %[[KEEP]] : index
// CHECK: %[[POS:.*]] = arith.addi %[[P]], %[[SKIP]] : index
// CHECK: %[[SLOT:.*]] = arith.remui %[[POS]], %[[R]] : index
// CHECK: %[[ROOM:.*]] = arith.subi %[[R]], %[[SLOT]] : index
// CHECK: %[[FIRST:.*]] = arith.minui %[[KEEP]], %[[ROOM]] : index
// CHECK: %[[SECOND:.*]] = arith.addi %[[SKIP]], %[[FIRST]] : index
// CHECK: %[[REST:.*]] = arith.subi %[[KEEP]], %[[FIRST]] : index
// CHECK: %[[WB:.*]] = tfc.cast %[[WM]] : tensor<?x?xi64> -> tensor<?x?xi1>
// CHECK: %[[VALID:.*]] = tfc.reshape %[[WB]][%[[B]], %[[K]]] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
// CHECK: %[[C0:.*]] = bufferization.to_tensor %[[CACHE]] restrict writable
// CHECK: %[[V:.*]] = tfc.transpose
// CHECK: tfc.range %[[PAST]], %{{.*}}, %{{.*}} : tensor<i64>, tensor<i64> -> tensor<?xi64>
// CHECK: %[[Q:.*]] = tfc.rotary half
// CHECK: %[[MB:.*]] = tfc.cast %[[WM]] : tensor<?x?xi64> -> tensor<?x?xi1>
// CHECK: %[[PAD:.*]] = tfc.reshape %[[MB]][%{{.*}}, %[[K]]] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
// CHECK: %[[M:.*]] = tfc.binary and %[[VALID]], %[[PAD]] : tensor<?x1x1x?xi1>, tensor<?x1x1x?xi1> -> tensor<?x1x1x?xi1>
// The layer's part of the cache, read and written, then inserted back.
// CHECK: %[[L0:.*]] = tensor.extract_slice %[[C0]][0, 0, 0, 0, 0, 0] [1, 2, %{{.*}}, 2, 3, 4]
// CHECK: %[[K1:.*]] = tensor.extract_slice %[[L0]][0, 0, 0, 0, %[[OLD]], 0] [1, 1, %[[B]], 2, %[[HEAD]], 4]
// CHECK: %[[K2:.*]] = tensor.extract_slice %[[L0]][0, 0, 0, 0, 0, 0] [1, 1, %[[B]], 2, %[[OLD]], 4]
// CHECK: %[[KA:.*]] = tensor.concat dim(2) %[[K1]], %[[K2]], %[[Q]]
// CHECK: %[[V1:.*]] = tensor.extract_slice %[[L0]][0, 1, 0, 0, %[[OLD]], 0] [1, 1, %[[B]], 2, %[[HEAD]], 4]
// CHECK: %[[V2:.*]] = tensor.extract_slice %[[L0]][0, 1, 0, 0, 0, 0] [1, 1, %[[B]], 2, %[[OLD]], 4]
// CHECK: %[[VA:.*]] = tensor.concat dim(2) %[[V1]], %[[V2]], %[[V]]
// The attention before the ring writes: the kernel reads the concat's
// parts in place (tfcrt_attention_parts_f32), before the new rows land.
// CHECK: tfc.attention %[[Q]], %[[KA]], %[[VA]] mask %[[M]] : tensor<?x1x1x?xi1> {causal = true, scale = 5.000000e-01 : f64, window = 3 : i64}
// CHECK: %[[KN1:.*]] = tensor.extract_slice %[[Q]][0, 0, %[[SKIP]], 0] [%[[B]], 2, %[[FIRST]], 4]
// CHECK: %[[C1:.*]] = tensor.insert_slice %[[KN1]] into %[[L0]][0, 0, 0, 0, %[[SLOT]], 0] [1, 1, %[[B]], 2, %[[FIRST]], 4]
// CHECK: %[[KN2:.*]] = tensor.extract_slice %[[Q]][0, 0, %[[SECOND]], 0] [%[[B]], 2, %[[REST]], 4]
// CHECK: %[[C2:.*]] = tensor.insert_slice %[[KN2]] into %[[C1]][0, 0, 0, 0, 0, 0] [1, 1, %[[B]], 2, %[[REST]], 4]
// CHECK: %[[VN1:.*]] = tensor.extract_slice %[[V]][0, 0, %[[SKIP]], 0] [%[[B]], 2, %[[FIRST]], 4]
// CHECK: %[[C3:.*]] = tensor.insert_slice %[[VN1]] into %[[C2]][0, 1, 0, 0, %[[SLOT]], 0] [1, 1, %[[B]], 2, %[[FIRST]], 4]
// CHECK: %[[VN2:.*]] = tensor.extract_slice %[[V]][0, 0, %[[SECOND]], 0] [%[[B]], 2, %[[REST]], 4]
// CHECK: %[[C4:.*]] = tensor.insert_slice %[[VN2]] into %[[C3]][0, 1, 0, 0, 0, 0] [1, 1, %[[B]], 2, %[[REST]], 4]
// CHECK: %[[C5:.*]] = tensor.insert_slice %[[C4]] into %[[C0]][0, 0, 0, 0, 0, 0] [1, 2, %{{.*}}, 2, 3, 4]
// CHECK: bufferization.materialize_in_destination %[[C5]] in restrict writable %[[CACHE]]
// CHECK-NEXT: return
// Bufferized, the ring stays in the caller's buffer: the read copies the
// slots (subviews of the layer's subview of the cache argument; the layer's
// slice and its insertion back bufferize in place, no copy of it) into the
// [b, h, 3 + n, d] keys /
// values the attention reads, the writes copy the new rows into subviews
// of the cache argument, and nothing of the cache's type is allocated.
// BUF-LABEL: func.func @tfc_m_step(
// BUF-SAME: %[[CACHE:[a-z0-9]+]]: memref<1x2x?x2x3x4xf32>
// BUF-NOT: memref.alloc{{.*}} : memref<1x2x?x2x3x4xf32>
// BUF: %[[L:.*]] = memref.subview %[[CACHE]][0, 0, 0, 0, 0, 0] [1, 2, %{{.*}}, 2, 3, 4]
// BUF: %[[R1:.*]] = memref.subview %[[L]][0, 0, 0, 0, %{{.*}}, 0]
// BUF: %[[R2:.*]] = memref.subview %[[L]][0, 0, 0, 0, 0, 0]
// BUF: %[[KEYS:.*]] = memref.alloc(%{{.*}}, %{{.*}}) {{.*}} : memref<?x2x?x4xf32>
// BUF: memref.copy %[[R1]], %{{.*}}
// BUF: memref.copy %[[R2]], %{{.*}}
// BUF: %[[W1:.*]] = memref.subview %[[L]][0, 0, 0, 0, %{{.*}}, 0]
// BUF: memref.copy %{{.*}}, %[[W1]]
// BUF: %[[W2:.*]] = memref.subview %[[L]][0, 0, 0, 0, 0, 0]
// BUF: memref.copy %{{.*}}, %[[W2]]
// BUF-NOT: memref.alloc{{.*}} : memref<1x2x?x2x3x4xf32>
// BUF-NOT: memref.copy {{.*}} to memref<1x2x?x2x3x4xf32>
// BUF: return
// With the CPU kernels the attention reads the ring in place
// (tfcrt_attention_parts_f32): its key parts are an empty slice (no sink
// slots), the ring from its oldest slot, its first slots (subviews of the
// layer's subview of the cache argument) and the new rows; no buffer of
// the ring's rows exists and nothing is copied before the call; the new
// rows are copied into their slots after it.
// KERN-LABEL: func.func @tfc_m_step(
// KERN-SAME: %[[CACHE:[a-z0-9]+]]: memref<1x2x?x2x3x4xf32>
// KERN: %[[L:.*]] = memref.subview %[[CACHE]][0, 0, 0, 0, 0, 0] [1, 2, %{{.*}}, 2, 3, 4]
// KERN: %[[R1:.*]] = memref.subview %[[L]][0, 0, 0, 0, %{{.*}}, 0]
// KERN: %[[R2:.*]] = memref.subview %[[L]][0, 0, 0, 0, 0, 0]
// KERN-NOT: memref.copy
// KERN: %[[E:.*]] = memref.subview %[[R1]][0, 0, 0, 0] [%{{.*}}, 2, 0, 4]
// KERN-NOT: memref.copy
// KERN: %[[CE:.*]] = memref.cast %[[E]]
// KERN: %[[C1:.*]] = memref.cast %[[R1]]
// KERN: %[[C2:.*]] = memref.cast %[[R2]]
// KERN-NOT: memref.copy
// KERN: call @tfcrt_attention_parts_f32(%{{.*}}, %[[CE]], %[[C1]], %[[C2]], %{{.*}}
// KERN: %[[W1:.*]] = memref.subview %[[L]][0, 0, 0, 0, %{{.*}}, 0]
// KERN: memref.copy %{{.*}}, %[[W1]]
// KERN: return
// OPT-LABEL: func.func @tfc_m_main(
// OPT: tfc.attention {{.*}} {causal = true, scale = 5.000000e-01 : f64, window = 2 : i64}
// OPT-LABEL: func.func @tfc_m_step(
// OPT-SAME: memref<1x2x?x2x2x4xf32> {tfc.dims = ["1", "2", "batch", "2", "2", "4"], tfc.name = "cache"})
// OPT: tfc.attention {{.*}} {causal = true, scale = 5.000000e-01 : f64, window = 2 : i64}
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
  %v = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %pos = tfc.range %zero, %one, %n : tensor<i64>, tensor<i64> -> tensor<?xi64>
  %posf = tfc.cast %pos : tensor<?xi64> -> tensor<?xf32>
  %p4 = tfc.reshape %posf[%n] : tensor<?xf32> -> tensor<1x1x?x1xf32>
  %cos = tfc.unary cos %p4 : tensor<1x1x?x1xf32> -> tensor<1x1x?x1xf32>
  %sin = tfc.unary sin %p4 : tensor<1x1x?x1xf32> -> tensor<1x1x?x1xf32>
  %k = tfc.rotary half %v, %cos, %sin : tensor<?x2x?x4xf32>, tensor<1x1x?x1xf32>, tensor<1x1x?x1xf32> -> tensor<?x2x?x4xf32>
  %mb = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xi1>
  %m4 = tfc.reshape %mb[%b, %n] : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
  %a = tfc.attention %k, %k, %v mask %m4 : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64, window = 3 : i64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %h = tfc.reshape %at[%b, %n] : tensor<?x?x2x4xf32> -> tensor<?x?x8xf32>
  %l = tfc.linear %h, %head : tensor<?x?x8xf32>, tensor<8x16xf32> -> tensor<?x?x16xf32>
  return %l : tensor<?x?x16xf32>
}

// -----

// Grouped-query attention (4 query heads, 2 kv heads), two layers with
// windows of their own (2 and 4), and no attention_mask input: the ring
// has as many slots as the largest window (4; with the option window = 2,
// 2), and the step still takes window_mask, whose
// validity (empty slots before position 0) is then the whole mask.
// CHECK-LABEL: func.func @tfc_g_step(
// CHECK-SAME: %[[IDS:[a-z0-9]+]]: tensor<?x?xi64> {tfc.dims = ["batch", "seq"], tfc.name = "input_ids"},
// CHECK-SAME: %[[WM:[a-z0-9]+]]: tensor<?x?xi64> {tfc.dims = ["batch", "window_total"], tfc.name = "window_mask"},
// CHECK-SAME: %{{.*}}: tensor<i64> {tfc.dims = [], tfc.name = "past"},
// CHECK-SAME: %{{.*}}: memref<2x2x?x2x4x2xf32> {tfc.dims = ["2", "2", "batch", "2", "4", "2"], tfc.name = "cache"})
// CHECK: %[[WB:.*]] = tfc.cast %[[WM]] : tensor<?x?xi64> -> tensor<?x?xi1>
// CHECK: %[[VALID:.*]] = tfc.reshape %[[WB]]
// CHECK: tensor.concat dim(2)
// CHECK: tensor.concat dim(2)
// CHECK: tfc.attention {{.*}} mask %[[VALID]] : tensor<?x1x1x?xi1> {causal = true, scale = 0.69999999999999996 : f64, window = 2 : i64} : tensor<?x4x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x4x?x2xf32>
// CHECK: tensor.extract_slice {{.*}}[1, 0, 0, 0, 0, 0] [1, 2, %{{.*}}, 2, 4, 2]
// CHECK: tfc.attention {{.*}} mask %[[VALID]] : tensor<?x1x1x?xi1> {causal = true, scale = 0.69999999999999996 : f64, window = 4 : i64}
// CHECK: tensor.insert_slice {{.*}}[0, 0, 0, 0, %{{.*}}, 0]
// CHECK: tensor.insert_slice {{.*}}[1, 0, 0, 0, 0, 0] [1, 2, %{{.*}}, 2, 4, 2]
// OPT-LABEL: func.func @tfc_g_step(
// OPT-SAME: memref<2x2x?x2x2x2xf32>
// OPT: tfc.attention {{.*}} window = 2 : i64}
// OPT: tfc.attention {{.*}} window = 2 : i64}
func.func @tfc_g_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}) -> (tensor<?x?x8xf32> {tfc.name = "hidden", tfc.dims = ["batch", "seq", "8"]}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %wk = arith.constant dense<0.125> : tensor<8x4xf32>
  %wv = arith.constant dense<0.25> : tensor<8x4xf32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x0 = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %q0r = tfc.reshape %x0[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x4x2xf32>
  %q0 = tfc.transpose %q0r {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x2xf32> -> tensor<?x4x?x2xf32>
  %k0l = tfc.linear %x0, %wk : tensor<?x?x8xf32>, tensor<8x4xf32> -> tensor<?x?x4xf32>
  %k0r = tfc.reshape %k0l[%b, %n] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %k0 = tfc.transpose %k0r {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %v0l = tfc.linear %x0, %wv : tensor<?x?x8xf32>, tensor<8x4xf32> -> tensor<?x?x4xf32>
  %v0r = tfc.reshape %v0l[%b, %n] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %v0 = tfc.transpose %v0r {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %a0 = tfc.attention %q0, %k0, %v0 {causal = true, scale = 0.7 : f64, window = 2 : i64} : tensor<?x4x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x4x?x2xf32>
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
  %a1 = tfc.attention %q1, %k1, %v1 {causal = true, scale = 0.7 : f64, window = 4 : i64} : tensor<?x4x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x4x?x2xf32>
  %a1t = tfc.transpose %a1 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x4x?x2xf32> -> tensor<?x?x4x2xf32>
  %x2 = tfc.reshape %a1t[%b, %n] : tensor<?x?x4x2xf32> -> tensor<?x?x8xf32>
  return %x2 : tensor<?x?x8xf32>
}

// -----

// A float padding mask ((1 - m) * -1e4, [b, 1, 1, n]) on a causal op with
// a window of 4: it is recomputed for the 4 + n keys and the empty slots
// get -inf (select on the validity).
// CHECK-LABEL: func.func @tfc_f_step(
// CHECK-SAME: memref<1x2x?x2x4x4xf32>
// CHECK: %[[VALID:.*]] = tfc.reshape %{{.*}} : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
// CHECK: %[[PAD:.*]] = tfc.binary mul %{{.*}} : tensor<?x1x1x?xf32>, tensor<f32> -> tensor<?x1x1x?xf32>
// CHECK: %[[NINF:.*]] = arith.constant dense<0xFF800000> : tensor<f32>
// CHECK: %[[M:.*]] = tfc.select %[[VALID]], %[[PAD]], %[[NINF]] : tensor<?x1x1x?xi1>, tensor<?x1x1x?xf32>, tensor<f32> -> tensor<?x1x1x?xf32>
// CHECK: tfc.attention {{.*}} mask %[[M]] : tensor<?x1x1x?xf32> {causal = true, scale = 5.000000e-01 : f64, window = 4 : i64}
func.func @tfc_f_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids", tfc.dims = ["batch", "seq"]}, %mask: tensor<?x?xi64> {tfc.name = "attention_mask", tfc.dims = ["batch", "seq"]}) -> (tensor<?x2x?x4xf32> {tfc.name = "out", tfc.dims = ["batch", "2", "seq", "4"]}) attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %emb = arith.constant dense<0.5> : tensor<16x8xf32>
  %big = arith.constant dense<-10000.0> : tensor<f32>
  %onef = arith.constant dense<1.0> : tensor<f32>
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %n = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %x = tfc.embedding %emb[%ids] : tensor<16x8xf32>, tensor<?x?xi64> -> tensor<?x?x8xf32>
  %x4 = tfc.reshape %x[%b, %n] : tensor<?x?x8xf32> -> tensor<?x?x2x4xf32>
  %q = tfc.transpose %x4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %mf = tfc.cast %mask : tensor<?x?xi64> -> tensor<?x?xf32>
  %m4 = tfc.reshape %mf[%b, %n] : tensor<?x?xf32> -> tensor<?x1x1x?xf32>
  %inv = tfc.binary sub %onef, %m4 : tensor<f32>, tensor<?x1x1x?xf32> -> tensor<?x1x1x?xf32>
  %add = tfc.binary mul %inv, %big : tensor<?x1x1x?xf32>, tensor<f32> -> tensor<?x1x1x?xf32>
  %a = tfc.attention %q, %q, %q mask %add : tensor<?x1x1x?xf32> {causal = true, scale = 0.5 : f64, window = 4 : i64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// The dynamo form of kv-cache.mlir (causal = false, a float-min select of
// causal, window (4) and padding terms): the proven window sizes the ring;
// the residual i1 padding mask is recomputed from window_mask and and-ed
// with the validity.
// CHECK-LABEL: func.func @tfc_d_step(
// CHECK-SAME: %[[WM:[a-z0-9]+]]: tensor<?x?xi64> {tfc.dims = ["batch", "window_total"], tfc.name = "window_mask"}
// CHECK-SAME: memref<1x2x?x2x4x4xf32>
// CHECK: %[[VALID:.*]] = tfc.reshape %{{.*}} : tensor<?x?xi1> -> tensor<?x1x1x?xi1>
// CHECK: %[[MB:.*]] = tfc.cast %[[WM]] : tensor<?x?xi64> -> tensor<?x?xi1>
// CHECK: %[[PAD:.*]] = tfc.reshape %[[MB]]
// CHECK: %[[M:.*]] = tfc.binary and %[[VALID]], %[[PAD]]
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
