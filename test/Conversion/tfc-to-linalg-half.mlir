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
