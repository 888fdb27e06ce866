// RUN: tfc-opt %s -tfc-kv-cache -tfc-to-linalg -canonicalize -cse -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -canonicalize -cse | FileCheck %s

// The step entry updates the caller's cache in place: after one-shot
// bufferization the new K/V rows are copied into subviews of the cache
// argument, the attention reads a subview of it, and no buffer of the
// cache's type is allocated or copied back (the tfc.kv_cache contract: no
// per-step cache allocation).
// CHECK-LABEL: func.func @tfc_m_step(
// CHECK-SAME: %[[CACHE:[a-z0-9]+]]: memref<1x2x?x2x?x4xf32>
// CHECK-NOT: memref.alloc{{.*}} : memref<1x2x?x2x?x4xf32>
// CHECK: %[[K:.*]] = memref.subview %[[CACHE]][0, 0, 0, 0, %{{.*}}, 0] [1, 1, %{{.*}}, 2, %{{.*}}, 4]
// CHECK: memref.copy %{{.*}}, %[[K]]
// CHECK: %[[V:.*]] = memref.subview %[[CACHE]][0, 1, 0, 0, %{{.*}}, 0] [1, 1, %{{.*}}, 2, %{{.*}}, 4]
// CHECK: memref.copy %{{.*}}, %[[V]]
// CHECK: memref.subview %[[CACHE]][0, 0, 0, 0, 0, 0]
// CHECK: memref.subview %[[CACHE]][0, 1, 0, 0, 0, 0]
// CHECK-NOT: memref.alloc{{.*}} : memref<1x2x?x2x?x4xf32>
// CHECK-NOT: memref.copy {{.*}} to memref<1x2x?x2x?x4xf32>
// CHECK: return
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
