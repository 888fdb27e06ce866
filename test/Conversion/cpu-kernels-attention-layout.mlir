// tfc-cpu-kernels reads attention operands that are heads transposes
// (tfc.transpose [0, 2, 1, 3] of a [b, s, h, d] tensor, as exporters build
// them) through permuted strided views, and writes a result whose only use
// merges the heads back in the merged layout: no copies.
// RUN: tfc-opt %s --tfc-cpu-kernels | FileCheck %s
// RUN: tfc-opt %s "--tfc-cpu-kernels=fold-transposes=false" | FileCheck %s --check-prefix=KEEP

// CHECK-LABEL: func.func @encoder
// CHECK-NOT: tfc.transpose
// CHECK: %[[OUT:.*]] = memref.alloc({{.*}}) : memref<?x?x2x4xf32>
// CHECK: memref.transpose %{{.*}} (d0, d1, d2, d3) -> (d0, d2, d1, d3)
// CHECK: memref.transpose %{{.*}} (d0, d1, d2, d3) -> (d0, d2, d1, d3)
// CHECK: memref.transpose %{{.*}} (d0, d1, d2, d3) -> (d0, d2, d1, d3)
// CHECK: memref.transpose %{{.*}} (d0, d1, d2, d3) -> (d0, d2, d1, d3)
// CHECK: call @tfcrt_attention_f32(
// CHECK: %[[Y:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<?x?x2x4xf32> to tensor<?x?x2x4xf32>
// CHECK-NOT: tfc.transpose
// CHECK: return %[[Y]]
// KEEP-LABEL: func.func @encoder
// KEEP-COUNT-4: tfc.transpose
// KEEP-NOT: memref.transpose
func.func @encoder(%q: tensor<?x?x2x4xf32>, %k: tensor<?x?x2x4xf32>, %v: tensor<?x?x2x4xf32>) -> tensor<?x?x2x4xf32> {
  %qt = tfc.transpose %q {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %kt = tfc.transpose %k {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %vt = tfc.transpose %v {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a = tfc.attention %qt, %kt, %vt {causal = false, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  %y = tfc.transpose %a {perm = array<i64: 0, 2, 1, 3>} : tensor<?x2x?x4xf32> -> tensor<?x?x2x4xf32>
  return %y : tensor<?x?x2x4xf32>
}

// A transpose with another use stays (the view reads its input); a result
// with two uses is written in the heads layout.
// CHECK-LABEL: func.func @shared
// CHECK: %[[QT:.*]] = tfc.transpose
// CHECK: memref.alloc({{.*}}) : memref<?x2x?x4xf32>
// CHECK: call @tfcrt_attention_f32(
// CHECK: return %{{.*}}, %[[QT]]
func.func @shared(%q: tensor<?x?x2x4xf32>, %k: tensor<?x2x?x4xf32>) -> (tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>) {
  %qt = tfc.transpose %q {perm = array<i64: 0, 2, 1, 3>} : tensor<?x?x2x4xf32> -> tensor<?x2x?x4xf32>
  %a = tfc.attention %qt, %k, %k {causal = true, scale = 0.5 : f64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a, %qt : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>
}
