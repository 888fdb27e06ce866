// RUN: tfc-opt %s -split-input-file -tfc-sink-query -verify-diagnostics | FileCheck %s

// Sinks at their cache positions: the attention (sinks 2, window 3) gets a
// sink_query, the query's rotary recomputed with cos / sin from
// range(2 + 3 - 1 = 4, 0, n): every op between the range and cos / sin is
// cloned, the rest (the un-rotated q) reused; the original rotary and
// range stay for the query and key.
// CHECK-LABEL: func.func @f(
// CHECK: %[[POS:.*]] = tfc.range %{{.*}}, %{{.*}}, %[[N:.*]] : tensor<i64>, tensor<i64> -> tensor<?xi64>
// CHECK: %[[Q:.*]] = tfc.rotary half %[[QRAW:[^,]*]], %[[COS:[^,]*]], %[[SIN:[^ ]*]] :
// CHECK: %[[P:.*]] = arith.constant dense<4> : tensor<i64>
// CHECK: %[[Z:.*]] = arith.constant dense<0> : tensor<i64>
// CHECK: %[[SPOS:.*]] = tfc.range %[[P]], %[[Z]], %[[N]]
// CHECK: %[[SF:.*]] = tfc.cast %[[SPOS]]
// CHECK: %[[SP4:.*]] = tfc.reshape %[[SF]]
// CHECK: %[[SCOS:.*]] = tfc.unary cos %[[SP4]]
// CHECK: %[[SP4B:.*]] = tfc.reshape %[[SF]]
// CHECK: %[[SSIN:.*]] = tfc.unary sin %[[SP4B]]
// CHECK: %[[SQ:.*]] = tfc.rotary half %[[QRAW]], %[[SCOS]], %[[SSIN]]
// CHECK: tfc.attention %[[Q]], %[[Q]], %[[QRAW]] sink_query %[[SQ]] : tensor<?x2x?x4xf32> {causal = true, scale = 5.000000e-01 : f64, sinks = 2 : i64, window = 3 : i64}
func.func @f(%x: tensor<?x2x?x4xf32>, %n: index) -> tensor<?x2x?x4xf32> {
  %zero = arith.constant dense<0> : tensor<i64>
  %one = arith.constant dense<1> : tensor<i64>
  %pos = tfc.range %zero, %one, %n : tensor<i64>, tensor<i64> -> tensor<?xi64>
  %posf = tfc.cast %pos : tensor<?xi64> -> tensor<?xf32>
  %p4 = tfc.reshape %posf[%n] : tensor<?xf32> -> tensor<1x1x?x1xf32>
  %cos = tfc.unary cos %p4 : tensor<1x1x?x1xf32> -> tensor<1x1x?x1xf32>
  %p4b = tfc.reshape %posf[%n] : tensor<?xf32> -> tensor<1x1x?x1xf32>
  %sin = tfc.unary sin %p4b : tensor<1x1x?x1xf32> -> tensor<1x1x?x1xf32>
  %q = tfc.rotary half %x, %cos, %sin : tensor<?x2x?x4xf32>, tensor<1x1x?x1xf32>, tensor<1x1x?x1xf32> -> tensor<?x2x?x4xf32>
  %a = tfc.attention %q, %q, %x {causal = true, scale = 0.5 : f64, window = 3 : i64, sinks = 2 : i64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// Without sinks nothing changes.
// CHECK-LABEL: func.func @nosinks(
// CHECK-NOT: sink_query
func.func @nosinks(%q: tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32> {
  %a = tfc.attention %q, %q, %q {causal = true, scale = 0.5 : f64, window = 3 : i64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// A query that is not rotated: refused (its position cannot be moved).
func.func @norotary(%q: tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32> {
  // expected-error @+1 {{tfc-sink-query: the query is not a tfc.rotary}}
  %a = tfc.attention %q, %q, %q {causal = true, scale = 0.5 : f64, window = 3 : i64, sinks = 1 : i64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// cos / sin that do not come from a range of positions: refused.
func.func @constpos(%x: tensor<?x2x?x4xf32>, %cos: tensor<1x1x?x1xf32>, %sin: tensor<1x1x?x1xf32>) -> tensor<?x2x?x4xf32> {
  // expected-error @+1 {{tfc-sink-query: cos / sin do not depend on a tfc.range of positions}}
  %q = tfc.rotary half %x, %cos, %sin : tensor<?x2x?x4xf32>, tensor<1x1x?x1xf32>, tensor<1x1x?x1xf32> -> tensor<?x2x?x4xf32>
  %a = tfc.attention %q, %q, %x {causal = true, scale = 0.5 : f64, window = 3 : i64, sinks = 1 : i64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}

// -----

// The verifier: a sink query without sinks.
func.func @badverify(%q: tensor<?x2x?x4xf32>) -> tensor<?x2x?x4xf32> {
  // expected-error @+1 {{sink_query needs sinks > 0}}
  %a = tfc.attention %q, %q, %q sink_query %q : tensor<?x2x?x4xf32> {causal = true, scale = 0.5 : f64, window = 3 : i64} : tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32>, tensor<?x2x?x4xf32> -> tensor<?x2x?x4xf32>
  return %a : tensor<?x2x?x4xf32>
}
