// The int8 sparse-encoding choice of tfc-cpu-kernels (docs/DESIGN.md
// "Sparse encodings and kernels"): a symmetric weight-only 8-bit tfc.qlinear
// whose codes are mostly 0 (pruned, then quantized) is packed
// sparse-mask-w8 from about 64 % zero codes on; below, dense w8 with the
// break-even in the remark; an asymmetric (zero point) or int8 x int8
// weight stays dense and says why.
// RUN: tfc-opt %s --tfc-cpu-kernels 2>&1 >/dev/null | FileCheck %s
// RUN: tfc-opt %s --tfc-cpu-kernels 2>/dev/null | FileCheck %s --check-prefix=IR
// RUN: tfc-opt %s "--tfc-cpu-kernels=sparse=off" 2>&1 >/dev/null | FileCheck %s --check-prefix=OFF --allow-empty
// RUN: tfc-opt %s "--tfc-cpu-kernels=sparse=force" 2>&1 >/dev/null | FileCheck %s --check-prefix=FORCE

// 78 % zero codes (25 of 32).
// CHECK: remark: weight [8, 4]: sparse-mask-w8: sparsity 78% of the codes, predicted decode {{[0-9.]+}}x (AVX-512) / {{[0-9.]+}}x (AVX2), prefill 0.94x against dense w8, {{[0-9]+}}% of the dense w8 bytes
// IR-LABEL: func.func @sparse75
// IR: dense_resource<packed_sparsemaskw8_
// OFF-NOT: sparse-mask-w8
func.func @sparse75(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %q = arith.constant dense<[[10, 0, 0, 0], [0, 0, 0, -3], [0, 7, 0, 0], [0, 0, 0, 0],
                             [0, 0, 127, 0], [-127, 0, 0, 0], [0, 0, 0, 5], [0, 1, 0, 0]]> : tensor<8x4xi8>
  %s = arith.constant dense<[[0.5, 0.25, 0.125, 1.0]]> : tensor<1x4xf32>
  %y = tfc.qlinear %x, %q, %s {activation = #tfc.qact<block32>, bits = 8 : i64, group = 0 : i64, unsigned_codes = false} : tensor<?x8xf32>, tensor<8x4xi8>, tensor<1x4xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// 50 % zero codes: below the break-even, dense w8.
// CHECK: remark: weight [8, 4]: dense w8: sparsity 50% of the codes below the 64% break-even (predicted decode
// IR-LABEL: func.func @sparse50
// IR: dense_resource<packed_w8_
// FORCE: remark: weight [8, 4]: sparse-mask-w8: forced (sparsity 50%
func.func @sparse50(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %q = arith.constant dense<[[10, 0, 2, 0], [0, 4, 0, -3], [1, 7, 0, 0], [0, 3, 0, 8],
                             [0, 0, 127, 1], [-127, 0, 9, 0], [0, 2, 0, 5], [6, 1, 0, 0]]> : tensor<8x4xi8>
  %s = arith.constant dense<[[0.5, 0.25, 0.125, 1.0]]> : tensor<1x4xf32>
  %y = tfc.qlinear %x, %q, %s {activation = #tfc.qact<none>, bits = 8 : i64, group = 0 : i64, unsigned_codes = false} : tensor<?x8xf32>, tensor<8x4xi8>, tensor<1x4xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// int8 x int8 (row activations): no sparse form.
// CHECK: remark: weight [8, 4]: dense s8 (int8 x int8): zero weights 78%, but int8 x int8 has no sparse format
func.func @s8(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %q = arith.constant dense<[[10, 0, 0, 0], [0, 0, 0, -3], [0, 7, 0, 0], [0, 0, 0, 0],
                             [0, 0, 127, 0], [-127, 0, 0, 0], [0, 0, 0, 5], [0, 1, 0, 0]]> : tensor<8x4xi8>
  %s = arith.constant dense<[[0.5, 0.25, 0.125, 1.0]]> : tensor<1x4xf32>
  %y = tfc.qlinear %x, %q, %s {activation = #tfc.qact<row>, bits = 8 : i64, group = 0 : i64, unsigned_codes = false} : tensor<?x8xf32>, tensor<8x4xi8>, tensor<1x4xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
