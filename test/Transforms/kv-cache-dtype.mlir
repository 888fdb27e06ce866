// RUN: tfc-opt %s -tfc-kv-cache="kv-dtype=int8" | FileCheck %s
// RUN: tfc-opt %s -tfc-kv-cache="kv-dtype=f16 window=2 evict=true" | FileCheck %s --check-prefix=F16
// RUN: tfc-opt %s -tfc-kv-cache="kv-dtype=int8" -tfc-cpu-kernels -tfc-to-linalg -canonicalize -cse -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -canonicalize -cse | FileCheck %s --check-prefix=BUF
// RUN: not tfc-opt %s -tfc-kv-cache="kv-dtype=int4" 2>&1 | FileCheck %s --check-prefix=BAD

// A quantized KV cache (tfc --kv-dtype; docs/DESIGN.md "KV cache", "Cache
// dtype"). int8: the step's cache argument holds i8 codes and a second
// argument cache_scales one f32 scale per (layer, K/V, batch, kv head,
// position); the new rows are tfc.dynamic_quantize per_row (symmetric,
// max|x| / 127 per head and token), codes and scales written at
// [past, past + n), and the attention reads tfc.dequantize of the codes and
// scales of [0, T). Main reads its K/V through the same round trip.
// CHECK-LABEL: func.func @tfc_m_main(
// CHECK: %[[MQ:.*]], %[[MS:.*]], %{{.*}} = tfc.dynamic_quantize %[[MK:.*]] {per_row = true} : tensor<?x2x?x4xf32> -> tensor<?x2x?x4xi8>, tensor<?x2x?x1xf32>, tensor<?x2x?x1xi8>
// CHECK: %[[MKD:.*]] = tfc.dequantize %[[MQ]], %[[MS]] {bits = 8 : i64, group = 0 : i64, group_axis = 0 : i64, unsigned_codes = false}
// CHECK: %[[MVQ:.*]], %[[MVS:.*]], %{{.*}} = tfc.dynamic_quantize %[[MV:.*]] {per_row = true}
// CHECK: %[[MVD:.*]] = tfc.dequantize %[[MVQ]], %[[MVS]]
// CHECK: tfc.attention %[[MK]], %[[MKD]], %[[MVD]] mask
// CHECK-LABEL: func.func @tfc_m_step(
// CHECK-SAME: %[[PAST:[a-z0-9]+]]: tensor<i64> {tfc.dims = [], tfc.name = "past"},
// CHECK-SAME: %[[CACHE:[a-z0-9]+]]: memref<1x2x?x2x?x4xi8> {tfc.dims = ["1", "2", "batch", "2", "max_len", "4"], tfc.name = "cache"},
// CHECK-SAME: %[[SC:[a-z0-9]+]]: memref<1x2x?x2x?x1xf32> {tfc.dims = ["1", "2", "batch", "2", "max_len", "1"], tfc.name = "cache_scales"})
// CHECK: %[[C0:.*]] = bufferization.to_tensor %[[CACHE]] restrict writable
// CHECK: %[[S0:.*]] = bufferization.to_tensor %[[SC]] restrict writable
// CHECK: %[[K:.*]] = tfc.rotary half
// CHECK: %[[KQ:.*]], %[[KS:.*]], %{{.*}} = tfc.dynamic_quantize %[[K]] {per_row = true}
// CHECK: %[[VQ:.*]], %[[VS:.*]], %{{.*}} = tfc.dynamic_quantize %{{.*}} {per_row = true}
// CHECK: %[[C1:.*]] = tensor.insert_slice %[[KQ]] into %[[C0]][0, 0, 0, 0, %[[P:.*]], 0] [1, 1, %[[B:.*]], 2, %[[N:.*]], 4]
// CHECK: %[[S1:.*]] = tensor.insert_slice %[[KS]] into %[[S0]][0, 0, 0, 0, %[[P]], 0] [1, 1, %[[B]], 2, %[[N]], 1]
// CHECK: %[[C2:.*]] = tensor.insert_slice %[[VQ]] into %[[C1]][0, 1, 0, 0, %[[P]], 0]
// CHECK: %[[S2:.*]] = tensor.insert_slice %[[VS]] into %[[S1]][0, 1, 0, 0, %[[P]], 0]
// CHECK: %[[KA:.*]] = tensor.extract_slice %[[C2]][0, 0, 0, 0, 0, 0] [1, 1, %[[B]], 2, %[[T:.*]], 4] {{.*}} to tensor<?x2x?x4xi8>
// CHECK: %[[KSA:.*]] = tensor.extract_slice %[[S2]][0, 0, 0, 0, 0, 0] [1, 1, %[[B]], 2, %[[T]], 1] {{.*}} to tensor<?x2x?x1xf32>
// CHECK: %[[VA:.*]] = tensor.extract_slice %[[C2]][0, 1, 0, 0, 0, 0]
// CHECK: %[[VSA:.*]] = tensor.extract_slice %[[S2]][0, 1, 0, 0, 0, 0]
// CHECK: %[[KD:.*]] = tfc.dequantize %[[KA]], %[[KSA]] {bits = 8 : i64, group = 0 : i64, group_axis = 0 : i64, unsigned_codes = false} : tensor<?x2x?x4xi8>, tensor<?x2x?x1xf32> -> tensor<?x2x?x4xf32>
// CHECK: %[[VD:.*]] = tfc.dequantize %[[VA]], %[[VSA]]
// CHECK: tfc.attention %[[K]], %[[KD]], %[[VD]] mask
// CHECK: bufferization.materialize_in_destination %[[C2]] in restrict writable %[[CACHE]]
// CHECK-NEXT: bufferization.materialize_in_destination %[[S2]] in restrict writable %[[SC]]
// CHECK-NEXT: return

// f16 with a ring (evict): casts to f16 before the concat of ring reads and
// new rows, back to f32 for the attention, the ring writes after it; no
// scales argument.
// F16-LABEL: func.func @tfc_m_main(
// F16: %[[H:.*]] = tfc.cast %{{.*}} : tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf16>
// F16: tfc.cast %[[H]] : tensor<?x2x?x4xf16> -> tensor<?x2x?x4xf32>
// F16-LABEL: func.func @tfc_m_step(
// F16-SAME: memref<1x2x?x2x2x4xf16> {tfc.dims = ["1", "2", "batch", "2", "2", "4"], tfc.name = "cache"})
// F16-NOT: cache_scales
// F16: %[[NK:.*]] = tfc.cast %{{.*}} : tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf16>
// F16: %[[CK:.*]] = tensor.concat dim(2) %{{.*}}, %{{.*}}, %[[NK]] : (tensor<?x2x?x4xf16>, tensor<?x2x?x4xf16>, tensor<?x2x?x4xf16>) -> tensor<?x2x?x4xf16>
// F16: %[[KF:.*]] = tfc.cast %[[CK]] : tensor<?x2x?x4xf16> -> tensor<?x2x?x4xf32>
// F16: tfc.attention %{{.*}}, %[[KF]], %{{.*}} {causal = true, scale = 5.000000e-01 : f64, window = 2 : i64}
// F16: tensor.insert_slice %{{.*}} into %{{.*}} : tensor<?x2x?x4xf16> into tensor<1x2x?x2x2x4xf16>

// With the CPU kernels and bufferized: the int8 attention entry reads
// subviews of the caller's codes and scales (no f32 copy of the cache, no
// cache-sized buffer).
// BUF-LABEL: func.func @tfc_m_step(
// BUF-SAME: %[[CACHE:[a-z0-9]+]]: memref<1x2x?x2x?x4xi8>
// BUF-SAME: %[[SC:[a-z0-9]+]]: memref<1x2x?x2x?x1xf32>
// BUF-NOT: memref.alloc({{.*}}) {{.*}} : memref<1x2x
// BUF: %[[KA:.*]] = memref.subview %[[CACHE]][0, 0, 0, 0, 0, 0]
// BUF: %[[KS:.*]] = memref.subview %[[SC]][0, 0, 0, 0, 0, 0]
// BUF: %[[VA:.*]] = memref.subview %[[CACHE]][0, 1, 0, 0, 0, 0]
// BUF: %[[VS:.*]] = memref.subview %[[SC]][0, 1, 0, 0, 0, 0]
// BUF-NOT: linalg.generic
// BUF: %[[KAC:.*]] = memref.cast %[[KA]]
// BUF: %[[KSC:.*]] = memref.cast %[[KS]]
// BUF: %[[VAC:.*]] = memref.cast %[[VA]]
// BUF: %[[VSC:.*]] = memref.cast %[[VS]]
// BUF: call @tfcrt_attention_kv_i8(%{{.*}}, %[[KAC]], %[[KSC]], %[[VAC]], %[[VSC]],

// BAD: error: tfc-kv-cache: kv-dtype 'int4' is not one of f32, f16, int8
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
