// RUN: tfc-opt %s --tfc-linalg-to-kernels=target=cuda | FileCheck %s
// RUN: not tfc-opt %s --tfc-linalg-to-kernels=target=tpu 2>&1 | FileCheck %s --check-prefix=BAD

// With target=cuda, matmuls become cuBLASLt calls of the runtime, one per
// element type (f32, f16, bf16), on rank-3 strided views.
// CHECK-DAG: func.func private @tfcrt_gpu_matmul_f32(memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, {{.*}}) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @tfcrt_gpu_matmul_f16(
// CHECK-DAG: func.func private @tfcrt_gpu_matmul_bf16(
// The zero fill is dead on the GPU (cuBLASLt overwrites C) and dropped; it
// stays where something else reads the zeros before the matmul.
// CHECK-LABEL: func.func @f32
// CHECK-NOT:     linalg.fill
// CHECK:         call @tfcrt_gpu_matmul_f32
// CHECK-NOT:     linalg.matmul
func.func @f32(%a: memref<?x8xf32>, %b: memref<8x16xf32>, %c: memref<?x16xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%c : memref<?x16xf32>)
  linalg.matmul ins(%a, %b : memref<?x8xf32>, memref<8x16xf32>) outs(%c : memref<?x16xf32>)
  return
}
// CHECK-LABEL: func.func @f16
// CHECK:         call @tfcrt_gpu_matmul_f16
func.func @f16(%a: memref<2x?x8xf16>, %b: memref<2x8x?xf16>, %c: memref<2x?x?xf16>) {
  %z = arith.constant 0.0 : f16
  linalg.fill ins(%z : f16) outs(%c : memref<2x?x?xf16>)
  linalg.batch_matmul ins(%a, %b : memref<2x?x8xf16>, memref<2x8x?xf16>) outs(%c : memref<2x?x?xf16>)
  return
}
// CHECK-LABEL: func.func @bf16
// CHECK:         call @tfcrt_gpu_matmul_bf16
func.func @bf16(%a: memref<4x8xbf16>, %b: memref<8x16xbf16>, %c: memref<4x16xbf16>) {
  %z = arith.constant 0.0 : bf16
  linalg.fill ins(%z : bf16) outs(%c : memref<4x16xbf16>)
  linalg.matmul ins(%a, %b : memref<4x8xbf16>, memref<8x16xbf16>) outs(%c : memref<4x16xbf16>)
  return
}
// CHECK-LABEL: func.func @zeros_read
// CHECK:         linalg.fill
// CHECK:         memref.copy
// CHECK:         call @tfcrt_gpu_matmul_f32
func.func @zeros_read(%a: memref<4x8xf32>, %b: memref<8x16xf32>, %c: memref<4x16xf32>, %d: memref<4x16xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%c : memref<4x16xf32>)
  memref.copy %c, %d : memref<4x16xf32> to memref<4x16xf32>
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%c : memref<4x16xf32>)
  return
}
// Mixed types and accumulation without a zero init stay linalg.
// CHECK-LABEL: func.func @mixed
// CHECK:         linalg.matmul
func.func @mixed(%a: memref<4x8xf16>, %b: memref<8x16xf16>, %c: memref<4x16xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%c : memref<4x16xf32>)
  linalg.matmul ins(%a, %b : memref<4x8xf16>, memref<8x16xf16>) outs(%c : memref<4x16xf32>)
  return
}
// BAD: tfc-linalg-to-kernels: unknown target 'tpu' (expected cpu or cuda)
