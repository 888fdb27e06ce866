// RUN: tfc-opt %s --tfc-join-linears -split-input-file | FileCheck %s
// RUN: tfc-opt %s --tfc-join-linears "--tfc-cpu-kernels=attention=false gpu-linear=true" --cse -split-input-file | FileCheck %s --check-prefix=CALL

// tfc-join-linears (--target=cuda): the linears that read one activation
// and whose results are each split into heads of one size -- an attention's
// q / k / v projections -- become one linear over their weights side by side
// (a new constant: each row of the joined [k, nq + nk + nv] weight is the
// rows of wq, wk and wv in turn), whose result is split into heads once and
// sliced per projection (views: no copies). tfc-cpu-kernels{gpu-linear} then
// makes it one GEMM call instead of three. test/e2e/gpu-target.test runs
// the joined GEMMs (emulated on the host) against ONNX Runtime.

// CHECK-LABEL: func.func @qkv
// CHECK-SAME:    (%[[X:.*]]: tensor<?x?x4xf32>, %[[B:.*]]: index, %[[S:.*]]: index)
// CHECK:         %[[W:.*]] = arith.constant dense_resource<tfc_concat> : tensor<4x8xf32>
// CHECK:         %[[Y:.*]] = tfc.linear %[[X]], %[[W]] : tensor<?x?x4xf32>, tensor<4x8xf32> -> tensor<?x?x8xf32>
// CHECK-NOT:     tfc.linear
// CHECK:         %[[H:.*]] = tfc.reshape %[[Y]][%[[B]], %[[S]]] : tensor<?x?x8xf32> -> tensor<?x?x4x2xf32>
// CHECK:         %[[Q:.*]] = tensor.extract_slice %[[H]][0, 0, 0, 0] [%[[B]], %[[S]], 2, 2] [1, 1, 1, 1] : tensor<?x?x4x2xf32> to tensor<?x?x2x2xf32>
// CHECK:         %[[H2:.*]] = tfc.reshape %[[Y]][%[[B]], %[[S]]] : tensor<?x?x8xf32> -> tensor<?x?x4x2xf32>
// CHECK:         %[[K:.*]] = tensor.extract_slice %[[H2]][0, 0, 2, 0] [%[[B]], %[[S]], 1, 2] [1, 1, 1, 1] : tensor<?x?x4x2xf32> to tensor<?x?x1x2xf32>
// CHECK:         %[[H3:.*]] = tfc.reshape %[[Y]][%[[B]], %[[S]]] : tensor<?x?x8xf32> -> tensor<?x?x4x2xf32>
// CHECK:         %[[V:.*]] = tensor.extract_slice %[[H3]][0, 0, 3, 0] [%[[B]], %[[S]], 1, 2] [1, 1, 1, 1] : tensor<?x?x4x2xf32> to tensor<?x?x1x2xf32>
// CHECK:         return %[[Q]], %[[K]], %[[V]]
// The joined weight, row by row: wq's 4 columns, wk's 2, wv's 2 (f32 1..4,
// 17, 18, 25, 26 for row 0; the blob starts with its alignment, 16).
// CHECK:         tfc_concat: "0x10000000
// CHECK-SAME:    0000803F00000040000040400000804000008841000090410000C8410000D041
// CALL-LABEL: func.func @qkv
// CALL-COUNT-1:  call @tfcrt_gpu_linear_f32(
// CALL-NOT:      call @tfcrt_gpu_linear
// CALL:          return
func.func @qkv(%x: tensor<?x?x4xf32>, %b: index, %s: index) -> (tensor<?x?x2x2xf32>, tensor<?x?x1x2xf32>, tensor<?x?x1x2xf32>) {
  %wq = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]> : tensor<4x4xf32>
  %wk = arith.constant dense<[[17.0, 18.0], [19.0, 20.0], [21.0, 22.0], [23.0, 24.0]]> : tensor<4x2xf32>
  %wv = arith.constant dense<[[25.0, 26.0], [27.0, 28.0], [29.0, 30.0], [31.0, 32.0]]> : tensor<4x2xf32>
  %q = tfc.linear %x, %wq : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %q4 = tfc.reshape %q[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %k = tfc.linear %x, %wk : tensor<?x?x4xf32>, tensor<4x2xf32> -> tensor<?x?x2xf32>
  %k4 = tfc.reshape %k[%b, %s] : tensor<?x?x2xf32> -> tensor<?x?x1x2xf32>
  %v = tfc.linear %x, %wv : tensor<?x?x4xf32>, tensor<4x2xf32> -> tensor<?x?x2xf32>
  %v4 = tfc.reshape %v[%b, %s] : tensor<?x?x2xf32> -> tensor<?x?x1x2xf32>
  return %q4, %k4, %v4 : tensor<?x?x2x2xf32>, tensor<?x?x1x2xf32>, tensor<?x?x1x2xf32>
}

// -----

// Half weights stored transposed ([n, k]) with biases: the weights join
// along their rows ([nq + nk, k]) and the biases one after the other. The
// GEMM call gets the joined bias for its epilogue and transpose_w = 1.
// CHECK-LABEL: func.func @transposed_bias
// CHECK-DAG:     %[[W:.*]] = arith.constant dense_resource<tfc_concat> : tensor<6x4xf16>
// CHECK-DAG:     %[[BI:.*]] = arith.constant dense_resource<tfc_concat_1> : tensor<6xf32>
// CHECK:         tfc.linear %arg0, %[[W]] bias %[[BI]] : tensor<6xf32> {transpose_weight = true} : tensor<3x4xf32>, tensor<6x4xf16> -> tensor<3x6xf32>
// CHECK-NOT:     tfc.linear
// CHECK:         tensor.extract_slice %{{.*}}[0, 0, 0] [3, 2, 2] [1, 1, 1] : tensor<3x3x2xf32> to tensor<3x2x2xf32>
// CHECK:         tensor.extract_slice %{{.*}}[0, 2, 0] [3, 1, 2] [1, 1, 1] : tensor<3x3x2xf32> to tensor<3x1x2xf32>
// CHECK:         tfc_concat: "0x10000000
// CHECK-SAME:    003C0040004200440045004600470048804800498049004A804A004B804B004C404C804CC04C004D404D804DC04D004E"
// CHECK:         tfc_concat_1: "0x10000000
// CHECK-SAME:    0000803F0000004000004040000080400000A0400000C040"
// CALL-LABEL: func.func @transposed_bias
// CALL:          %[[T1:.*]] = arith.constant 1 : i64
// CALL:          call @tfcrt_gpu_linear_f16({{.*}}, %[[T1]], %{{.*}})
// CALL-NOT:      call @tfcrt_gpu_linear
// CALL:          return
func.func @transposed_bias(%x: tensor<3x4xf32>) -> (tensor<3x2x2xf32>, tensor<3x1x2xf32>) {
  %wq = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]> : tensor<4x4xf16>
  %wk = arith.constant dense<[[17.0, 18.0, 19.0, 20.0], [21.0, 22.0, 23.0, 24.0]]> : tensor<2x4xf16>
  %bq = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %bk = arith.constant dense<[5.0, 6.0]> : tensor<2xf32>
  %q = tfc.linear %x, %wq bias %bq : tensor<4xf32> {transpose_weight = true} : tensor<3x4xf32>, tensor<4x4xf16> -> tensor<3x4xf32>
  %q3 = tfc.reshape %q : tensor<3x4xf32> -> tensor<3x2x2xf32>
  %k = tfc.linear %x, %wk bias %bk : tensor<2xf32> {transpose_weight = true} : tensor<3x4xf32>, tensor<2x4xf16> -> tensor<3x2xf32>
  %k3 = tfc.reshape %k : tensor<3x2xf32> -> tensor<3x1x2xf32>
  return %q3, %k3 : tensor<3x2x2xf32>, tensor<3x1x2xf32>
}

// -----

// Left alone: a projection whose result is not only split into heads (here
// also added: an epilogue candidate), head sizes that differ, one with a
// bias beside one without, a weight that is not a constant, a splat weight
// (no data to join).
// CHECK-LABEL: func.func @not_joined
// CHECK-NOT:     tfc_concat
// CHECK-COUNT-7: tfc.linear
// CHECK-NOT:     tensor.extract_slice
func.func @not_joined(%x: tensor<3x4xf32>, %w: tensor<4x4xf32>, %y: tensor<3x4xf32>) -> (tensor<3x2x2xf32>, tensor<3x4xf32>, tensor<3x2x2xf32>, tensor<3x1x4xf32>, tensor<3x2x2xf32>, tensor<3x2x2xf32>, tensor<3x2x2xf32>, tensor<3x2x2xf32>) {
  %wa = arith.constant dense<1.0> : tensor<4x4xf32>
  %wb = arith.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0], [13.0, 14.0, 15.0, 16.0]]> : tensor<4x4xf32>
  %bias = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %a = tfc.linear %x, %wb : tensor<3x4xf32>, tensor<4x4xf32> -> tensor<3x4xf32>
  %a3 = tfc.reshape %a : tensor<3x4xf32> -> tensor<3x2x2xf32>
  %r = tfc.binary add %a, %x : tensor<3x4xf32>, tensor<3x4xf32> -> tensor<3x4xf32>
  %c = tfc.linear %x, %wb : tensor<3x4xf32>, tensor<4x4xf32> -> tensor<3x4xf32>
  %c3 = tfc.reshape %c : tensor<3x4xf32> -> tensor<3x2x2xf32>
  %d = tfc.linear %x, %wb : tensor<3x4xf32>, tensor<4x4xf32> -> tensor<3x4xf32>
  %d3 = tfc.reshape %d : tensor<3x4xf32> -> tensor<3x1x4xf32>
  %e = tfc.linear %y, %w : tensor<3x4xf32>, tensor<4x4xf32> -> tensor<3x4xf32>
  %e3 = tfc.reshape %e : tensor<3x4xf32> -> tensor<3x2x2xf32>
  %f = tfc.linear %y, %wb bias %bias : tensor<4xf32> : tensor<3x4xf32>, tensor<4x4xf32> -> tensor<3x4xf32>
  %f3 = tfc.reshape %f : tensor<3x4xf32> -> tensor<3x2x2xf32>
  %g = tfc.linear %y, %wa bias %bias : tensor<4xf32> : tensor<3x4xf32>, tensor<4x4xf32> -> tensor<3x4xf32>
  %g3 = tfc.reshape %g : tensor<3x4xf32> -> tensor<3x2x2xf32>
  %h = tfc.linear %x, %wb bias %bias : tensor<4xf32> : tensor<3x4xf32>, tensor<4x4xf32> -> tensor<3x4xf32>
  %h3 = tfc.reshape %h : tensor<3x4xf32> -> tensor<3x2x2xf32>
  return %a3, %r, %c3, %d3, %e3, %f3, %g3, %h3 : tensor<3x2x2xf32>, tensor<3x4xf32>, tensor<3x2x2xf32>, tensor<3x1x4xf32>, tensor<3x2x2xf32>, tensor<3x2x2xf32>, tensor<3x2x2xf32>, tensor<3x2x2xf32>
}
