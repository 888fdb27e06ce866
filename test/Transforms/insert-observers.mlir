// RUN: tfc-opt %s -tfc-insert-observers | FileCheck %s

// Three projections read one tensor: one observer lists all three; the
// gated MLP is split so that its down projection's input is observed too
// ("<key>#down"); an unnamed linear gets "linear#<n>" and a repeated name
// "#2". The side table is the module attribute tfc.observers.
// CHECK: module attributes {tfc.observers = [
// CHECK-SAME: {id = 0 : i64, k = 8 : i64, name = "q", ops = ["q", "k", "v"]}
// CHECK-SAME: {id = 1 : i64, k = 8 : i64, name = "mlp", ops = ["mlp"]}
// CHECK-SAME: {id = 2 : i64, k = 16 : i64, name = "mlp#down", ops = ["mlp#down"]}
// CHECK-SAME: {id = 3 : i64, k = 8 : i64, name = "q#2", ops = ["q#2"]}
// CHECK-SAME: {id = 4 : i64, k = 8 : i64, name = "linear#0", ops = ["linear#0"]}
// CHECK-LABEL: func.func @f
// CHECK-DAG: tfc.observe %arg0 {id = 0 : i64, name = "q"} : tensor<2x3x8xf32>
// CHECK-DAG: tfc.observe %arg1 {id = 1 : i64, name = "mlp"}
// CHECK-COUNT-3: tfc.linear %arg0
// CHECK: %[[G:.*]] = tfc.linear %arg1
// CHECK: %[[U:.*]] = tfc.linear %arg1
// CHECK: %[[A:.*]] = tfc.unary {{ *}}silu %[[G]]
// CHECK: %[[H:.*]] = tfc.binary {{ *}}mul %[[A]], %[[U]]
// CHECK: tfc.observe %[[H]] {id = 2 : i64, name = "mlp#down"} : tensor<2x3x16xf32>
// CHECK: tfc.linear %[[H]]
// CHECK-NOT: tfc.gated_mlp
// CHECK: tfc.observe {{.*}}id = 3
// CHECK: tfc.observe {{.*}}id = 4
module {
  func.func @f(%x: tensor<2x3x8xf32>, %y: tensor<2x3x8xf32>,
               %w: tensor<8x8xf32>, %wg: tensor<8x16xf32>,
               %wd: tensor<16x8xf32>) -> (tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>) {
    %q = tfc.linear %x, %w : tensor<2x3x8xf32>, tensor<8x8xf32> -> tensor<2x3x8xf32> loc("q")
    %k = tfc.linear %x, %w : tensor<2x3x8xf32>, tensor<8x8xf32> -> tensor<2x3x8xf32> loc("k")
    %v = tfc.linear %x, %w : tensor<2x3x8xf32>, tensor<8x8xf32> -> tensor<2x3x8xf32> loc("v")
    %m = tfc.gated_mlp silu %y, %wg, %wg, %wd : tensor<2x3x8xf32>, tensor<8x16xf32>, tensor<8x16xf32>, tensor<16x8xf32> -> tensor<2x3x8xf32> loc("mlp")
    %q2 = tfc.linear %m, %w : tensor<2x3x8xf32>, tensor<8x8xf32> -> tensor<2x3x8xf32> loc("q")
    %u = tfc.linear %q2, %w : tensor<2x3x8xf32>, tensor<8x8xf32> -> tensor<2x3x8xf32>
    return %q, %k, %v, %m, %q2, %u : tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>, tensor<2x3x8xf32>
  }
}
