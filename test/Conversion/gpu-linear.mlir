// tfc-cpu-kernels{gpu-linear} (the CUDA target with cuBLASLt GEMMs): each
// tfc.linear with an f32 activation and a static weight becomes one
// tfcrt_gpu_linear_<weight type> call into an f32 [1, M, N] buffer; the bias,
// then a single-use tanh-GELU / ReLU or else a single-use residual add (f32
// weights), go into the GEMM's epilogue. A half weight's activation is
// rounded to its type first (one tfc.cast that the q / k / v projections
// share after cse). Before erf GELU or SiLU, which cuBLASLt lacks, a linear
// keeps the linalg lowering.
// Without gpu-linear (or with linear=false) the linears keep the linalg
// lowering; attention=false leaves tfc.attention alone.
// RUN: tfc-opt %s "--tfc-cpu-kernels=attention=false gpu-linear=true" --cse | FileCheck %s
// RUN: tfc-opt %s "--tfc-cpu-kernels=gpu=f32 gpu-linear=true" | FileCheck %s --check-prefix=ATTN
// RUN: tfc-opt %s "--tfc-cpu-kernels=gpu=f32" | FileCheck %s --check-prefix=OFF
// RUN: tfc-opt %s "--tfc-cpu-kernels=attention=false gpu-linear=true linear=false" | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: func.func @qkv_half
// CHECK: %[[XH:.*]] = tfc.cast %arg0 : tensor<?x?x8xf32> -> tensor<?x?x8xf16>
// CHECK-NOT: tfc.cast
// CHECK: %[[Z:.*]] = arith.constant 0 : i64
// CHECK: %[[X3:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x?x8xf16>
// CHECK: %[[XV:.*]] = memref.cast %[[X3]]
// CHECK: call @tfcrt_gpu_linear_f16(%[[XV]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[Z]], %[[Z]]) : (memref<?x?x?xf16, strided<[?, ?, ?], offset: ?>>, memref<?x?xf16, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, i64, i64) -> ()
// CHECK: call @tfcrt_gpu_linear_f16(%[[XV]],
// CHECK-NOT: tfc.linear
// CHECK: return
// OFF-LABEL: func.func @qkv_half
// OFF-COUNT-2: tfc.linear
// OFF-NOT: tfcrt_gpu_linear
func.func @qkv_half(%x: tensor<?x?x8xf32>, %wq: tensor<8x8xf16>, %wk: tensor<8x8xf16>, %b: tensor<8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x8xf32>) {
  %q = tfc.linear %x, %wq bias %b : tensor<8xf32> : tensor<?x?x8xf32>, tensor<8x8xf16> -> tensor<?x?x8xf32>
  %k = tfc.linear %x, %wk : tensor<?x?x8xf32>, tensor<8x8xf16> -> tensor<?x?x8xf32>
  return %q, %k : tensor<?x?x8xf32>, tensor<?x?x8xf32>
}

// A tanh-GELU after the linear is the epilogue's (act 2); the bias is passed
// as a view, the transposed weight with transpose_w = 1.
// CHECK-LABEL: func.func @gelu_tanh
// CHECK-NOT: tfc.cast
// CHECK-DAG: %[[T1:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[G:.*]] = arith.constant 2 : i64
// CHECK: call @tfcrt_gpu_linear_f32({{.*}}, %[[T1]], %[[G]])
// CHECK-NOT: tfc.unary
// CHECK: return
func.func @gelu_tanh(%x: tensor<?x8xf32>, %w: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<?x4xf32> {
  %y = tfc.linear %x, %w bias %b : tensor<4xf32> {transpose_weight = true} : tensor<?x8xf32>, tensor<4x8xf32> -> tensor<?x4xf32>
  %g = tfc.unary gelu_tanh %y : tensor<?x4xf32> -> tensor<?x4xf32>
  return %g : tensor<?x4xf32>
}

// Before an activation the epilogue lacks (erf GELU, MiniLM's) the linear
// keeps the linalg lowering: the activation's kernel then takes the bias add
// (and the widening of a half product) and reads the product only once.
// CHECK-LABEL: func.func @gelu_erf
// CHECK-NOT: tfcrt_gpu_linear
// CHECK: tfc.linear
// CHECK: tfc.unary gelu
// ATTN-LABEL: func.func @gelu_erf
// ATTN: tfc.linear
func.func @gelu_erf(%x: tensor<?x8xf32>, %w: tensor<8x4xbf16>, %b: tensor<4xf32>) -> tensor<?x4xf32> {
  %y = tfc.linear %x, %w bias %b : tensor<4xf32> : tensor<?x8xf32>, tensor<8x4xbf16> -> tensor<?x4xf32>
  %g = tfc.unary gelu %y : tensor<?x4xf32> -> tensor<?x4xf32>
  return %g : tensor<?x4xf32>
}

// A residual add is the epilogue's C (beta 1): the add disappears and the
// residual is passed as a [1, M, N] view.
// CHECK-LABEL: func.func @residual
// CHECK: %[[R:.*]] = tensor.collapse_shape %arg3
// CHECK: call @tfcrt_gpu_linear_f32(
// CHECK-NOT: tfc.binary
// CHECK: return
func.func @residual(%x: tensor<2x3x8xf32>, %w: tensor<8x8xf32>, %b: tensor<8xf32>, %r: tensor<2x3x8xf32>) -> tensor<2x3x8xf32> {
  %y = tfc.linear %x, %w bias %b : tensor<8xf32> : tensor<2x3x8xf32>, tensor<8x8xf32> -> tensor<2x3x8xf32>
  %s = tfc.binary add %y, %r : tensor<2x3x8xf32>, tensor<2x3x8xf32> -> tensor<2x3x8xf32>
  return %s : tensor<2x3x8xf32>
}

// With a half weight a residual add stays with the norm after it (which
// reads the half product and the residual once): the linear keeps the
// linalg lowering.
// CHECK-LABEL: func.func @residual_half
// CHECK-NOT: tfcrt_gpu_linear
// CHECK: tfc.linear
// CHECK: tfc.binary add
func.func @residual_half(%x: tensor<2x8xf32>, %w: tensor<8x8xf16>, %r: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %y = tfc.linear %x, %w : tensor<2x8xf32>, tensor<8x8xf16> -> tensor<2x8xf32>
  %s = tfc.binary add %y, %r : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  return %s : tensor<2x8xf32>
}

// A linear whose result has another use keeps its add separate; an
// activation and a residual are never both fused (cuBLASLt adds C before
// the activation).
// CHECK-LABEL: func.func @relu_then_add
// CHECK-DAG: %[[R4:.*]] = arith.constant 4 : i64
// CHECK: call @tfcrt_gpu_linear_f32({{.*}}, %[[R4]])
// CHECK: tfc.binary add
func.func @relu_then_add(%x: tensor<2x8xf32>, %w: tensor<8x8xf32>, %r: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %y = tfc.linear %x, %w : tensor<2x8xf32>, tensor<8x8xf32> -> tensor<2x8xf32>
  %a = tfc.unary relu %y : tensor<2x8xf32> -> tensor<2x8xf32>
  %s = tfc.binary add %a, %r : tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8xf32>
  return %s : tensor<2x8xf32>
}

// Dynamic weights and half activations keep the linalg lowering.
// CHECK-LABEL: func.func @not_taken
// CHECK-NOT: tfcrt_gpu_linear
// CHECK-COUNT-2: tfc.linear
func.func @not_taken(%x: tensor<2x8xf32>, %w: tensor<8x?xf32>, %xh: tensor<2x8xf16>, %wh: tensor<8x4xf16>) -> (tensor<2x?xf32>, tensor<2x4xf16>) {
  %y = tfc.linear %x, %w : tensor<2x8xf32>, tensor<8x?xf32> -> tensor<2x?xf32>
  %z = tfc.linear %xh, %wh : tensor<2x8xf16>, tensor<8x4xf16> -> tensor<2x4xf16>
  return %y, %z : tensor<2x?xf32>, tensor<2x4xf16>
}
