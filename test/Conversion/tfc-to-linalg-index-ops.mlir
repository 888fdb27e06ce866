// RUN: tfc-opt %s -split-input-file -tfc-to-linalg | FileCheck %s

// CumSum: a reduction over a second copy of the axis (d2 = k), keeping the
// terms with k <= i (exclusive: k < i; reverse: k >= i).
// CHECK-DAG: #[[IN:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @cumsum
// CHECK: linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[IN]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: %[[I:.*]] = linalg.index 1
// CHECK: %[[K:.*]] = linalg.index 2
// CHECK: arith.cmpi sle, %[[K]], %[[I]]
// CHECK: arith.select
// CHECK: arith.addi
// CHECK: linalg.generic
// CHECK: arith.cmpi sgt
// CHECK: arith.addf
func.func @cumsum(%a: tensor<?x7xi64>, %x: tensor<?x7xf32>) -> (tensor<?x7xi64>, tensor<?x7xf32>) {
  %0 = tfc.cumsum %a {axis = 1 : i64} : tensor<?x7xi64> -> tensor<?x7xi64>
  %1 = tfc.cumsum %x {axis = 1 : i64, exclusive = true, reverse = true} : tensor<?x7xf32> -> tensor<?x7xf32>
  return %0, %1 : tensor<?x7xi64>, tensor<?x7xf32>
}

// -----

// GatherElements: the index replaces the axis' loop index (wrapped, clamped).
// CHECK-LABEL: func @gather_elements
// CHECK: linalg.generic
// CHECK: %[[I0:.*]] = linalg.index 0
// CHECK: %[[RAW:.*]] = tensor.extract %arg1[%[[I0]], %{{.*}}]
// CHECK: arith.index_cast %[[RAW]]
// CHECK: arith.minsi
// CHECK: tensor.extract %arg0[%[[I0]], %{{.*}}] : tensor<?x5xf32>
func.func @gather_elements(%x: tensor<?x5xf32>, %i: tensor<?x3xi64>) -> tensor<?x3xf32> {
  %0 = tfc.gather_elements %x[%i] {axis = 1 : i64} : tensor<?x5xf32>, tensor<?x3xi64> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}
