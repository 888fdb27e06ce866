// RUN: tfc-opt %s -split-input-file -tfc-linalg-to-kernels | FileCheck %s

// A zero-filled matmul output becomes a call of the GEMM kernel with strided
// 3-D views (rank 2 gets a unit batch with stride 0).
// CHECK-LABEL: func @mm
// CHECK: linalg.fill
// CHECK: memref.reinterpret_cast {{.*}} to offset: [%{{.*}}], sizes: [1, %{{.*}}, %{{.*}}], strides: [0, %{{.*}}, %{{.*}}]
// CHECK: call @tfcrt_matmul_f32(
// CHECK-NOT: linalg.matmul
func.func @mm(%a: memref<?x64xf32>, %b: memref<64x32xf32>, %c: memref<?x32xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%c : memref<?x32xf32>)
  linalg.matmul ins(%a, %b : memref<?x64xf32>, memref<64x32xf32>) outs(%c : memref<?x32xf32>)
  return
}

// -----

// Through a copy of a shared zero buffer: the copy is dropped.
// CHECK-LABEL: func @via_copy
// CHECK-NOT: memref.copy
// CHECK: call @tfcrt_matmul_f32(
func.func @via_copy(%a: memref<?x?x8xf32>, %b: memref<?x8x4xf32>, %zeros: memref<?x?x4xf32>, %c: memref<?x?x4xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%zeros : memref<?x?x4xf32>)
  memref.copy %zeros, %c : memref<?x?x4xf32> to memref<?x?x4xf32>
  linalg.batch_matmul ins(%a, %b : memref<?x?x8xf32>, memref<?x8x4xf32>) outs(%c : memref<?x?x4xf32>)
  return
}

// -----

// Not zero-initialized: the kernel would drop the accumulation, so the
// matmul stays.
// CHECK-LABEL: func @accumulate
// CHECK: linalg.matmul
// CHECK-NOT: call @tfcrt_matmul_f32
func.func @accumulate(%a: memref<4x8xf32>, %b: memref<8x4xf32>, %c: memref<4x4xf32>) {
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x4xf32>) outs(%c : memref<4x4xf32>)
  return
}

// -----

// Something reads the output between the copy and the matmul: the copy must
// stay, so the matmul is not converted.
// CHECK-LABEL: func @read_between
// CHECK: memref.copy
// CHECK: linalg.matmul
func.func @read_between(%a: memref<4x8xf32>, %b: memref<8x4xf32>, %zeros: memref<4x4xf32>, %c: memref<4x4xf32>, %d: memref<4x4xf32>) {
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%zeros : memref<4x4xf32>)
  memref.copy %zeros, %c : memref<4x4xf32> to memref<4x4xf32>
  memref.copy %c, %d : memref<4x4xf32> to memref<4x4xf32>
  linalg.matmul ins(%a, %b : memref<4x8xf32>, memref<8x4xf32>) outs(%c : memref<4x4xf32>)
  return
}
