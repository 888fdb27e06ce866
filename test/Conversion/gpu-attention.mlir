// tfc-cpu-kernels{gpu=...} (the CUDA target): only tfc.attention is lowered,
// to the fused GPU kernel's entry (f32 products, or the f16 / bf16 tensor
// cores), with the CPU kernel's operands (heads transposes read through
// strided views); linear / norms keep the linalg lowering; head dims must be
// static and at most 256.
// RUN: tfc-opt %s "--tfc-cpu-kernels=gpu=f32" | FileCheck %s --check-prefixes=CHECK,F32
// RUN: tfc-opt %s "--tfc-cpu-kernels=gpu=f16" | FileCheck %s --check-prefixes=CHECK,F16
// RUN: tfc-opt %s "--tfc-cpu-kernels=gpu=bf16" | FileCheck %s --check-prefixes=CHECK,BF16
// RUN: not tfc-opt %s "--tfc-cpu-kernels=gpu=fp8" 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: tfc-cpu-kernels: gpu=fp8 is not f32, f16 or bf16

// CHECK-LABEL: func.func @layer
// CHECK: tfc.layer_norm
// CHECK-NOT: tfc.transpose
// CHECK-COUNT-4: memref.transpose
// F32: call @tfcrt_gpu_attention_f32(
// F16: call @tfcrt_gpu_attention_f16mma(
// BF16: call @tfcrt_gpu_attention_bf16mma(
// CHECK-NOT: tfcrt_attention_f32
// CHECK: tfc.linear
func.func @layer(%x: tensor<?x?x8xf32>, %q: tensor<?x?x2x4xf32>, %k: tensor<?x?x2x4xf32>, %v: tensor<?x?x2x4xf32>, %w: tensor<8x8xf32>, %g: tensor<8xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x2x4xf32>) {
  %n = tfc.layer_norm %x, %g bias %g : tensor<8xf32> {epsilon = 1.0E-5 : f64} : tensor<?x?x8xf32>, tensor<8xf32> -> tensor<?x?x8xf32>
  %qt = tfc.transpose %q {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %kt = tfc.transpose %k {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %vt = tfc.transpose %v {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a = tfc.attention %qt, %kt, %vt {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %y = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  %l = tfc.linear %n, %w : tensor<?x?x8xf32>, tensor<8x8xf32> -> tensor<?x?x8xf32>
  return %l, %y : tensor<?x?x8xf32>, tensor<?x?x2x4xf32>
}

// A dynamic head dim (or one above 256) keeps the linalg lowering.
// CHECK-LABEL: func.func @dynamic_head_dim
// CHECK-NOT: tfcrt_gpu_attention
// CHECK: tfc.attention
func.func @dynamic_head_dim(%q: tensor<1x2x3x?xf32>) -> tensor<1x2x3x?xf32> {
  %a = tfc.attention %q, %q, %q {causal = false, scale = 0.5 : f64} : tensor<1x2x3x?xf32>, tensor<1x2x3x?xf32>, tensor<1x2x3x?xf32> -> tensor<1x2x3x?xf32>
  return %a : tensor<1x2x3x?xf32>
}

// CHECK-LABEL: func.func @wide_head
// CHECK-NOT: tfcrt_gpu_attention
// CHECK: tfc.attention
func.func @wide_head(%q: tensor<1x1x3x320xf32>) -> tensor<1x1x3x320xf32> {
  %a = tfc.attention %q, %q, %q {causal = false, scale = 0.5 : f64} : tensor<1x1x3x320xf32>, tensor<1x1x3x320xf32>, tensor<1x1x3x320xf32> -> tensor<1x1x3x320xf32>
  return %a : tensor<1x1x3x320xf32>
}
