// RUN: tfc-opt %s -split-input-file -tfc-to-linalg | FileCheck %s
// RUN: tfc-opt %s -split-input-file -tfc-to-linalg=native-half-matmul=true | FileCheck %s --check-prefix=NATIVE

// Half-precision ops that sum many terms compute in f32 and round once
// (TfcToLinalg.cpp, widenHalfPrecision): the ONNX node test
// attention_4d_gqa_with_past_and_present_fp16_expanded was 3 fp16 ulps off
// when matmul and softmax accumulated in f16.

// CHECK-LABEL: func @matmul_f16
// CHECK: arith.extf {{.*}} : f16 to f32
// CHECK: linalg.batch_matmul ins({{.*}} : tensor<2x4x8xf32>, tensor<2x8x5xf32>) outs({{.*}} : tensor<2x4x5xf32>)
// CHECK: arith.truncf {{.*}} : f32 to f16
// NATIVE-LABEL: func @matmul_f16
// NATIVE-NOT: arith.extf
// NATIVE: linalg.batch_matmul ins({{.*}} : tensor<2x4x8xf16>, tensor<2x8x5xf16>)
func.func @matmul_f16(%a: tensor<2x4x8xf16>, %b: tensor<2x8x5xf16>) -> tensor<2x4x5xf16> {
  %0 = tfc.matmul %a, %b : tensor<2x4x8xf16>, tensor<2x8x5xf16> -> tensor<2x4x5xf16>
  return %0 : tensor<2x4x5xf16>
}

// -----

// The softmax's max, exp and sum run on f32 values.
// CHECK-LABEL: func @softmax_bf16
// CHECK: arith.extf {{.*}} : bf16 to f32
// CHECK: math.exp {{.*}} : f32
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK-NOT: math.exp {{.*}} : bf16
func.func @softmax_bf16(%a: tensor<4x18xbf16>) -> tensor<4x18xbf16> {
  %0 = tfc.softmax %a {axis = 1 : i64} : tensor<4x18xbf16> -> tensor<4x18xbf16>
  return %0 : tensor<4x18xbf16>
}

// -----

// A sum accumulates in f32; a max stays in its type (it is exact).
// CHECK-LABEL: func @reduce_f16
// CHECK: arith.extf {{.*}} : f16 to f32
// CHECK: arith.addf {{.*}} : f32
// CHECK: arith.truncf {{.*}} : f32 to f16
// CHECK: arith.maximumf {{.*}} : f16
func.func @reduce_f16(%a: tensor<4x18xf16>) -> (tensor<4xf16>, tensor<4xf16>) {
  %0 = tfc.reduce sum %a {axes = array<i64: 1>, keepdims = false} : tensor<4x18xf16> -> tensor<4xf16>
  %1 = tfc.reduce max %a {axes = array<i64: 1>, keepdims = false} : tensor<4x18xf16> -> tensor<4xf16>
  return %0, %1 : tensor<4xf16>, tensor<4xf16>
}

// -----

// f32 ops are untouched.
// CHECK-LABEL: func @matmul_f32
// CHECK-NOT: arith.extf
// CHECK-NOT: arith.truncf
// CHECK: return
func.func @matmul_f32(%a: tensor<2x4x8xf32>, %b: tensor<2x8x5xf32>) -> tensor<2x4x5xf32> {
  %0 = tfc.matmul %a, %b : tensor<2x4x8xf32>, tensor<2x8x5xf32> -> tensor<2x4x5xf32>
  return %0 : tensor<2x4x5xf32>
}

// -----

// A linear layer with an fp16 weight (--precision=fp16): on the CPU the
// weight is widened per element and the product is f32; with
// native-half-matmul (--target=cuda) x is rounded to f16, the matmul is
// f16 x f16 (cuBLASLt accumulates in f32) and the bias add widens it back.
// CHECK-LABEL: func @linear_f16_weight
// CHECK: arith.extf {{.*}} : f16 to f32
// CHECK: linalg.matmul ins({{.*}} : tensor<4x8xf32>, tensor<8x5xf32>)
// NATIVE-LABEL: func @linear_f16_weight
// NATIVE: arith.truncf {{.*}} : f32 to f16
// NATIVE: linalg.matmul ins({{.*}} : tensor<4x8xf16>, tensor<8x5xf16>) outs({{.*}} : tensor<4x5xf16>)
// NATIVE: arith.extf {{.*}} : f16 to f32
// NATIVE-NEXT: arith.addf {{.*}} : f32
// NATIVE-NOT: linalg.matmul
func.func @linear_f16_weight(%x: tensor<4x8xf32>, %w: tensor<8x5xf16>, %b: tensor<5xf32>) -> tensor<4x5xf32> {
  %0 = tfc.linear %x, %w bias %b : tensor<5xf32> : tensor<4x8xf32>, tensor<8x5xf16> -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// -----

// A gated MLP with constant bf16 weights: with native-half-matmul (the CUDA
// target) gate and up are one matmul over a joined [d, 2h] constant, whose
// half product the activation reads as two column slices; the CPU keeps
// two matmuls. Weights that are not constants keep two matmuls on the GPU.
// CHECK-LABEL: func @gated_mlp_bf16
// CHECK-COUNT-3: linalg.matmul
// NATIVE-LABEL: func @gated_mlp_bf16
// NATIVE: arith.constant dense_resource<{{.*}}> : tensor<8x12xbf16>
// NATIVE: linalg.matmul ins({{.*}} : tensor<4x8xbf16>, tensor<8x12xbf16>) outs({{.*}} : tensor<4x12xbf16>)
// NATIVE: tensor.extract_slice {{.*}}[0, 0] [4, 6] [1, 1] : tensor<4x12xbf16> to tensor<4x6xbf16>
// NATIVE: tensor.extract_slice {{.*}}[0, 6] [4, 6] [1, 1] : tensor<4x12xbf16> to tensor<4x6xbf16>
// NATIVE: linalg.matmul ins({{.*}} : tensor<4x6xbf16>, tensor<6x8xbf16>)
// NATIVE-NOT: linalg.matmul
// NATIVE-LABEL: func @gated_mlp_bf16_args
// NATIVE-COUNT-3: linalg.matmul
func.func @gated_mlp_bf16(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %u = arith.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 7.0]]> : tensor<8x6xbf16>
  %gc = arith.constant dense<[[0.5, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [1.0, 2.0, 3.0, 4.0, 5.0, 8.0]]> : tensor<8x6xbf16>
  %d = arith.constant dense<0.25> : tensor<6x8xbf16>
  %0 = tfc.gated_mlp silu %x, %gc, %u, %d : tensor<4x8xf32>, tensor<8x6xbf16>, tensor<8x6xbf16>, tensor<6x8xbf16> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}
func.func @gated_mlp_bf16_args(%x: tensor<4x8xf32>, %g: tensor<8x6xbf16>, %u: tensor<8x6xbf16>, %d: tensor<6x8xbf16>) -> tensor<4x8xf32> {
  %0 = tfc.gated_mlp silu %x, %g, %u, %d : tensor<4x8xf32>, tensor<8x6xbf16>, tensor<8x6xbf16>, tensor<6x8xbf16> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// A rotary of a projection's heads transpose ([b, s, h, d] -> [b, h, s, d]):
// on the GPU one generic reads the projection itself (x and its rotate-half
// partner at transposed indices), so no transposed copy is made; the CPU
// keeps the transpose.
// CHECK-LABEL: func @rotary_of_transpose
// CHECK: linalg.transpose
// (The transpose is left dead for canonicalize to drop.)
// NATIVE-LABEL: func @rotary_of_transpose
// NATIVE-NOT: ins(%transposed
// NATIVE: %[[H:.*]] = linalg.index 1
// NATIVE: %[[S:.*]] = linalg.index 2
// NATIVE: tensor.extract %arg0[%{{.*}}, %[[S]], %[[H]], %{{.*}}] : tensor<2x5x3x8xf32>
// NATIVE-NOT: %transposed
// NATIVE: return
func.func @rotary_of_transpose(%x: tensor<2x5x3x8xf32>, %cos: tensor<1x1x5x8xf32>, %sin: tensor<1x1x5x8xf32>) -> tensor<2x3x5x8xf32> {
  %t = tfc.transpose %x {perm = array<i64: 0, 2, 1, 3>} : tensor<2x5x3x8xf32> -> tensor<2x3x5x8xf32>
  %r = tfc.rotary half %t, %cos, %sin : tensor<2x3x5x8xf32>, tensor<1x1x5x8xf32>, tensor<1x1x5x8xf32> -> tensor<2x3x5x8xf32>
  return %r : tensor<2x3x5x8xf32>
}
