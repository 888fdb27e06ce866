// RUN: tfc-opt %s -split-input-file -tfc-raise-linear | FileCheck %s

// CHECK-LABEL: func @matmul_const
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<64x32xf32>
// CHECK: %[[Y:.*]] = tfc.linear %[[X]], %[[W]] : tensor<?x?x64xf32>, tensor<64x32xf32> -> tensor<?x?x32xf32>
// CHECK-NOT: tfc.matmul
// CHECK: return %[[Y]]
func.func @matmul_const(%x: tensor<?x?x64xf32>) -> tensor<?x?x32xf32> {
  %w = arith.constant dense<0.5> : tensor<64x32xf32>
  %0 = tfc.matmul %x, %w : tensor<?x?x64xf32>, tensor<64x32xf32> -> tensor<?x?x32xf32>
  return %0 : tensor<?x?x32xf32>
}

// -----

// Bias after the product (TorchScript order) and before it (dynamo order).
// CHECK-LABEL: func @bias_both_orders
// CHECK-DAG: %[[B:.*]] = arith.constant dense<1.000000e+00> : tensor<32xf32>
// CHECK-DAG: %[[W:.*]] = arith.constant dense<5.000000e-01> : tensor<64x32xf32>
// CHECK: %[[A:.*]] = tfc.linear %arg0, %[[W]] bias %[[B]] : tensor<32xf32>
// CHECK: %[[C:.*]] = tfc.linear %arg0, %[[W]] bias %[[B]] : tensor<32xf32>
// CHECK-NOT: tfc.binary
// CHECK: return %[[A]], %[[C]]
func.func @bias_both_orders(%x: tensor<?x?x64xf32>) -> (tensor<?x?x32xf32>, tensor<?x?x32xf32>) {
  %w = arith.constant dense<0.5> : tensor<64x32xf32>
  %b = arith.constant dense<1.0> : tensor<32xf32>
  %0 = tfc.matmul %x, %w : tensor<?x?x64xf32>, tensor<64x32xf32> -> tensor<?x?x32xf32>
  %1 = tfc.binary add %0, %b : tensor<?x?x32xf32>, tensor<32xf32> -> tensor<?x?x32xf32>
  %2 = tfc.matmul %x, %w : tensor<?x?x64xf32>, tensor<64x32xf32> -> tensor<?x?x32xf32>
  %3 = tfc.binary add %b, %2 : tensor<32xf32>, tensor<?x?x32xf32> -> tensor<?x?x32xf32>
  return %1, %3 : tensor<?x?x32xf32>, tensor<?x?x32xf32>
}

// -----

// A transposed constant (tied embedding / lm head) is kept as is, with
// transpose_weight, so the table is not duplicated.
// CHECK-LABEL: func @transposed_weight
// CHECK: %[[T:.*]] = arith.constant dense<{{.*}}> : tensor<512x64xf32>
// CHECK: tfc.linear %arg0, %[[T]] {transpose_weight = true} : tensor<?x?x64xf32>, tensor<512x64xf32> -> tensor<?x?x512xf32>
// CHECK-NOT: tfc.transpose
func.func @transposed_weight(%x: tensor<?x?x64xf32>) -> tensor<?x?x512xf32> {
  %t = arith.constant dense<0.25> : tensor<512x64xf32>
  %w = tfc.transpose %t {perm = array<i64: 1, 0>} : tensor<512x64xf32> -> tensor<64x512xf32>
  %0 = tfc.matmul %x, %w : tensor<?x?x64xf32>, tensor<64x512xf32> -> tensor<?x?x512xf32>
  return %0 : tensor<?x?x512xf32>
}

// -----

// CHECK-LABEL: func @embedding
// CHECK: %[[T:.*]] = arith.constant dense<{{.*}}> : tensor<100x16xf32>
// CHECK: tfc.embedding %[[T]][%arg0] : tensor<100x16xf32>, tensor<?x?xi64> -> tensor<?x?x16xf32>
// CHECK-NOT: tfc.gather
func.func @embedding(%ids: tensor<?x?xi64>) -> tensor<?x?x16xf32> {
  %t = arith.constant dense<0.25> : tensor<100x16xf32>
  %0 = tfc.gather %t[%ids] {axis = 0 : i64} : tensor<100x16xf32>, tensor<?x?xi64> -> tensor<?x?x16xf32>
  return %0 : tensor<?x?x16xf32>
}

// -----

// Negative: the weight is an argument, not a constant.
// CHECK-LABEL: func @weight_not_constant
// CHECK: tfc.matmul
// CHECK-NOT: tfc.linear
func.func @weight_not_constant(%x: tensor<?x?x64xf32>, %w: tensor<64x32xf32>) -> tensor<?x?x32xf32> {
  %0 = tfc.matmul %x, %w : tensor<?x?x64xf32>, tensor<64x32xf32> -> tensor<?x?x32xf32>
  return %0 : tensor<?x?x32xf32>
}

// -----

// Negative: a batched (3-D) constant weight is not a linear layer, and a
// bias that is not 1-D [n] stays an add.
// CHECK-LABEL: func @batched_weight_and_2d_bias
// CHECK: tfc.matmul %arg0, %{{.*}} : tensor<4x?x64xf32>, tensor<4x64x32xf32>
// CHECK: %[[L:.*]] = tfc.linear %arg1
// CHECK: tfc.binary add %[[L]]
func.func @batched_weight_and_2d_bias(%x: tensor<4x?x64xf32>, %y: tensor<?x64xf32>) -> (tensor<4x?x32xf32>, tensor<?x32xf32>) {
  %w3 = arith.constant dense<0.5> : tensor<4x64x32xf32>
  %0 = tfc.matmul %x, %w3 : tensor<4x?x64xf32>, tensor<4x64x32xf32> -> tensor<4x?x32xf32>
  %w = arith.constant dense<0.5> : tensor<64x32xf32>
  %b = arith.constant dense<1.0> : tensor<8x32xf32>
  %1 = tfc.matmul %y, %w : tensor<?x64xf32>, tensor<64x32xf32> -> tensor<?x32xf32>
  %2 = tfc.binary add %1, %b : tensor<?x32xf32>, tensor<8x32xf32> -> tensor<?x32xf32>
  return %0, %2 : tensor<4x?x32xf32>, tensor<?x32xf32>
}

// -----

// Negative: a gather on axis 1, or from a non-constant table, stays a gather.
// CHECK-LABEL: func @gather_not_embedding
// CHECK: tfc.gather {{.*}} {axis = 1 : i64}
// CHECK: tfc.gather %arg1
// CHECK-NOT: tfc.embedding
func.func @gather_not_embedding(%ids: tensor<?xi64>, %t2: tensor<100x16xf32>) -> (tensor<100x?xf32>, tensor<?x16xf32>) {
  %t = arith.constant dense<0.25> : tensor<100x16xf32>
  %0 = tfc.gather %t[%ids] {axis = 1 : i64} : tensor<100x16xf32>, tensor<?xi64> -> tensor<100x?xf32>
  %1 = tfc.gather %t2[%ids] {axis = 0 : i64} : tensor<100x16xf32>, tensor<?xi64> -> tensor<?x16xf32>
  return %0, %1 : tensor<100x?xf32>, tensor<?x16xf32>
}
