// The sparse-encoding choice of tfc-cpu-kernels (docs/DESIGN.md "Sparse
// encodings and kernels"): per constant f32 weight, its zeros and N:M
// pattern decide the packed format, and a remark says which and why.
// RUN: tfc-opt %s --tfc-cpu-kernels 2>&1 >/dev/null | FileCheck %s --check-prefix=AUTO
// RUN: tfc-opt %s --tfc-cpu-kernels 2>/dev/null | FileCheck %s --check-prefix=IR
// RUN: tfc-opt %s "--tfc-cpu-kernels=sparse=off" 2>&1 >/dev/null | FileCheck %s --check-prefix=OFF --allow-empty
// RUN: tfc-opt %s "--tfc-cpu-kernels=sparse=force" 2>&1 >/dev/null | FileCheck %s --check-prefix=FORCE
// RUN: not tfc-opt %s "--tfc-cpu-kernels=sparse=maybe" 2>&1 | FileCheck %s --check-prefix=BAD

// 75 % zeros, not 2:4 (column 0 has 3 nonzeros in k rows 0-3).
// AUTO: remark: weight [8, 4]: sparse-mask: sparsity 75%, 4:8 along k, predicted decode {{[0-9.]+}}x (AVX-512) / {{[0-9.]+}}x (AVX2), prefill {{[0-9.]+}}x, {{[0-9]+}}% of the dense bytes
// FORCE: remark: weight [8, 4]: sparse-mask: forced (sparsity 75%, 4:8 along k
func.func @unstructured(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [2.0, 0.0, 0.0, 0.0],
                             [3.0, 0.0, 0.0, 5.0], [0.0, 0.0, 0.0, 0.0],
                             [0.0, 0.0, 6.0, 0.0], [0.0, 7.0, 0.0, 0.0],
                             [0.0, 0.0, 8.0, 0.0], [0.0, 0.0, 0.0, 9.0]]> : tensor<8x4xf32>
  %y = tfc.linear %x, %w : tensor<?x8xf32>, tensor<8x4xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// Exactly 2 nonzeros in every column's groups of 4 k: 2:4.
// AUTO: remark: weight [8, 4]: sparse-2:4: sparsity 50%, 2:4 along k, predicted decode 1.54x (AVX-512) / 1.69x (AVX2), prefill 0.88x, 53% of the dense bytes
func.func @two_four(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<[[1.0, 0.0, 1.5, 0.0], [2.0, 3.0, 0.0, 0.0],
                             [0.0, 4.0, 0.0, 5.0], [0.0, 0.0, 6.0, 7.0],
                             [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 2.0, 2.0],
                             [3.0, 0.0, 3.0, 0.0], [0.0, 4.0, 0.0, 4.0]]> : tensor<8x4xf32>
  %y = tfc.linear %x, %w : tensor<?x8xf32>, tensor<8x4xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// 19 % zeros: dense, with the break-even in the remark.
// AUTO: remark: weight [8, 4]: dense: sparsity 19% below the 50% break-even (predicted decode {{[0-9.]+}}x (AVX-512)
func.func @too_dense(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<[[1.0, 0.0, 1.5, 2.0], [2.0, 3.0, 1.0, 1.0],
                             [1.0, 4.0, 0.0, 5.0], [1.0, 2.0, 6.0, 7.0],
                             [1.0, 1.0, 0.0, 1.0], [1.0, 0.0, 2.0, 2.0],
                             [3.0, 0.0, 3.0, 1.0], [2.0, 4.0, 0.0, 4.0]]> : tensor<8x4xf32>
  %y = tfc.linear %x, %w : tensor<?x8xf32>, tensor<8x4xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// No zeros: no remark unless forced.
// FORCE: remark: weight [4, 8]: sparse-mask: forced (sparsity 0%
func.func @no_zeros(%x: tensor<?x4xf32>) -> tensor<?x8xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                             [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                             [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
                             [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]]> : tensor<4x8xf32>
  %y = tfc.linear %x, %w : tensor<?x4xf32>, tensor<4x8xf32> -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// A transposed ([n, k]) weight: 2:4 along k is along its rows.
// AUTO: remark: weight [8, 4]: sparse-2:4: sparsity 50%, 2:4 along k
func.func @transposed(%x: tensor<?x8xf32>) -> tensor<?x4xf32> {
  %w = arith.constant dense<[[1.0, 2.0, 0.0, 0.0, 1.0, 0.0, 3.0, 0.0],
                             [0.0, 3.0, 4.0, 0.0, 1.0, 0.0, 0.0, 4.0],
                             [1.5, 0.0, 0.0, 6.0, 0.0, 2.0, 3.0, 0.0],
                             [0.0, 0.0, 5.0, 7.0, 0.0, 2.0, 0.0, 4.0]]> : tensor<4x8xf32>
  %y = tfc.linear %x, %w {transpose_weight = true} : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// A gated MLP: gate and up packed together (84 % zeros; 2:4 too, but MASK reads fewer bytes), down dense.
// AUTO: remark: gate+up [4, 8]: sparse-mask: sparsity 84%, 2:4 along k
func.func @gated(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %g = arith.constant dense<[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0],
                             [0.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 3.0]]> : tensor<4x4xf32>
  %u = arith.constant dense<[[0.0, 0.0, 0.0, 0.0], [0.0, 4.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 5.0]]> : tensor<4x4xf32>
  %d = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0],
                             [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]> : tensor<4x4xf32>
  %y = tfc.gated_mlp silu %x, %g, %u, %d : tensor<?x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32> -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}

// IR-LABEL: func.func @unstructured
// IR: arith.constant dense_resource<packed_sparsemask_{{[0-9]+}}> : tensor<{{[0-9]+}}xi8>
// IR: call @tfcrt_linear
// IR-LABEL: func.func @two_four
// IR: arith.constant dense_resource<packed_sparse24_{{[0-9]+}}>
// IR-LABEL: func.func @too_dense
// IR: arith.constant dense_resource<packed_f32_{{[0-9]+}}>

// OFF-NOT: remark
// BAD: sparse=maybe is not auto, off or force
