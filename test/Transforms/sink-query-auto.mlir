// RUN: tfc-opt %s -split-input-file -tfc-sink-query=strict=false -verify-diagnostics | FileCheck %s

// strict=false (tfc --sink-positions=auto, the default): an attention whose
// query can be rotated elsewhere gets its sink_query as with strict; the
// others keep absolute sink positions, with a remark naming why
// (test/Transforms/sink-query.mlir: the same ops are errors when strict).
// CHECK-LABEL: func.func @rope(
// CHECK: %[[P:.*]] = arith.constant dense<4> : tensor<i64>
// CHECK: tfc.range %[[P]]
// CHECK: %[[SQ:.*]] = tfc.rotary half
// CHECK: tfc.attention %{{.*}}, %{{.*}}, %{{.*}} sink_query %[[SQ]]
func.func @rope(%x: tensor<?x2x?x4xf32>, %n: index) -> tensor<?x2x?x4xf32> {
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %pos = tfc.range %zero, %one, %n : tensor<i64>, tensor<i64> -> tensor<?xi64>
  %posf = tfc.cast %pos : tensor<?xi64> -> tensor<?xf32>
  %p4 = tfc.reshape %posf[%n] : tensor<?xf32> -> tensor<1x1x?x1xf32>
  %cos = tfc.unary cos %p4 : tensor<1x1x?x1xf32> -> tensor<1x1x?x1xf32>
  %sin = tfc.unary sin %p4 : tensor<1x1x?x1xf32> -> tensor<1x1x?x1xf32>
  %q = tfc.rotary half %x, %cos, %sin : tensor<?x2x?x4xf32>, tensor<1x1x?x1xf32>, tensor<1x1x?x1xf32> -> tensor<?x2x?x4xf32>
  %a = tfc.attention %q, %q, %x {causal = true, scale = 0.5 : f64, window = 3 : i64, sinks = 2 : i64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// CHECK-LABEL: func.func @norotary(
// CHECK-NOT: sink_query
func.func @norotary(%q: tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32> {
  // expected-remark @+1 {{tfc-sink-query: sinks keep absolute positions: the query is not a tfc.rotary}}
  %a = tfc.attention %q, %q, %q {causal = true, scale = 0.5 : f64, window = 3 : i64, sinks = 1 : i64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// CHECK-LABEL: func.func @constpos(
// CHECK-NOT: sink_query
func.func @constpos(%x: tensor<?x2x?x4xf32>, %cos: tensor<1x1x?x1xf32>, %sin: tensor<1x1x?x1xf32>) -> tensor<?x2x?x4xf32> {
  // expected-remark @+1 {{tfc-sink-query: sinks keep absolute positions: cos / sin do not depend on a tfc.range of positions}}
  %q = tfc.rotary half %x, %cos, %sin : tensor<?x2x?x4xf32>, tensor<1x1x?x1xf32>, tensor<1x1x?x1xf32> -> tensor<?x2x?x4xf32>
  %a = tfc.attention %q, %q, %x {causal = true, scale = 0.5 : f64, window = 3 : i64, sinks = 1 : i64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}
