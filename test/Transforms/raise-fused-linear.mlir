// RUN: tfc-opt %s -split-input-file -tfc-raise-linear | FileCheck %s

// A fused qkv projection sliced three ways on the last dim: one linear per
// slice over its weight columns and bias entries.
// CHECK-LABEL: func @fused_qkv
// CHECK-DAG: %[[WQ:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00], [6.000000e+00, 7.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[WK:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 3.000000e+00, 4.000000e+00], [8.000000e+00, 9.000000e+00, 1.000000e+01]]> : tensor<2x3xf32>
// CHECK-DAG: %[[BQ:.*]] = arith.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[BK:.*]] = arith.constant dense<[3.000000e+00, 4.000000e+00, 5.000000e+00]> : tensor<3xf32>
// CHECK-DAG: %[[WV:.*]] = arith.constant dense<{{\[}}[5.000000e+00], [1.100000e+01]]> : tensor<2x1xf32>
// CHECK: %[[Q:.*]] = tfc.linear %arg0, %[[WQ]] bias %[[BQ]] : tensor<2xf32> : tensor<?x4x2xf32>, tensor<2x2xf32> -> tensor<?x4x2xf32>
// CHECK: %[[K:.*]] = tfc.linear %arg0, %[[WK]] bias %[[BK]] : tensor<3xf32> : tensor<?x4x2xf32>, tensor<2x3xf32> -> tensor<?x4x3xf32>
// CHECK: %[[V:.*]] = tfc.linear %arg0, %[[WV]] bias %{{.*}} : tensor<1xf32> : tensor<?x4x2xf32>, tensor<2x1xf32> -> tensor<?x4x1xf32>
// CHECK-NOT: extract_slice
// CHECK: return %[[Q]], %[[K]], %[[V]]
func.func @fused_qkv(%x: tensor<?x4x2xf32>) -> (tensor<?x4x2xf32>, tensor<?x4x3xf32>, tensor<?x4x1xf32>) {
  %c0 = arith.constant 0 : index
  %w = arith.constant dense<[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0], [6.0, 7.0, 8.0, 9.0, 10.0, 11.0]]> : tensor<2x6xf32>
  %b = arith.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]> : tensor<6xf32>
  %0 = tfc.matmul %x, %w : tensor<?x4x2xf32>, tensor<2x6xf32> -> tensor<?x4x6xf32>
  %1 = tfc.binary add %0, %b : tensor<?x4x6xf32>, tensor<6xf32> -> tensor<?x4x6xf32>
  %d = tensor.dim %x, %c0 : tensor<?x4x2xf32>
  %q = tensor.extract_slice %1[0, 0, 0] [%d, 4, 2] [1, 1, 1] : tensor<?x4x6xf32> to tensor<?x4x2xf32>
  %k = tensor.extract_slice %1[0, 0, 2] [%d, 4, 3] [1, 1, 1] : tensor<?x4x6xf32> to tensor<?x4x3xf32>
  %v = tensor.extract_slice %1[0, 0, 5] [%d, 4, 1] [1, 1, 1] : tensor<?x4x6xf32> to tensor<?x4x1xf32>
  return %q, %k, %v : tensor<?x4x2xf32>, tensor<?x4x3xf32>, tensor<?x4x1xf32>
}

// -----

// A transposed weight ([n, k], tied-embedding style) is sliced by rows.
// CHECK-LABEL: func @fused_transposed
// CHECK: tfc.linear %arg0, %{{.*}} {transpose_weight = true} : tensor<3x2xf32>, tensor<1x2xf32> -> tensor<3x1xf32>
// CHECK: tfc.linear %arg0, %{{.*}} {transpose_weight = true} : tensor<3x2xf32>, tensor<2x2xf32> -> tensor<3x2xf32>
func.func @fused_transposed(%x: tensor<3x2xf32>) -> (tensor<3x1xf32>, tensor<3x2xf32>) {
  %w = arith.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %0 = tfc.linear %x, %w {transpose_weight = true} : tensor<3x2xf32>, tensor<3x2xf32> -> tensor<3x3xf32>
  %a = tensor.extract_slice %0[0, 0] [3, 1] [1, 1] : tensor<3x3xf32> to tensor<3x1xf32>
  %b = tensor.extract_slice %0[0, 1] [3, 2] [1, 1] : tensor<3x3xf32> to tensor<3x2xf32>
  return %a, %b : tensor<3x1xf32>, tensor<3x2xf32>
}

// -----

// Left alone: the product has another use, a slice of a non-last dim, or a
// strided slice.
// CHECK-LABEL: func @not_fused
// CHECK: tfc.linear %arg0, %{{.*}} : tensor<4x2xf32>, tensor<2x6xf32> -> tensor<4x6xf32>
// CHECK: tensor.extract_slice
// CHECK: tfc.linear %arg0, %{{.*}} : tensor<4x2xf32>, tensor<2x6xf32> -> tensor<4x6xf32>
// CHECK: tensor.extract_slice
// CHECK: tfc.linear %arg0, %{{.*}} : tensor<4x2xf32>, tensor<2x6xf32> -> tensor<4x6xf32>
// CHECK: tensor.extract_slice
func.func @not_fused(%x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<4x6xf32>, tensor<2x6xf32>, tensor<4x3xf32>) {
  %w = arith.constant dense<1.0> : tensor<2x6xf32>
  %0 = tfc.linear %x, %w : tensor<4x2xf32>, tensor<2x6xf32> -> tensor<4x6xf32>
  %a = tensor.extract_slice %0[0, 0] [4, 2] [1, 1] : tensor<4x6xf32> to tensor<4x2xf32>
  %1 = tfc.linear %x, %w : tensor<4x2xf32>, tensor<2x6xf32> -> tensor<4x6xf32>
  %b = tensor.extract_slice %1[1, 0] [2, 6] [1, 1] : tensor<4x6xf32> to tensor<2x6xf32>
  %2 = tfc.linear %x, %w : tensor<4x2xf32>, tensor<2x6xf32> -> tensor<4x6xf32>
  %c = tensor.extract_slice %2[0, 0] [4, 3] [1, 2] : tensor<4x6xf32> to tensor<4x3xf32>
  return %a, %0, %b, %c : tensor<4x2xf32>, tensor<4x6xf32>, tensor<2x6xf32>, tensor<4x3xf32>
}
