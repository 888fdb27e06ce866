// RUN: tfc-opt %s --tfc-gpu-attention-half-out | FileCheck %s

// tfc-gpu-attention-half-out (tfc --cuda-attention-half-out, on by default in
// CUDA half builds): a half attention call whose f32 result (a fresh buffer,
// written through a transposed view) is read only by a truncf generic,
// through reshapes and tensor.dim, becomes the _hout call into a buffer of
// that half type with the same views; the generic goes, the reshapes and
// dims read the half result.

#map = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
!m4 = memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
!k4 = memref<?x?x?x?xi1, strided<[?, ?, ?, ?], offset: ?>>
!l2 = memref<?x?xi8, strided<[?, ?], offset: ?>>
module {
  func.func private @tfcrt_gpu_attention_bf16mma(!m4, !m4, !m4, !k4, !m4, !m4, f32, i64, i64, i64, i64, !l2, i64) attributes {llvm.emit_c_interface}
  func.func private @tfcrt_gpu_attention_f16mma(!m4, !m4, !m4, !k4, !m4, !m4, f32, i64, i64, i64, i64, !l2, i64) attributes {llvm.emit_c_interface}

  // CHECK-LABEL: func.func @rounded
  // CHECK: %[[A:.*]] = memref.alloc(%{{.*}}) : memref<?x3x2x4xbf16>
  // CHECK: %[[C:.*]] = memref.cast %[[A]] : memref<?x3x2x4xbf16> to memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
  // CHECK: %[[T:.*]] = memref.transpose %[[C]] (d0, d1, d2, d3) -> (d0, d2, d1, d3)
  // CHECK: call @tfcrt_gpu_attention_bf16mma_hout(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[T]],
  // CHECK: %[[R:.*]] = bufferization.to_tensor %[[A]] restrict writable : memref<?x3x2x4xbf16> to tensor<?x3x2x4xbf16>
  // CHECK: %[[F:.*]] = tensor.collapse_shape %[[R]] {{\[\[}}0], [1], [2, 3]] : tensor<?x3x2x4xbf16> into tensor<?x3x8xbf16>
  // CHECK: tensor.dim %[[F]], %{{.*}} : tensor<?x3x8xbf16>
  // CHECK-NOT: linalg.generic
  // CHECK-NOT: arith.truncf
  // CHECK: return %[[F]] : tensor<?x3x8xbf16>
  func.func @rounded(%q: !m4, %k: !m4, %v: !m4, %keep: !k4, %add: !m4, %l: !l2, %n: index) -> tensor<?x3x8xbf16> {
    %s = arith.constant 0.125 : f32
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %i0 = arith.constant 0 : index
    %a = memref.alloc(%n) : memref<?x3x2x4xf32>
    %ac = memref.cast %a : memref<?x3x2x4xf32> to !m4
    %at = memref.transpose %ac (d0, d1, d2, d3) -> (d0, d2, d1, d3) : !m4 to !m4
    call @tfcrt_gpu_attention_bf16mma(%q, %k, %v, %keep, %add, %at, %s, %c1, %c0, %c0, %c0, %l, %c0) : (!m4, !m4, !m4, !k4, !m4, !m4, f32, i64, i64, i64, i64, !l2, i64) -> ()
    %t = bufferization.to_tensor %a restrict writable : memref<?x3x2x4xf32> to tensor<?x3x2x4xf32>
    %f = tensor.collapse_shape %t [[0], [1], [2, 3]] : tensor<?x3x2x4xf32> into tensor<?x3x8xf32>
    %d = tensor.dim %f, %i0 : tensor<?x3x8xf32>
    %e = tensor.empty(%d) : tensor<?x3x8xbf16>
    %h = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%f : tensor<?x3x8xf32>) outs(%e : tensor<?x3x8xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %r = arith.truncf %in : f32 to bf16
      linalg.yield %r : bf16
    } -> tensor<?x3x8xbf16>
    return %h : tensor<?x3x8xbf16>
  }

  // The f32 result read by something else too (here: returned): unchanged.
  // CHECK-LABEL: func.func @also_f32
  // CHECK: memref.alloc(%{{.*}}) : memref<?x3x2x4xf32>
  // CHECK: call @tfcrt_gpu_attention_bf16mma(
  // CHECK: arith.truncf
  func.func @also_f32(%q: !m4, %k: !m4, %v: !m4, %keep: !k4, %add: !m4, %l: !l2, %n: index) -> (tensor<?x3x8xbf16>, tensor<?x3x8xf32>) {
    %s = arith.constant 0.125 : f32
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %a = memref.alloc(%n) : memref<?x3x2x4xf32>
    %ac = memref.cast %a : memref<?x3x2x4xf32> to !m4
    call @tfcrt_gpu_attention_bf16mma(%q, %k, %v, %keep, %add, %ac, %s, %c1, %c0, %c0, %c0, %l, %c0) : (!m4, !m4, !m4, !k4, !m4, !m4, f32, i64, i64, i64, i64, !l2, i64) -> ()
    %t = bufferization.to_tensor %a restrict writable : memref<?x3x2x4xf32> to tensor<?x3x2x4xf32>
    %f = tensor.collapse_shape %t [[0], [1], [2, 3]] : tensor<?x3x2x4xf32> into tensor<?x3x8xf32>
    %e = tensor.empty(%n) : tensor<?x3x8xbf16>
    %h = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%f : tensor<?x3x8xf32>) outs(%e : tensor<?x3x8xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %r = arith.truncf %in : f32 to bf16
      linalg.yield %r : bf16
    } -> tensor<?x3x8xbf16>
    return %h, %f : tensor<?x3x8xbf16>, tensor<?x3x8xf32>
  }

  // The buffer passed without views, and also as another operand (here
  // mask_add): only the result could be replaced, so unchanged.
  // CHECK-LABEL: func.func @also_operand
  // CHECK: call @tfcrt_gpu_attention_bf16mma(
  // CHECK: arith.truncf
  func.func @also_operand(%q: !m4, %k: !m4, %v: !m4, %keep: !k4, %l: !l2) -> tensor<2x3x2x4xbf16> {
    %s = arith.constant 0.125 : f32
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %a0 = memref.alloc() : memref<2x3x2x4xf32>
    %a = memref.cast %a0 : memref<2x3x2x4xf32> to !m4
    call @tfcrt_gpu_attention_bf16mma(%q, %k, %v, %keep, %a, %a, %s, %c1, %c0, %c0, %c0, %l, %c0) : (!m4, !m4, !m4, !k4, !m4, !m4, f32, i64, i64, i64, i64, !l2, i64) -> ()
    %t = bufferization.to_tensor %a0 restrict writable : memref<2x3x2x4xf32> to tensor<2x3x2x4xf32>
    %e = tensor.empty() : tensor<2x3x2x4xbf16>
    %h = linalg.generic {indexing_maps = [#map4, #map4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%t : tensor<2x3x2x4xf32>) outs(%e : tensor<2x3x2x4xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %r = arith.truncf %in : f32 to bf16
      linalg.yield %r : bf16
    } -> tensor<2x3x2x4xbf16>
    return %h : tensor<2x3x2x4xbf16>
  }

  // A rounding generic whose result type is not its input's shape (a
  // static dim for a dynamic one): unchanged.
  // CHECK-LABEL: func.func @static_result
  // CHECK: call @tfcrt_gpu_attention_bf16mma(
  // CHECK: arith.truncf
  func.func @static_result(%q: !m4, %k: !m4, %v: !m4, %keep: !k4, %add: !m4, %l: !l2, %n: index) -> tensor<5x3x8xbf16> {
    %s = arith.constant 0.125 : f32
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %a = memref.alloc(%n) : memref<?x3x2x4xf32>
    %ac = memref.cast %a : memref<?x3x2x4xf32> to !m4
    call @tfcrt_gpu_attention_bf16mma(%q, %k, %v, %keep, %add, %ac, %s, %c1, %c0, %c0, %c0, %l, %c0) : (!m4, !m4, !m4, !k4, !m4, !m4, f32, i64, i64, i64, i64, !l2, i64) -> ()
    %t = bufferization.to_tensor %a restrict writable : memref<?x3x2x4xf32> to tensor<?x3x2x4xf32>
    %f = tensor.collapse_shape %t [[0], [1], [2, 3]] : tensor<?x3x2x4xf32> into tensor<?x3x8xf32>
    %e = tensor.empty() : tensor<5x3x8xbf16>
    %h = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%f : tensor<?x3x8xf32>) outs(%e : tensor<5x3x8xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %r = arith.truncf %in : f32 to bf16
      linalg.yield %r : bf16
    } -> tensor<5x3x8xbf16>
    return %h : tensor<5x3x8xbf16>
  }

  // An f16 call rounded to bf16 (not its own half type): unchanged.
  // CHECK-LABEL: func.func @other_half
  // CHECK: call @tfcrt_gpu_attention_f16mma(
  // CHECK: arith.truncf %{{.*}} : f32 to bf16
  // The callee is declared once, with the half out.
  // CHECK: func.func private @tfcrt_gpu_attention_bf16mma_hout(
  // CHECK-SAME: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>, f32
  // CHECK-SAME: llvm.emit_c_interface
  // CHECK-NOT: _hout
  func.func @other_half(%q: !m4, %k: !m4, %v: !m4, %keep: !k4, %add: !m4, %l: !l2, %n: index) -> tensor<?x3x8xbf16> {
    %s = arith.constant 0.125 : f32
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %a = memref.alloc(%n) : memref<?x3x2x4xf32>
    %ac = memref.cast %a : memref<?x3x2x4xf32> to !m4
    call @tfcrt_gpu_attention_f16mma(%q, %k, %v, %keep, %add, %ac, %s, %c1, %c0, %c0, %c0, %l, %c0) : (!m4, !m4, !m4, !k4, !m4, !m4, f32, i64, i64, i64, i64, !l2, i64) -> ()
    %t = bufferization.to_tensor %a restrict writable : memref<?x3x2x4xf32> to tensor<?x3x2x4xf32>
    %f = tensor.collapse_shape %t [[0], [1], [2, 3]] : tensor<?x3x2x4xf32> into tensor<?x3x8xf32>
    %e = tensor.empty(%n) : tensor<?x3x8xbf16>
    %h = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel"]} ins(%f : tensor<?x3x8xf32>) outs(%e : tensor<?x3x8xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %r = arith.truncf %in : f32 to bf16
      linalg.yield %r : bf16
    } -> tensor<?x3x8xbf16>
    return %h : tensor<?x3x8xbf16>
  }
}
