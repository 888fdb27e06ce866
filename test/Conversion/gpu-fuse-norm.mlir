// tfc-cpu-kernels{gpu-linear gpu-fuse-norm} (the CUDA target; tfc
// --cuda-fuse-norm): an RMS norm whose readers are all linears / gated MLPs
// runs inside their calls: tfcrt_gpu_linear_ex_<type> reads the norm's
// input (f32) and its scale, with flags TFCRT_LX_RMS (1) and the norm's
// epsilon. A gated MLP is one call over the joined gate | up weight with
// TFCRT_LX_GLU (2) and, for a half weight, TFCRT_LX_OUT_HALF (4): act
// (SiLU: 3) in the epilogue, a half [.., F] result that down's
// tfcrt_gpu_linear_<type> call reads as is, with the residual add after it
// in its epilogue. A half linear before a residual add takes the add too
// when no norm reads the sum (without gpu-fuse-norm it is left to the
// linalg lowering, whose norm kernel reads the add).
// RUN: tfc-opt %s "--tfc-cpu-kernels=attention=false gpu-linear=true gpu-fuse-norm=true" --cse | FileCheck %s
// RUN: tfc-opt %s "--tfc-cpu-kernels=attention=false gpu-linear=true" | FileCheck %s --check-prefix=OFF

// CHECK-LABEL: func.func @layer
// CHECK: memref.alloc(%{{.*}}) : memref<1x?x8xf32>
// CHECK: memref.alloc(%{{.*}}) : memref<1x?x12xf32>
// CHECK: %[[G1:.*]] = bufferization.to_buffer %arg4 read_only : tensor<4xf32>
// CHECK: %[[G1V:.*]] = memref.cast %[[G1]]
// CHECK: %[[H:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x?x4xf32>
// CHECK: %[[HV:.*]] = memref.cast %[[H]]
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[EPS:.*]] = arith.constant 1.000000e-05 : f64
// CHECK: call @tfcrt_gpu_linear_ex_bf16(%[[HV]], %{{.*}}, %{{.*}}, %[[G1V]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[ONE]], %[[EPS]]) : (memref<?x?x?xf32, {{.*}}>, memref<?x?xbf16, {{.*}}>, memref<?xf32, {{.*}}>, memref<?xf32, {{.*}}>, memref<?x?x?xf32, {{.*}}>, memref<?x?x?xf32, {{.*}}>, memref<?x?x?xf32, {{.*}}>, i64, i64, i64, f64) -> ()
// The output projection with the residual h in its epilogue (f32 result).
// CHECK: %[[AH:.*]] = tfc.cast %arg1 : tensor<?x?x4xf32> -> tensor<?x?x4xbf16>
// CHECK: %[[O:.*]] = memref.alloc(%{{.*}}) : memref<1x?x4xf32>
// CHECK: %[[OV:.*]] = memref.cast %[[O]]
// CHECK: call @tfcrt_gpu_linear_bf16(%{{.*}}, %{{.*}}, %{{.*}}, %[[HV]], %[[OV]],
// gate | up [4, 8] joined, RMS + GLU + half out (7), SiLU (3), into a bf16
// [1, M, 4] result; down reads it and adds h2 (the o call's result) in its
// epilogue.
// CHECK: %[[G:.*]] = memref.alloc(%{{.*}}) : memref<1x?x4xbf16>
// CHECK: %[[GV:.*]] = memref.cast %[[G]]
// CHECK-DAG: %[[SILU:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[SEVEN:.*]] = arith.constant 7 : i64
// CHECK: call @tfcrt_gpu_linear_ex_bf16_oh(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[GV]], %{{.*}}, %{{.*}}, %[[SILU]], %[[SEVEN]], %[[EPS]]) : (memref<?x?x?xf32, {{.*}}>, memref<?x?xbf16, {{.*}}>, memref<?xf32, {{.*}}>, memref<?xf32, {{.*}}>, {{.*}}, memref<?x?x?xbf16, {{.*}}>, memref<?x?x?xf32, {{.*}}>, i64, i64, i64, f64) -> ()
// CHECK: call @tfcrt_gpu_linear_bf16(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (memref<?x?x?xbf16,
// CHECK-NOT: tfc.rms_norm
// CHECK-NOT: tfc.gated_mlp
// CHECK-NOT: tfc.binary
// CHECK: return
// OFF-LABEL: func.func @layer
// OFF: call @tfcrt_gpu_linear_bf16
// OFF-NOT: tfcrt_gpu_linear_ex
// OFF: tfc.rms_norm
// OFF: tfc.linear
// OFF: tfc.binary add
// OFF: tfc.gated_mlp
func.func @layer(%h: tensor<?x?x4xf32>, %a: tensor<?x?x4xf32>, %wq: tensor<4x8xbf16>, %wo: tensor<4x4xbf16>, %g1: tensor<4xf32>) -> (tensor<?x?x8xf32>, tensor<?x?x4xf32>) {
  %one = arith.constant dense<[1.0, 2.0, 0.5, 1.5]> : tensor<4xf32>
  %wg = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]> : tensor<4x4xbf16>
  %wu = arith.constant dense<[[5.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]> : tensor<4x4xbf16>
  %wd = arith.constant dense<[[6.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]> : tensor<4x4xbf16>
  %n = tfc.rms_norm %h, %g1 {epsilon = 1.0e-5 : f64} : tensor<?x?x4xf32>, tensor<4xf32> -> tensor<?x?x4xf32>
  %q = tfc.linear %n, %wq : tensor<?x?x4xf32>, tensor<4x8xbf16> -> tensor<?x?x8xf32>
  %o = tfc.linear %a, %wo : tensor<?x?x4xf32>, tensor<4x4xbf16> -> tensor<?x?x4xf32>
  %h2 = tfc.binary add %h, %o : tensor<?x?x4xf32>, tensor<?x?x4xf32> -> tensor<?x?x4xf32>
  %n2 = tfc.rms_norm %h2, %one {epsilon = 1.0e-5 : f64} : tensor<?x?x4xf32>, tensor<4xf32> -> tensor<?x?x4xf32>
  %m = tfc.gated_mlp silu %n2, %wg, %wu, %wd : tensor<?x?x4xf32>, tensor<4x4xbf16>, tensor<4x4xbf16>, tensor<4x4xbf16> -> tensor<?x?x4xf32>
  %h3 = tfc.binary add %m, %h2 : tensor<?x?x4xf32>, tensor<?x?x4xf32> -> tensor<?x?x4xf32>
  return %q, %h3 : tensor<?x?x8xf32>, tensor<?x?x4xf32>
}

// Kept: a norm a softmax reads too, a norm another op reads (here the
// residual add, which the linear's epilogue takes), a gated MLP without a
// norm still becomes the two calls (x rounded to bf16 first: _xh_oh, flags
// 6).
// CHECK-LABEL: func.func @kept
// CHECK: tfc.rms_norm %arg0, %arg1
// CHECK: tfc.rms_norm %arg0, %{{.*}}
// CHECK: tfc.cast %arg0 : tensor<?x4xf32> -> tensor<?x4xbf16>
// CHECK: %[[SIX:.*]] = arith.constant 6 : i64
// CHECK: call @tfcrt_gpu_linear_ex_bf16_xh_oh({{.*}}, %[[SIX]], %{{.*}}) : (memref<?x?x?xbf16,
func.func @kept(%x: tensor<?x4xf32>, %g: tensor<4xf32>, %w: tensor<4x4xbf16>) -> (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>) {
  %one = arith.constant dense<1.0> : tensor<4xf32>
  %wg = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]> : tensor<4x4xbf16>
  %wu = arith.constant dense<[[5.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]> : tensor<4x4xbf16>
  %wd = arith.constant dense<[[6.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0]]> : tensor<4x4xbf16>
  %n = tfc.rms_norm %x, %g {epsilon = 1.0e-5 : f64} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %a0 = tfc.linear %n, %w : tensor<?x4xf32>, tensor<4x4xbf16> -> tensor<?x4xf32>
  %sm = tfc.softmax %n {axis = 1 : i64} : tensor<?x4xf32> -> tensor<?x4xf32>
  %a = tfc.binary mul %a0, %sm : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %n2 = tfc.rms_norm %x, %one {epsilon = 1.0e-5 : f64} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  %b = tfc.linear %n2, %w : tensor<?x4xf32>, tensor<4x4xbf16> -> tensor<?x4xf32>
  %r = tfc.binary add %n2, %b : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %m = tfc.gated_mlp silu %x, %wg, %wu, %wd : tensor<?x4xf32>, tensor<4x4xbf16>, tensor<4x4xbf16>, tensor<4x4xbf16> -> tensor<?x4xf32>
  return %a, %r, %m : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>
}

// A half linear whose residual sum a remaining norm reads (MiniLM's layer
// norms) keeps the linalg lowering: the norm's row kernel reads the half
// product and the residual together.
// CHECK-LABEL: func.func @sum_into_layer_norm
// CHECK-NOT: tfcrt_gpu_linear
// CHECK: tfc.linear
// CHECK: tfc.binary add
// CHECK: tfc.layer_norm
func.func @sum_into_layer_norm(%x: tensor<?x4xf32>, %r: tensor<?x4xf32>, %w: tensor<4x4xf16>, %g: tensor<4xf32>) -> tensor<?x4xf32> {
  %y = tfc.linear %x, %w : tensor<?x4xf32>, tensor<4x4xf16> -> tensor<?x4xf32>
  %s = tfc.binary add %y, %r : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  %n = tfc.layer_norm %s, %g {epsilon = 1.0e-5 : f64} : tensor<?x4xf32>, tensor<4xf32> -> tensor<?x4xf32>
  return %n : tensor<?x4xf32>
}
