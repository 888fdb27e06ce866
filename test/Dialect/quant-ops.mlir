// RUN: tfc-opt %s -split-input-file | tfc-opt | FileCheck %s
// RUN: tfc-opt %s -split-input-file -tfc-to-linalg -canonicalize | FileCheck %s --check-prefix=LINALG

// The quantization ops round-trip; -tfc-to-linalg gives their reference
// lowering (no tfc op left).
// CHECK-LABEL: func @ops
// CHECK: tfc.quantize %{{.*}}, %{{.*}} zero_point %{{.*}} : tensor<1x8xi8> {bits = 8 : i64, group = 0 : i64, group_axis = 0 : i64, unsigned_codes = true}
// CHECK: tfc.dequantize
// CHECK: tfc.dynamic_quantize %{{.*}} {per_row = true}
// CHECK: tfc.qlinear %{{.*}} {activation = #tfc.qact<row>, bits = 4 : i64, group = 32 : i64, unsigned_codes = true}
// CHECK: tfc.qlinear {{.*}}{act_scale = 2.500000e-01 : f32, activation = #tfc.qact<static>
// CHECK: tfc.qgated_mlp {{ *}}silu
// CHECK: tfc.qembedding
// LINALG-LABEL: func @ops
// LINALG-NOT: tfc.
// LINALG: return
func.func @ops(%x: tensor<4x8xf32>, %s: tensor<1x8xf32>, %z: tensor<1x8xi8>,
               %w: tensor<64x16xi8>, %ws: tensor<2x16xf32>, %wz: tensor<2x16xi8>,
               %a: tensor<2x3x64xf32>, %ids: tensor<2x3xi64>, %t: tensor<10x64xi8>,
               %ts: tensor<10x2xf32>, %g: tensor<64x32xi8>, %gs: tensor<1x32xf32>,
               %d: tensor<32x64xi8>, %dsc: tensor<1x64xf32>)
    -> (tensor<4x8xf32>, tensor<4x8xi8>, tensor<2x3x16xf32>, tensor<2x3x16xf32>,
        tensor<2x3x64xf32>, tensor<2x3x64xf32>) {
  %q = tfc.quantize %x, %s zero_point %z : tensor<1x8xi8> {bits = 8 : i64, unsigned_codes = true, group = 0 : i64, group_axis = 0 : i64} : tensor<4x8xf32>, tensor<1x8xf32> -> tensor<4x8xi8>
  %dq = tfc.dequantize %q, %s zero_point %z : tensor<1x8xi8> {bits = 8 : i64, unsigned_codes = true, group = 0 : i64, group_axis = 0 : i64} : tensor<4x8xi8>, tensor<1x8xf32> -> tensor<4x8xf32>
  %dq8, %dsc8, %dz8 = tfc.dynamic_quantize %x {per_row = true} : tensor<4x8xf32> -> tensor<4x8xi8>, tensor<4x1xf32>, tensor<4x1xi8>
  %y = tfc.qlinear %a, %w, %ws zero_point %wz : tensor<2x16xi8> {bits = 4 : i64, unsigned_codes = true, group = 32 : i64, activation = #tfc.qact<row>} : tensor<2x3x64xf32>, tensor<64x16xi8>, tensor<2x16xf32> -> tensor<2x3x16xf32>
  %y2 = tfc.qlinear %a, %w, %ws {bits = 8 : i64, unsigned_codes = false, group = 32 : i64, activation = #tfc.qact<static>, act_scale = 0.25 : f32} : tensor<2x3x64xf32>, tensor<64x16xi8>, tensor<2x16xf32> -> tensor<2x3x16xf32>
  %m = tfc.qgated_mlp silu %a, %g, %gs, %g, %gs, %d, %dsc {bits = 8 : i64, unsigned_codes = false, group = 0 : i64, activation = #tfc.qact<none>} : tensor<2x3x64xf32>, tensor<64x32xi8>, tensor<1x32xf32>, tensor<64x32xi8>, tensor<1x32xf32>, tensor<32x64xi8>, tensor<1x64xf32> -> tensor<2x3x64xf32>
  %e = tfc.qembedding %t, %ts [%ids] {bits = 8 : i64, unsigned_codes = false, group = 32 : i64} : tensor<10x64xi8>, tensor<10x2xf32>, tensor<2x3xi64> -> tensor<2x3x64xf32>
  return %dq, %dq8, %y, %y2, %m, %e : tensor<4x8xf32>, tensor<4x8xi8>, tensor<2x3x16xf32>, tensor<2x3x16xf32>, tensor<2x3x64xf32>, tensor<2x3x64xf32>
}
