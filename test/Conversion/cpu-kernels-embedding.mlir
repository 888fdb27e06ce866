// tfc-cpu-kernels lowers tfc.embedding with an f32 table and ids of rank 1
// or 2 to tfcrt_embedding_f32 (rows copied whole; the same negative-id and
// clamping rule as the reference gather of tfc-to-linalg). The ids are read
// in place through a strided view (never collapsed: position ids are a slice
// of a constant); narrower ids are sign-extended to i64 first; rank 1 goes
// as [1, n]. Other element types, and embedding=false, keep the reference.
// RUN: tfc-opt %s --tfc-cpu-kernels | FileCheck %s
// RUN: tfc-opt %s "--tfc-cpu-kernels=embedding=false" | FileCheck %s --check-prefix=OFF

// CHECK: func.func private @tfcrt_embedding_f32(memref<?x?xi64, strided<[?, ?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @ids_2d
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}, %{{.*}}) : memref<?x?x384xf32>
// CHECK: bufferization.to_buffer %arg1 read_only
// CHECK: call @tfcrt_embedding_f32(
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<?x?x384xf32> to tensor<?x?x384xf32>
// CHECK-NOT: tfc.embedding
// CHECK: return %[[Y]]
// OFF-LABEL: func.func @ids_2d
// OFF: tfc.embedding
// OFF-NOT: call
func.func @ids_2d(%t: tensor<1000x384xf32>, %ids: tensor<?x?xi64>) -> tensor<?x?x384xf32> {
  %y = tfc.embedding %t[%ids] : tensor<1000x384xf32>, tensor<?x?xi64> -> tensor<?x?x384xf32>
  return %y : tensor<?x?x384xf32>
}

// i32 ids of rank 1: widened by a generic (arith.extsi), viewed as [1, n],
// the [1, n, d] result collapsed back to [n, d].
// CHECK-LABEL: func.func @ids_1d_i32
// CHECK: linalg.generic
// CHECK: arith.extsi %{{.*}} : i32 to i64
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0, 1]] output_shape [1, 7] : tensor<7xi64> into tensor<1x7xi64>
// CHECK: call @tfcrt_embedding_f32(
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<1x7x16xf32> into tensor<7x16xf32>
func.func @ids_1d_i32(%t: tensor<50x16xf32>, %ids: tensor<7xi32>) -> tensor<7x16xf32> {
  %y = tfc.embedding %t[%ids] : tensor<50x16xf32>, tensor<7xi32> -> tensor<7x16xf32>
  return %y : tensor<7x16xf32>
}

// Not taken: an f16 table, rank-3 ids.
// CHECK-LABEL: func.func @kept
// CHECK: tfc.embedding %arg0
// CHECK: tfc.embedding %arg2
// CHECK-NOT: call @tfcrt_embedding_f32
func.func @kept(%t: tensor<50x16xf16>, %ids: tensor<2x3xi64>, %t2: tensor<50x16xf32>, %ids3: tensor<2x3x4xi64>) -> (tensor<2x3x16xf16>, tensor<2x3x4x16xf32>) {
  %a = tfc.embedding %t[%ids] : tensor<50x16xf16>, tensor<2x3xi64> -> tensor<2x3x16xf16>
  %b = tfc.embedding %t2[%ids3] : tensor<50x16xf32>, tensor<2x3x4xi64> -> tensor<2x3x4x16xf32>
  return %a, %b : tensor<2x3x16xf16>, tensor<2x3x4x16xf32>
}
