// RUN: tfc-opt %s -split-input-file -tfc-raise-attention | FileCheck %s

// sdpa-style LLaMA export (TorchScript): GQA repeat of k and v, the scale
// split as sqrt(scale) on q and on k^T, a float mask select(m, 0, -inf)
// (becomes the i1 mask m), and a NaN guard after the softmax.
// CHECK-LABEL: func @sdpa_gqa
// CHECK-SAME: (%[[Q:.*]]: tensor<?x8x?x8xf32>, %[[K:.*]]: tensor<?x4x?x8xf32>, %[[V:.*]]: tensor<?x4x?x8xf32>, %[[M:.*]]: tensor<?x1x?x?xi1>)
// CHECK: %[[A:.*]] = tfc.attention %[[Q]], %[[K]], %[[V]] mask %[[M]] : tensor<?x1x?x?xi1> {causal = false, scale = 0.3535533{{.*}} : f64} : tensor<?x8x?x8xf32>, tensor<?x4x?x8xf32>, tensor<?x4x?x8xf32> -> tensor<?x8x?x8xf32>
// CHECK-NOT: tfc.softmax
// CHECK-NOT: tfc.expand
// CHECK: return %[[A]]
func.func @sdpa_gqa(%q: tensor<?x8x?x8xf32>, %k: tensor<?x4x?x8xf32>, %v: tensor<?x4x?x8xf32>, %m: tensor<?x1x?x?xi1>) -> tensor<?x8x?x8xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c = arith.constant dense<0.594603539> : tensor<f32>
  %zero = arith.constant dense<0.0> : tensor<1xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<1xf32>
  %b = tensor.dim %k, %c0 : tensor<?x4x?x8xf32>
  %t = tensor.dim %k, %c2 : tensor<?x4x?x8xf32>
  %k5 = tfc.reshape %k[%b, %t] : tensor<?x4x?x8xf32> -> tensor<?x4x1x?x8xf32>
  %ke = tfc.expand %k5[%b, %t] : tensor<?x4x1x?x8xf32> -> tensor<?x4x2x?x8xf32>
  %kr = tfc.reshape %ke[%b, %t] : tensor<?x4x2x?x8xf32> -> tensor<?x8x?x8xf32>
  %vb = tensor.dim %v, %c0 : tensor<?x4x?x8xf32>
  %vt = tensor.dim %v, %c2 : tensor<?x4x?x8xf32>
  %v5 = tfc.reshape %v[%vb, %vt] : tensor<?x4x?x8xf32> -> tensor<?x4x1x?x8xf32>
  %ve = tfc.expand %v5[%vb, %vt] : tensor<?x4x1x?x8xf32> -> tensor<?x4x2x?x8xf32>
  %vr = tfc.reshape %ve[%vb, %vt] : tensor<?x4x2x?x8xf32> -> tensor<?x8x?x8xf32>
  %kt = tfc.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : tensor<?x8x?x8xf32> -> tensor<?x8x8x?xf32>
  %qs = tfc.binary mul %q, %c : tensor<?x8x?x8xf32>, tensor<f32> -> tensor<?x8x?x8xf32>
  %ks = tfc.binary mul %kt, %c : tensor<?x8x8x?xf32>, tensor<f32> -> tensor<?x8x8x?xf32>
  %s = tfc.matmul %qs, %ks : tensor<?x8x?x8xf32>, tensor<?x8x8x?xf32> -> tensor<?x8x?x?xf32>
  %fm = tfc.select %m, %zero, %ninf : tensor<?x1x?x?xi1>, tensor<1xf32>, tensor<1xf32> -> tensor<?x1x?x?xf32>
  %l = tfc.binary add %s, %fm : tensor<?x8x?x?xf32>, tensor<?x1x?x?xf32> -> tensor<?x8x?x?xf32>
  %p = tfc.softmax %l {axis = 3 : i64} : tensor<?x8x?x?xf32> -> tensor<?x8x?x?xf32>
  %nan = tfc.unary isnan %p : tensor<?x8x?x?xf32> -> tensor<?x8x?x?xi1>
  %pg = tfc.select %nan, %zero, %p : tensor<?x8x?x?xi1>, tensor<1xf32>, tensor<?x8x?x?xf32> -> tensor<?x8x?x?xf32>
  %o = tfc.matmul %pg, %vr : tensor<?x8x?x?xf32>, tensor<?x8x?x8xf32> -> tensor<?x8x?x8xf32>
  return %o : tensor<?x8x?x8xf32>
}

// -----

// Eager BERT export: k^T as transpose [0, 2, 3, 1] of k in [b, s, h, d]
// (k itself is materialized as transpose [0, 2, 1, 3]), scale multiplied
// after the product, a float additive mask kept as is.
// CHECK-LABEL: func @bert
// CHECK-SAME: (%[[Q:.*]]: tensor<?x12x?x32xf32>, %[[KX:.*]]: tensor<?x?x12x32xf32>, %[[V:.*]]: tensor<?x12x?x32xf32>, %[[M:.*]]: tensor<?x1x1x?xf32>)
// CHECK: %[[K:.*]] = tfc.transpose %[[KX]] {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x12x32xf32> -> tensor<?x12x?x32xf32>
// CHECK: tfc.attention %[[Q]], %[[K]], %[[V]] mask %[[M]] : tensor<?x1x1x?xf32> {causal = false, scale = 0.17677669{{.*}} : f64}
func.func @bert(%q: tensor<?x12x?x32xf32>, %kx: tensor<?x?x12x32xf32>, %v: tensor<?x12x?x32xf32>, %m: tensor<?x1x1x?xf32>) -> tensor<?x12x?x32xf32> {
  %c = arith.constant dense<0.176776692> : tensor<f32>
  %kt = tfc.transpose %kx {perm = array<i64: 0, 2, 3, 1>} : tensor<?x?x12x32xf32> -> tensor<?x12x32x?xf32>
  %s = tfc.matmul %q, %kt : tensor<?x12x?x32xf32>, tensor<?x12x32x?xf32> -> tensor<?x12x?x?xf32>
  %ss = tfc.binary mul %s, %c : tensor<?x12x?x?xf32>, tensor<f32> -> tensor<?x12x?x?xf32>
  %l = tfc.binary add %ss, %m : tensor<?x12x?x?xf32>, tensor<?x1x1x?xf32> -> tensor<?x12x?x?xf32>
  %p = tfc.softmax %l {axis = 3 : i64} : tensor<?x12x?x?xf32> -> tensor<?x12x?x?xf32>
  %o = tfc.matmul %p, %v : tensor<?x12x?x?xf32>, tensor<?x12x?x32xf32> -> tensor<?x12x?x32xf32>
  return %o : tensor<?x12x?x32xf32>
}

// -----

// dynamo export: k^T as reshape [b*h, t, d] -> transpose [0, 2, 1] ->
// reshape [b, h, d, t]; the scale as a division; mask first in the add.
// CHECK-LABEL: func @dynamo_kt
// CHECK-SAME: (%[[Q:.*]]: tensor<?x4x?x16xf32>, %[[K:.*]]: tensor<?x4x?x16xf32>, %[[V:.*]]: tensor<?x4x?x16xf32>, %[[M:.*]]: tensor<?x1x?x?xf32>)
// CHECK: tfc.attention %[[Q]], %[[K]], %[[V]] mask %[[M]] : tensor<?x1x?x?xf32> {causal = false, scale = 2.500000e-01 : f64}
// CHECK-NOT: tfc.transpose
func.func @dynamo_kt(%q: tensor<?x4x?x16xf32>, %k: tensor<?x4x?x16xf32>, %v: tensor<?x4x?x16xf32>, %m: tensor<?x1x?x?xf32>) -> tensor<?x4x?x16xf32> {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %four = arith.constant dense<4.0> : tensor<f32>
  %b = tensor.dim %k, %c0 : tensor<?x4x?x16xf32>
  %t = tensor.dim %k, %c2 : tensor<?x4x?x16xf32>
  %bh = arith.muli %b, %c4 : index
  %k3 = tfc.reshape %k[%bh, %t] : tensor<?x4x?x16xf32> -> tensor<?x?x16xf32>
  %k3t = tfc.transpose %k3 {perm = array<i64: 0, 2, 1>} : tensor<?x?x16xf32> -> tensor<?x16x?xf32>
  %kt = tfc.reshape %k3t[%b, %t] : tensor<?x16x?xf32> -> tensor<?x4x16x?xf32>
  %s = tfc.matmul %q, %kt : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %ss = tfc.binary div %s, %four : tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %l = tfc.binary add %m, %ss : tensor<?x1x?x?xf32>, tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %p = tfc.softmax %l {axis = 3 : i64} : tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %o = tfc.matmul %p, %v : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o : tensor<?x4x?x16xf32>
}

// -----

// Boolean mask used through select(mask, scores, -inf); no scale.
// CHECK-LABEL: func @select_mask
// CHECK: tfc.attention %arg0, %arg1, %arg2 mask %arg3 : tensor<1x1x16x16xi1> {causal = false, scale = 1.000000e+00 : f64} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
func.func @select_mask(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %m: tensor<1x1x16x16xi1>) -> tensor<2x4x16x8xf32> {
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %kt = tfc.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<2x4x16x8xf32> -> tensor<2x4x8x16xf32>
  %s = tfc.matmul %q, %kt : tensor<2x4x16x8xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x16x16xf32>
  %l = tfc.select %m, %s, %ninf : tensor<1x1x16x16xi1>, tensor<2x4x16x16xf32>, tensor<f32> -> tensor<2x4x16x16xf32>
  %p = tfc.softmax %l {axis = 3 : i64} : tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  %o = tfc.matmul %p, %v : tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %o : tensor<2x4x16x8xf32>
}

// -----

// Causal and sliding-window terms built from position ranges (as the
// exporters build them from arange) are proven and leave the padding term
// as the mask. q and k share the sequence length %s, so the mask's
// positions are the op's.
// CHECK-LABEL: func @causal_window
// CHECK-SAME: %[[PAD:[^:]*]]: tensor<?x1x1x?xi1>
// CHECK: tfc.attention {{.*}} mask %[[PAD]] : tensor<?x1x1x?xi1> {causal = true, scale = 2.500000e-01 : f64, window = 16 : i64}
// CHECK: tfc.attention {{.*}} {causal = true, scale = 2.500000e-01 : f64}
// CHECK-NOT: tfc.cmp
func.func @causal_window(%ids: tensor<?x?xi64>, %xq: tensor<?x?x64xf32>, %xk: tensor<?x?x64xf32>, %pad: tensor<?x1x1x?xi1>) -> (tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %s = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %q4 = tfc.reshape %xq[%b, %s] : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %q = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %k4 = tfc.reshape %xk[%b, %s] : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %k = tfc.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %n = arith.maxsi %s, %c0 : index
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %w = arith.constant dense<16> : tensor<i64>
  %yes = arith.constant dense<true> : tensor<i1>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %fzero = arith.constant dense<0.0> : tensor<f32>
  %scale = arith.constant dense<0.25> : tensor<f32>
  %r = tfc.range %zero, %one, %n : tensor<i64>, tensor<i64> -> tensor<?xi64>
  %r3 = tfc.reshape %r[%n] : tensor<?xi64> -> tensor<1x1x?xi64>
  %qi = tfc.reshape %r3[%n] : tensor<1x1x?xi64> -> tensor<1x1x?x1xi64>
  %kj = tfc.reshape %r3[%n] : tensor<1x1x?xi64> -> tensor<1x1x1x?xi64>
  %qw = tfc.binary sub %qi, %w : tensor<1x1x?x1xi64>, tensor<i64> -> tensor<1x1x?x1xi64>
  %win = tfc.cmp gt %kj, %qw : tensor<1x1x1x?xi64>, tensor<1x1x?x1xi64> -> tensor<1x1x?x?xi1>
  %cau = tfc.cmp le %kj, %qi : tensor<1x1x1x?xi64>, tensor<1x1x?x1xi64> -> tensor<1x1x?x?xi1>
  %m0 = tfc.binary and %yes, %win : tensor<i1>, tensor<1x1x?x?xi1> -> tensor<1x1x?x?xi1>
  %m1 = tfc.binary and %m0, %cau : tensor<1x1x?x?xi1>, tensor<1x1x?x?xi1> -> tensor<1x1x?x?xi1>
  %m2 = tfc.binary and %m1, %pad : tensor<1x1x?x?xi1>, tensor<?x1x1x?xi1> -> tensor<?x1x?x?xi1>
  %m = tfc.expand %m2[%b, %n, %n] : tensor<?x1x?x?xi1> -> tensor<?x1x?x?xi1>
  %fm = tfc.select %m, %fzero, %ninf : tensor<?x1x?x?xi1>, tensor<f32>, tensor<f32> -> tensor<?x1x?x?xf32>
  %kt = tfc.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x16xf32> -> tensor<?x4x16x?xf32>
  %sc = tfc.matmul %q, %kt : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %ss = tfc.binary mul %sc, %scale : tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %l = tfc.binary add %ss, %fm : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32> -> tensor<?x4x?x?xf32>
  %p = tfc.softmax %l {axis = 3 : i64} : tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %o = tfc.matmul %p, %k : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  // Causal only, as select(causal, scores, -inf): no mask operand left.
  %l2 = tfc.select %cau, %ss, %ninf : tensor<1x1x?x?xi1>, tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %p2 = tfc.softmax %l2 {axis = 3 : i64} : tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %o2 = tfc.matmul %p2, %k : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o, %o2 : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>
}

// -----

// An encoder's padding mask as HF exports it (all-MiniLM-L6-v2, TorchScript):
// the [b, 1, 1, t] padding row AND-ed with `arange(s) >= 0` and expanded to
// [b, 1, s, t], then a float select with a finite fill (-FLT_MAX). The fill
// is finite, so nothing moves to causal / window, but the always-true term
// and the expansion go: the mask stays the [b, 1, 1, t] row (a new select of
// the same scalars), which the op broadcasts. A second select whose
// condition is only always-true terms adds 0 everywhere: no mask.
// CHECK-LABEL: func @encoder_padding
// CHECK-SAME: %[[PAD:[^:]*]]: tensor<?x1x1x?xi1>
// CHECK: %[[M:.*]] = tfc.select %[[PAD]], %{{.*}}, %{{.*}} : tensor<?x1x1x?xi1>, tensor<f32>, tensor<f32> -> tensor<?x1x1x?xf32>
// CHECK: tfc.attention {{.*}} mask %[[M]] : tensor<?x1x1x?xf32> {causal = false, scale = 2.500000e-01 : f64}
// CHECK: tfc.attention %{{[^ ]*}}, %{{[^ ]*}}, %{{[^ ]*}} {causal = false
func.func @encoder_padding(%ids: tensor<?x?xi64>, %xq: tensor<?x?x64xf32>, %xk: tensor<?x?x64xf32>, %pad: tensor<?x1x1x?xi1>) -> (tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = tensor.dim %ids, %c0 : tensor<?x?xi64>
  %s = tensor.dim %ids, %c1 : tensor<?x?xi64>
  %q4 = tfc.reshape %xq[%b, %s] : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %q = tfc.transpose %q4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %k4 = tfc.reshape %xk[%b, %s] : tensor<?x?x64xf32> -> tensor<?x?x4x16xf32>
  %k = tfc.transpose %k4 {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x4x16xf32> -> tensor<?x4x?x16xf32>
  %n = arith.maxsi %s, %c0 : index
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %yes = arith.constant dense<true> : tensor<i1>
  %fmin = arith.constant dense<-3.40282347E+38> : tensor<f32>
  %fzero = arith.constant dense<0.0> : tensor<f32>
  %scale = arith.constant dense<0.25> : tensor<f32>
  %r = tfc.range %zero, %one, %n : tensor<i64>, tensor<i64> -> tensor<?xi64>
  %r3 = tfc.reshape %r[%n] : tensor<?xi64> -> tensor<1x1x?xi64>
  %qi = tfc.reshape %r3[%n] : tensor<1x1x?xi64> -> tensor<1x1x?x1xi64>
  %ge = tfc.cmp ge %qi, %zero : tensor<1x1x?x1xi64>, tensor<i64> -> tensor<1x1x?x1xi1>
  %y = tfc.expand %yes : tensor<i1> -> tensor<i1>
  %t0 = tfc.binary and %y, %ge : tensor<i1>, tensor<1x1x?x1xi1> -> tensor<1x1x?x1xi1>
  %m2 = tfc.binary and %t0, %pad : tensor<1x1x?x1xi1>, tensor<?x1x1x?xi1> -> tensor<?x1x?x?xi1>
  %m = tfc.expand %m2[%b, %n, %n] : tensor<?x1x?x?xi1> -> tensor<?x1x?x?xi1>
  %fm = tfc.select %m, %fzero, %fmin : tensor<?x1x?x?xi1>, tensor<f32>, tensor<f32> -> tensor<?x1x?x?xf32>
  %kt = tfc.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<?x4x?x16xf32> -> tensor<?x4x16x?xf32>
  %sc = tfc.matmul %q, %kt : tensor<?x4x?x16xf32>, tensor<?x4x16x?xf32> -> tensor<?x4x?x?xf32>
  %ss = tfc.binary mul %sc, %scale : tensor<?x4x?x?xf32>, tensor<f32> -> tensor<?x4x?x?xf32>
  %l = tfc.binary add %ss, %fm : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32> -> tensor<?x4x?x?xf32>
  %p = tfc.softmax %l {axis = 3 : i64} : tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %o = tfc.matmul %p, %k : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  %ge2 = tfc.expand %ge[%b, %n, %n] : tensor<1x1x?x1xi1> -> tensor<?x1x?x?xi1>
  %fm2 = tfc.select %ge2, %fzero, %fmin : tensor<?x1x?x?xi1>, tensor<f32>, tensor<f32> -> tensor<?x1x?x?xf32>
  %l2 = tfc.binary add %ss, %fm2 : tensor<?x4x?x?xf32>, tensor<?x1x?x?xf32> -> tensor<?x4x?x?xf32>
  %p2 = tfc.softmax %l2 {axis = 3 : i64} : tensor<?x4x?x?xf32> -> tensor<?x4x?x?xf32>
  %o2 = tfc.matmul %p2, %k : tensor<?x4x?x?xf32>, tensor<?x4x?x16xf32> -> tensor<?x4x?x16xf32>
  return %o, %o2 : tensor<?x4x?x16xf32>, tensor<?x4x?x16xf32>
}

// -----

// Not provable: the key positions are shifted by one (j <= i + 1), and the
// positions' range length is an unrelated index %n, so the terms stay in
// the mask and causal stays false.
// CHECK-LABEL: func @causal_unproven
// CHECK: tfc.attention {{.*}} mask %{{.*}} : tensor<1x1x?x?xi1> {causal = false
// CHECK: tfc.attention {{.*}} mask %{{.*}} : tensor<1x1x?x?xi1> {causal = false
func.func @causal_unproven(%q: tensor<1x4x?x16xf32>, %k: tensor<1x4x?x16xf32>, %n: index) -> (tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>) {
  %c2 = arith.constant 2 : index
  %s = tensor.dim %q, %c2 : tensor<1x4x?x16xf32>
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %ninf = arith.constant dense<0xFF800000> : tensor<f32>
  %r = tfc.range %zero, %one, %s : tensor<i64>, tensor<i64> -> tensor<?xi64>
  %qi = tfc.reshape %r[%s] : tensor<?xi64> -> tensor<1x1x?x1xi64>
  %kj = tfc.reshape %r[%s] : tensor<?xi64> -> tensor<1x1x1x?xi64>
  %kj1 = tfc.binary add %kj, %one : tensor<1x1x1x?xi64>, tensor<i64> -> tensor<1x1x1x?xi64>
  %shifted = tfc.cmp le %kj1, %qi : tensor<1x1x1x?xi64>, tensor<1x1x?x1xi64> -> tensor<1x1x?x?xi1>
  %kt = tfc.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<1x4x?x16xf32> -> tensor<1x4x16x?xf32>
  %sc = tfc.matmul %q, %kt : tensor<1x4x?x16xf32>, tensor<1x4x16x?xf32> -> tensor<1x4x?x?xf32>
  %l = tfc.select %shifted, %sc, %ninf : tensor<1x1x?x?xi1>, tensor<1x4x?x?xf32>, tensor<f32> -> tensor<1x4x?x?xf32>
  %p = tfc.softmax %l {axis = 3 : i64} : tensor<1x4x?x?xf32> -> tensor<1x4x?x?xf32>
  %o = tfc.matmul %p, %k : tensor<1x4x?x?xf32>, tensor<1x4x?x16xf32> -> tensor<1x4x?x16xf32>
  %r2 = tfc.range %zero, %one, %n : tensor<i64>, tensor<i64> -> tensor<?xi64>
  %qi2 = tfc.reshape %r2[%n] : tensor<?xi64> -> tensor<1x1x?x1xi64>
  %kj2 = tfc.reshape %r2[%n] : tensor<?xi64> -> tensor<1x1x1x?xi64>
  %cau2 = tfc.cmp le %kj2, %qi2 : tensor<1x1x1x?xi64>, tensor<1x1x?x1xi64> -> tensor<1x1x?x?xi1>
  %l2 = tfc.select %cau2, %sc, %ninf : tensor<1x1x?x?xi1>, tensor<1x4x?x?xf32>, tensor<f32> -> tensor<1x4x?x?xf32>
  %p2 = tfc.softmax %l2 {axis = 3 : i64} : tensor<1x4x?x?xf32> -> tensor<1x4x?x?xf32>
  %o2 = tfc.matmul %p2, %k : tensor<1x4x?x?xf32>, tensor<1x4x?x16xf32> -> tensor<1x4x?x16xf32>
  return %o, %o2 : tensor<1x4x?x16xf32>, tensor<1x4x?x16xf32>
}

// -----

// A repeat whose group dim comes before the kv heads ([b, g, hkv, t, d],
// the tile layout) is not the op's head mapping: the attention is still
// formed, on the repeated key / value.
// CHECK-LABEL: func @tile_repeat
// CHECK: %[[KR:.*]] = tfc.reshape %{{.*}} : tensor<2x2x4x16x8xf32> -> tensor<2x8x16x8xf32>
// CHECK: tfc.attention %arg0, %[[KR]], %[[KR]] {causal = false
func.func @tile_repeat(%q: tensor<2x8x16x8xf32>, %k: tensor<2x4x16x8xf32>) -> tensor<2x8x16x8xf32> {
  %k5 = tfc.reshape %k : tensor<2x4x16x8xf32> -> tensor<2x1x4x16x8xf32>
  %ke = tfc.expand %k5 : tensor<2x1x4x16x8xf32> -> tensor<2x2x4x16x8xf32>
  %kr = tfc.reshape %ke : tensor<2x2x4x16x8xf32> -> tensor<2x8x16x8xf32>
  %kt = tfc.transpose %kr {perm = array<i64: 0, 1, 3, 2>} : tensor<2x8x16x8xf32> -> tensor<2x8x8x16xf32>
  %s = tfc.matmul %q, %kt : tensor<2x8x16x8xf32>, tensor<2x8x8x16xf32> -> tensor<2x8x16x16xf32>
  %p = tfc.softmax %s {axis = 3 : i64} : tensor<2x8x16x16xf32> -> tensor<2x8x16x16xf32>
  %o = tfc.matmul %p, %kr : tensor<2x8x16x16xf32>, tensor<2x8x16x8xf32> -> tensor<2x8x16x8xf32>
  return %o : tensor<2x8x16x8xf32>
}

// -----

// Negative: softmax over the query axis; scores scaled by a non-constant;
// k^T not a transpose of the last two dims; a "mask" that broadcasts the
// scores to a larger batch.
// CHECK-LABEL: func @not_attention
// CHECK-NOT: tfc.attention
func.func @not_attention(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %c: tensor<2x4x16x16xf32>, %kt2: tensor<2x4x8x16xf32>, %m: tensor<2x4x16x16xf32>, %q1: tensor<1x4x16x8xf32>, %k1: tensor<1x4x16x8xf32>) -> (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) {
  %kt = tfc.transpose %k {perm = array<i64: 0, 1, 3, 2>} : tensor<2x4x16x8xf32> -> tensor<2x4x8x16xf32>
  %s = tfc.matmul %q, %kt : tensor<2x4x16x8xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x16x16xf32>
  %p0 = tfc.softmax %s {axis = 2 : i64} : tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  %o0 = tfc.matmul %p0, %v : tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  %s1 = tfc.binary mul %s, %c : tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  %p1 = tfc.softmax %s1 {axis = 3 : i64} : tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  %o1 = tfc.matmul %p1, %v : tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  %s2 = tfc.matmul %q, %kt2 : tensor<2x4x16x8xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x16x16xf32>
  %p2 = tfc.softmax %s2 {axis = 3 : i64} : tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  %o2 = tfc.matmul %p2, %v : tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  %kt1 = tfc.transpose %k1 {perm = array<i64: 0, 1, 3, 2>} : tensor<1x4x16x8xf32> -> tensor<1x4x8x16xf32>
  %s3 = tfc.matmul %q1, %kt1 : tensor<1x4x16x8xf32>, tensor<1x4x8x16xf32> -> tensor<1x4x16x16xf32>
  %s4 = tfc.binary add %s3, %m : tensor<1x4x16x16xf32>, tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  %p3 = tfc.softmax %s4 {axis = 3 : i64} : tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  %o3 = tfc.matmul %p3, %v : tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %o0, %o1, %o2, %o3 : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
}
