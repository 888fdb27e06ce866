// RUN: tfc-opt %s -split-input-file -tfc-raise-activations | FileCheck %s

// CHECK-LABEL: func @silu
// CHECK: %[[A:.*]] = tfc.unary silu %arg0 : tensor<?x172xf32> -> tensor<?x172xf32>
// CHECK: %[[B:.*]] = tfc.unary silu %arg0
// CHECK-NOT: sigmoid
// CHECK: return %[[A]], %[[B]]
func.func @silu(%x: tensor<?x172xf32>) -> (tensor<?x172xf32>, tensor<?x172xf32>) {
  %0 = tfc.unary sigmoid %x : tensor<?x172xf32> -> tensor<?x172xf32>
  %1 = tfc.binary mul %x, %0 : tensor<?x172xf32>, tensor<?x172xf32> -> tensor<?x172xf32>
  %2 = tfc.unary sigmoid %x : tensor<?x172xf32> -> tensor<?x172xf32>
  %3 = tfc.binary mul %2, %x : tensor<?x172xf32>, tensor<?x172xf32> -> tensor<?x172xf32>
  return %1, %3 : tensor<?x172xf32>, tensor<?x172xf32>
}

// -----

// erf GELU as the two exporters of BERT write it:
//   ts:     ((x * (erf(x / 1.4142) + 1)) * 0.5)
//   dynamo: x * (0.5 * (erf(x / 1.4142) + 1))
// and 0.5 * x * (1 + erf(x * 0.7071)), x * (1 + erf(...)) / 2.
// CHECK-LABEL: func @gelu_erf
// CHECK-COUNT-4: tfc.unary gelu %arg0 : tensor<?x1536xf32> -> tensor<?x1536xf32>
// CHECK-NOT: erf
func.func @gelu_erf(%x: tensor<?x1536xf32>) -> (tensor<?x1536xf32>, tensor<?x1536xf32>, tensor<?x1536xf32>, tensor<?x1536xf32>) {
  %half = arith.constant dense<0.5> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %two = arith.constant dense<2.0> : tensor<f32>
  %sqrt2 = arith.constant dense<1.41421354> : tensor<f32>
  %isqrt2 = arith.constant dense<0.707106769> : tensor<1xf32>
  // ts
  %0 = tfc.binary div %x, %sqrt2 : tensor<?x1536xf32>, tensor<f32> -> tensor<?x1536xf32>
  %1 = tfc.unary erf %0 : tensor<?x1536xf32> -> tensor<?x1536xf32>
  %2 = tfc.binary add %1, %one : tensor<?x1536xf32>, tensor<f32> -> tensor<?x1536xf32>
  %3 = tfc.binary mul %x, %2 : tensor<?x1536xf32>, tensor<?x1536xf32> -> tensor<?x1536xf32>
  %4 = tfc.binary mul %3, %half : tensor<?x1536xf32>, tensor<f32> -> tensor<?x1536xf32>
  // dynamo
  %5 = tfc.binary div %x, %sqrt2 : tensor<?x1536xf32>, tensor<f32> -> tensor<?x1536xf32>
  %6 = tfc.unary erf %5 : tensor<?x1536xf32> -> tensor<?x1536xf32>
  %7 = tfc.binary add %6, %one : tensor<?x1536xf32>, tensor<f32> -> tensor<?x1536xf32>
  %8 = tfc.binary mul %half, %7 : tensor<f32>, tensor<?x1536xf32> -> tensor<?x1536xf32>
  %9 = tfc.binary mul %x, %8 : tensor<?x1536xf32>, tensor<?x1536xf32> -> tensor<?x1536xf32>
  // 0.5 * x * (1 + erf(x * 0.7071))
  %10 = tfc.binary mul %x, %isqrt2 : tensor<?x1536xf32>, tensor<1xf32> -> tensor<?x1536xf32>
  %11 = tfc.unary erf %10 : tensor<?x1536xf32> -> tensor<?x1536xf32>
  %12 = tfc.binary add %one, %11 : tensor<f32>, tensor<?x1536xf32> -> tensor<?x1536xf32>
  %13 = tfc.binary mul %half, %x : tensor<f32>, tensor<?x1536xf32> -> tensor<?x1536xf32>
  %14 = tfc.binary mul %13, %12 : tensor<?x1536xf32>, tensor<?x1536xf32> -> tensor<?x1536xf32>
  // x * (1 + erf(x / sqrt2)) / 2
  %15 = tfc.binary div %x, %sqrt2 : tensor<?x1536xf32>, tensor<f32> -> tensor<?x1536xf32>
  %16 = tfc.unary erf %15 : tensor<?x1536xf32> -> tensor<?x1536xf32>
  %17 = tfc.binary add %16, %one : tensor<?x1536xf32>, tensor<f32> -> tensor<?x1536xf32>
  %18 = tfc.binary mul %x, %17 : tensor<?x1536xf32>, tensor<?x1536xf32> -> tensor<?x1536xf32>
  %19 = tfc.binary div %18, %two : tensor<?x1536xf32>, tensor<f32> -> tensor<?x1536xf32>
  return %4, %9, %14, %19 : tensor<?x1536xf32>, tensor<?x1536xf32>, tensor<?x1536xf32>, tensor<?x1536xf32>
}

// -----

// tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))), with
// pow(x, 3) and with x * x * x.
// CHECK-LABEL: func @gelu_tanh
// CHECK-COUNT-2: tfc.unary gelu_tanh %arg0
// CHECK-NOT: tanh %
func.func @gelu_tanh(%x: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  %half = arith.constant dense<0.5> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %three = arith.constant dense<3.0> : tensor<f32>
  %c = arith.constant dense<0.044715> : tensor<f32>
  %k = arith.constant dense<0.797884583> : tensor<f32>
  %0 = tfc.binary pow %x, %three : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %1 = tfc.binary mul %c, %0 : tensor<f32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %2 = tfc.binary add %x, %1 : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %3 = tfc.binary mul %k, %2 : tensor<f32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %4 = tfc.unary tanh %3 : tensor<?x64xf32> -> tensor<?x64xf32>
  %5 = tfc.binary add %4, %one : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %6 = tfc.binary mul %half, %x : tensor<f32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %7 = tfc.binary mul %6, %5 : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %8 = tfc.binary mul %x, %x : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %9 = tfc.binary mul %8, %x : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %10 = tfc.binary mul %9, %c : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %11 = tfc.binary add %10, %x : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %12 = tfc.binary mul %11, %k : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %13 = tfc.unary tanh %12 : tensor<?x64xf32> -> tensor<?x64xf32>
  %14 = tfc.binary add %one, %13 : tensor<f32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %15 = tfc.binary mul %x, %14 : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %16 = tfc.binary mul %15, %half : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  return %7, %16 : tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// Gated MLP (LLaMA): linear(silu(linear(x, Wg)) * linear(x, Wu), Wd).
// CHECK-LABEL: func @gated_mlp
// CHECK-DAG: %[[WG:.*]] = arith.constant dense<1.000000e-01> : tensor<64x172xf32>
// CHECK-DAG: %[[WU:.*]] = arith.constant dense<2.000000e-01> : tensor<64x172xf32>
// CHECK-DAG: %[[WD:.*]] = arith.constant dense<3.000000e-01> : tensor<172x64xf32>
// CHECK: %[[Y:.*]] = tfc.gated_mlp silu %arg0, %[[WG]], %[[WU]], %[[WD]] : tensor<?x?x64xf32>, tensor<64x172xf32>, tensor<64x172xf32>, tensor<172x64xf32> -> tensor<?x?x64xf32>
// CHECK-NOT: tfc.linear
// CHECK: return %[[Y]]
func.func @gated_mlp(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %wg = arith.constant dense<0.1> : tensor<64x172xf32>
  %wu = arith.constant dense<0.2> : tensor<64x172xf32>
  %wd = arith.constant dense<0.3> : tensor<172x64xf32>
  %0 = tfc.linear %x, %wg : tensor<?x?x64xf32>, tensor<64x172xf32> -> tensor<?x?x172xf32>
  %1 = tfc.unary sigmoid %0 : tensor<?x?x172xf32> -> tensor<?x?x172xf32>
  %2 = tfc.binary mul %0, %1 : tensor<?x?x172xf32>, tensor<?x?x172xf32> -> tensor<?x?x172xf32>
  %3 = tfc.linear %x, %wu : tensor<?x?x64xf32>, tensor<64x172xf32> -> tensor<?x?x172xf32>
  %4 = tfc.binary mul %2, %3 : tensor<?x?x172xf32>, tensor<?x?x172xf32> -> tensor<?x?x172xf32>
  %5 = tfc.linear %4, %wd : tensor<?x?x172xf32>, tensor<172x64xf32> -> tensor<?x?x64xf32>
  return %5 : tensor<?x?x64xf32>
}

// -----

// GELU gate, up operand first in the product.
// CHECK-LABEL: func @gated_mlp_gelu
// CHECK: tfc.gated_mlp gelu %arg0
func.func @gated_mlp_gelu(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %wg = arith.constant dense<0.1> : tensor<64x128xf32>
  %wu = arith.constant dense<0.2> : tensor<64x128xf32>
  %wd = arith.constant dense<0.3> : tensor<128x64xf32>
  %0 = tfc.linear %x, %wg : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %1 = tfc.unary gelu %0 : tensor<?x128xf32> -> tensor<?x128xf32>
  %3 = tfc.linear %x, %wu : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %4 = tfc.binary mul %3, %1 : tensor<?x128xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
  %5 = tfc.linear %4, %wd : tensor<?x128xf32>, tensor<128x64xf32> -> tensor<?x64xf32>
  return %5 : tensor<?x64xf32>
}

// -----

// Negative: x * sigmoid(y); 0.5 * x * (1 + erf(x)) (no 1/sqrt2); erf GELU
// with 0.25 instead of 0.5.
// CHECK-LABEL: func @not_activations
// CHECK-NOT: silu
// CHECK-NOT: gelu
func.func @not_activations(%x: tensor<?x64xf32>, %y: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %half = arith.constant dense<0.5> : tensor<f32>
  %quarter = arith.constant dense<0.25> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %sqrt2 = arith.constant dense<1.41421354> : tensor<f32>
  %0 = tfc.unary sigmoid %y : tensor<?x64xf32> -> tensor<?x64xf32>
  %1 = tfc.binary mul %x, %0 : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %2 = tfc.unary erf %x : tensor<?x64xf32> -> tensor<?x64xf32>
  %3 = tfc.binary add %2, %one : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %4 = tfc.binary mul %x, %3 : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %5 = tfc.binary mul %4, %half : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %6 = tfc.binary div %x, %sqrt2 : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %7 = tfc.unary erf %6 : tensor<?x64xf32> -> tensor<?x64xf32>
  %8 = tfc.binary add %7, %one : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %9 = tfc.binary mul %x, %8 : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  %10 = tfc.binary mul %9, %quarter : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  return %1, %5, %10 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// Negative gated MLPs: biased up projection; gate and up from different
// inputs; gate output also used elsewhere (fusing would duplicate a matmul).
// CHECK-LABEL: func @not_gated_mlp
// CHECK-NOT: tfc.gated_mlp
func.func @not_gated_mlp(%x: tensor<?x64xf32>, %z: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x128xf32>) {
  %wg = arith.constant dense<0.1> : tensor<64x128xf32>
  %wu = arith.constant dense<0.2> : tensor<64x128xf32>
  %wd = arith.constant dense<0.3> : tensor<128x64xf32>
  %b = arith.constant dense<0.3> : tensor<128xf32>
  %0 = tfc.linear %x, %wg : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %1 = tfc.unary silu %0 : tensor<?x128xf32> -> tensor<?x128xf32>
  %2 = tfc.linear %x, %wu bias %b : tensor<128xf32> : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %3 = tfc.binary mul %1, %2 : tensor<?x128xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
  %4 = tfc.linear %3, %wd : tensor<?x128xf32>, tensor<128x64xf32> -> tensor<?x64xf32>
  %5 = tfc.linear %x, %wg : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %6 = tfc.unary silu %5 : tensor<?x128xf32> -> tensor<?x128xf32>
  %7 = tfc.linear %z, %wu : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %8 = tfc.binary mul %6, %7 : tensor<?x128xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
  %9 = tfc.linear %8, %wd : tensor<?x128xf32>, tensor<128x64xf32> -> tensor<?x64xf32>
  %10 = tfc.linear %x, %wg : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %11 = tfc.unary silu %10 : tensor<?x128xf32> -> tensor<?x128xf32>
  %12 = tfc.linear %x, %wu : tensor<?x64xf32>, tensor<64x128xf32> -> tensor<?x128xf32>
  %13 = tfc.binary mul %11, %12 : tensor<?x128xf32>, tensor<?x128xf32> -> tensor<?x128xf32>
  %14 = tfc.linear %13, %wd : tensor<?x128xf32>, tensor<128x64xf32> -> tensor<?x64xf32>
  return %4, %9, %14, %10 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x128xf32>
}
