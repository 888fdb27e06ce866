// RUN: tfc-opt %s --tfc-gpu-attention-half-out | FileCheck %s

// tfc-gpu-attention-half-out: a module that already declares
// tfcrt_gpu_attention_bf16mma_hout with another signature keeps its call as
// it is (f32 result, rounding generic) and the declaration unchanged.

// CHECK: func.func private @tfcrt_gpu_attention_bf16mma_hout(i32)
// CHECK-LABEL: func.func @clash
// CHECK: memref.alloc() : memref<2x3x2x4xf32>
// CHECK: call @tfcrt_gpu_attention_bf16mma(
// CHECK-NOT: _hout(
// CHECK: arith.truncf
#map4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
!m4 = memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
!k4 = memref<?x?x?x?xi1, strided<[?, ?, ?, ?], offset: ?>>
!l2 = memref<?x?xi8, strided<[?, ?], offset: ?>>
module {
  func.func private @tfcrt_gpu_attention_bf16mma_hout(i32)
  func.func private @tfcrt_gpu_attention_bf16mma(!m4, !m4, !m4, !k4, !m4, !m4, f32, i64, i64, i64, i64, !l2, i64) attributes {llvm.emit_c_interface}
  func.func @clash(%q: !m4, %k: !m4, %v: !m4, %keep: !k4, %add: !m4, %l: !l2) -> tensor<2x3x2x4xbf16> {
    %s = arith.constant 0.125 : f32
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %a0 = memref.alloc() : memref<2x3x2x4xf32>
    %a = memref.cast %a0 : memref<2x3x2x4xf32> to !m4
    call @tfcrt_gpu_attention_bf16mma(%q, %k, %v, %keep, %add, %a, %s, %c1, %c0, %c0, %c0, %l, %c0) : (!m4, !m4, !m4, !k4, !m4, !m4, f32, i64, i64, i64, i64, !l2, i64) -> ()
    %t = bufferization.to_tensor %a0 restrict writable : memref<2x3x2x4xf32> to tensor<2x3x2x4xf32>
    %e = tensor.empty() : tensor<2x3x2x4xbf16>
    %h = linalg.generic {indexing_maps = [#map4, #map4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%t : tensor<2x3x2x4xf32>) outs(%e : tensor<2x3x2x4xbf16>) {
    ^bb0(%in: f32, %out: bf16):
      %r = arith.truncf %in : f32 to bf16
      linalg.yield %r : bf16
    } -> tensor<2x3x2x4xbf16>
    return %h : tensor<2x3x2x4xbf16>
  }
}
