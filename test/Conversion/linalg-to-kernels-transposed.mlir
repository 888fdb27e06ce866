// RUN: tfc-opt %s -tfc-to-linalg -canonicalize -cse -one-shot-bufferize="bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map" -canonicalize -cse -buffer-deallocation-pipeline -canonicalize -tfc-linalg-to-kernels | FileCheck %s

// A tied lm head (tfc.linear with transpose_weight on the embedding table):
// the GEMM kernel reads the constant through a transposed strided view; the
// transposed copy (and its buffer) that the reference lowering makes on
// every run is gone.
// CHECK-LABEL: func.func @tied(
// CHECK: %[[W:.*]] = memref.get_global @{{.*}} : memref<16x8xf32>
// CHECK-NOT: linalg.transpose
// CHECK: %[[T:.*]] = memref.transpose %[[W]] (d0, d1) -> (d1, d0) : memref<16x8xf32> to memref<8x16xf32, strided<[1, 8]>>
// CHECK: memref.extract_strided_metadata %[[T]]
// CHECK: call @tfcrt_matmul_f32(
// CHECK-NOT: memref.alloc() {{.*}} : memref<8x16xf32>
// CHECK: return
func.func @tied(%x: tensor<?x8xf32>) -> tensor<?x16xf32> {
  %w = arith.constant dense<0.5> : tensor<16x8xf32>
  %y = tfc.linear %x, %w {transpose_weight = true} : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}

// A transposed weight that is not a constant keeps its copy.
// CHECK-LABEL: func.func @not_constant(
// CHECK: linalg.transpose
// CHECK: call @tfcrt_matmul_f32(
func.func @not_constant(%x: tensor<?x8xf32>, %w: tensor<16x8xf32>) -> tensor<?x16xf32> {
  %y = tfc.linear %x, %w {transpose_weight = true} : tensor<?x8xf32>, tensor<16x8xf32> -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
