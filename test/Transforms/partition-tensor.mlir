// RUN: tfc-opt %s -split-input-file -tfc-partition=strategy=tensor:2 -verify-each | FileCheck %s

// Multi-head attention, 2 heads of 2 over 2 ranks, with biases: q/k/v keep
// their head's columns (and bias entries), o_proj its rows; o_proj's bias
// is added once, after the all_reduce.
// CHECK: module attributes {tfc.partition = {kind = "tensor", parts = 2 : i64}}
// CHECK-LABEL: func.func @tfc_mha_p0_main(
// CHECK-SAME: attributes {tfc.entry, tfc.part = 0 : i64}
// CHECK-DAG: %[[WO:.*]] = arith.constant dense<{{\[}}[2.000000e+01, 2.100000e+01, 2.200000e+01, 2.300000e+01], [2.400000e+01, 2.500000e+01, 2.600000e+01, 2.700000e+01]]> : tensor<2x4xf32>
// CHECK-DAG: %[[BQ:.*]] = arith.constant dense<[5.000000e-01, 1.500000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[W:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00], [4.000000e+00, 5.000000e+00], [8.000000e+00, 9.000000e+00], [1.200000e+01, 1.300000e+01]]> : tensor<4x2xf32>
// CHECK-DAG: %[[BO:.*]] = arith.constant dense<[4.500000e+00, 5.500000e+00, 6.500000e+00, 7.500000e+00]> : tensor<4xf32>
// CHECK: %[[Q:.*]] = tfc.linear %arg0, %[[W]] bias %[[BQ]] : tensor<2xf32> : tensor<?x?x4xf32>, tensor<4x2xf32> -> tensor<?x?x2xf32>
// CHECK: tfc.reshape %[[Q]][{{.*}}] : tensor<?x?x2xf32> -> tensor<?x?x1x2xf32>
// CHECK: tfc.linear %arg0, %[[W]] : tensor<?x?x4xf32>, tensor<4x2xf32> -> tensor<?x?x2xf32>
// CHECK: tfc.linear %arg0, %[[WO]] {transpose_weight = true} : tensor<?x?x4xf32>, tensor<2x4xf32> -> tensor<?x?x2xf32>
// CHECK: tfc.attention {{.*}} : tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32> -> tensor<?x1x?x2xf32>
// CHECK: %[[M:.*]] = tfc.reshape {{.*}} : tensor<?x?x1x2xf32> -> tensor<?x?x2xf32>
// CHECK: %[[O:.*]] = tfc.linear %[[M]], %[[WO]] : tensor<?x?x2xf32>, tensor<2x4xf32> -> tensor<?x?x4xf32>
// CHECK: %[[S:.*]] = tfc.all_reduce %[[O]] {parts = 2 : i64} : tensor<?x?x4xf32>
// CHECK: %[[OB:.*]] = tfc.binary add %[[S]], %[[BO]]
// CHECK: tfc.binary add %[[OB]], %arg0
// CHECK-LABEL: func.func @tfc_mha_p1_main(
// CHECK-SAME: attributes {tfc.entry, tfc.part = 1 : i64}
// CHECK-DAG: arith.constant dense<{{\[}}[2.800000e+01, 2.900000e+01, 3.000000e+01, 3.100000e+01], [3.200000e+01, 3.300000e+01, 3.400000e+01, 3.500000e+01]]> : tensor<2x4xf32>
// CHECK-DAG: arith.constant dense<[2.500000e+00, 3.500000e+00]> : tensor<2xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[2.000000e+00, 3.000000e+00], [6.000000e+00, 7.000000e+00], [1.000000e+01, 1.100000e+01], [1.400000e+01, 1.500000e+01]]> : tensor<4x2xf32>
// CHECK: tfc.attention {{.*}} -> tensor<?x1x?x2xf32>
// CHECK: tfc.all_reduce
// CHECK-NOT: func.func
func.func @tfc_mha_main(%x: tensor<?x?x4xf32>) -> tensor<?x?x4xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %w = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 10.0, 11.0], [12.0, 13.0, 14.0, 15.0]]> : tensor<4x4xf32>
  %wo = arith.constant dense<[[20.0, 21.0, 22.0, 23.0], [24.0, 25.0, 26.0, 27.0], [28.0, 29.0, 30.0, 31.0], [32.0, 33.0, 34.0, 35.0]]> : tensor<4x4xf32>
  %bq = arith.constant dense<[0.5, 1.5, 2.5, 3.5]> : tensor<4xf32>
  %bo = arith.constant dense<[4.5, 5.5, 6.5, 7.5]> : tensor<4xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x4xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x4xf32>
  %q = tfc.linear %x, %w bias %bq : tensor<4xf32> : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %q4 = tfc.reshape %q[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %qt = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %k = tfc.linear %x, %w : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %k4 = tfc.reshape %k[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %kt = tfc.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %v = tfc.linear %x, %wo {transpose_weight = true} : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %v4 = tfc.reshape %v[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %vt = tfc.transpose %v4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %a = tfc.attention %qt, %kt, %vt {causal = true, scale = 0.5 : f64} : tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32>, tensor<?x2x?x2xf32> -> tensor<?x2x?x2xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x2xf32> -> tensor<?x?x2x2xf32>
  %m = tfc.reshape %at[%b, %s] : tensor<?x?x2x2xf32> -> tensor<?x?x4xf32>
  %o = tfc.linear %m, %wo bias %bo : tensor<4xf32> : tensor<?x?x4xf32>, tensor<4x4xf32> -> tensor<?x?x4xf32>
  %r = tfc.binary add %o, %x : tensor<?x?x4xf32>, tensor<?x?x4xf32> -> tensor<?x?x4xf32>
  return %r : tensor<?x?x4xf32>
}

// -----

// GQA with as many kv heads as ranks (4 q heads, 2 kv heads, head dim 1):
// rank r keeps kv head r and its q heads 2r, 2r + 1 (GQA 2:1 on the rank).
// CHECK-LABEL: func.func @tfc_gqa_p0_main(
// CHECK-DAG: %[[WO:.*]] = arith.constant dense<{{\[}}[3.000000e+01, 3.100000e+01], [3.200000e+01, 3.300000e+01]]> : tensor<2x2xf32>
// CHECK-DAG: %[[WV:.*]] = arith.constant dense<{{\[}}[2.000000e+01], [2.200000e+01]]> : tensor<2x1xf32>
// CHECK-DAG: %[[WK:.*]] = arith.constant dense<{{\[}}[1.000000e+01], [1.200000e+01]]> : tensor<2x1xf32>
// CHECK-DAG: %[[WQ:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00], [4.000000e+00, 5.000000e+00]]> : tensor<2x2xf32>
// CHECK: tfc.linear %arg0, %[[WQ]]
// CHECK: tfc.linear %arg0, %[[WK]]
// CHECK: tfc.linear %arg0, %[[WV]]
// CHECK: tfc.attention {{.*}} : tensor<?x2x?x1xf32>, tensor<?x1x?x1xf32>, tensor<?x1x?x1xf32> -> tensor<?x2x?x1xf32>
// CHECK: %[[O:.*]] = tfc.linear {{.*}}, %[[WO]]
// CHECK: %[[S:.*]] = tfc.all_reduce %[[O]]
// CHECK: return %[[S]]
// CHECK-LABEL: func.func @tfc_gqa_p1_main(
// CHECK-DAG: arith.constant dense<{{\[}}[3.400000e+01, 3.500000e+01], [3.600000e+01, 3.700000e+01]]> : tensor<2x2xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[2.100000e+01], [2.300000e+01]]> : tensor<2x1xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[1.100000e+01], [1.300000e+01]]> : tensor<2x1xf32>
// CHECK-DAG: arith.constant dense<{{\[}}[2.000000e+00, 3.000000e+00], [6.000000e+00, 7.000000e+00]]> : tensor<2x2xf32>
// CHECK: tfc.attention {{.*}} -> tensor<?x2x?x1xf32>
func.func @tfc_gqa_main(%x: tensor<?x?x2xf32>) -> tensor<?x?x2xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %wq = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]> : tensor<2x4xf32>
  %wk = arith.constant dense<[[10.0, 11.0], [12.0, 13.0]]> : tensor<2x2xf32>
  %wv = arith.constant dense<[[20.0, 21.0], [22.0, 23.0]]> : tensor<2x2xf32>
  %wo = arith.constant dense<[[30.0, 31.0], [32.0, 33.0], [34.0, 35.0], [36.0, 37.0]]> : tensor<4x2xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x2xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x2xf32>
  %q = tfc.linear %x, %wq : tensor<?x?x2xf32>, tensor<2x4xf32> -> tensor<?x?x4xf32>
  %q4 = tfc.reshape %q[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x4x1xf32>
  %qt = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x1xf32> -> tensor<?x4x?x1xf32>
  %k = tfc.linear %x, %wk : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
  %k4 = tfc.reshape %k[%b, %s] : tensor<?x?x2xf32> -> tensor<?x?x2x1xf32>
  %kt = tfc.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x1xf32> -> tensor<?x2x?x1xf32>
  %v = tfc.linear %x, %wv : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
  %v4 = tfc.reshape %v[%b, %s] : tensor<?x?x2xf32> -> tensor<?x?x2x1xf32>
  %vt = tfc.transpose %v4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x1xf32> -> tensor<?x2x?x1xf32>
  %a = tfc.attention %qt, %kt, %vt {causal = true, scale = 1.0 : f64} : tensor<?x4x?x1xf32>, tensor<?x2x?x1xf32>, tensor<?x2x?x1xf32> -> tensor<?x4x?x1xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x4x?x1xf32> -> tensor<?x?x4x1xf32>
  %m = tfc.reshape %at[%b, %s] : tensor<?x?x4x1xf32> -> tensor<?x?x4xf32>
  %o = tfc.linear %m, %wo : tensor<?x?x4xf32>, tensor<4x2xf32> -> tensor<?x?x2xf32>
  return %o : tensor<?x?x2xf32>
}

// -----

// GQA with fewer kv heads than ranks (2 q heads, 1 kv head, head dim 2,
// rotary): each rank gets one q head and a copy of the kv head (MHA 1:1).
// CHECK-LABEL: func.func @tfc_mqa_p1_main(
// CHECK-DAG: %[[WO:.*]] = arith.constant dense<{{\[}}[3.400000e+01, 3.500000e+01], [3.600000e+01, 3.700000e+01]]> : tensor<2x2xf32>
// CHECK-DAG: %[[WV:.*]] = arith.constant dense<{{\[}}[2.000000e+01, 2.100000e+01], [2.200000e+01, 2.300000e+01]]> : tensor<2x2xf32>
// CHECK-DAG: %[[BK:.*]] = arith.constant dense<[5.000000e-01, 1.500000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[WK:.*]] = arith.constant dense<{{\[}}[1.000000e+01, 1.100000e+01], [1.200000e+01, 1.300000e+01]]> : tensor<2x2xf32>
// CHECK-DAG: %[[WQ:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 3.000000e+00], [6.000000e+00, 7.000000e+00]]> : tensor<2x2xf32>
// CHECK: tfc.linear %arg0, %[[WQ]] : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
// CHECK: tfc.rotary half {{.*}} -> tensor<?x1x?x2xf32>
// CHECK: tfc.linear %arg0, %[[WK]] bias %[[BK]]
// CHECK: tfc.rotary half {{.*}} -> tensor<?x1x?x2xf32>
// CHECK: tfc.linear %arg0, %[[WV]]
// CHECK: tfc.attention {{.*}} : tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32> -> tensor<?x1x?x2xf32>
// CHECK: %[[O:.*]] = tfc.linear {{.*}}, %[[WO]]
// CHECK: tfc.all_reduce %[[O]]
func.func @tfc_mqa_main(%x: tensor<?x?x2xf32>, %cos: tensor<1x1x?x2xf32>, %sin: tensor<1x1x?x2xf32>) -> tensor<?x?x2xf32> attributes {tfc.entry} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %wq = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]> : tensor<2x4xf32>
  %wk = arith.constant dense<[[10.0, 11.0], [12.0, 13.0]]> : tensor<2x2xf32>
  %bk = arith.constant dense<[0.5, 1.5]> : tensor<2xf32>
  %wv = arith.constant dense<[[20.0, 21.0], [22.0, 23.0]]> : tensor<2x2xf32>
  %wo = arith.constant dense<[[30.0, 31.0], [32.0, 33.0], [34.0, 35.0], [36.0, 37.0]]> : tensor<4x2xf32>
  %b = tensor.dim %x, %c0 : tensor<?x?x2xf32>
  %s = tensor.dim %x, %c1 : tensor<?x?x2xf32>
  %q = tfc.linear %x, %wq : tensor<?x?x2xf32>, tensor<2x4xf32> -> tensor<?x?x4xf32>
  %q4 = tfc.reshape %q[%b, %s] : tensor<?x?x4xf32> -> tensor<?x?x2x2xf32>
  %qt = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x2xf32> -> tensor<?x2x?x2xf32>
  %qr = tfc.rotary half %qt, %cos, %sin : tensor<?x2x?x2xf32>, tensor<1x1x?x2xf32>, tensor<1x1x?x2xf32> -> tensor<?x2x?x2xf32>
  %k = tfc.linear %x, %wk bias %bk : tensor<2xf32> : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
  %k4 = tfc.reshape %k[%b, %s] : tensor<?x?x2xf32> -> tensor<?x?x1x2xf32>
  %kt = tfc.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x1x2xf32> -> tensor<?x1x?x2xf32>
  %kr = tfc.rotary half %kt, %cos, %sin : tensor<?x1x?x2xf32>, tensor<1x1x?x2xf32>, tensor<1x1x?x2xf32> -> tensor<?x1x?x2xf32>
  %v = tfc.linear %x, %wv : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
  %v4 = tfc.reshape %v[%b, %s] : tensor<?x?x2xf32> -> tensor<?x?x1x2xf32>
  %vt = tfc.transpose %v4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x1x2xf32> -> tensor<?x1x?x2xf32>
  %a = tfc.attention %qr, %kr, %vt {causal = true, scale = 1.0 : f64} : tensor<?x2x?x2xf32>, tensor<?x1x?x2xf32>, tensor<?x1x?x2xf32> -> tensor<?x2x?x2xf32>
  %at = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x2xf32> -> tensor<?x?x2x2xf32>
  %m = tfc.reshape %at[%b, %s] : tensor<?x?x2x2xf32> -> tensor<?x?x4xf32>
  %o = tfc.linear %m, %wo : tensor<?x?x4xf32>, tensor<4x2xf32> -> tensor<?x?x2xf32>
  return %o : tensor<?x?x2xf32>
}

// -----

// Gated MLP, hidden 3 over 2 ranks (2, 1): gate/up columns, down rows.
// CHECK-LABEL: func.func @tfc_gated_p0_main(
// CHECK: tfc.gated_mlp silu %arg0, {{.*}} : tensor<?x?x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
// CHECK-LABEL: func.func @tfc_gated_p1_main(
// CHECK-DAG: %[[WD:.*]] = arith.constant dense<{{\[}}[2.400000e+01, 2.500000e+01]]> : tensor<1x2xf32>
// CHECK-DAG: %[[WU:.*]] = arith.constant dense<{{\[}}[1.200000e+01], [1.500000e+01]]> : tensor<2x1xf32>
// CHECK-DAG: %[[WG:.*]] = arith.constant dense<{{\[}}[2.000000e+00], [5.000000e+00]]> : tensor<2x1xf32>
// CHECK: %[[Y:.*]] = tfc.gated_mlp silu %arg0, %[[WG]], %[[WU]], %[[WD]] : tensor<?x?x2xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<1x2xf32> -> tensor<?x?x2xf32>
// CHECK: %[[S:.*]] = tfc.all_reduce %[[Y]] {parts = 2 : i64}
// CHECK: tfc.binary add %[[S]], %arg0
func.func @tfc_gated_main(%x: tensor<?x?x2xf32>) -> tensor<?x?x2xf32> attributes {tfc.entry} {
  %wg = arith.constant dense<[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]> : tensor<2x3xf32>
  %wu = arith.constant dense<[[10.0, 11.0, 12.0], [13.0, 14.0, 15.0]]> : tensor<2x3xf32>
  %wd = arith.constant dense<[[20.0, 21.0], [22.0, 23.0], [24.0, 25.0]]> : tensor<3x2xf32>
  %y = tfc.gated_mlp silu %x, %wg, %wu, %wd : tensor<?x?x2xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<3x2xf32> -> tensor<?x?x2xf32>
  %r = tfc.binary add %y, %x : tensor<?x?x2xf32>, tensor<?x?x2xf32> -> tensor<?x?x2xf32>
  return %r : tensor<?x?x2xf32>
}

// -----

// BERT MLP: up (+ bias) -> gelu -> scale -> down (+ bias). The down bias is
// added after the all_reduce.
// CHECK-LABEL: func.func @tfc_bert_p1_main(
// CHECK-DAG: %[[WD:.*]] = arith.constant dense<{{\[}}[2.400000e+01, 2.500000e+01], [2.600000e+01, 2.700000e+01]]> : tensor<2x2xf32>
// CHECK-DAG: %[[BU:.*]] = arith.constant dense<[2.500000e+00, 3.500000e+00]> : tensor<2xf32>
// CHECK-DAG: %[[WU:.*]] = arith.constant dense<{{\[}}[2.000000e+00, 3.000000e+00], [6.000000e+00, 7.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[BD:.*]] = arith.constant dense<[8.500000e+00, 9.500000e+00]> : tensor<2xf32>
// CHECK: tfc.linear %arg0, %[[WU]] bias %[[BU]] : tensor<2xf32> : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
// CHECK: tfc.unary gelu {{.*}} : tensor<?x?x2xf32> -> tensor<?x?x2xf32>
// CHECK: %[[H:.*]] = tfc.binary mul {{.*}} : tensor<?x?x2xf32>, tensor<f32> -> tensor<?x?x2xf32>
// CHECK: %[[D:.*]] = tfc.linear %[[H]], %[[WD]] : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
// CHECK: %[[S:.*]] = tfc.all_reduce %[[D]]
// CHECK: %[[R:.*]] = tfc.binary add %[[S]], %[[BD]]
// CHECK: return %[[R]]
func.func @tfc_bert_main(%x: tensor<?x?x2xf32>) -> tensor<?x?x2xf32> attributes {tfc.entry} {
  %wu = arith.constant dense<[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]> : tensor<2x4xf32>
  %bu = arith.constant dense<[0.5, 1.5, 2.5, 3.5]> : tensor<4xf32>
  %wd = arith.constant dense<[[20.0, 21.0], [22.0, 23.0], [24.0, 25.0], [26.0, 27.0]]> : tensor<4x2xf32>
  %bd = arith.constant dense<[8.5, 9.5]> : tensor<2xf32>
  %half = arith.constant dense<0.5> : tensor<f32>
  %u = tfc.linear %x, %wu bias %bu : tensor<4xf32> : tensor<?x?x2xf32>, tensor<2x4xf32> -> tensor<?x?x4xf32>
  %g = tfc.unary gelu %u : tensor<?x?x4xf32> -> tensor<?x?x4xf32>
  %h = tfc.binary mul %g, %half : tensor<?x?x4xf32>, tensor<f32> -> tensor<?x?x4xf32>
  %d = tfc.linear %h, %wd bias %bd : tensor<2xf32> : tensor<?x?x4xf32>, tensor<4x2xf32> -> tensor<?x?x2xf32>
  return %d : tensor<?x?x2xf32>
}

// -----

// Token embedding over a vocabulary of 5 (rows 3 + 2), a replicated position
// table, and the tied LM head (transpose_weight on the same table): it
// reuses the embedding's shard and gathers the logits.
// CHECK-LABEL: func.func @tfc_lm_p0_main(
// CHECK-DAG: %[[TAB:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 1.000000e+00], [2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00]]> : tensor<3x2xf32>
// CHECK-DAG: %[[PTAB:.*]] = arith.constant dense<{{\[}}[5.000000e-01, 5.000000e-01], [1.500000e+00, 1.500000e+00]]> : tensor<2x2xf32>
// CHECK: tfc.embedding %[[TAB]]
// CHECK: tfc.all_reduce
// CHECK: tfc.embedding %[[PTAB]][%arg1]
// CHECK: %[[L:.*]] = tfc.linear {{.*}}, %[[TAB]] {transpose_weight = true} : tensor<?x?x2xf32>, tensor<3x2xf32> -> tensor<?x?x3xf32>
// CHECK: %[[G:.*]] = tfc.all_gather %[[L]] {axis = 2 : i64, rank = 0 : i64, sizes = array<i64: 3, 2>} : tensor<?x?x3xf32> -> tensor<?x?x5xf32>
// CHECK: return %[[G]]
// CHECK-LABEL: func.func @tfc_lm_p1_main(
// CHECK-DAG: %[[TAB:.*]] = arith.constant dense<{{\[}}[6.000000e+00, 7.000000e+00], [8.000000e+00, 9.000000e+00]]> : tensor<2x2xf32>
// CHECK-DAG: %[[LAST:.*]] = arith.constant dense<4> : tensor<i64>
// CHECK-DAG: %[[OFF:.*]] = arith.constant dense<3> : tensor<i64>
// CHECK-DAG: %[[SIZE:.*]] = arith.constant dense<2> : tensor<i64>
// CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0> : tensor<i64>
// CHECK: %[[LO:.*]] = tfc.binary max %arg0, %[[ZERO]]
// CHECK: %[[HI:.*]] = tfc.binary min %[[LO]], %[[LAST]]
// CHECK: %[[LOCAL:.*]] = tfc.binary sub %[[HI]], %[[OFF]]
// CHECK: %[[GE:.*]] = tfc.cmp ge %[[LOCAL]], %[[ZERO]]
// CHECK: %[[LT:.*]] = tfc.cmp lt %[[LOCAL]], %[[SIZE]]
// CHECK: %[[IN:.*]] = tfc.binary and %[[GE]], %[[LT]]
// CHECK: %[[IN1:.*]] = tfc.reshape %[[IN]][{{.*}}] : tensor<?x?xi1> -> tensor<?x?x1xi1>
// CHECK: %[[E:.*]] = tfc.embedding %[[TAB]][%[[LOCAL]]] : tensor<2x2xf32>, tensor<?x?xi64> -> tensor<?x?x2xf32>
// CHECK: %[[Z:.*]] = tfc.select %[[IN1]], %[[E]], %{{.*}} : tensor<?x?x1xi1>, tensor<?x?x2xf32>, tensor<f32> -> tensor<?x?x2xf32>
// CHECK: %[[S:.*]] = tfc.all_reduce %[[Z]] {parts = 2 : i64} : tensor<?x?x2xf32>
// CHECK: tfc.binary add %[[S]],
// CHECK: tfc.linear {{.*}}, %[[TAB]] {transpose_weight = true} : tensor<?x?x2xf32>, tensor<2x2xf32> -> tensor<?x?x2xf32>
// CHECK: tfc.all_gather {{.*}} {axis = 2 : i64, rank = 1 : i64, sizes = array<i64: 3, 2>} : tensor<?x?x2xf32> -> tensor<?x?x5xf32>
func.func @tfc_lm_main(%ids: tensor<?x?xi64> {tfc.name = "input_ids"}, %pos: tensor<?x?xi64>) -> tensor<?x?x5xf32> attributes {tfc.entry} {
  %tab = arith.constant dense<[[0.0, 1.0], [2.0, 3.0], [4.0, 5.0], [6.0, 7.0], [8.0, 9.0]]> : tensor<5x2xf32>
  %ptab = arith.constant dense<[[0.5, 0.5], [1.5, 1.5]]> : tensor<2x2xf32>
  %scale = arith.constant dense<1.0> : tensor<2xf32>
  %e = tfc.embedding %tab[%ids] : tensor<5x2xf32>, tensor<?x?xi64> -> tensor<?x?x2xf32>
  %p = tfc.embedding %ptab[%pos] : tensor<2x2xf32>, tensor<?x?xi64> -> tensor<?x?x2xf32>
  %x = tfc.binary add %e, %p : tensor<?x?x2xf32>, tensor<?x?x2xf32> -> tensor<?x?x2xf32>
  %n = tfc.rms_norm %x, %scale {epsilon = 1.0e-5 : f64} : tensor<?x?x2xf32>, tensor<2xf32> -> tensor<?x?x2xf32>
  %l = tfc.linear %n, %tab {transpose_weight = true} : tensor<?x?x2xf32>, tensor<5x2xf32> -> tensor<?x?x5xf32>
  return %l : tensor<?x?x5xf32>
}
