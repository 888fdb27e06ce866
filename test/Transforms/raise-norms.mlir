// RUN: tfc-opt %s -split-input-file -tfc-raise-norms | FileCheck %s

// TorchScript spelling: pow 2, 1 / sqrt, weight on the left.
// CHECK-LABEL: func @rms_ts
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x64xf32>)
// CHECK: %[[W:.*]] = arith.constant dense<{{.*}}> : tensor<64xf32>
// CHECK: %[[N:.*]] = tfc.rms_norm %[[X]], %[[W]] {epsilon = 9.99999974{{.*}}E-6 : f64} : tensor<?x?x64xf32>, tensor<64xf32> -> tensor<?x?x64xf32>
// CHECK-NOT: tfc.binary
// CHECK-NOT: tfc.reduce
// CHECK: return %[[N]]
func.func @rms_ts(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<1.0e-5> : tensor<f32>
  %one = arith.constant dense<1.0> : tensor<f32>
  %w = arith.constant dense<0.5> : tensor<64xf32>
  %0 = tfc.binary pow %x, %two : tensor<?x?x64xf32>, tensor<f32> -> tensor<?x?x64xf32>
  %1 = tfc.reduce mean %0 {axes = array<i64: 2>, keepdims = true} : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %2 = tfc.binary add %1, %eps : tensor<?x?x1xf32>, tensor<f32> -> tensor<?x?x1xf32>
  %3 = tfc.unary sqrt %2 : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
  %4 = tfc.binary div %one, %3 : tensor<f32>, tensor<?x?x1xf32> -> tensor<?x?x1xf32>
  %5 = tfc.binary mul %x, %4 : tensor<?x?x64xf32>, tensor<?x?x1xf32> -> tensor<?x?x64xf32>
  %6 = tfc.binary mul %w, %5 : tensor<64xf32>, tensor<?x?x64xf32> -> tensor<?x?x64xf32>
  return %6 : tensor<?x?x64xf32>
}

// -----

// dynamo spelling: reciprocal(sqrt), eps on the left, weight on the right.
// CHECK-LABEL: func @rms_dynamo
// CHECK: tfc.rms_norm %arg0, %{{.*}} {epsilon = 9.99999997{{.*}}E-7 : f64}
// CHECK-NOT: tfc.unary
func.func @rms_dynamo(%x: tensor<?x?x64xf32>) -> tensor<?x?x64xf32> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<1.0e-6> : tensor<1xf32>
  %w = arith.constant dense<0.5> : tensor<64xf32>
  %0 = tfc.binary pow %x, %two : tensor<?x?x64xf32>, tensor<f32> -> tensor<?x?x64xf32>
  %1 = tfc.reduce mean %0 {axes = array<i64: 2>, keepdims = true} : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %2 = tfc.binary add %eps, %1 : tensor<1xf32>, tensor<?x?x1xf32> -> tensor<?x?x1xf32>
  %3 = tfc.unary sqrt %2 : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
  %4 = tfc.unary reciprocal %3 : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
  %5 = tfc.binary mul %4, %x : tensor<?x?x1xf32>, tensor<?x?x64xf32> -> tensor<?x?x64xf32>
  %6 = tfc.binary mul %5, %w : tensor<?x?x64xf32>, tensor<64xf32> -> tensor<?x?x64xf32>
  return %6 : tensor<?x?x64xf32>
}

// -----

// x * x, rsqrt, no weight (a unit scale is materialized), and the
// x / sqrt(...) spelling with sum / d as the mean and a [1, 1, d] weight.
// CHECK-LABEL: func @rms_variants
// CHECK-DAG: %[[ONES:.*]] = arith.constant dense<1.000000e+00> : tensor<64xf32>
// CHECK-DAG: %[[W3:.*]] = arith.constant dense<2.500000e-01> : tensor<1x1x64xf32>
// CHECK: %[[A:.*]] = tfc.rms_norm %arg0, %[[ONES]]
// CHECK: %[[W:.*]] = tfc.reshape %[[W3]] : tensor<1x1x64xf32> -> tensor<64xf32>
// CHECK: %[[B:.*]] = tfc.rms_norm %arg0, %[[W]]
// CHECK: return %[[A]], %[[B]]
func.func @rms_variants(%x: tensor<?x?x64xf32>) -> (tensor<?x?x64xf32>, tensor<?x?x64xf32>) {
  %eps = arith.constant dense<1.0e-5> : tensor<f32>
  %d = arith.constant dense<64.0> : tensor<f32>
  %w = arith.constant dense<0.25> : tensor<1x1x64xf32>
  %0 = tfc.binary mul %x, %x : tensor<?x?x64xf32>, tensor<?x?x64xf32> -> tensor<?x?x64xf32>
  %1 = tfc.reduce mean %0 {axes = array<i64: 2>, keepdims = true} : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %2 = tfc.binary add %1, %eps : tensor<?x?x1xf32>, tensor<f32> -> tensor<?x?x1xf32>
  %3 = tfc.unary rsqrt %2 : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
  %4 = tfc.binary mul %x, %3 : tensor<?x?x64xf32>, tensor<?x?x1xf32> -> tensor<?x?x64xf32>
  %5 = tfc.reduce sum %0 {axes = array<i64: 2>, keepdims = true} : tensor<?x?x64xf32> -> tensor<?x?x1xf32>
  %6 = tfc.binary div %5, %d : tensor<?x?x1xf32>, tensor<f32> -> tensor<?x?x1xf32>
  %7 = tfc.binary add %6, %eps : tensor<?x?x1xf32>, tensor<f32> -> tensor<?x?x1xf32>
  %8 = tfc.unary sqrt %7 : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
  %9 = tfc.binary div %x, %8 : tensor<?x?x64xf32>, tensor<?x?x1xf32> -> tensor<?x?x64xf32>
  %10 = tfc.binary mul %9, %w : tensor<?x?x64xf32>, tensor<1x1x64xf32> -> tensor<?x?x64xf32>
  return %4, %10 : tensor<?x?x64xf32>, tensor<?x?x64xf32>
}

// -----

// Casts to f32 and back around the core (f16 model): the f32 core is raised.
// CHECK-LABEL: func @rms_casts
// CHECK: %[[C:.*]] = tfc.cast %arg0 : tensor<?x64xf16> -> tensor<?x64xf32>
// CHECK: %[[N:.*]] = tfc.rms_norm %[[C]], %{{.*}} : tensor<?x64xf32>, tensor<64xf32>
// CHECK: tfc.cast %[[N]] : tensor<?x64xf32> -> tensor<?x64xf16>
func.func @rms_casts(%x16: tensor<?x64xf16>) -> tensor<?x64xf16> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<1.0e-5> : tensor<f32>
  %w = arith.constant dense<0.5> : tensor<64xf16>
  %x = tfc.cast %x16 : tensor<?x64xf16> -> tensor<?x64xf32>
  %0 = tfc.binary pow %x, %two : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %1 = tfc.reduce mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<?x64xf32> -> tensor<?x1xf32>
  %2 = tfc.binary add %1, %eps : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
  %3 = tfc.unary rsqrt %2 : tensor<?x1xf32> -> tensor<?x1xf32>
  %4 = tfc.binary mul %x, %3 : tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x64xf32>
  %5 = tfc.cast %4 : tensor<?x64xf32> -> tensor<?x64xf16>
  %6 = tfc.binary mul %w, %5 : tensor<64xf16>, tensor<?x64xf16> -> tensor<?x64xf16>
  return %6 : tensor<?x64xf16>
}

// -----

// Decomposed LayerNorm (opset < 17 exports): (x - mean) / sqrt(var + eps) * g + b.
// CHECK-LABEL: func @layer_norm
// CHECK-DAG: %[[G:.*]] = arith.constant dense<5.000000e-01> : tensor<384xf32>
// CHECK-DAG: %[[B:.*]] = arith.constant dense<1.000000e-01> : tensor<384xf32>
// CHECK: %[[N:.*]] = tfc.layer_norm %arg0, %[[G]] bias %[[B]] : tensor<384xf32> {epsilon = 9.999999960041972E-13 : f64}
// CHECK-NOT: tfc.reduce
// CHECK: return %[[N]]
func.func @layer_norm(%x: tensor<?x?x384xf32>) -> tensor<?x?x384xf32> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<1.0e-12> : tensor<f32>
  %g = arith.constant dense<0.5> : tensor<384xf32>
  %b = arith.constant dense<0.1> : tensor<384xf32>
  %0 = tfc.reduce mean %x {axes = array<i64: 2>, keepdims = true} : tensor<?x?x384xf32> -> tensor<?x?x1xf32>
  %1 = tfc.binary sub %x, %0 : tensor<?x?x384xf32>, tensor<?x?x1xf32> -> tensor<?x?x384xf32>
  %2 = tfc.binary pow %1, %two : tensor<?x?x384xf32>, tensor<f32> -> tensor<?x?x384xf32>
  %3 = tfc.reduce mean %2 {axes = array<i64: 2>, keepdims = true} : tensor<?x?x384xf32> -> tensor<?x?x1xf32>
  %4 = tfc.binary add %3, %eps : tensor<?x?x1xf32>, tensor<f32> -> tensor<?x?x1xf32>
  %5 = tfc.unary sqrt %4 : tensor<?x?x1xf32> -> tensor<?x?x1xf32>
  %6 = tfc.binary div %1, %5 : tensor<?x?x384xf32>, tensor<?x?x1xf32> -> tensor<?x?x384xf32>
  %7 = tfc.binary mul %6, %g : tensor<?x?x384xf32>, tensor<384xf32> -> tensor<?x?x384xf32>
  %8 = tfc.binary add %b, %7 : tensor<384xf32>, tensor<?x?x384xf32> -> tensor<?x?x384xf32>
  return %8 : tensor<?x?x384xf32>
}

// -----

// LayerNorm with rsqrt, (x - mean)^2 spelled as a product of two equal
// subtractions, scale on the left, no bias.
// CHECK-LABEL: func @layer_norm_rsqrt
// CHECK: %[[N:.*]] = tfc.layer_norm %arg0, %{{.*}} {epsilon = 9.99999974{{.*}}E-6 : f64} : tensor<?x16xf32>, tensor<16xf32>
// CHECK: return %[[N]]
func.func @layer_norm_rsqrt(%x: tensor<?x16xf32>) -> tensor<?x16xf32> {
  %eps = arith.constant dense<1.0e-5> : tensor<f32>
  %g = arith.constant dense<2.0> : tensor<16xf32>
  %0 = tfc.reduce mean %x {axes = array<i64: 1>, keepdims = true} : tensor<?x16xf32> -> tensor<?x1xf32>
  %1 = tfc.binary sub %x, %0 : tensor<?x16xf32>, tensor<?x1xf32> -> tensor<?x16xf32>
  %m2 = tfc.reduce mean %x {axes = array<i64: 1>, keepdims = true} : tensor<?x16xf32> -> tensor<?x1xf32>
  %d2 = tfc.binary sub %x, %m2 : tensor<?x16xf32>, tensor<?x1xf32> -> tensor<?x16xf32>
  %2 = tfc.binary mul %d2, %d2 : tensor<?x16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
  %3 = tfc.reduce mean %2 {axes = array<i64: 1>, keepdims = true} : tensor<?x16xf32> -> tensor<?x1xf32>
  %4 = tfc.binary add %3, %eps : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
  %5 = tfc.unary rsqrt %4 : tensor<?x1xf32> -> tensor<?x1xf32>
  %6 = tfc.binary mul %1, %5 : tensor<?x16xf32>, tensor<?x1xf32> -> tensor<?x16xf32>
  %7 = tfc.binary mul %g, %6 : tensor<16xf32>, tensor<?x16xf32> -> tensor<?x16xf32>
  return %7 : tensor<?x16xf32>
}

// -----

// Negative: the reduction is over a dim other than the last.
// CHECK-LABEL: func @rms_wrong_axis
// CHECK-NOT: tfc.rms_norm
// CHECK: tfc.reduce mean
func.func @rms_wrong_axis(%x: tensor<?x8x64xf32>) -> tensor<?x8x64xf32> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %eps = arith.constant dense<1.0e-5> : tensor<f32>
  %0 = tfc.binary pow %x, %two : tensor<?x8x64xf32>, tensor<f32> -> tensor<?x8x64xf32>
  %1 = tfc.reduce mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<?x8x64xf32> -> tensor<?x1x64xf32>
  %2 = tfc.binary add %1, %eps : tensor<?x1x64xf32>, tensor<f32> -> tensor<?x1x64xf32>
  %3 = tfc.unary rsqrt %2 : tensor<?x1x64xf32> -> tensor<?x1x64xf32>
  %4 = tfc.binary mul %x, %3 : tensor<?x8x64xf32>, tensor<?x1x64xf32> -> tensor<?x8x64xf32>
  return %4 : tensor<?x8x64xf32>
}

// -----

// Negative: eps is not a constant; the square is of another tensor; the
// power is 3.
// CHECK-LABEL: func @rms_not_matching
// CHECK-NOT: tfc.rms_norm
func.func @rms_not_matching(%x: tensor<?x64xf32>, %y: tensor<?x64xf32>, %eps: tensor<f32>) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %two = arith.constant dense<2.0> : tensor<f32>
  %three = arith.constant dense<3.0> : tensor<f32>
  %e = arith.constant dense<1.0e-5> : tensor<f32>
  %0 = tfc.binary pow %x, %two : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %1 = tfc.reduce mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<?x64xf32> -> tensor<?x1xf32>
  %2 = tfc.binary add %1, %eps : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
  %3 = tfc.unary rsqrt %2 : tensor<?x1xf32> -> tensor<?x1xf32>
  %4 = tfc.binary mul %x, %3 : tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x64xf32>
  %5 = tfc.binary add %1, %e : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
  %6 = tfc.unary rsqrt %5 : tensor<?x1xf32> -> tensor<?x1xf32>
  %7 = tfc.binary mul %y, %6 : tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x64xf32>
  %8 = tfc.binary pow %x, %three : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %9 = tfc.reduce mean %8 {axes = array<i64: 1>, keepdims = true} : tensor<?x64xf32> -> tensor<?x1xf32>
  %10 = tfc.binary add %9, %e : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
  %11 = tfc.unary rsqrt %10 : tensor<?x1xf32> -> tensor<?x1xf32>
  %12 = tfc.binary mul %x, %11 : tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x64xf32>
  return %4, %7, %12 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// Negative: a non-constant weight is not folded (the unit-scale norm is
// still formed and the multiply stays).
// CHECK-LABEL: func @rms_weight_not_constant
// CHECK: %[[N:.*]] = tfc.rms_norm %arg0
// CHECK: tfc.binary mul %[[N]], %arg1
func.func @rms_weight_not_constant(%x: tensor<?x64xf32>, %w: tensor<64xf32>) -> tensor<?x64xf32> {
  %two = arith.constant dense<2.0> : tensor<f32>
  %e = arith.constant dense<1.0e-5> : tensor<f32>
  %0 = tfc.binary pow %x, %two : tensor<?x64xf32>, tensor<f32> -> tensor<?x64xf32>
  %1 = tfc.reduce mean %0 {axes = array<i64: 1>, keepdims = true} : tensor<?x64xf32> -> tensor<?x1xf32>
  %2 = tfc.binary add %1, %e : tensor<?x1xf32>, tensor<f32> -> tensor<?x1xf32>
  %3 = tfc.unary rsqrt %2 : tensor<?x1xf32> -> tensor<?x1xf32>
  %4 = tfc.binary mul %x, %3 : tensor<?x64xf32>, tensor<?x1xf32> -> tensor<?x64xf32>
  %5 = tfc.binary mul %4, %w : tensor<?x64xf32>, tensor<64xf32> -> tensor<?x64xf32>
  return %5 : tensor<?x64xf32>
}
