// RUN: tfc-opt %s -split-input-file -tfc-raise-rotary | FileCheck %s

// The LLaMA export: x * cos + concat(-x[..., 4:], x[..., :4]) * sin.
// CHECK-LABEL: func @rotary
// CHECK-SAME: (%[[X:.*]]: tensor<?x8x?x8xf32>, %[[C:.*]]: tensor<1x1x?x8xf32>, %[[S:.*]]: tensor<1x1x?x8xf32>
// CHECK: %[[R:.*]] = tfc.rotary half %[[X]], %[[C]], %[[S]] : tensor<?x8x?x8xf32>, tensor<1x1x?x8xf32>, tensor<1x1x?x8xf32> -> tensor<?x8x?x8xf32>
// CHECK-NOT: tensor.concat
// CHECK: return %[[R]]
func.func @rotary(%x: tensor<?x8x?x8xf32>, %cos: tensor<1x1x?x8xf32>, %sin: tensor<1x1x?x8xf32>) -> tensor<?x8x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %b = tensor.dim %x, %c0 : tensor<?x8x?x8xf32>
  %s = tensor.dim %x, %c2 : tensor<?x8x?x8xf32>
  %0 = tfc.binary mul %x, %cos : tensor<?x8x?x8xf32>, tensor<1x1x?x8xf32> -> tensor<?x8x?x8xf32>
  %lo = tensor.extract_slice %x[0, 0, 0, 0] [%b, 8, %s, 4] [1, 1, 1, 1] : tensor<?x8x?x8xf32> to tensor<?x8x?x4xf32>
  %hi = tensor.extract_slice %x[0, 0, 0, 4] [%b, 8, %s, 4] [1, 1, 1, 1] : tensor<?x8x?x8xf32> to tensor<?x8x?x4xf32>
  %n = tfc.unary neg %hi : tensor<?x8x?x4xf32> -> tensor<?x8x?x4xf32>
  %r = tensor.concat dim(3) %n, %lo : (tensor<?x8x?x4xf32>, tensor<?x8x?x4xf32>) -> tensor<?x8x?x8xf32>
  %1 = tfc.binary mul %r, %sin : tensor<?x8x?x8xf32>, tensor<1x1x?x8xf32> -> tensor<?x8x?x8xf32>
  %2 = tfc.binary add %0, %1 : tensor<?x8x?x8xf32>, tensor<?x8x?x8xf32> -> tensor<?x8x?x8xf32>
  return %2 : tensor<?x8x?x8xf32>
}

// -----

// Operands of the add and of both products swapped; static shapes; cos/sin
// as [s, d] tables.
// CHECK-LABEL: func @rotary_swapped
// CHECK: tfc.rotary half %arg0, %arg1, %arg2 : tensor<2x4x16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32> -> tensor<2x4x16x8xf32>
func.func @rotary_swapped(%x: tensor<2x4x16x8xf32>, %cos: tensor<16x8xf32>, %sin: tensor<16x8xf32>) -> tensor<2x4x16x8xf32> {
  %0 = tfc.binary mul %cos, %x : tensor<16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  %lo = tensor.extract_slice %x[0, 0, 0, 0] [2, 4, 16, 4] [1, 1, 1, 1] : tensor<2x4x16x8xf32> to tensor<2x4x16x4xf32>
  %hi = tensor.extract_slice %x[0, 0, 0, 4] [2, 4, 16, 4] [1, 1, 1, 1] : tensor<2x4x16x8xf32> to tensor<2x4x16x4xf32>
  %n = tfc.unary neg %hi : tensor<2x4x16x4xf32> -> tensor<2x4x16x4xf32>
  %r = tensor.concat dim(3) %n, %lo : (tensor<2x4x16x4xf32>, tensor<2x4x16x4xf32>) -> tensor<2x4x16x8xf32>
  %1 = tfc.binary mul %sin, %r : tensor<16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  %2 = tfc.binary add %1, %0 : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %2 : tensor<2x4x16x8xf32>
}

// -----

// Negative: halves swapped (concat(-x1, x2) is not rotate_half).
// CHECK-LABEL: func @halves_swapped
// CHECK-NOT: tfc.rotary
func.func @halves_swapped(%x: tensor<2x4x16x8xf32>, %cos: tensor<16x8xf32>, %sin: tensor<16x8xf32>) -> tensor<2x4x16x8xf32> {
  %0 = tfc.binary mul %x, %cos : tensor<2x4x16x8xf32>, tensor<16x8xf32> -> tensor<2x4x16x8xf32>
  %lo = tensor.extract_slice %x[0, 0, 0, 0] [2, 4, 16, 4] [1, 1, 1, 1] : tensor<2x4x16x8xf32> to tensor<2x4x16x4xf32>
  %hi = tensor.extract_slice %x[0, 0, 0, 4] [2, 4, 16, 4] [1, 1, 1, 1] : tensor<2x4x16x8xf32> to tensor<2x4x16x4xf32>
  %n = tfc.unary neg %lo : tensor<2x4x16x4xf32> -> tensor<2x4x16x4xf32>
  %r = tensor.concat dim(3) %n, %hi : (tensor<2x4x16x4xf32>, tensor<2x4x16x4xf32>) -> tensor<2x4x16x8xf32>
  %1 = tfc.binary mul %r, %sin : tensor<2x4x16x8xf32>, tensor<16x8xf32> -> tensor<2x4x16x8xf32>
  %2 = tfc.binary add %0, %1 : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %2 : tensor<2x4x16x8xf32>
}

// -----

// Negative: the slices are of another tensor than the cos product; cos
// varies per head.
// CHECK-LABEL: func @not_rotary
// CHECK-NOT: tfc.rotary
func.func @not_rotary(%x: tensor<2x4x16x8xf32>, %y: tensor<2x4x16x8xf32>, %cos: tensor<16x8xf32>, %sin: tensor<16x8xf32>, %hc: tensor<1x4x16x8xf32>) -> (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) {
  %0 = tfc.binary mul %y, %cos : tensor<2x4x16x8xf32>, tensor<16x8xf32> -> tensor<2x4x16x8xf32>
  %lo = tensor.extract_slice %x[0, 0, 0, 0] [2, 4, 16, 4] [1, 1, 1, 1] : tensor<2x4x16x8xf32> to tensor<2x4x16x4xf32>
  %hi = tensor.extract_slice %x[0, 0, 0, 4] [2, 4, 16, 4] [1, 1, 1, 1] : tensor<2x4x16x8xf32> to tensor<2x4x16x4xf32>
  %n = tfc.unary neg %hi : tensor<2x4x16x4xf32> -> tensor<2x4x16x4xf32>
  %r = tensor.concat dim(3) %n, %lo : (tensor<2x4x16x4xf32>, tensor<2x4x16x4xf32>) -> tensor<2x4x16x8xf32>
  %1 = tfc.binary mul %r, %sin : tensor<2x4x16x8xf32>, tensor<16x8xf32> -> tensor<2x4x16x8xf32>
  %2 = tfc.binary add %0, %1 : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  %6 = tfc.binary mul %x, %hc : tensor<2x4x16x8xf32>, tensor<1x4x16x8xf32> -> tensor<2x4x16x8xf32>
  %7 = tfc.binary mul %r, %hc : tensor<2x4x16x8xf32>, tensor<1x4x16x8xf32> -> tensor<2x4x16x8xf32>
  %8 = tfc.binary add %6, %7 : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %2, %8 : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
}

// -----

// Negative: with dynamic dims, slices whose sequence size is not provably
// the whole of x (%n is not x's dim 2).
// CHECK-LABEL: func @partial_slices
// CHECK-NOT: tfc.rotary
func.func @partial_slices(%x: tensor<?x4x?x8xf32>, %cos: tensor<1x1x?x8xf32>, %n: index) -> tensor<?x4x?x8xf32> {
  %c0 = arith.constant 0 : index
  %b = tensor.dim %x, %c0 : tensor<?x4x?x8xf32>
  %0 = tfc.binary mul %x, %cos : tensor<?x4x?x8xf32>, tensor<1x1x?x8xf32> -> tensor<?x4x?x8xf32>
  %lo = tensor.extract_slice %x[0, 0, 0, 0] [%b, 4, %n, 4] [1, 1, 1, 1] : tensor<?x4x?x8xf32> to tensor<?x4x?x4xf32>
  %hi = tensor.extract_slice %x[0, 0, 0, 4] [%b, 4, %n, 4] [1, 1, 1, 1] : tensor<?x4x?x8xf32> to tensor<?x4x?x4xf32>
  %neg = tfc.unary neg %hi : tensor<?x4x?x4xf32> -> tensor<?x4x?x4xf32>
  %r = tensor.concat dim(3) %neg, %lo : (tensor<?x4x?x4xf32>, tensor<?x4x?x4xf32>) -> tensor<?x4x?x8xf32>
  %1 = tfc.binary mul %r, %cos : tensor<?x4x?x8xf32>, tensor<1x1x?x8xf32> -> tensor<?x4x?x8xf32>
  %2 = tfc.binary add %0, %1 : tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32> -> tensor<?x4x?x8xf32>
  return %2 : tensor<?x4x?x8xf32>
}
