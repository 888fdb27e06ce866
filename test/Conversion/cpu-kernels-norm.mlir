// tfc-cpu-kernels lowers f32 tfc.layer_norm / tfc.rms_norm (always over the
// last dim) to the runtime's row kernels on the input viewed as [rows, n];
// other element types keep the reference lowering (tfc-to-linalg). The op
// has no axis: ONNX LayerNormalization over another axis is refused by the
// importer and tfc-raise-norms raises only last-dim reductions, so no such
// case reaches this pass.
// RUN: tfc-opt %s --tfc-cpu-kernels | FileCheck %s
// RUN: tfc-opt %s "--tfc-cpu-kernels=norm=false" | FileCheck %s --check-prefix=OFF

// CHECK-DAG: func.func private @tfcrt_layer_norm_f32({{.*}}) attributes {llvm.emit_c_interface}
// CHECK-DAG: func.func private @tfcrt_rms_norm_f32({{.*}}) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[X2:.*]] = tensor.collapse_shape %arg0 {{\[\[}}0, 1], [2]] : tensor<?x128x384xf32> into tensor<?x384xf32>
// CHECK: %[[OUT:.*]] = memref.alloc(%{{.*}}) : memref<?x384xf32>
// CHECK: bufferization.to_buffer %[[X2]] read_only
// CHECK: call @tfcrt_layer_norm_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, f32) -> ()
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<?x384xf32> to tensor<?x384xf32>
// CHECK: %[[R:.*]] = tensor.expand_shape %[[Y]] {{\[\[}}0, 1], [2]] output_shape [%{{.*}}, 128, 384] : tensor<?x384xf32> into tensor<?x128x384xf32>
// CHECK-NOT: tfc.layer_norm
// CHECK: return %[[R]]
// OFF-LABEL: func.func @layer_norm
// OFF: tfc.layer_norm
// OFF-NOT: call
func.func @layer_norm(%x: tensor<?x128x384xf32>, %g: tensor<384xf32>, %b: tensor<384xf32>) -> tensor<?x128x384xf32> {
  %y = tfc.layer_norm %x, %g bias %b : tensor<384xf32> {epsilon = 1.0E-12 : f64} : tensor<?x128x384xf32>, tensor<384xf32> -> tensor<?x128x384xf32>
  return %y : tensor<?x128x384xf32>
}

// No bias: an empty operand; 2-D input: no reshape. The epsilon is passed
// as f32.
// CHECK-LABEL: func.func @no_bias
// CHECK-NOT: tensor.collapse_shape
// CHECK: %[[NONE:.*]] = memref.alloca() : memref<0xf32>
// CHECK: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK: call @tfcrt_layer_norm_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[EPS]])
// CHECK-NOT: tensor.expand_shape
func.func @no_bias(%x: tensor<3x16xf32>, %g: tensor<16xf32>) -> tensor<3x16xf32> {
  %y = tfc.layer_norm %x, %g {epsilon = 1.0E-5 : f64} : tensor<3x16xf32>, tensor<16xf32> -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// A single row (rank 1) is viewed as [1, n].
// CHECK-LABEL: func.func @one_row
// CHECK: tensor.expand_shape %arg0 {{\[\[}}0, 1]] output_shape [1, 7] : tensor<7xf32> into tensor<1x7xf32>
// CHECK: call @tfcrt_layer_norm_f32(
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<1x7xf32> into tensor<7xf32>
func.func @one_row(%x: tensor<7xf32>, %g: tensor<7xf32>) -> tensor<7xf32> {
  %y = tfc.layer_norm %x, %g {epsilon = 1.0E-5 : f64} : tensor<7xf32>, tensor<7xf32> -> tensor<7xf32>
  return %y : tensor<7xf32>
}

// CHECK-LABEL: func.func @rms_norm
// CHECK: call @tfcrt_rms_norm_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<?x?xf32, strided<[?, ?], offset: ?>>, memref<?xf32, strided<[?], offset: ?>>, memref<?x?xf32, strided<[?, ?], offset: ?>>, f32) -> ()
// CHECK-NOT: tfc.rms_norm
func.func @rms_norm(%x: tensor<1x?x64xf32>, %g: tensor<64xf32>) -> tensor<1x?x64xf32> {
  %y = tfc.rms_norm %x, %g {epsilon = 1.0E-6 : f64} : tensor<1x?x64xf32>, tensor<64xf32> -> tensor<1x?x64xf32>
  return %y : tensor<1x?x64xf32>
}

// Not f32 (input, scale or bias): the reference lowering.
// CHECK-LABEL: func.func @not_f32
// CHECK-NOT: call
// CHECK: tfc.layer_norm {{.*}} : tensor<2x16xf16>, tensor<16xf16>
// CHECK: tfc.rms_norm {{.*}} : tensor<2x16xbf16>, tensor<16xbf16>
// CHECK: tfc.layer_norm {{.*}} : tensor<2x16xf32>, tensor<16xf16>
// CHECK: tfc.layer_norm {{.*}} bias %{{.*}} : tensor<16xf16> {{.*}} : tensor<2x16xf32>, tensor<16xf32>
// CHECK-NOT: call
// CHECK: return
func.func @not_f32(%h: tensor<2x16xf16>, %gh: tensor<16xf16>, %b: tensor<2x16xbf16>, %gb: tensor<16xbf16>, %x: tensor<2x16xf32>, %g: tensor<16xf32>) -> (tensor<2x16xf16>, tensor<2x16xbf16>, tensor<2x16xf32>, tensor<2x16xf32>) {
  %0 = tfc.layer_norm %h, %gh {epsilon = 1.0E-5 : f64} : tensor<2x16xf16>, tensor<16xf16> -> tensor<2x16xf16>
  %1 = tfc.rms_norm %b, %gb {epsilon = 1.0E-5 : f64} : tensor<2x16xbf16>, tensor<16xbf16> -> tensor<2x16xbf16>
  %2 = tfc.layer_norm %x, %gh {epsilon = 1.0E-5 : f64} : tensor<2x16xf32>, tensor<16xf16> -> tensor<2x16xf32>
  %3 = tfc.layer_norm %x, %g bias %gh : tensor<16xf16> {epsilon = 1.0E-5 : f64} : tensor<2x16xf32>, tensor<16xf32> -> tensor<2x16xf32>
  return %0, %1, %2, %3 : tensor<2x16xf16>, tensor<2x16xbf16>, tensor<2x16xf32>, tensor<2x16xf32>
}
