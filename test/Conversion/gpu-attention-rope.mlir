// tfc-cpu-kernels{gpu=... gpu-rope=true} (tfc --cuda-attention-rope, on by
// default with --kv-cache): in a KV-cache step whose cache argument is only a
// chain of, per layer, the new keys' rotary and the new values inserted at
// `past` and the attention of q's rotary over the cache, each attention is
// one tfcrt_gpu_attention_*_rope call over views of the cache argument (q and
// the new keys before their rotary, the new values, cos / sin and past
// appended) and the rotaries, the inserts, the slices and the
// materialization are gone. Anything else in the chain keeps every layer as
// it was.
// RUN: tfc-opt %s "--tfc-cpu-kernels=gpu=bf16 gpu-rope=true" | FileCheck %s
// RUN: tfc-opt %s "--tfc-cpu-kernels=gpu=f32 gpu-rope=true" | FileCheck %s --check-prefix=F32
// RUN: tfc-opt %s "--tfc-cpu-kernels=gpu=bf16" | FileCheck %s --check-prefix=OFF

// The entry takes the attention's 13 operands, then k_new, v_new, cos, sin
// and past (tfc_kernels.h).
// CHECK: func.func private @tfcrt_gpu_attention_bf16mma_rope({{.*}}memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>, memref<i64, strided<[], offset: ?>>)
// CHECK-LABEL: func.func @step
// CHECK-NOT: tfc.rotary
// CHECK-NOT: insert_slice
// The layer-0 keys' and values' views of the cache argument.
// CHECK: %[[K0:.*]] = memref.subview %arg3[0, 0, 0, 0, 0, 0] [1, 1, %{{.*}}, 2, %{{.*}}, 4] [1, 1, 1, 1, 1, 1] : memref<2x2x?x2x?x4xf32> to memref<?x2x?x4xf32, strided<[?, ?, 4, 1]>>
// CHECK: %[[V0:.*]] = memref.subview %arg3[0, 1, 0, 0, 0, 0]
// CHECK: %[[PAST:.*]] = bufferization.to_buffer %arg2 read_only : tensor<i64>
// CHECK: %[[PASTC:.*]] = memref.cast %[[PAST]]
// CHECK: call @tfcrt_gpu_attention_bf16mma_rope({{.*}}, %[[PASTC]])
// CHECK: memref.subview %arg3[1, 0, 0, 0, 0, 0]
// CHECK: memref.subview %arg3[1, 1, 0, 0, 0, 0]
// CHECK: call @tfcrt_gpu_attention_bf16mma_rope(
// CHECK-NOT: tfc.rotary
// CHECK-NOT: insert_slice
// CHECK-NOT: materialize_in_destination
// CHECK: return
// F32-LABEL: func.func @step
// F32-COUNT-2: call @tfcrt_gpu_attention_f32_rope(
// OFF-LABEL: func.func @step
// OFF-NOT: _rope
// OFF-COUNT-2: tensor.insert_slice
// OFF-COUNT-2: call @tfcrt_gpu_attention_bf16mma(
func.func @step(%x: tensor<?x?x2x4xf32>, %cos: tensor<1x1x?x4xf32>, %past: tensor<i64>, %arg3: memref<2x2x?x2x?x4xf32>, %mask: tensor<?x1x1x?xi1>) -> (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %pe = tensor.extract %past[] : tensor<i64>
  %p = arith.index_cast %pe : i64 to index
  %b = tensor.dim %x, %c0 : tensor<?x?x2x4xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x2x4xf32>
  %t = tensor.dim %mask, %c3 : tensor<?x1x1x?xi1>
  %c = bufferization.to_tensor %arg3 restrict writable : memref<2x2x?x2x?x4xf32> to tensor<2x2x?x2x?x4xf32>
  %xt = tfc.transpose %x {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  // Layer 0.
  %q0 = tfc.rotary half %xt, %cos, %cos : tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<?x2x?x4xf32>
  %k0 = tfc.rotary half %xt, %cos, %cos : tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<?x2x?x4xf32>
  %i0 = tensor.insert_slice %k0 into %c[0, 0, 0, 0, %p, 0] [1, 1, %b, 2, %s, 4] [1, 1, 1, 1, 1, 1] : tensor<?x2x?x4xf32> into tensor<2x2x?x2x?x4xf32>
  %j0 = tensor.insert_slice %xt into %i0[0, 1, 0, 0, %p, 0] [1, 1, %b, 2, %s, 4] [1, 1, 1, 1, 1, 1] : tensor<?x2x?x4xf32> into tensor<2x2x?x2x?x4xf32>
  %ek0 = tensor.extract_slice %j0[0, 0, 0, 0, 0, 0] [1, 1, %b, 2, %t, 4] [1, 1, 1, 1, 1, 1] : tensor<2x2x?x2x?x4xf32> to tensor<?x2x?x4xf32>
  %ev0 = tensor.extract_slice %j0[0, 1, 0, 0, 0, 0] [1, 1, %b, 2, %t, 4] [1, 1, 1, 1, 1, 1] : tensor<2x2x?x2x?x4xf32> to tensor<?x2x?x4xf32>
  %a0 = tfc.attention %q0, %ek0, %ev0 mask %mask : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  // Layer 1.
  %q1 = tfc.rotary half %a0, %cos, %cos : tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<?x2x?x4xf32>
  %k1 = tfc.rotary half %a0, %cos, %cos : tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<?x2x?x4xf32>
  %i1 = tensor.insert_slice %k1 into %j0[1, 0, 0, 0, %p, 0] [1, 1, %b, 2, %s, 4] [1, 1, 1, 1, 1, 1] : tensor<?x2x?x4xf32> into tensor<2x2x?x2x?x4xf32>
  %j1 = tensor.insert_slice %a0 into %i1[1, 1, 0, 0, %p, 0] [1, 1, %b, 2, %s, 4] [1, 1, 1, 1, 1, 1] : tensor<?x2x?x4xf32> into tensor<2x2x?x2x?x4xf32>
  %ek1 = tensor.extract_slice %j1[1, 0, 0, 0, 0, 0] [1, 1, %b, 2, %t, 4] [1, 1, 1, 1, 1, 1] : tensor<2x2x?x2x?x4xf32> to tensor<?x2x?x4xf32>
  %ev1 = tensor.extract_slice %j1[1, 1, 0, 0, 0, 0] [1, 1, %b, 2, %t, 4] [1, 1, 1, 1, 1, 1] : tensor<2x2x?x2x?x4xf32> to tensor<?x2x?x4xf32>
  %a1 = tfc.attention %q1, %ek1, %ev1 mask %mask : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  bufferization.materialize_in_destination %j1 in restrict writable %arg3 : (tensor<2x2x?x2x?x4xf32>, memref<2x2x?x2x?x4xf32>) -> ()
  return %a0, %a1 : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>
}

// The second layer's keys are rotated in pairs (interleaved): no layer is
// fused, the chain stays whole.
// CHECK-LABEL: func.func @interleaved
// CHECK-NOT: _rope
// CHECK-COUNT-2: tensor.insert_slice
// CHECK: call @tfcrt_gpu_attention_bf16mma(
// CHECK: call @tfcrt_gpu_attention_bf16mma(
// CHECK: materialize_in_destination
func.func @interleaved(%x: tensor<?x?x2x4xf32>, %cos: tensor<1x1x?x4xf32>, %past: tensor<i64>, %arg3: memref<2x2x?x2x?x4xf32>, %mask: tensor<?x1x1x?xi1>) -> (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %pe = tensor.extract %past[] : tensor<i64>
  %p = arith.index_cast %pe : i64 to index
  %b = tensor.dim %x, %c0 : tensor<?x?x2x4xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x2x4xf32>
  %t = tensor.dim %mask, %c3 : tensor<?x1x1x?xi1>
  %c = bufferization.to_tensor %arg3 restrict writable : memref<2x2x?x2x?x4xf32> to tensor<2x2x?x2x?x4xf32>
  %xt = tfc.transpose %x {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %q0 = tfc.rotary half %xt, %cos, %cos : tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<?x2x?x4xf32>
  %k0 = tfc.rotary half %xt, %cos, %cos : tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<?x2x?x4xf32>
  %i0 = tensor.insert_slice %k0 into %c[0, 0, 0, 0, %p, 0] [1, 1, %b, 2, %s, 4] [1, 1, 1, 1, 1, 1] : tensor<?x2x?x4xf32> into tensor<2x2x?x2x?x4xf32>
  %j0 = tensor.insert_slice %xt into %i0[0, 1, 0, 0, %p, 0] [1, 1, %b, 2, %s, 4] [1, 1, 1, 1, 1, 1] : tensor<?x2x?x4xf32> into tensor<2x2x?x2x?x4xf32>
  %ek0 = tensor.extract_slice %j0[0, 0, 0, 0, 0, 0] [1, 1, %b, 2, %t, 4] [1, 1, 1, 1, 1, 1] : tensor<2x2x?x2x?x4xf32> to tensor<?x2x?x4xf32>
  %ev0 = tensor.extract_slice %j0[0, 1, 0, 0, 0, 0] [1, 1, %b, 2, %t, 4] [1, 1, 1, 1, 1, 1] : tensor<2x2x?x2x?x4xf32> to tensor<?x2x?x4xf32>
  %a0 = tfc.attention %q0, %ek0, %ev0 mask %mask : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %q1 = tfc.rotary half %a0, %cos, %cos : tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<?x2x?x4xf32>
  %k1 = tfc.rotary interleaved %a0, %cos, %cos : tensor<?x2x?x4xf32>, tensor<1x1x?x4xf32>, tensor<1x1x?x4xf32> -> tensor<?x2x?x4xf32>
  %i1 = tensor.insert_slice %k1 into %j0[1, 0, 0, 0, %p, 0] [1, 1, %b, 2, %s, 4] [1, 1, 1, 1, 1, 1] : tensor<?x2x?x4xf32> into tensor<2x2x?x2x?x4xf32>
  %j1 = tensor.insert_slice %a0 into %i1[1, 1, 0, 0, %p, 0] [1, 1, %b, 2, %s, 4] [1, 1, 1, 1, 1, 1] : tensor<?x2x?x4xf32> into tensor<2x2x?x2x?x4xf32>
  %ek1 = tensor.extract_slice %j1[1, 0, 0, 0, 0, 0] [1, 1, %b, 2, %t, 4] [1, 1, 1, 1, 1, 1] : tensor<2x2x?x2x?x4xf32> to tensor<?x2x?x4xf32>
  %ev1 = tensor.extract_slice %j1[1, 1, 0, 0, 0, 0] [1, 1, %b, 2, %t, 4] [1, 1, 1, 1, 1, 1] : tensor<2x2x?x2x?x4xf32> to tensor<?x2x?x4xf32>
  %a1 = tfc.attention %q1, %ek1, %ev1 mask %mask : tensor<?x1x1x?xi1> {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  bufferization.materialize_in_destination %j1 in restrict writable %arg3 : (tensor<2x2x?x2x?x4xf32>, memref<2x2x?x2x?x4xf32>) -> ()
  return %a0, %a1 : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>
}
